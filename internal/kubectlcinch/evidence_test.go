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

func TestEvidenceWordsAppMetrics(t *testing.T) {
	const rate = "app_cache_write_errors_total on :8081/metrics rose by 9 in 14s (0.661/s) in the trial; 0/s and 0/s in the baselines (band up to 0.05/s)"
	tests := []struct {
		name string
		e    oracle.Evidence
		want string
	}{
		{"rate, its message in full", oracle.Evidence{Container: "app", Reason: oracle.ReasonErrorRate, Path: ":8081/metrics", Metric: "app_cache_write_errors_total", Value: 0.661, High: 0.05, Message: rate},
			rate + " (container app)"},
		{"rate without a message", oracle.Evidence{Reason: oracle.ReasonErrorRate, Path: ":8081/metrics", Metric: "app_cache_write_errors_total", Value: 0.661, High: 0.05},
			"app_cache_write_errors_total on :8081/metrics rose at 0.661/s in the trial, above the baselines' band (up to 0.05/s)"},
		{"unanswered", oracle.Evidence{Container: "app", Reason: oracle.ReasonMetricsUnanswered, Path: ":9090/metrics", Message: "metrics endpoint :9090/metrics answered every baseline but none of 4 scrapes of the trial: connection refused"},
			"metrics endpoint :9090/metrics answered every baseline but none of 4 scrapes of the trial: connection refused (container app)"},
		{"unanswered without a message", oracle.Evidence{Reason: oracle.ReasonMetricsUnanswered, Path: ":9090/metrics"},
			"metrics endpoint :9090/metrics answered the baselines but no scrape of the trial"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, []string{tt.want}, evidenceWords(tt.e))
		})
	}
}
