package oracle

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// probes returns n observations of one target, a second apart from 10 s,
// each answering answer(i).
func probes(pod string, port int32, path string, n int, answer func(i int) string) []ProbeObservation {
	var out []ProbeObservation
	for i := range n {
		a := answer(i)
		out = append(out, ProbeObservation{
			Pod: pod, Container: "app", Port: port, Path: path,
			Offset:   10*time.Second + time.Duration(i)*15*time.Second,
			Accepted: a != AnswerRefused && a != AnswerUnreachable,
			Answer:   a,
		})
	}
	return out
}

func always(a string) func(int) string { return func(int) string { return a } }

func withProbes(seed int, obs ...[]ProbeObservation) Recording {
	r := healthy(seed)
	for _, o := range obs {
		r.Probes = append(r.Probes, o...)
	}
	return r
}

var (
	spoolOK  = BannerAnswer("+OK scenario spool ready\r\n")
	spoolErr = BannerAnswer("-ERR spool unavailable\r\n")
	http200  = HTTPAnswer("HTTP/1.1 200 OK", []string{"Date", "Content-Length", "Content-Type"})
	http500  = HTTPAnswer("HTTP/1.1 500 Internal Server Error", []string{"Content-Type", "X-Content-Type-Options", "Date", "Content-Length"})
	http204  = HTTPAnswer("HTTP/1.1 204 No Content", []string{"Date"})
)

// smtp returns a greeting whose timestamp and session id depend on i.
func smtp(i int) string {
	return BannerAnswer(fmt.Sprintf("220 mail.example.com ESMTP ready 2024-11-26T03:%02d:%02dZ session %08x\r\n250-more", i%60, (i*7)%60, 0xdeadbeef+i*977))
}

func TestCompareServices(t *testing.T) {
	cfg := DefaultConfig()
	tests := []struct {
		name      string
		baselines [2]Recording
		trial     Recording
		pass      bool
		judged    int
		notJudged int
		unprobed  int
		evidence  []Evidence // Reason, Port, Baseline, Example of the failures
	}{
		{
			name:      "no probes at all pass",
			baselines: [2]Recording{healthy(1), healthy(2)},
			trial:     healthy(3),
			pass:      true,
		},
		{
			name:      "same banner passes",
			baselines: [2]Recording{withProbes(1, probes("a", 7000, "/", 4, always(spoolOK))), withProbes(2, probes("b", 7000, "/", 4, always(spoolOK)))},
			trial:     withProbes(3, probes("c", 7000, "/", 3, always(spoolOK))),
			pass:      true,
			judged:    1,
		},
		{
			name:      "error banner instead of the greeting fails",
			baselines: [2]Recording{withProbes(1, probes("a", 7000, "/", 4, always(spoolOK))), withProbes(2, probes("b", 7000, "/", 4, always(spoolOK)))},
			trial:     withProbes(3, probes("c", 7000, "/", 4, always(spoolErr))),
			judged:    1,
			evidence:  []Evidence{{Reason: ReasonChangedAnswer, Port: 7000, Baseline: spoolOK, Example: spoolErr, Count: 4}},
		},
		{
			name:      "one changed answer among good ones fails",
			baselines: [2]Recording{withProbes(1, probes("a", 7000, "/", 4, always(spoolOK))), withProbes(2, probes("b", 7000, "/", 4, always(spoolOK)))},
			trial: withProbes(3, probes("c", 7000, "/", 4, func(i int) string {
				if i == 2 {
					return spoolErr
				}
				return spoolOK
			})),
			judged:   1,
			evidence: []Evidence{{Reason: ReasonChangedAnswer, Port: 7000, Baseline: spoolOK, Example: spoolErr, Count: 1}},
		},
		{
			name:      "refused connections fail",
			baselines: [2]Recording{withProbes(1, probes("a", 7000, "/", 4, always(spoolOK))), withProbes(2, probes("b", 7000, "/", 4, always(spoolOK)))},
			trial:     withProbes(3, probes("c", 7000, "/", 4, always(AnswerRefused))),
			judged:    1,
			evidence:  []Evidence{{Reason: ReasonRefused, Port: 7000, Baseline: spoolOK, Example: AnswerRefused, Count: 4}},
		},
		{
			name:      "5xx instead of 200 fails",
			baselines: [2]Recording{withProbes(1, probes("a", 8081, "/", 4, always(http200))), withProbes(2, probes("b", 8081, "/", 4, always(http200)))},
			trial:     withProbes(3, probes("c", 8081, "/", 4, always(http500))),
			judged:    1,
			evidence:  []Evidence{{Reason: ReasonChangedAnswer, Port: 8081, Baseline: http200, Example: http500, Count: 4}},
		},
		{
			name:      "another status of the same class with the same headers passes",
			baselines: [2]Recording{withProbes(1, probes("a", 8081, "/", 2, always(http200))), withProbes(2, probes("b", 8081, "/", 2, always(http200)))},
			trial:     withProbes(3, probes("c", 8081, "/", 2, always(HTTPAnswer("HTTP/1.0 201 OK", []string{"content-type", "date", "content-length", "Date"})))),
			pass:      true,
			judged:    1,
		},
		{
			name:      "another status class with the same words fails",
			baselines: [2]Recording{withProbes(1, probes("a", 8081, "/", 2, always(http200))), withProbes(2, probes("b", 8081, "/", 2, always(http200)))},
			trial:     withProbes(3, probes("c", 8081, "/", 2, always(HTTPAnswer("HTTP/1.1 400 OK", []string{"Date", "Content-Length", "Content-Type"})))),
			judged:    1,
			evidence:  []Evidence{{Reason: ReasonChangedAnswer, Port: 8081, Baseline: http200, Example: HTTPAnswer("HTTP/1.1 400 OK", []string{"Date", "Content-Length", "Content-Type"}), Count: 2}},
		},
		{
			name:      "changed header names fail",
			baselines: [2]Recording{withProbes(1, probes("a", 8080, "/", 2, always(http204))), withProbes(2, probes("b", 8080, "/", 2, always(http204)))},
			trial:     withProbes(3, probes("c", 8080, "/", 2, always(HTTPAnswer("HTTP/1.1 204 No Content", []string{"Date", "Set-Cookie"})))),
			judged:    1,
			evidence:  []Evidence{{Reason: ReasonChangedAnswer, Port: 8080, Baseline: http204, Example: HTTPAnswer("HTTP/1.1 204 No Content", []string{"Date", "Set-Cookie"}), Count: 2}},
		},
		{
			name:      "masked variable parts of a banner pass",
			baselines: [2]Recording{withProbes(1, probes("a", 25, "/", 4, smtp)), withProbes(2, probes("b", 25, "/", 4, func(i int) string { return smtp(i + 11) }))},
			trial:     withProbes(3, probes("c", 25, "/", 4, func(i int) string { return smtp(i + 37) })),
			pass:      true,
			judged:    1,
		},
		{
			name:      "baselines answering differently are not judged",
			baselines: [2]Recording{withProbes(1, probes("a", 7000, "/", 4, always(spoolOK))), withProbes(2, probes("b", 7000, "/", 4, always(spoolErr)))},
			trial:     withProbes(3, probes("c", 7000, "/", 4, always(AnswerRefused))),
			pass:      true,
			notJudged: 1,
		},
		{
			name: "a port refusing in one baseline is not judged",
			baselines: [2]Recording{withProbes(1, probes("a", 7000, "/", 4, always(spoolOK))), withProbes(2, probes("b", 7000, "/", 4, func(i int) string {
				if i == 0 {
					return AnswerRefused
				}
				return spoolOK
			}))},
			trial:     withProbes(3, probes("c", 7000, "/", 4, always(spoolErr))),
			pass:      true,
			notJudged: 1,
		},
		{
			name:      "a port refusing in both baselines is not judged",
			baselines: [2]Recording{withProbes(1, probes("a", 9000, "/", 2, always(AnswerRefused))), withProbes(2, probes("b", 9000, "/", 2, always(AnswerRefused)))},
			trial:     withProbes(3, probes("c", 9000, "/", 2, always(spoolOK))),
			pass:      true,
			notJudged: 1,
		},
		{
			name:      "a port probed in one baseline only is not judged",
			baselines: [2]Recording{withProbes(1, probes("a", 7000, "/", 4, always(spoolOK))), healthy(2)},
			trial:     withProbes(3, probes("c", 7000, "/", 4, always(spoolErr))),
			pass:      true,
			notJudged: 1,
		},
		{
			name:      "a judged port the trial never probed passes and is reported",
			baselines: [2]Recording{withProbes(1, probes("a", 7000, "/", 4, always(spoolOK))), withProbes(2, probes("b", 7000, "/", 4, always(spoolOK)))},
			trial:     healthy(3),
			pass:      true,
			judged:    1,
			unprobed:  1,
		},
		{
			name: "paths are judged apart",
			baselines: [2]Recording{
				withProbes(1, probes("a", 8080, "/healthz", 2, always(http200)), probes("a", 8080, "/admin", 2, always(HTTPAnswer("HTTP/1.1 403 Forbidden", nil)))),
				withProbes(2, probes("b", 8080, "/healthz", 2, always(http200)), probes("b", 8080, "/admin", 2, always(HTTPAnswer("HTTP/1.1 403 Forbidden", nil)))),
			},
			trial:    withProbes(3, probes("c", 8080, "/healthz", 2, always(HTTPAnswer("HTTP/1.1 403 Forbidden", nil))), probes("c", 8080, "/admin", 2, always(HTTPAnswer("HTTP/1.1 403 Forbidden", nil)))),
			judged:   2,
			evidence: []Evidence{{Reason: ReasonChangedAnswer, Port: 8080, Baseline: http200, Example: HTTPAnswer("HTTP/1.1 403 Forbidden", nil), Count: 2}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := CompareServices(cfg, tt.baselines, tt.trial)
			assert.Equal(t, tt.pass, c.Pass())
			assert.Equal(t, tt.judged, c.Judged)
			assert.Equal(t, tt.notJudged, len(c.NotJudged))
			assert.Equal(t, tt.unprobed, c.Unprobed)
			var got []Evidence
			for _, e := range c.Evidence {
				if e.Reason == ReasonNotJudged {
					continue
				}
				assert.Contains(t, e.Message, fmt.Sprint(e.Port))
				got = append(got, Evidence{Reason: e.Reason, Port: e.Port, Baseline: e.Baseline, Example: e.Example, Count: e.Count})
			}
			assert.Equal(t, tt.evidence, got)
			r := c.Result()
			assert.Equal(t, TestServices, r.ID)
			assert.True(t, r.Hard)
			assert.Equal(t, tt.pass, r.Pass)
			assert.NotEmpty(t, r.Reason)

			v := Judge(cfg, tt.baselines, tt.trial)
			assert.Equal(t, tt.pass, v.Pass, "Judge: %+v", testByID(v, TestServices))
		})
	}
}

func TestEarlyServiceFailure(t *testing.T) {
	cfg := DefaultConfig()
	base := [2]Recording{withProbes(1, probes("a", 7000, "/", 4, always(spoolOK))), withProbes(2, probes("b", 7000, "/", 4, always(spoolOK)))}
	refusedAt := func(offset time.Duration) Recording {
		r := healthy(3)
		r.Probes = []ProbeObservation{{Pod: "c", Port: 7000, Path: "/", Offset: offset, Answer: AnswerRefused}}
		return r
	}
	tests := []struct {
		name      string
		baselines [2]Recording
		partial   Recording
		fail      bool
	}{
		{name: "refused after the baselines were answering", baselines: base, partial: refusedAt(20 * time.Second), fail: true},
		{name: "refused before the baselines were answering", baselines: base, partial: refusedAt(5 * time.Second)},
		{name: "baselines not known yet", partial: refusedAt(20 * time.Second)},
		{name: "answering as the baselines", baselines: base, partial: withProbes(3, probes("c", 7000, "/", 2, always(spoolOK)))},
		{name: "a changed banner waits for the full verdict", baselines: base, partial: withProbes(3, probes("c", 7000, "/", 2, always(spoolErr)))},
		{name: "a port the baselines refused too", baselines: [2]Recording{withProbes(1, probes("a", 7000, "/", 2, always(AnswerRefused))), withProbes(2, probes("b", 7000, "/", 2, always(AnswerRefused)))}, partial: refusedAt(40 * time.Second)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, fail := EarlyFailure(cfg, tt.baselines, tt.partial)
			assert.Equal(t, tt.fail, fail)
			if !tt.fail {
				return
			}
			assert.Equal(t, TestServices, r.ID)
			require.Len(t, r.Evidence, 1)
			assert.Equal(t, ReasonRefused, r.Evidence[0].Reason)
			assert.Equal(t, int32(7000), r.Evidence[0].Port)
			assert.Equal(t, spoolOK, r.Evidence[0].Baseline)
			assert.Equal(t, AnswerRefused, r.Evidence[0].Example)
		})
	}
}

func TestAnswers(t *testing.T) {
	tests := []struct {
		name, got, want string
	}{
		{"banner keeps the first line", BannerAnswer("+OK ready\r\nmore\r\n"), "banner +OK ready"},
		{"binary banner", BannerAnswer("J\x00\x00\x00\n8.0.36\x00"), "banner binary"},
		{"reply", ReplyAnswer("-ERR wrong number of arguments for 'get' command\r\n"), "reply -ERR wrong number of arguments for 'get' command"},
		{"2xx", HTTPAnswer("HTTP/1.1 200 OK\r\n", []string{"Date", "Content-Type", "date"}), "http success 200 OK headers content-type date"},
		{"3xx", HTTPAnswer("HTTP/1.0 301 Moved Permanently", []string{"Location"}), "http redirect 301 Moved Permanently headers location"},
		{"4xx", HTTPAnswer("HTTP/1.1 404 Not Found", nil), "http client-error 404 Not Found headers"},
		{"5xx", HTTPAnswer("HTTP/1.1 503 Service Unavailable", nil), "http server-error 503 Service Unavailable headers"},
		{"not a status line", HTTPAnswer("SSH-2.0-x", nil), "reply SSH-2.0-x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.got)
		})
	}
}
