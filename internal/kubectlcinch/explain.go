package kubectlcinch

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/cinch-dev/cinch/pkg/hardening"
	"github.com/cinch-dev/cinch/pkg/oracle"
)

// maxEvents is how many of Cinch's latest Events explain shows, and
// maxEventMessage how much of each message (their evidence is in the
// trials above).
const (
	maxEvents       = 5
	maxEventMessage = 160
)

func shorten(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-3]) + "..."
	}
	return s
}

// Explain writes, in plain words, what Cinch found for w: its status, every
// trial with its verdict and evidence, the capabilities kept and why, the
// recommendation, and Cinch's latest Events on w (events may be nil).
func Explain(out io.Writer, w Workload, events []corev1.Event, now time.Time) error {
	var b bytes.Buffer
	ref := strings.ToLower(w.Kind) + "/" + w.Name
	row := NewRow(w)
	fmt.Fprintf(&b, "%s %s/%s\n", w.Kind, w.Namespace, w.Name)
	fmt.Fprintf(&b, "  Status:        %s\n", statusWords(w, row))
	if row.TemplateLevel != "" {
		fmt.Fprintf(&b, "  PodSecurity:   ")
		if row.Level != "" {
			fmt.Fprintf(&b, "the verified recommendation reaches %s; ", row.Level)
		}
		fmt.Fprintf(&b, "the template as it is reaches %s\n", row.TemplateLevel)
	}
	if row.Status == string(hardening.StatusVerified) {
		switch {
		case row.Hardened:
			fmt.Fprintf(&b, "  Hardened:      yes, the current template has every verified setting\n")
		case len(row.Weaker) > 0:
			fmt.Fprintf(&b, "  Hardened:      no, %d setting(s) are weaker than the verified recommendation:\n", len(row.Weaker))
			for _, l := range row.Weaker {
				fmt.Fprintf(&b, "                   %s\n", l)
			}
		}
		if row.VerifiedAt != nil {
			fmt.Fprintf(&b, "  Verified at:   %s (%s ago)\n", row.VerifiedAt.UTC().Format(time.RFC3339), age(row.VerifiedAt, now))
		}
	}
	if row.Problem != "" {
		fmt.Fprintf(&b, "  Problem:       %s\n", row.Problem)
	}

	checks, _, err := w.Checks()
	if err != nil && !strings.Contains(row.Problem, err.Error()) {
		fmt.Fprintf(&b, "  Problem:       %s\n", err)
	}
	if err == nil && len(checks) > 0 {
		tmpl := w.Template
		fmt.Fprintf(&b, "\nTrials (%d), each in a throw-away clone of the namespace, judged against the baselines:\n", len(checks))
		if !w.Current() {
			fmt.Fprintf(&b, "  (they ran on an earlier pod template; container names come from the current one)\n")
		}
		for _, c := range checks {
			writeTrial(&b, tmpl, c)
		}
		writeCapabilities(&b, w, checks)
	}

	if rec, ok, err := w.Recommendation(); err == nil && ok {
		y, err := yaml.Marshal(rec)
		if err == nil {
			fmt.Fprintf(&b, "\nRecommendation (%s, complete securityContexts):\n", hardening.AnnotationRecommendation)
			for _, l := range strings.Split(strings.TrimRight(string(y), "\n"), "\n") {
				fmt.Fprintf(&b, "  %s\n", l)
			}
		}
		if row.Status == string(hardening.StatusVerified) && !row.Hardened {
			fmt.Fprintf(&b, "\n  See it: kubectl cinch diff %s -n %s\n  Use it: kubectl cinch apply %s -n %s\n", ref, w.Namespace, ref, w.Namespace)
		}
	}

	if len(events) > 0 {
		fmt.Fprintf(&b, "\nEvents (latest %d):\n", min(len(events), maxEvents))
		for _, ev := range events[max(0, len(events)-maxEvents):] {
			t := eventTime(ev)
			fmt.Fprintf(&b, "  %-4s ago  %-7s  %s: %s\n", age(&t, now), ev.Type, ev.Reason, shorten(ev.Message, maxEventMessage))
		}
	}
	_, err = out.Write(b.Bytes())
	return err
}

func statusWords(w Workload, row Row) string {
	switch row.Status {
	case StatusNone:
		return "None: Cinch has no result for this workload yet"
	case StatusOutdated:
		return fmt.Sprintf("Outdated: the result (%s) belongs to pod template %s; the template changed since (now %s) and Cinch has not finished it yet",
			row.ResultStatus, row.ResultTemplateHash, row.TemplateHash)
	case string(hardening.StatusPending):
		return "Pending: a job for the current template waits for a worker"
	case string(hardening.StatusRunning):
		return "Running: trials for the current template are running"
	case string(hardening.StatusVerified):
		return "Verified: a recommendation for the current template (" + w.Hash + ") worked in every trial that tested it"
	case string(hardening.StatusFailed):
		return "Failed: Cinch could not finish for the current template (" + w.Hash + "); the reason is in the HardeningFailed Event"
	case string(hardening.StatusSuperseded):
		return "Superseded: the template changed while it was being hardened"
	}
	return row.Status
}

// trialWords says what a trial tried.
func trialWords(t *corev1.PodTemplateSpec, c hardening.CheckResult) string {
	switch c.Trial {
	case hardening.TrialNameBaseline1, hardening.TrialNameBaseline2:
		return "baseline: the unmodified workload, run to compare the trials with"
	case hardening.TrialNameEverything:
		return "every planned check at once"
	case hardening.TrialNameCombination:
		return "the passing checks combined, verified together once more"
	}
	if info, ok := hardening.ParseCapabilityTrial(t, c.Trial); ok {
		return "capability search, " + containerWords(info.Container, info.Init) + ": " + capStepWords(info)
	}
	if info, ok := c.ID.Info(); ok {
		return string(info.ID) + ": " + info.Description
	}
	return "trial " + c.Trial
}

func containerWords(name string, init bool) string {
	kind := "container"
	if init {
		kind = "init container"
	}
	if name == "" {
		return kind + " (no longer in the template)"
	}
	return fmt.Sprintf("%s %q", kind, name)
}

func capStepWords(info hardening.CapabilityTrialInfo) string {
	switch info.Step {
	case hardening.CapabilityAttribution:
		return "drop ALL in this container alone"
	case hardening.CapabilityNecessity:
		return "drop ALL, add back every default capability except " + string(info.Capability)
	case hardening.CapabilityNecessityRare:
		return "drop ALL, add back every default capability except the rarely needed " + capList(info.Group)
	case hardening.CapabilityNeeded:
		return "drop ALL, add back only the capabilities found necessary"
	case hardening.CapabilityExtension:
		return "drop ALL, add back the necessary capabilities and " + string(info.Capability)
	case hardening.CapabilityElimination:
		return "drop ALL, add back the working set without " + string(info.Capability)
	}
	return string(info.Step)
}

// capList joins capabilities with commas.
func capList(caps []corev1.Capability) string {
	names := make([]string, len(caps))
	for i, c := range caps {
		names[i] = string(c)
	}
	return strings.Join(names, ", ")
}

func writeTrial(b *bytes.Buffer, t *corev1.PodTemplateSpec, c hardening.CheckResult) {
	verdict := "PASS"
	if !c.Pass {
		verdict = "FAIL"
	}
	fmt.Fprintf(b, "  %s  %-20s %s\n", verdict, c.Trial, trialWords(t, c))
	switch {
	case c.Trial == hardening.TrialNameBaseline1 || c.Trial == hardening.TrialNameBaseline2:
		return
	case c.Pass:
		fmt.Fprintf(b, "        the workload kept working as in the baselines\n")
		return
	}
	var tests []oracle.TestResult
	if len(c.Evidence) > 0 {
		if err := json.Unmarshal(c.Evidence, &tests); err != nil || len(tests) == 0 {
			fmt.Fprintf(b, "        failed: %s\n        evidence: %s\n", orNone(c.Reason), c.Evidence)
			return
		}
	}
	if strings.HasPrefix(c.Reason, "early: ") {
		fmt.Fprintf(b, "        ended early: the failure was certain before the recording ended\n")
	}
	if len(tests) == 0 {
		fmt.Fprintf(b, "        failed: %s\n", orNone(c.Reason))
		return
	}
	for _, tr := range tests {
		fmt.Fprintf(b, "        failed %s %s: %s\n", tr.ID, tr.Name, tr.Reason)
		for _, e := range tr.Evidence {
			for i, l := range evidenceWords(e) {
				indent := "          - "
				if i > 0 {
					indent = "            "
				}
				fmt.Fprintf(b, "%s%s\n", indent, l)
			}
		}
	}
}

// evidenceWords renders one piece of evidence as one or more lines.
func evidenceWords(e oracle.Evidence) []string {
	in := ""
	switch {
	case e.Container != "" && e.Pod != "":
		in = fmt.Sprintf(" (container %s, pod %s)", e.Container, e.Pod)
	case e.Container != "":
		in = fmt.Sprintf(" (container %s)", e.Container)
	case e.Pod != "":
		in = fmt.Sprintf(" (pod %s)", e.Pod)
	}
	switch {
	case e.Reason == oracle.ReasonErrorRate || e.Reason == oracle.ReasonMetricsUnanswered:
		return []string{metricsWords(e) + in}
	case e.Port != 0:
		target := fmt.Sprint(e.Port)
		if e.Protocol != "" {
			target += "/" + strings.ToLower(e.Protocol)
		}
		if e.Path != "" {
			target += " " + e.Path
		}
		switch e.Reason {
		case oracle.ReasonNotJudged:
			return []string{fmt.Sprintf("port %s not judged: %s", target, e.Message)}
		case oracle.ReasonRefused:
			return []string{fmt.Sprintf("port %s answered %q in both baselines; in the trial it refused or could not be reached (%q)%s", target, e.Baseline, e.Example, in)}
		}
		l := []string{fmt.Sprintf("port %s answered differently%s", target, in),
			fmt.Sprintf("before (baselines): %q", e.Baseline),
			fmt.Sprintf("after (trial):      %q", e.Example)}
		if e.Count > 1 {
			l[0] += fmt.Sprintf(", %d times", e.Count)
		}
		return l
	case e.Template != "":
		return []string{fmt.Sprintf("new log template, %d line(s)%s: %s", e.Count, in, e.Template),
			"example: " + e.Example}
	case e.Reason == "NewLinesNotClustered":
		return []string{fmt.Sprintf("%d more new log line(s)%s", e.Count, in)}
	case e.Metric != "":
		return []string{fmt.Sprintf("%s %g outside the baselines' band [%g, %g]%s", e.Metric, e.Value, e.Low, e.High, in)}
	}
	words := map[string]string{
		"Restarts":                   "restarts",
		"CrashLoopBackOff":           "kept crashing (CrashLoopBackOff)",
		"OOMKilled":                  "killed for running out of memory (OOMKilled)",
		"CreateContainerConfigError": "could not be created with these settings (CreateContainerConfigError)",
		"ExitCode":                   "exit code the baselines never showed",
		"Error":                      "terminated with an error",
		"NeverReady":                 "never became Ready",
		"NotReady":                   "not Ready at the end",
		"SlowReady":                  "became Ready much later than in the baselines",
		"ReadinessFlapping":          "readiness kept changing",
		"MissingPods":                "fewer pods than the baselines",
		"PodFailed":                  "pod failed",
	}
	w, ok := words[e.Reason]
	if !ok {
		w = e.Reason
	}
	if e.Message != "" {
		w += ": " + e.Message
	}
	return []string{strings.TrimPrefix(w+in, " ")}
}

// metricsWords renders TC-06 evidence: its message in full (the series
// and its endpoint, how much it rose in how long, the baselines' rates and
// the band), or, for evidence that has none, what its fields say.
func metricsWords(e oracle.Evidence) string {
	switch {
	case e.Message != "":
		return e.Message
	case e.Reason == oracle.ReasonMetricsUnanswered:
		return fmt.Sprintf("metrics endpoint %s answered the baselines but no scrape of the trial", e.Path)
	}
	return fmt.Sprintf("%s on %s rose at %g/s in the trial, above the baselines' band (up to %g/s)", e.Metric, e.Path, e.Value, e.High)
}

// writeCapabilities says, per container, which capabilities the
// recommendation keeps and which trials showed why.
func writeCapabilities(b *bytes.Buffer, w Workload, checks []hardening.CheckResult) {
	rec, ok, err := w.Recommendation()
	dropTrial := slices.IndexFunc(checks, func(c hardening.CheckResult) bool {
		info, _ := hardening.CheckDropAllCapabilities.Info()
		return c.Trial == info.Short
	})
	var search []hardening.CheckResult
	for _, c := range checks {
		if _, ok := hardening.ParseCapabilityTrial(w.Template, c.Trial); ok {
			search = append(search, c)
		}
	}
	if (err != nil || !ok) && dropTrial < 0 && len(search) == 0 {
		return
	}
	fmt.Fprintf(b, "\nCapabilities:\n")
	if dropTrial >= 0 {
		c := checks[dropTrial]
		if c.Pass {
			fmt.Fprintf(b, "  dropping ALL capabilities worked (trial %s)\n", c.Trial)
		} else {
			fmt.Fprintf(b, "  dropping ALL capabilities failed (trial %s: %s)", c.Trial, c.Reason)
			if len(search) > 0 {
				fmt.Fprintf(b, "; Cinch searched for the smallest set to add back (%d trials)", len(search))
			}
			fmt.Fprintln(b)
		}
	}
	if err != nil || !ok {
		return
	}
	for _, ref := range containerRefs(w.Template) {
		sc := rec.Containers[ref.name]
		if ref.init {
			sc = rec.InitContainers[ref.name]
		}
		who := containerWords(ref.name, ref.init)
		var drop, add []string
		if sc != nil && sc.Capabilities != nil {
			for _, c := range sc.Capabilities.Drop {
				drop = append(drop, string(c))
			}
			for _, c := range sc.Capabilities.Add {
				add = append(add, string(c))
			}
		}
		if !slices.Contains(drop, "ALL") {
			fmt.Fprintf(b, "  %s keeps the runtime's default capabilities (no working set without them was verified)\n", who)
			continue
		}
		if len(add) == 0 {
			fmt.Fprintf(b, "  %s: drops ALL, adds none back\n", who)
			continue
		}
		fmt.Fprintf(b, "  %s: drops ALL, adds back %s\n", who, strings.Join(add, ", "))
		for _, capName := range add {
			fmt.Fprintf(b, "    %s: %s\n", capName, whyKept(w.Template, search, ref, corev1.Capability(capName)))
		}
	}
}

// whyKept explains from the search's trials why cap was kept.
func whyKept(t *corev1.PodTemplateSpec, search []hardening.CheckResult, ref containerRef, capName corev1.Capability) string {
	for _, c := range search {
		info, _ := hardening.ParseCapabilityTrial(t, c.Trial)
		if info.Container != ref.name || info.Init != ref.init || info.Capability != capName {
			continue
		}
		switch {
		case info.Step == hardening.CapabilityNecessity && !c.Pass:
			return fmt.Sprintf("needed: without it the workload failed (trial %s: %s)", c.Trial, c.Reason)
		case info.Step == hardening.CapabilityExtension && c.Pass:
			return fmt.Sprintf("needed together with the necessary ones: adding it made them work (trial %s)", c.Trial)
		case info.Step == hardening.CapabilityElimination && !c.Pass:
			return fmt.Sprintf("needed in the set found: removing it failed (trial %s: %s)", c.Trial, c.Reason)
		}
	}
	if len(search) == 0 {
		return "the container already added it"
	}
	return "part of the smallest working set found"
}

type containerRef struct {
	name string
	init bool
}

func containerRefs(t *corev1.PodTemplateSpec) []containerRef {
	var out []containerRef
	for _, c := range t.Spec.InitContainers {
		out = append(out, containerRef{c.Name, true})
	}
	for _, c := range t.Spec.Containers {
		out = append(out, containerRef{c.Name, false})
	}
	return out
}

func eventTime(ev corev1.Event) time.Time {
	switch {
	case !ev.LastTimestamp.IsZero():
		return ev.LastTimestamp.Time
	case !ev.EventTime.IsZero():
		return ev.EventTime.Time
	}
	return ev.CreationTimestamp.Time
}
