package kubectlcinch

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/cinch-dev/cinch/pkg/hardening"
)

// ErrRefused wraps why apply (and diff) will not use a workload's
// recommendation.
var ErrRefused = errors.New("refused")

// ApplyPlan is what apply does for one workload.
type ApplyPlan struct {
	Recommendation hardening.Recommendation
	// UpToDate: the current template already has every verified setting;
	// nothing is sent.
	UpToDate bool
	// Patch is the strategic merge patch to send, guarded by the
	// workload's resourceVersion: the API server refuses it (409) when the
	// workload changed since it was read.
	Patch []byte
}

// UsableRecommendation returns w's verified recommendation when the
// annotations describe w's current pod template; otherwise an error
// wrapping ErrRefused that says why, in words for the user.
func UsableRecommendation(w Workload) (hardening.Recommendation, error) {
	name := w.Kind + "/" + w.Name
	status := w.Status()
	switch {
	case status == "":
		return hardening.Recommendation{}, fmt.Errorf("%w: %s has no Cinch result yet: nothing verified to apply (is namespace %s opted in? kubectl cinch status -n %s)",
			ErrRefused, name, w.Namespace, w.Namespace)
	case !w.Current():
		return hardening.Recommendation{}, fmt.Errorf("%w: the pod template of %s changed after Cinch's result: the result (%s) belongs to template %s, the current template is %s. "+
			"A recommendation verified for another template may not work with this one; Cinch verifies the new template by itself (watch kubectl cinch status -n %s)",
			ErrRefused, name, status, w.Annotations[hardening.AnnotationTemplateHash], w.Hash, w.Namespace)
	case status == hardening.StatusFailed:
		return hardening.Recommendation{}, fmt.Errorf("%w: Cinch could not verify a recommendation for %s (status Failed; see kubectl cinch explain %s -n %s)",
			ErrRefused, name, name, w.Namespace)
	case status != hardening.StatusVerified:
		return hardening.Recommendation{}, fmt.Errorf("%w: %s has no verified recommendation for its current template yet (status %s)", ErrRefused, name, status)
	}
	rec, ok, err := w.Recommendation()
	if err != nil {
		return hardening.Recommendation{}, fmt.Errorf("%s: %w", name, err)
	}
	if !ok {
		return hardening.Recommendation{}, fmt.Errorf("%w: %s is Verified but has no %s annotation", ErrRefused, name, hardening.AnnotationRecommendation)
	}
	return rec, nil
}

// PlanApply decides what apply does for w: refuse (ErrRefused), nothing
// (UpToDate), or send Patch. A workload whose kind cannot change its pod
// template (a Job) is refused unless it is up to date.
func PlanApply(w Workload) (ApplyPlan, error) {
	rec, err := UsableRecommendation(w)
	if err != nil {
		return ApplyPlan{}, err
	}
	p := ApplyPlan{Recommendation: rec}
	if len(hardening.Weaker(rec, w.Template)) == 0 {
		p.UpToDate = true
		return p, nil
	}
	if k, _ := hardening.LookupKind(w.Kind); k.ImmutableTemplate {
		name := w.Kind + "/" + w.Name
		return ApplyPlan{}, fmt.Errorf("%w: the pod template of a %s cannot change once it exists: put the recommendation in the manifest %s is made from "+
			"and create it again (kubectl cinch diff %s -n %s shows the settings)", ErrRefused, w.Kind, name, name, w.Namespace)
	}
	patch, err := hardening.StrategicMergePatch(w.Kind, rec)
	if err != nil {
		return ApplyPlan{}, fmt.Errorf("recommendation patch: %w", err)
	}
	var doc map[string]any
	if err := json.Unmarshal(patch, &doc); err != nil {
		return ApplyPlan{}, fmt.Errorf("recommendation patch: %w", err)
	}
	doc["metadata"] = map[string]any{"resourceVersion": w.ResourceVersion}
	if p.Patch, err = json.Marshal(doc); err != nil {
		return ApplyPlan{}, fmt.Errorf("recommendation patch: %w", err)
	}
	return p, nil
}
