package oracle

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDNSAnswer(t *testing.T) {
	assert.Equal(t, "dns success NOERROR", DNSAnswer(0))
	assert.Equal(t, "dns server-failure SERVFAIL", DNSAnswer(2))
	assert.Equal(t, "dns name-error NXDOMAIN", DNSAnswer(3))
	assert.Equal(t, "dns refused REFUSED", DNSAnswer(5))
	assert.Equal(t, "dns unknown-class RCODE12", DNSAnswer(12))
	assert.NotEqual(t, MaskLine(DNSAnswer(0)), MaskLine(DNSAnswer(2)), "masking keeps the response code")
	assert.Equal(t, "reply (empty)", DatagramAnswer(""))
	assert.Equal(t, "reply pong", DatagramAnswer("pong\n"))
	assert.Equal(t, "reply binary", DatagramAnswer("\x00\x01"))
}

// udp marks observations as of a UDP port.
func udp(obs []ProbeObservation) []ProbeObservation {
	for i := range obs {
		obs[i].Protocol, obs[i].Path = ProtocolUDP, ""
	}
	return obs
}

func TestCompareServicesUDP(t *testing.T) {
	cfg := DefaultConfig()
	noerror, servfail := DNSAnswer(0), DNSAnswer(2)
	// A DNS server on 53: TCP answers with a reply, UDP with NOERROR.
	base := [2]Recording{
		withProbes(1, probes("a", 53, "/", 4, always(AnswerSilent)), udp(probes("a", 53, "/", 4, always(noerror)))),
		withProbes(2, probes("b", 53, "/", 4, always(AnswerSilent)), udp(probes("b", 53, "/", 4, always(noerror)))),
	}
	tests := []struct {
		name      string
		baselines [2]Recording
		trial     Recording
		pass      bool
		judged    int
		notJudged int
		evidence  []Evidence // Reason, Protocol, Baseline, Example, Count
	}{
		{
			name:      "the same rcode passes",
			baselines: base,
			trial:     withProbes(3, probes("c", 53, "/", 4, always(AnswerSilent)), udp(probes("c", 53, "/", 4, always(noerror)))),
			pass:      true, judged: 2,
		},
		{
			name:      "another rcode class fails",
			baselines: base,
			trial:     withProbes(3, probes("c", 53, "/", 4, always(AnswerSilent)), udp(probes("c", 53, "/", 4, always(servfail)))),
			judged:    2,
			evidence:  []Evidence{{Reason: ReasonChangedAnswer, Protocol: ProtocolUDP, Baseline: noerror, Example: servfail, Count: 4}},
		},
		{
			name:      "a refused UDP port fails and the TCP port of the same number is judged apart",
			baselines: base,
			trial:     withProbes(3, probes("c", 53, "/", 4, always(AnswerSilent)), udp(probes("c", 53, "/", 4, always(AnswerRefused)))),
			judged:    2,
			evidence:  []Evidence{{Reason: ReasonRefused, Protocol: ProtocolUDP, Baseline: noerror, Example: AnswerRefused, Count: 4}},
		},
		{
			name: "a silent port that refuses in the trial fails",
			baselines: [2]Recording{
				withProbes(1, udp(probes("a", 9999, "/", 4, always(AnswerSilent)))), withProbes(2, udp(probes("b", 9999, "/", 4, always(AnswerSilent)))),
			},
			trial:    withProbes(3, udp(probes("c", 9999, "/", 4, always(AnswerRefused)))),
			judged:   1,
			evidence: []Evidence{{Reason: ReasonRefused, Protocol: ProtocolUDP, Baseline: AnswerSilent, Example: AnswerRefused, Count: 4}},
		},
		{
			name: "a port silent in one baseline and refused in the other is not judged",
			baselines: [2]Recording{
				withProbes(1, udp(probes("a", 9999, "/", 4, always(AnswerSilent)))), withProbes(2, udp(probes("b", 9999, "/", 4, func(i int) string {
					return []string{AnswerSilent, AnswerRefused}[i%2]
				}))),
			},
			trial:     withProbes(3, udp(probes("c", 9999, "/", 4, always(AnswerRefused)))),
			pass:      true,
			notJudged: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := CompareServices(cfg, tt.baselines, tt.trial)
			assert.Equal(t, tt.pass, c.Pass())
			assert.Equal(t, tt.judged, c.Judged)
			assert.Len(t, c.NotJudged, tt.notJudged)
			var got []Evidence
			for _, e := range c.Evidence {
				if e.Reason == ReasonNotJudged {
					assert.Equal(t, ProtocolUDP, e.Protocol)
					continue
				}
				assert.Contains(t, e.Message, "/udp")
				got = append(got, Evidence{Reason: e.Reason, Protocol: e.Protocol, Baseline: e.Baseline, Example: e.Example, Count: e.Count})
			}
			assert.Equal(t, tt.evidence, got)
			assert.Equal(t, tt.pass, Judge(cfg, tt.baselines, tt.trial).Pass)
		})
	}
}

func TestEarlyServiceFailureUDP(t *testing.T) {
	cfg := DefaultConfig()
	base := [2]Recording{withProbes(1, udp(probes("a", 5353, "/", 4, always(DNSAnswer(0))))), withProbes(2, udp(probes("b", 5353, "/", 4, always(DNSAnswer(0)))))}
	partial := healthy(3)
	partial.Probes = []ProbeObservation{{Pod: "c", Protocol: ProtocolUDP, Port: 5353, Offset: 30 * time.Second, Answer: AnswerRefused}}
	r, fail := EarlyFailure(cfg, base, partial)
	require.True(t, fail)
	require.Len(t, r.Evidence, 1)
	assert.Equal(t, ProtocolUDP, r.Evidence[0].Protocol)
	assert.Contains(t, r.Reason, "port 5353/udp refused datagrams")

	partial.Probes[0].Protocol = "" // the TCP port of that number was never probed
	_, fail = EarlyFailure(cfg, base, partial)
	assert.False(t, fail)
}
