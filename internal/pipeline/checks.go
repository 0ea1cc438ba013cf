package pipeline

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"

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
		if logs, ok := toleratedLogs(t.Verdict); ok {
			cr.Reason += "; " + toleratedPrefix + describeNewLines(logs, 5)
			cr.Evidence = evidenceJSON([]oracle.TestResult{logs})
		}
		return cr
	}
	cr.Reason = failureReason(t.Verdict)
	if logs, ok := logsOnly(t.Verdict); ok {
		verb := "kept"
		if !keepsFailure(t.Trial) {
			verb = "failed" // the "everything" trial: the single trials decide
		}
		cr.Reason = verb + " only because of new log lines: " + describeNewLines(logs, 5) +
			"; stability, readiness, service answers and app metrics matched the baselines" + ignoreHint
	}
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
	cr.Evidence = evidenceJSON(failed)
	return cr
}

// evidenceJSON renders tests as a check's evidence, within
// maxEvidenceBytes (nil when there is none).
func evidenceJSON(tests []oracle.TestResult) json.RawMessage {
	for len(tests) > 0 {
		b, err := json.Marshal(tests)
		if err != nil {
			return nil
		}
		if len(b) <= maxEvidenceBytes {
			return b
		}
		// Too large: keep fewer pieces of evidence per test.
		shrunk := false
		for i := range tests {
			if n := len(tests[i].Evidence); n > 1 {
				tests[i].Evidence = tests[i].Evidence[:n/2]
				shrunk = true
			}
		}
		if !shrunk {
			return nil
		}
	}
	return nil
}

// toleratedPrefix introduces the new log lines a trial passed with under
// its namespace's log-novelty policy.
const toleratedPrefix = "new log lines tolerated by the namespace's " + hardening.AnnotationLogNovelty + " policy (each once at start-up; every other test matched the baselines): "

// toleratedLogs returns the log test of v when it passed only because of
// its namespace's log-novelty policy.
func toleratedLogs(v oracle.Verdict) (oracle.TestResult, bool) {
	for _, t := range v.Tests {
		if t.ID == oracle.TestLogs && t.Tolerated {
			return t, true
		}
	}
	return oracle.TestResult{}, false
}

// ToleratedLogs names the trials that passed, and so shaped the
// recommendation, only because the namespace's log-novelty policy
// tolerated their new start-up log lines. It is empty when there are none.
func (r Result) ToleratedLogs() string {
	var items []string
	for _, t := range r.Trials {
		if logs, ok := toleratedLogs(t.Verdict); ok && t.Verdict.Pass {
			items = append(items, fmt.Sprintf("trial %s (%s)", t.Trial.Name, describeNewLines(logs, 2)))
		}
	}
	if len(items) == 0 {
		return ""
	}
	return toleratedPrefix + strings.Join(items, "; ")
}

func joinChecks(ids []hardening.CheckID) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = string(id)
	}
	return strings.Join(s, ", ")
}

// ignoreHint tells the user how to declare new log lines harmless.
const ignoreHint = "; if these lines are harmless, list them in the pod template's " + hardening.AnnotationIgnoreLogs + " annotation"

// logsOnly returns the failed log test (TC-03) of v when it is the only
// hard test that failed and the others (stability, readiness, service
// answers) ran and passed; an early failure never is.
func logsOnly(v oracle.Verdict) (oracle.TestResult, bool) {
	var logs *oracle.TestResult
	others := 0
	for i, t := range v.Tests {
		switch {
		case !t.Hard:
		case t.ID == oracle.TestLogs:
			if !t.Pass {
				logs = &v.Tests[i]
			}
		case !t.Pass:
			return oracle.TestResult{}, false
		default:
			others++
		}
	}
	if logs == nil || others == 0 {
		return oracle.TestResult{}, false
	}
	return *logs, true
}

// describeNewLines renders the evidence of a failed log test for people:
// at most max templates, each with its container, when it appeared and
// how many lines it had.
func describeNewLines(logs oracle.TestResult, limit int) string {
	var parts []string
	more, omitted := 0, 0
	for _, e := range logs.Evidence {
		switch {
		case e.Reason == "NewLinesNotClustered":
			more += e.Count
			continue
		case len(parts) == limit:
			omitted++
			continue
		}
		tpl := e.Template
		if r := []rune(tpl); len(r) > 160 {
			tpl = string(r[:160]) + "…"
		}
		when := "seen once"
		switch e.Occurrence {
		case oracle.OccurrenceStartup:
			when = "once at start-up"
		case oracle.OccurrenceRecurring:
			when = "recurring"
		case oracle.OccurrenceOnce:
			when = fmt.Sprintf("once, at line %d", e.FirstLine)
		}
		p := fmt.Sprintf("%q (", tpl)
		if e.Container != "" {
			p += "container " + e.Container + ", "
		}
		parts = append(parts, p+fmt.Sprintf("%s, %d %s)", when, e.Count, plural(e.Count, "line", "lines")))
	}
	if omitted > 0 {
		parts = append(parts, fmt.Sprintf("%d more %s", omitted, plural(omitted, "template", "templates")))
	}
	if more > 0 {
		parts = append(parts, fmt.Sprintf("%d more new %s not grouped", more, plural(more, "line", "lines")))
	}
	if len(parts) == 0 {
		return logs.Reason
	}
	return strings.Join(parts, ", ")
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// KeptForLogs says which settings r leaves out only because of new log
// lines: the checks whose own trial failed only on TC-03 and that are not
// recommended, and the capabilities added back whose removal failed only on
// TC-03 (and never on another test). It is empty when there are none.
func (r Result) KeptForLogs() string {
	last := map[string]TrialResult{} // a trial run again counts once, as it ended
	var order []string
	for _, t := range r.Trials {
		if _, seen := last[t.Trial.Name]; !seen {
			order = append(order, t.Trial.Name)
		}
		last[t.Trial.Name] = t
	}
	var items []string
	type capKey struct {
		container string
		c         corev1.Capability
	}
	capLogs := map[capKey]string{}
	capHard := map[capKey]bool{}
	var capOrder []capKey
	for _, name := range order {
		t := last[name]
		if t.Verdict.Pass {
			continue
		}
		logs, only := logsOnly(t.Verdict)
		switch t.Trial.Kind {
		case hardening.TrialSingle:
			if !only || len(t.Trial.Checks) != 1 {
				continue
			}
			id := t.Trial.Checks[0]
			if slices.Contains(r.Passed, id) || (id == hardening.CheckDropAllCapabilities && len(r.AddBack) > 0) {
				continue
			}
			items = append(items, fmt.Sprintf("%s (trial %s: %s)", id, name, describeNewLines(logs, 2)))
		case hardening.TrialCapabilityAddBack:
			for _, ctr := range sortedNames(t.Trial.AddBack) {
				var missing []corev1.Capability
				for _, c := range r.AddBack[ctr] {
					if !slices.Contains(t.Trial.AddBack[ctr], c) {
						missing = append(missing, c)
					}
				}
				if len(missing) != 1 {
					continue // the trial alone does not show what one capability is for
				}
				k := capKey{ctr, missing[0]}
				if !only {
					capHard[k] = true
					continue
				}
				if _, dup := capLogs[k]; !dup {
					capOrder = append(capOrder, k)
					capLogs[k] = fmt.Sprintf("capability %s of container %s (trial %s: %s)", k.c, ctr, name, describeNewLines(logs, 2))
				}
			}
		}
	}
	for _, k := range capOrder {
		if !capHard[k] {
			items = append(items, capLogs[k])
		}
	}
	if len(items) == 0 {
		return ""
	}
	return "kept only because of new log lines: " + strings.Join(items, "; ") + ignoreHint
}
