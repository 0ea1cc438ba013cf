package kube

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cinch-dev/cinch/internal/pipeline"
	"github.com/cinch-dev/cinch/pkg/oracle"
	"github.com/cinch-dev/cinch/pkg/signals"
)

func TestJobRun(t *testing.T) {
	t0 := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	at := func(s int) *metav1.Time { m := metav1.NewTime(t0.Add(time.Duration(s) * time.Second)); return &m }
	cond := func(ty batchv1.JobConditionType, reason string, s int) batchv1.JobCondition {
		return batchv1.JobCondition{Type: ty, Status: corev1.ConditionTrue, Reason: reason, LastTransitionTime: *at(s)}
	}
	tests := []struct {
		name   string
		status batchv1.JobStatus
		want   oracle.BatchRun
		over   bool
	}{
		{"not started", batchv1.JobStatus{}, oracle.BatchRun{Outcome: oracle.BatchUnfinished}, false},
		{"running", batchv1.JobStatus{StartTime: at(0), Failed: 1}, oracle.BatchRun{Outcome: oracle.BatchUnfinished, Duration: 30 * time.Second, Failed: 1}, false},
		{"complete", batchv1.JobStatus{StartTime: at(0), CompletionTime: at(12), Conditions: []batchv1.JobCondition{
			cond(batchv1.JobSuccessCriteriaMet, "CompletionsReached", 11), cond(batchv1.JobComplete, "CompletionsReached", 12)}},
			oracle.BatchRun{Outcome: oracle.BatchSucceeded, Duration: 12 * time.Second}, true},
		{"failed", batchv1.JobStatus{StartTime: at(0), Failed: 3, Conditions: []batchv1.JobCondition{
			cond(batchv1.JobFailureTarget, "BackoffLimitExceeded", 8), cond(batchv1.JobFailed, "BackoffLimitExceeded", 9)}},
			oracle.BatchRun{Outcome: oracle.BatchFailed, Reason: "BackoffLimitExceeded", Duration: 9 * time.Second, Failed: 3}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, over := JobRun(&batchv1.Job{Status: tc.status}, t0.Add(30*time.Second))
			assert.Equal(t, tc.want, got)
			assert.Equal(t, tc.over, over)
		})
	}
}

func TestMetricsEntries(t *testing.T) {
	got := metricsEntries([]pipeline.MetricsEndpoint{{Port: "metrics", Path: "/m", Scheme: "https", Source: "PodMonitor web"}})
	assert.Equal(t, []signals.MetricsEntry{{Port: "metrics", Path: "/m", Scheme: signals.SchemeHTTPS, Source: "PodMonitor web"}}, got)
	assert.Empty(t, metricsEntries(nil))
}
