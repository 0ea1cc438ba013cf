package kubectlcinch

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/cinch-dev/cinch/pkg/oracle"
)

func TestEvidenceWordsServiceAnswers(t *testing.T) {
	assert.Equal(t, []string{`port 53/udp answered "dns success NOERROR" in both baselines; in the trial it refused or could not be reached ("refused") (container dns)`},
		evidenceWords(oracle.Evidence{Container: "dns", Reason: oracle.ReasonRefused, Port: 53, Protocol: oracle.ProtocolUDP, Baseline: "dns success NOERROR", Example: oracle.AnswerRefused}))
	assert.Equal(t, []string{
		"port 8081 / answered differently (container app, pod web-1), 4 times",
		`before (baselines): "body <64B (6 B): hello"`,
		`after (trial):      "body empty (0 B)"`,
	}, evidenceWords(oracle.Evidence{Pod: "web-1", Container: "app", Reason: oracle.ReasonChangedBody, Port: 8081, Path: "/", Baseline: "body <64B (6 B): hello", Example: "body empty (0 B)", Count: 4}))
}
