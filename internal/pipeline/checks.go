package pipeline

import (
	"encoding/json"
	"strings"

	"github.com/cinch-dev/cinch/pkg/hardening"
	"github.com/cinch-dev/cinch/pkg/oracle"
)

// maxEvidenceBytes bounds the evidence of one trial in the checks
// annotation; all annotations of an object share 256 KiB.
const maxEvidenceBytes = 8 << 10

// Checks renders every trial of r as the entries of the cinch.dev/checks
// annotation: baselines pass by definition, failures carry the failed hard
// tests (with their evidence) as evidence.
func (r Result) Checks() []hardening.CheckResult {
	out := make([]hardening.CheckResult, 0, len(r.Trials))
	for _, t := range r.Trials {
		out = append(out, CheckResultOf(t))
	}
	return out
}

// CheckResultOf renders one trial.
func CheckResultOf(t TrialResult) hardening.CheckResult {
	cr := hardening.CheckResult{Trial: t.Trial.Name, Pass: t.Verdict.Pass}
	if len(t.Trial.Checks) == 1 {
		cr.ID = t.Trial.Checks[0]
	}
	switch {
	case t.Trial.Kind == hardening.TrialBaseline:
		cr.Reason = "baseline: the unmodified workload"
		return cr
	case t.Verdict.Pass:
		cr.Reason = "all hard tests passed"
		if len(t.Trial.Checks) > 1 {
			cr.Reason += " with " + joinChecks(t.Trial.Checks)
		}
		return cr
	}
	cr.Reason = failureReason(t.Verdict)
	if t.Early {
		cr.Reason = "early: " + cr.Reason
	}
	if t.Attribution != "" {
		cr.Reason += " (" + t.Attribution + ")"
	}
	var failed []oracle.TestResult
	for _, tr := range t.Verdict.Tests {
		if tr.Hard && !tr.Pass {
			failed = append(failed, tr)
		}
	}
	for len(failed) > 0 {
		b, err := json.Marshal(failed)
		if err != nil {
			break
		}
		if len(b) <= maxEvidenceBytes {
			cr.Evidence = b
			break
		}
		// Too large: keep fewer pieces of evidence per test.
		shrunk := false
		for i := range failed {
			if n := len(failed[i].Evidence); n > 1 {
				failed[i].Evidence = failed[i].Evidence[:n/2]
				shrunk = true
			}
		}
		if !shrunk {
			break
		}
	}
	return cr
}

func joinChecks(ids []hardening.CheckID) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = string(id)
	}
	return strings.Join(s, ", ")
}
