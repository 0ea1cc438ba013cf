package oracle

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// batchRun is a Job run whose one pod printed lines and exited with code.
func batchRun(seed int, outcome string, code int32, failed int32, lines ...string) Recording {
	c := ContainerObservation{Name: "job", TerminationReasons: []string{"Completed"}}
	phase := "Succeeded"
	if code != 0 {
		c.TerminationReasons, c.ExitCodes, phase = []string{"Error"}, []int32{code}, "Failed"
	}
	name := fmt.Sprintf("report-%05d", seed)
	return Recording{
		Duration: 4 * time.Second,
		Pods:     []PodObservation{{Name: name, Phase: phase, Containers: []ContainerObservation{c}}},
		Logs:     []LogStream{{Pod: name, Container: "job", Lines: lines}},
		Batch:    &BatchRun{Outcome: outcome, Duration: time.Duration(3000+seed) * time.Millisecond, Failed: failed},
	}
}

func workLog(seed int) []string {
	return []string{
		fmt.Sprintf("2026-12-04T10:00:%02dZ pid=%d started uid=0", seed%60, 7+seed),
		fmt.Sprintf("2026-12-04T10:00:%02dZ pid=%d processed batch n=1 rows=%d", seed%60, 7+seed, 100+seed),
		fmt.Sprintf("2026-12-04T10:00:%02dZ pid=%d done", seed%60, 7+seed),
	}
}

func TestJudgeBatch(t *testing.T) {
	base := [2]Recording{batchRun(1, BatchSucceeded, 0, 0, workLog(1)...), batchRun(2, BatchSucceeded, 0, 0, workLog(2)...)}
	tests := []struct {
		name   string
		trial  Recording
		pass   bool
		reason string // of TC-01
	}{
		{"completes as the baselines", batchRun(3, BatchSucceeded, 0, 0, workLog(3)...), true, "the Job succeeded in 3s as in the baselines"},
		{"fails with a message", batchRun(4, BatchFailed, 1, 2, append(workLog(4)[:1], "2026-12-04T10:00:04Z pid=11 fatal: open /var/lib/report/state: read-only file system")...), false, "JobFailed"},
		// Judged by its exit code alone: the trial prints nothing new.
		{"exits non-zero silently", batchRun(5, BatchSucceeded, 3, 0, workLog(5)...), false, "Error (and 2 more)"},
		{"retries", batchRun(6, BatchSucceeded, 0, 1, workLog(6)...), false, "Retries"},
		{"unfinished", batchRun(7, BatchUnfinished, 0, 0, workLog(7)[:1]...), false, "JobUnfinished"},
		{"no batch result at all", func() Recording { r := batchRun(8, BatchSucceeded, 0, 0, workLog(8)...); r.Batch = nil; return r }(), false, "JobUnfinished"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := Judge(DefaultConfig(), base, tc.trial)
			assert.Equal(t, tc.pass, v.Pass, "%+v", v.Tests)
			tc01 := testByID(v, TestStability)
			assert.Contains(t, tc01.Reason, tc.reason)
			for _, id := range []string{TestReadiness, TestServices, TestMetrics} {
				r := testByID(v, id)
				assert.True(t, r.Pass, id)
				assert.False(t, r.Hard, id)
				assert.Contains(t, r.Reason, "does not apply")
			}
		})
	}
}

// TestJudgeBatchBaselinesDisagree: when one baseline failed, a trial must
// succeed to pass.
func TestJudgeBatchBaselinesDisagree(t *testing.T) {
	base := [2]Recording{batchRun(1, BatchSucceeded, 0, 0, workLog(1)...), batchRun(2, BatchFailed, 0, 1, workLog(2)...)}
	assert.True(t, Judge(DefaultConfig(), base, batchRun(3, BatchSucceeded, 0, 0, workLog(3)...)).Pass)
	assert.False(t, Judge(DefaultConfig(), base, batchRun(4, BatchFailed, 0, 1, workLog(4)...)).Pass)
}
