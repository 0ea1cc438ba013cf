package worker

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/cinch-dev/cinch/internal/pipeline"
	"github.com/cinch-dev/cinch/internal/results"
	"github.com/cinch-dev/cinch/pkg/hardening"
)

// Print writes a one-shot result: json and yaml print exactly the
// annotations (annotation key → value); table prints the trials, the
// recommendation and the kubectl patch command.
func Print(w io.Writer, format string, ref results.Ref, res pipeline.Result, ann map[string]string) error {
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(ann)
	case "yaml":
		b, err := yaml.Marshal(ann)
		if err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	case "table":
		return printTable(w, ref, res, ann)
	}
	return fmt.Errorf("unknown output format %q", format)
}

func printTable(w io.Writer, ref results.Ref, res pipeline.Result, ann map[string]string) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "TRIAL\tKIND\tCHECKS\tVERDICT\tSECONDS\tREASON\n")
	for _, t := range res.Trials {
		cr := pipeline.CheckResultOf(t)
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%.0f\t%s\n", t.Trial.Name, t.Trial.Kind, joinIDs(t.Trial.Checks),
			pipeline.TrialOutcome(t), t.Ended.Sub(t.Started).Seconds(), cr.Reason)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\n%s: %s (%s)\n", ref, res.Outcome, res.Reason)
	fmt.Fprintf(w, "took %s, %.0f pod-seconds, at most %d clones at once\n", res.Ended.Sub(res.Started).Round(time.Second), res.PodSeconds, res.PeakClones)
	if res.Outcome != pipeline.OutcomeVerified {
		return nil
	}
	fmt.Fprintf(w, "passed checks: %s\n", joinIDs(res.Passed))
	fmt.Fprintf(w, "PodSecurity level: %s\n", res.Level)
	fmt.Fprintf(w, "recommendation: %s\n", ann[hardening.AnnotationRecommendation])
	if cmd, err := hardening.PatchCommand(ref.Kind, ref.Namespace, ref.Name, res.Recommendation); err == nil {
		fmt.Fprintf(w, "apply with:\n  %s\n", cmd)
	}
	return nil
}
