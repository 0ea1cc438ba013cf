package kubectlcinch

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/cinch-dev/cinch/pkg/hardening"
)

// Display statuses beside the contract's (hardening.Status*).
const (
	// StatusNone: the workload has no result yet.
	StatusNone = "None"
	// StatusOutdated: the annotations hold a result for another pod
	// template; Cinch has not finished the current one yet.
	StatusOutdated = "Outdated"
)

// Row is one line of `kubectl cinch status`; -o json and -o yaml print
// these fields.
type Row struct {
	Namespace string `json:"namespace"`
	Kind      string `json:"kind"`
	Name      string `json:"name"`
	// Status is cinch.dev/status when the result describes the current pod
	// template, Outdated when it describes another one, None without one.
	Status string `json:"status"`
	// ResultStatus is cinch.dev/status as written.
	ResultStatus string `json:"resultStatus,omitempty"`
	// Level is the PodSecurity level the verified recommendation reaches
	// (cinch.dev/pod-security-level), for a Verified current result only.
	Level string `json:"level,omitempty"`
	// TemplateLevel is the PodSecurity level the current template reaches
	// as it is.
	TemplateLevel string `json:"templateLevel"`
	// Hardened: the current template already has every verified setting
	// (nothing weaker than the recommendation).
	Hardened bool `json:"hardened"`
	// Weaker lists the current template's settings that are weaker than the
	// verified recommendation (Verified current results only).
	Weaker []string `json:"weaker,omitempty"`
	// VerifiedAt is cinch.dev/verified-at of a Verified current result.
	VerifiedAt *time.Time `json:"verifiedAt,omitempty"`
	// FailedChecks are the checks whose own trial failed, in catalogue order.
	FailedChecks []string `json:"failedChecks"`
	// AddBack lists, per container, the capabilities the recommendation
	// keeps (capabilities.add).
	AddBack map[string][]string `json:"addBack,omitempty"`
	// TemplateHash is the current pod template's hash; ResultTemplateHash
	// the one the result belongs to (cinch.dev/template-hash).
	TemplateHash       string `json:"templateHash"`
	ResultTemplateHash string `json:"resultTemplateHash,omitempty"`
	// Problem says why the annotations could not be read, if so.
	Problem string `json:"problem,omitempty"`
}

// NewRow decides the status line of w.
func NewRow(w Workload) Row {
	r := Row{
		Namespace: w.Namespace, Kind: w.Kind, Name: w.Name,
		ResultStatus:       string(w.Status()),
		TemplateHash:       w.Hash,
		ResultTemplateHash: w.Annotations[hardening.AnnotationTemplateHash],
		FailedChecks:       []string{},
	}
	var problems []string
	if lvl, err := hardening.PodSecurityLevel(w.Template); err == nil {
		r.TemplateLevel = lvl
	} else {
		problems = append(problems, err.Error())
	}
	switch {
	case r.ResultStatus == "":
		r.Status = StatusNone
	case !w.Current():
		r.Status = StatusOutdated
	default:
		r.Status = r.ResultStatus
	}
	if r.Status == string(hardening.StatusVerified) || r.Status == string(hardening.StatusFailed) {
		checks, _, err := w.Checks()
		if err != nil {
			problems = append(problems, err.Error())
		}
		r.FailedChecks = failedChecks(checks)
	}
	if r.Status == string(hardening.StatusVerified) {
		r.Level = w.Annotations[hardening.AnnotationPodSecurityLevel]
		if t, err := time.Parse(time.RFC3339, w.Annotations[hardening.AnnotationVerifiedAt]); err == nil {
			r.VerifiedAt = &t
		}
		rec, ok, err := w.Recommendation()
		switch {
		case err != nil:
			problems = append(problems, err.Error())
		case !ok:
			problems = append(problems, "Verified without "+hardening.AnnotationRecommendation)
		default:
			r.Weaker = hardening.Weaker(rec, w.Template)
			r.Hardened = len(r.Weaker) == 0
			r.AddBack = addBack(rec)
		}
	}
	r.Problem = strings.Join(problems, "; ")
	return r
}

// failedChecks returns the checks whose own single-check trial failed, in
// catalogue order. Combination, "everything" and capability add-back
// trials name no single check that failed.
func failedChecks(checks []hardening.CheckResult) []string {
	out := []string{}
	for _, info := range hardening.Catalogue() {
		for _, c := range checks {
			if c.ID == info.ID && c.Trial == info.Short && !c.Pass {
				out = append(out, string(info.ID))
				break
			}
		}
	}
	return out
}

func addBack(rec hardening.Recommendation) map[string][]string {
	out := map[string][]string{}
	for _, m := range []map[string]*corev1.SecurityContext{rec.InitContainers, rec.Containers} {
		for name, sc := range m {
			if sc == nil || sc.Capabilities == nil || len(sc.Capabilities.Add) == 0 {
				continue
			}
			for _, c := range sc.Capabilities.Add {
				out[name] = append(out[name], string(c))
			}
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// levelRank orders PodSecurity levels; unknown levels rank below privileged.
func levelRank(l string) int {
	switch l {
	case hardening.LevelPrivileged:
		return 1
	case hardening.LevelBaseline:
		return 2
	case hardening.LevelRestricted:
		return 3
	}
	return 0
}

// ValidLevel reports whether l can be a --fail-below level.
func ValidLevel(l string) bool { return l == hardening.LevelBaseline || l == hardening.LevelRestricted }

// Verdict is what --fail-below decides for one row.
type Verdict int

const (
	// Reached: the workload reaches the level (its template as it is, or its
	// verified recommendation for the current template).
	Reached Verdict = iota
	// Below: a final result for the current template that stays below it
	// (Verified at a lower level, or Failed while the template is below).
	Below
	// Undecided: the template is below the level and Cinch has no final
	// result for it yet (None, Pending, Running, Superseded, Outdated).
	Undecided
)

// Judge decides whether r reaches the PodSecurity level want.
func Judge(r Row, want string) Verdict {
	if levelRank(r.TemplateLevel) >= levelRank(want) {
		return Reached
	}
	switch r.Status {
	case string(hardening.StatusVerified):
		if levelRank(r.Level) >= levelRank(want) {
			return Reached
		}
		return Below
	case string(hardening.StatusFailed):
		return Below
	}
	return Undecided
}

// Output formats of status.
const (
	OutputTable = ""
	OutputWide  = "wide"
	OutputJSON  = "json"
	OutputYAML  = "yaml"
)

// StatusList is what status -o json|yaml prints.
type StatusList struct {
	Workloads []Row `json:"workloads"`
}

// PrintStatus writes rows in format (OutputTable, OutputWide, OutputJSON,
// OutputYAML); allNamespaces adds the NAMESPACE column; now ages
// verified-at times.
func PrintStatus(w io.Writer, rows []Row, format string, allNamespaces bool, now time.Time) error {
	switch format {
	case OutputJSON:
		b, err := json.MarshalIndent(StatusList{Workloads: nonNil(rows)}, "", "  ")
		if err != nil {
			return fmt.Errorf("encode status: %w", err)
		}
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	case OutputYAML:
		b, err := yaml.Marshal(StatusList{Workloads: nonNil(rows)})
		if err != nil {
			return fmt.Errorf("encode status: %w", err)
		}
		_, err = w.Write(b)
		return err
	case OutputTable, OutputWide:
	default:
		return fmt.Errorf("unknown output format %q: use wide, json or yaml", format)
	}
	wide := format == OutputWide
	tw := tabwriter.NewWriter(w, 0, 8, 3, ' ', 0)
	head := []string{"KIND", "NAME", "STATUS", "LEVEL", "HARDENED", "VERIFIED", "FAILED-CHECKS"}
	if allNamespaces {
		head = append([]string{"NAMESPACE"}, head...)
	}
	if wide {
		head = append(head, "TEMPLATE-LEVEL", "CAPABILITIES-KEPT", "VERIFIED-AT", "TEMPLATE-HASH", "PROBLEM")
	}
	fmt.Fprintln(tw, strings.Join(head, "\t"))
	for _, r := range rows {
		cells := []string{r.Kind, r.Name, r.Status, orNone(r.Level), hardenedCell(r), age(r.VerifiedAt, now), orNone(strings.Join(r.FailedChecks, ","))}
		if allNamespaces {
			cells = append([]string{r.Namespace}, cells...)
		}
		if wide {
			at := "<none>"
			if r.VerifiedAt != nil {
				at = r.VerifiedAt.UTC().Format(time.RFC3339)
			}
			cells = append(cells, orNone(r.TemplateLevel), orNone(capsCell(r.AddBack)), at, r.TemplateHash, orNone(r.Problem))
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	return tw.Flush()
}

func nonNil(rows []Row) []Row {
	if rows == nil {
		return []Row{}
	}
	return rows
}

func orNone(s string) string {
	if s == "" {
		return "<none>"
	}
	return s
}

func hardenedCell(r Row) string {
	switch {
	case r.Status != string(hardening.StatusVerified):
		return "-"
	case r.Hardened:
		return "yes"
	case len(r.Weaker) > 0:
		return "no"
	}
	return "-" // the recommendation could not be read

}

func capsCell(m map[string][]string) string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	slices.Sort(names)
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = n + ":" + strings.Join(m[n], "+")
	}
	return strings.Join(parts, ",")
}

// age renders how long ago t was, like kubectl's AGE column.
func age(t *time.Time, now time.Time) string {
	if t == nil {
		return "<none>"
	}
	d := now.Sub(*t)
	switch {
	case d < 0:
		return "0s"
	case d < 2*time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < 2*time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}
