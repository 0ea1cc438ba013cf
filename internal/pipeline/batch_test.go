package pipeline

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"

	"github.com/cinch-dev/cinch/pkg/hardening"
	"github.com/cinch-dev/cinch/pkg/oracle"
)

// batchRecorder plays a Job: it completes in took unless its behaviour
// says otherwise, in which case it fails (exit code 1, a fatal line). It
// notes the limit each run was given.
type batchRecorder struct {
	b      behaviour
	took   time.Duration
	always string // an outcome every run ends with, e.g. Failed
	mu     sync.Mutex
	limits map[string]time.Duration
}

func (f *batchRecorder) Record(_ context.Context, c Clone, w Workload, d time.Duration, _ func(oracle.Recording) bool) (oracle.Recording, error) {
	f.mu.Lock()
	f.limits[c.Namespace] = d
	f.mu.Unlock()
	tmpl := c.Ref.(map[Ref]*corev1.PodTemplateSpec)[w.Ref]
	ctr := oracle.ContainerObservation{Name: "app", TerminationReasons: []string{"Completed"}}
	rec := oracle.Recording{
		Duration: f.took,
		Logs:     heartbeat(5),
		Batch:    &oracle.BatchRun{Outcome: oracle.BatchSucceeded, Duration: f.took},
	}
	if f.b(tmpl) != works || f.always != "" {
		ctr.TerminationReasons, ctr.ExitCodes = []string{"Error"}, []int32{1}
		rec.Logs = heartbeat(2, "fatal: open /var/lib/report: read-only file system")
		rec.Batch.Outcome, rec.Batch.Failed, rec.Batch.Reason = oracle.BatchFailed, 1, "BackoffLimitExceeded"
	}
	rec.Pods = []oracle.PodObservation{{Name: "report-x", Phase: "Succeeded", Containers: []oracle.ContainerObservation{ctr}}}
	return rec, nil
}

func TestRunBatch(t *testing.T) {
	cfg := testConfig(StrategyFrugal)
	cfg.BatchTimeout, cfg.BatchMargin = time.Hour, 7*time.Second
	rec := &batchRecorder{b: writeRoot, took: 20 * time.Second, limits: map[string]time.Duration{}}
	p, err := New(cfg, &fakeCloner{}, rec, nil)
	require.NoError(t, err)
	job := Ref{Kind: hardening.KindJob, Name: "report"}
	nr, err := p.RunNamespace(t.Context(), "ns", []Workload{{Ref: job, Template: template(), DependsOn: []Ref{}}}, nil)
	require.NoError(t, err)
	res := nr.Workloads[0]
	assert.Equal(t, OutcomeVerified, res.Outcome, res.Reason)
	assert.Equal(t, without(allChecks(), hardening.CheckReadOnlyRootFilesystem), res.Passed)

	// Baselines run until their Job ends (BatchTimeout at most); a trial
	// judged against known baselines gets 2 × their duration + the margin.
	var baseline, bounded int
	for ns, d := range rec.limits {
		switch d {
		case time.Hour:
			baseline++
		case 47 * time.Second:
			bounded++
		default:
			t.Errorf("clone %s recorded for %s", ns, d)
		}
	}
	assert.GreaterOrEqual(t, baseline, 2)
	assert.Positive(t, bounded)
	for _, tr := range res.Trials {
		if tr.Trial.Name == "read-only-root" {
			assert.False(t, tr.Verdict.Pass)
			assert.Contains(t, tr.Verdict.Tests[0].Reason, "JobFailed")
		}
	}
}

// TestRunBatchFailsUnmodified: a Job that fails in its baselines cannot be
// hardened: Failed, with the reason, and no trial beyond the baselines
// decides anything.
func TestRunBatchFailsUnmodified(t *testing.T) {
	rec := &batchRecorder{b: toleratesAll, took: time.Second, always: oracle.BatchFailed, limits: map[string]time.Duration{}}
	p, err := New(testConfig(StrategySequential), &fakeCloner{}, rec, nil)
	require.NoError(t, err)
	res, err := p.Run(t.Context(), Source{Namespace: "ns", Kind: hardening.KindCronJob, Name: "nightly"}, template(), nil)
	require.NoError(t, err)
	assert.Equal(t, OutcomeFailed, res.Outcome)
	assert.Contains(t, res.Reason, "the unmodified Job failed (BackoffLimitExceeded) after 1s in baseline baseline-1")
	assert.Contains(t, res.Reason, "cannot be hardened")
	assert.Empty(t, res.Passed)
}
