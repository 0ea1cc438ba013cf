package oracle

import (
	"fmt"
	"strings"
	"time"
)

// Outcomes of a batch run (BatchRun.Outcome).
const (
	// BatchSucceeded: the Job completed.
	BatchSucceeded = "Succeeded"
	// BatchFailed: the Job failed (its backoff limit or deadline).
	BatchFailed = "Failed"
	// BatchUnfinished: the Job was still running when the recording ended.
	BatchUnfinished = "Unfinished"
)

// BatchRun is how one run of a run-to-completion workload (a Job made of
// its pod template) ended. A Recording of a Deployment, StatefulSet or
// DaemonSet has none.
type BatchRun struct {
	// Outcome is BatchSucceeded, BatchFailed or BatchUnfinished.
	Outcome string
	// Reason is the reason of the Job's Failed condition
	// (BackoffLimitExceeded, DeadlineExceeded, ...), for evidence.
	Reason string `json:",omitempty"`
	// Duration is from the Job's start to its end, or to the end of the
	// recording when it did not finish.
	Duration time.Duration
	// Failed counts the Job's failed pods (its retries).
	Failed int32
}

// isBatch reports whether the recordings are of a run-to-completion
// workload.
func isBatch(baselines [2]Recording, trial Recording) bool {
	return trial.Batch != nil || baselines[0].Batch != nil || baselines[1].Batch != nil
}

// judgeBatch is TC-01 for a run-to-completion workload: the trial ends as
// both baselines did (the same outcome, no more failed pods), on top of
// the containers' restarts, waiting and termination reasons and exit codes
// (judgeStability).
func judgeBatch(baselines [2]Recording, trial Recording) TestResult {
	res := judgeStability(baselines, trial, false)
	t := trial.Batch
	if t == nil {
		t = &BatchRun{Outcome: BatchUnfinished}
	}
	var want string
	var maxFailed int32
	var durs []string
	for _, b := range baselines {
		if b.Batch == nil {
			continue
		}
		if want == "" {
			want = b.Batch.Outcome
		} else if want != b.Batch.Outcome {
			want = BatchSucceeded // the baselines disagree: a trial must succeed
		}
		maxFailed = max(maxFailed, b.Batch.Failed)
		durs = append(durs, b.Batch.Duration.Round(100*time.Millisecond).String())
	}
	if want == "" {
		want = BatchSucceeded
	}
	var ev []Evidence
	if t.Outcome != want {
		msg := fmt.Sprintf("the Job ended %s after %s, the baselines %s", t.Outcome, t.Duration.Round(100*time.Millisecond), want)
		if t.Reason != "" {
			msg = fmt.Sprintf("the Job ended %s (%s) after %s, the baselines %s", t.Outcome, t.Reason, t.Duration.Round(100*time.Millisecond), want)
		}
		ev = append(ev, Evidence{Reason: "Job" + t.Outcome, Message: msg})
	}
	if t.Failed > maxFailed {
		ev = append(ev, Evidence{Reason: "Retries", Message: fmt.Sprintf("%d failed pods, baselines at most %d", t.Failed, maxFailed)})
	}
	if len(ev) == 0 && res.Pass {
		res.Reason = fmt.Sprintf("the Job %s in %s as in the baselines (%s); %s", strings.ToLower(want), t.Duration.Round(100*time.Millisecond), strings.Join(durs, ", "), res.Reason)
		return res
	}
	res.Evidence = append(ev, res.Evidence...)
	return failed(res, "")
}

// notApplicable is the result of a test that does not judge
// run-to-completion workloads (readiness, service answers, app metrics).
func notApplicable(id, name string) TestResult {
	return TestResult{ID: id, Name: name, Pass: true, Reason: "does not apply to a run-to-completion workload"}
}
