package oracle

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestBodyClass(t *testing.T) {
	for n, want := range map[int]string{
		-1: BodyEmpty, 0: BodyEmpty, 1: BodyTiny, 63: BodyTiny, 64: BodySmall, 1023: BodySmall,
		1024: BodyMedium, 16383: BodyMedium, 16384: BodyLarge, 1 << 30: BodyLarge,
	} {
		assert.Equal(t, want, BodyClass(n), "%d bytes", n)
	}
}

func TestBodyLengthsFit(t *testing.T) {
	var l bodyLengths
	l.add(60)
	l.add(61)
	for n, want := range map[int]bool{0: false, 1: true, 63: true, 64: true, 76: true, 77: false, 900: false} {
		assert.Equal(t, want, l.fits(n), "%d bytes", n)
	}
	var e bodyLengths
	e.add(0)
	assert.True(t, e.fits(0))
	assert.False(t, e.fits(1))
}

func TestBodyLine(t *testing.T) {
	long := strings.Repeat("word ", 100)
	tests := []struct {
		name string
		body HTTPBody
		want string
	}{
		{"empty", HTTPBody{}, "(empty)"},
		{"blank", HTTPBody{Prefix: "\r\n \n", Bytes: 4}, "(blank)"},
		{"binary", HTTPBody{Prefix: "\x89PNG\r\n\x1a\n\x00\x00", Bytes: 2048}, "(binary)"},
		{"one line", HTTPBody{Prefix: "ok\n", Bytes: 3}, "ok"},
		{"markup is split into tags", HTTPBody{Prefix: "<!DOCTYPE html>\n<html><head><title>Welcome to nginx!</title>", Bytes: 615}, "<!DOCTYPE html> <html> <head> <title> Welcome to nginx! </title>"},
		{"compact JSON is split into keys and values", HTTPBody{Prefix: `{"status":"ok","n":[1,2],"t":{"a":"x"}}`, Bytes: 38}, `{ "status": "ok", "n": [ 1, 2 ], "t": { "a": "x" } }`},
		{"a cut body loses its partial last token", HTTPBody{Prefix: "hello wor", Bytes: 100}, "hello"},
		{"a cut body ending between tokens keeps them", HTTPBody{Prefix: "hello world ", Bytes: 100}, "hello world"},
		{"a whole body keeps its last token", HTTPBody{Prefix: "hello wor", Bytes: 9}, "hello wor"},
		{"at most 32 tokens", HTTPBody{Prefix: long, Bytes: len(long)}, strings.TrimSpace(strings.Repeat("word ", 32))},
		{"the prefix is bounded", HTTPBody{Prefix: strings.Repeat("x", 2*BodyPrefixBytes), Bytes: 2 * BodyPrefixBytes}, strings.Repeat("x", 64)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, BodyLine(tt.body))
		})
	}
}

// page renders a status page whose variable parts depend on i: a time, a
// request id, a pod name, counters, an address and a duration.
func page(i int) string {
	const k8s = "bcdfghjklmnpqrstvwxz2456789" // the alphabet of generated names
	hash := make([]byte, 9+i%2)
	for k := range hash {
		hash[k] = k8s[(i*31+k*7)%len(k8s)]
	}
	return fmt.Sprintf("<!doctype html>\n<html><head><title>scenario cache</title></head>\n<body><p>rendered %s by scenario-body-%s-%s (request %08x-4e1a-4c9b-9f3e-%012x)</p>\n<p>cache hits %d of %d, %d.%d KiB, served from 198.18.0.%d:8081 in %dms</p>\n</body></html>\n",
		fmt.Sprintf("2025-01-%02dT03:%02d:%02d.%03dZ", 1+i%28, i%60, (i*7)%60, (i*37)%1000),
		hash, []string{"x2x9k", "b7q4m", "zz9wd", "k2l8p"}[i%4], 0xdeadbeef+i*131, 0x1234567890+i*7,
		i*3, i*3+1, i%9, i%10, 2+i%200, 1+i*13%900)
}

func TestBodyTemplateMasksVariableParts(t *testing.T) {
	want := BodyTemplate(HTTPBody{Prefix: page(0), Bytes: len(page(0))})
	for i := 1; i < 200; i++ {
		p := page(i * 7919)
		require.Equal(t, want, BodyTemplate(HTTPBody{Prefix: p, Bytes: len(p)}), "page %d:\n%s", i, p)
	}
	assert.NotContains(t, want, "2025")
	assert.Contains(t, want, "scenario cache")

	for _, other := range []string{"", "internal error\n", "<!doctype html>\n<html><head><title>503 Service Unavailable</title></head>"} {
		assert.NotEqual(t, want, BodyTemplate(HTTPBody{Prefix: other, Bytes: len(other)}), other)
	}
	js := func(i int) string {
		return fmt.Sprintf(`{"status":"ok","time":"2024-11-26T03:%02d:%02dZ","id":"%08x-ceea-467f-a0e6-1234567890ab","count":%d,"host":"web-%d.example.org"}`, i%60, i%13, 0x8f14e45f+i, i*i, i%5)
	}
	assert.Equal(t, BodyTemplate(HTTPBody{Prefix: js(1), Bytes: len(js(1))}), BodyTemplate(HTTPBody{Prefix: js(998), Bytes: len(js(998))}))
	assert.NotEqual(t, BodyTemplate(HTTPBody{Prefix: js(1), Bytes: len(js(1))}),
		BodyTemplate(HTTPBody{Prefix: strings.Replace(js(1), `"ok"`, `"degraded"`, 1), Bytes: len(js(1))}))
}

// bodies returns n HTTP observations of one target answering 200 with the
// body body(i).
func bodies(pod string, port int32, n int, body func(i int) string) []ProbeObservation {
	out := probes(pod, port, "/", n, always(http200))
	for i := range out {
		b := body(i)
		out[i].Body = &HTTPBody{Prefix: b, Bytes: len(b)}
	}
	return out
}

func text(s string) func(int) string { return func(int) string { return s } }

func TestCompareServicesBodies(t *testing.T) {
	cfg := DefaultConfig()
	hello := text("hello\n")
	pageAt := func(off int) func(int) string { return func(i int) string { return page(off + i) } }
	random := func(seed int) func(int) string {
		// a word the masker keeps and that changes from run to run
		return func(int) string {
			return "token " + []string{"alpha", "bravo", "charlie", "delta", "echo"}[seed%5] + " issued"
		}
	}
	long := func(n int) func(int) string {
		return func(int) string {
			return "<html><body>" + strings.Repeat("<p>lorem ipsum dolor sit amet</p>\n", n) + "</body></html>"
		}
	}
	tests := []struct {
		name         string
		baselines    [2]Recording
		trial        Recording
		pass         bool
		bodiesJudged int
		notStrict    int
		evidence     []Evidence // Reason, Baseline, Template, Example, Count
	}{
		{
			name:         "the same body passes",
			baselines:    [2]Recording{withProbes(1, bodies("a", 8081, 4, hello)), withProbes(2, bodies("b", 8081, 4, hello))},
			trial:        withProbes(3, bodies("c", 8081, 4, hello)),
			pass:         true,
			bodiesJudged: 1,
		},
		{
			name:         "variable parts of a page pass",
			baselines:    [2]Recording{withProbes(1, bodies("a", 8081, 4, pageAt(3))), withProbes(2, bodies("b", 8081, 4, pageAt(101)))},
			trial:        withProbes(3, bodies("c", 8081, 4, pageAt(555))),
			pass:         true,
			bodiesJudged: 1,
		},
		{
			name:         "200 with an empty body where the baselines had content fails",
			baselines:    [2]Recording{withProbes(1, bodies("a", 8081, 4, hello)), withProbes(2, bodies("b", 8081, 4, hello))},
			trial:        withProbes(3, bodies("c", 8081, 4, text(""))),
			bodiesJudged: 1,
			evidence:     []Evidence{{Reason: ReasonChangedBody, Baseline: "body <64B (6 B): hello", Template: "body empty: (empty)", Example: "body empty (0 B)", Count: 4}},
		},
		{
			name:         "an empty body fails even where the baselines' bodies differ",
			baselines:    [2]Recording{withProbes(1, bodies("a", 8081, 4, random(1))), withProbes(2, bodies("b", 8081, 4, long(100)))},
			trial:        withProbes(3, bodies("c", 8081, 4, func(i int) string { return []string{"", "token alpha issued"}[i%2] })),
			bodiesJudged: 0,
			notStrict:    1,
			evidence:     []Evidence{{Reason: ReasonChangedBody, Baseline: "body <64B (18 B): token bravo issued", Template: "body empty: (empty)", Example: "body empty (0 B)", Count: 2}},
		},
		{
			name:         "an error text of the same length class fails",
			baselines:    [2]Recording{withProbes(1, bodies("a", 8081, 4, hello)), withProbes(2, bodies("b", 8081, 4, hello))},
			trial:        withProbes(3, bodies("c", 8081, 4, text("internal error\n"))),
			bodiesJudged: 1,
			evidence:     []Evidence{{Reason: ReasonChangedBody, Baseline: "body <64B (6 B): hello", Template: "body <64B: internal error", Example: "body <64B (15 B): internal error", Count: 4}},
		},
		{
			name:         "a page cut short with the same first words fails on its length",
			baselines:    [2]Recording{withProbes(1, bodies("a", 8081, 2, long(200))), withProbes(2, bodies("b", 8081, 2, long(200)))},
			trial:        withProbes(3, bodies("c", 8081, 2, long(10))),
			bodiesJudged: 1,
			evidence: []Evidence{{Reason: ReasonChangedBody, Baseline: describeBody(HTTPBody{Prefix: long(200)(0), Bytes: len(long(200)(0))}),
				Template: "body <1KiB: " + MaskLine(BodyLine(HTTPBody{Prefix: long(10)(0), Bytes: len(long(10)(0))})), Example: describeBody(HTTPBody{Prefix: long(10)(0), Bytes: len(long(10)(0))}), Count: 2}},
		},
		{
			name:         "a length just across a class boundary passes",
			baselines:    [2]Recording{withProbes(1, bodies("a", 8081, 2, text(strings.Repeat("a", 60)))), withProbes(2, bodies("b", 8081, 2, text(strings.Repeat("a", 61))))},
			trial:        withProbes(3, bodies("c", 8081, 2, text(strings.Repeat("a", 70)))),
			pass:         true,
			bodiesJudged: 1,
		},
		{
			name:      "baselines whose bodies differ judge no template",
			baselines: [2]Recording{withProbes(1, bodies("a", 8081, 4, random(1))), withProbes(2, bodies("b", 8081, 4, random(2)))},
			trial:     withProbes(3, bodies("c", 8081, 4, text("something else entirely"))),
			pass:      true,
			notStrict: 1,
		},
		{
			name:      "where the baselines differ in template, the length class is still judged",
			baselines: [2]Recording{withProbes(1, bodies("a", 8081, 4, random(1))), withProbes(2, bodies("b", 8081, 4, random(2)))},
			trial:     withProbes(3, bodies("c", 8081, 4, long(200))),
			notStrict: 1,
			evidence: []Evidence{{Reason: ReasonChangedBody, Baseline: "body <64B (18 B): token bravo issued", Template: "body <16KiB: " + MaskLine(BodyLine(HTTPBody{Prefix: long(200)(0), Bytes: len(long(200)(0))})),
				Example: describeBody(HTTPBody{Prefix: long(200)(0), Bytes: len(long(200)(0))}), Count: 4}},
		},
		{
			name:      "a changed status is evidence of its own, not also of its body",
			baselines: [2]Recording{withProbes(1, bodies("a", 8081, 2, hello)), withProbes(2, bodies("b", 8081, 2, hello))},
			trial: withProbes(3, func() []ProbeObservation {
				o := bodies("c", 8081, 2, text("internal error\n"))
				o[0].Answer, o[1].Answer = http500, http500
				return o
			}()),
			bodiesJudged: 1,
			evidence:     []Evidence{{Reason: ReasonChangedAnswer, Baseline: http200, Template: MaskLine(http500), Example: http500, Count: 2}},
		},
		{
			name:         "empty bodies in the baselines allow one in the trial",
			baselines:    [2]Recording{withProbes(1, bodies("a", 8080, 2, text(""))), withProbes(2, bodies("b", 8080, 2, text("")))},
			trial:        withProbes(3, bodies("c", 8080, 2, text(""))),
			pass:         true,
			bodiesJudged: 1,
		},
		{
			name:      "answers without bodies judge none",
			baselines: [2]Recording{withProbes(1, probes("a", 8081, "/", 2, always(http200))), withProbes(2, probes("b", 8081, "/", 2, always(http200)))},
			trial:     withProbes(3, bodies("c", 8081, 2, text(""))),
			pass:      true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := CompareServices(cfg, tt.baselines, tt.trial)
			assert.Equal(t, tt.pass, c.Pass(), "%+v", c.Evidence)
			assert.Equal(t, tt.bodiesJudged, c.BodiesJudged)
			assert.Len(t, c.BodiesNotJudged, tt.notStrict, "%v", c.BodiesNotJudged)
			var got []Evidence
			for _, e := range c.Evidence {
				if e.Reason == ReasonNotJudged {
					continue
				}
				assert.Equal(t, int32(8081), e.Port)
				assert.Contains(t, e.Message, "8081")
				got = append(got, Evidence{Reason: e.Reason, Baseline: e.Baseline, Template: e.Template, Example: e.Example, Count: e.Count})
			}
			assert.Equal(t, tt.evidence, got)
			v := Judge(cfg, tt.baselines, tt.trial)
			assert.Equal(t, tt.pass, v.Pass, "Judge: %+v", testByID(v, TestServices))
			if tt.notStrict > 0 {
				assert.Contains(t, testByID(v, TestServices).Reason, "not judged strictly: 8081 body")
			}
		})
	}
}

func FuzzBodyLine(f *testing.F) {
	for _, s := range []string{"", "ok\n", page(3), `{"a":1,"b":[true,null],"c":{"d":"2024-01-02"}}`, "<a><b></b>", "\x00\x01", "\xff\xfe<", " :\":,;{[", strings.Repeat("x ", 600)} {
		f.Add(s, len(s))
		f.Add(s, len(s)+10)
	}
	f.Fuzz(func(t *testing.T, prefix string, n int) {
		b := HTTPBody{Prefix: prefix, Bytes: n}
		line := BodyLine(b)
		require.NotEmpty(t, line)
		require.Equal(t, line, BodyLine(b), "deterministic")
		require.LessOrEqual(t, len(strings.Fields(line)), bodyTemplateTokens)
		require.False(t, strings.ContainsAny(line, "\r\n\t\x00"), "line %q holds a control byte", line)
		if strings.HasPrefix(line, "(") && (line == bodyLineEmpty || line == bodyLineBlank || line == bodyLineBinary) {
			return
		}
		// The line is its own normal form: splitting it again changes nothing.
		require.Equal(t, line, BodyLine(HTTPBody{Prefix: line, Bytes: len(line)}))
		if utf8.ValidString(prefix) && len(prefix) <= BodyPrefixBytes && n <= len(prefix) {
			require.True(t, utf8.ValidString(line))
		}
		tpl := BodyTemplate(b)
		require.NotEmpty(t, tpl)
		require.Equal(t, tpl, MaskLine(line))
		require.False(t, BodyClass(n) == BodyEmpty && n > 0)
	})
}
