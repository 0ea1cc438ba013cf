package hardening

import (
	"slices"

	corev1 "k8s.io/api/core/v1"
)

// TrialKind says what a trial is for.
type TrialKind string

const (
	// TrialBaseline runs the workload unmodified.
	TrialBaseline TrialKind = "Baseline"
	// TrialSingle runs the workload with one check applied.
	TrialSingle TrialKind = "Single"
	// TrialEverything runs the workload with every planned check applied.
	TrialEverything TrialKind = "Everything"
	// TrialCombination verifies the combination of the passing checks.
	TrialCombination TrialKind = "Combination"
	// TrialCapabilityAddBack is a round of the capability add-back search.
	TrialCapabilityAddBack TrialKind = "CapabilityAddBack"
)

// Trial names that are not derived from a check.
const (
	TrialNameBaseline1   = "baseline-1"
	TrialNameBaseline2   = "baseline-2"
	TrialNameEverything  = "everything"
	TrialNameCombination = "combination"
)

// Trial is one run of the workload in a throw-away clone of its namespace.
type Trial struct {
	// Name is short and dns-1123-label-safe: "baseline-1", "everything",
	// "ro-rootfs", "caps-c0-no-chown", ...
	Name string    `json:"name"`
	Kind TrialKind `json:"kind"`
	// Checks are the checks applied in this trial, in catalogue order.
	Checks []CheckID `json:"checks,omitempty"`
	// Template is a deep copy of the workload's pod template with the
	// trial's variant applied.
	Template *corev1.PodTemplateSpec `json:"-"`
	// AddBack is, for capability trials, the capabilities added back after
	// dropping ALL, by container name (only the containers the trial varies).
	AddBack map[string][]corev1.Capability `json:"addBack,omitempty"`
}

// Plan is the first round of trials for a workload.
type Plan struct {
	Trials []Trial
	// Checks are the planned checks, in catalogue order: those where some
	// container lacks the setting.
	Checks []CheckID
}

// Trial returns the trial of the plan with the given name.
func (p Plan) Trial(name string) (Trial, bool) {
	i := slices.IndexFunc(p.Trials, func(t Trial) bool { return t.Name == name })
	if i < 0 {
		return Trial{}, false
	}
	return p.Trials[i], true
}

// PlannedChecks returns the checks of the catalogue (restricted to
// opts.Checks) where some container or init container of t lacks the setting.
func PlannedChecks(t *corev1.PodTemplateSpec, opts Options) []CheckID {
	var ids []CheckID
	for _, info := range catalogue {
		if opts.enabled(info.ID) && specLacks(info.ID, &t.Spec) {
			ids = append(ids, info.ID)
		}
	}
	return ids
}

// PlanTrials plans the first round for t: two baselines, one trial per
// planned check and one "everything" trial with all planned checks together,
// so that a workload that tolerates everything is verified in a single round.
//
// When nothing is planned (the workload already has every setting) the plan
// is empty: no baselines are needed. When exactly one check is planned the
// "everything" trial would repeat the single trial and is left out.
func PlanTrials(t *corev1.PodTemplateSpec, opts Options) Plan {
	opts = opts.normalized()
	checks := PlannedChecks(t, opts)
	if len(checks) == 0 {
		return Plan{}
	}
	p := Plan{Checks: checks}
	p.Trials = append(p.Trials,
		Trial{Name: TrialNameBaseline1, Kind: TrialBaseline, Template: t.DeepCopy()},
		Trial{Name: TrialNameBaseline2, Kind: TrialBaseline, Template: t.DeepCopy()},
	)
	for _, id := range checks {
		info, _ := id.Info()
		p.Trials = append(p.Trials, Trial{
			Name:     info.Short,
			Kind:     TrialSingle,
			Checks:   []CheckID{id},
			Template: Variant(t, []CheckID{id}, opts, nil),
		})
	}
	if len(checks) > 1 {
		p.Trials = append(p.Trials, Trial{
			Name:     TrialNameEverything,
			Kind:     TrialEverything,
			Checks:   slices.Clone(checks),
			Template: Variant(t, checks, opts, nil),
		})
	}
	return p
}

// Variant returns a deep copy of t with the given checks applied, in
// catalogue order. addBack, when not nil, lists per container name the
// capabilities a finished capability search found necessary: those
// containers drop ALL and add back their list, even when
// drop-all-capabilities is not among checks (a container with an empty list
// drops ALL and adds nothing back). Settings t already has are never
// loosened.
func Variant(t *corev1.PodTemplateSpec, checks []CheckID, opts Options, addBack map[string][]corev1.Capability) *corev1.PodTemplateSpec {
	opts = opts.normalized()
	v := t.DeepCopy()
	for _, id := range sortChecks(checks) {
		if id == CheckDropAllCapabilities {
			continue
		}
		applyCheck(id, &v.Spec, opts)
	}
	if isWindows(&v.Spec) {
		return v
	}
	dropAllChecked := slices.Contains(checks, CheckDropAllCapabilities)
	for _, r := range containersOf(&v.Spec) {
		caps, searched := addBack[r.c.Name]
		if dropsAll(r.c.SecurityContext) {
			continue
		}
		if dropAllChecked || searched {
			dropAll(ensureSC(r.c), caps)
		}
	}
	return v
}

// VerificationTrial returns the trial that verifies rec on t, and whether it
// still has to run: it does not when one of the passed trials already ran
// the same effective settings (typically "everything", or the single trial
// of the only passing check).
func VerificationTrial(t *corev1.PodTemplateSpec, rec Recommendation, checks []CheckID, passed []Trial) (Trial, bool) {
	applied := rec.Apply(t)
	for _, p := range passed {
		if p.Template != nil && SameSettings(applied, p.Template) {
			return p, false
		}
	}
	return Trial{
		Name:     TrialNameCombination,
		Kind:     TrialCombination,
		Checks:   sortChecks(checks),
		Template: applied,
	}, true
}
