package hardening

import (
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// Reading a stored result back: what tools that explain or apply a
// recommendation (kubectl-cinch) need to know about names this package
// makes. Kept here so the naming rules live in one package.

// TemplatePath returns where a workload of kind keeps its pod template, as
// field names from the object's root (e.g. spec, template), for the kinds
// Cinch hardens.
func TemplatePath(kind string) ([]string, bool) {
	k, ok := LookupKind(kind)
	return k.TemplatePath, ok
}

// CapabilityStep is the step of the capability add-back search (see
// CapabilityPlan) that a trial belongs to.
type CapabilityStep string

const (
	// CapabilityAttribution drops ALL in one container alone ("caps-c0-none").
	CapabilityAttribution CapabilityStep = "attribution"
	// CapabilityNecessity adds back every candidate but Capability
	// ("caps-c0-no-chown"); when it fails, Capability is necessary.
	CapabilityNecessity CapabilityStep = "necessity"
	// CapabilityNecessityRare adds back every candidate but the rarely
	// needed ones in Group ("caps-c0-no-rare"); when it fails, each of them
	// is tested alone.
	CapabilityNecessityRare CapabilityStep = "necessity-rare"
	// CapabilityNeeded adds back exactly the necessary ones ("caps-c0-need").
	CapabilityNeeded CapabilityStep = "needed"
	// CapabilityExtension adds back the necessary ones and Capability
	// ("caps-c0-need-kill").
	CapabilityExtension CapabilityStep = "extension"
	// CapabilityElimination tries the working set without Capability
	// ("caps-c0-try-kill").
	CapabilityElimination CapabilityStep = "elimination"
)

// CapabilityTrialInfo describes a capability add-back trial by its name.
type CapabilityTrialInfo struct {
	// Container is the name of the container the trial varied; empty when
	// the template given to ParseCapabilityTrial has no such container.
	Container string
	Init      bool
	Step      CapabilityStep
	// Capability is the capability the step is about; empty for the
	// attribution, needed and necessity-rare steps.
	Capability corev1.Capability
	// Group holds, for the necessity-rare step, the rarely needed
	// capabilities the trial removed (RarelyNeededCapabilities the container
	// neither drops nor adds; all of them when the container is unknown).
	Group []corev1.Capability
}

// ParseCapabilityTrial reads the name of a capability add-back trial
// ("caps-c0-no-chown") against t, the pod template the search ran on. ok is
// false for any other trial name.
func ParseCapabilityTrial(t *corev1.PodTemplateSpec, trial string) (CapabilityTrialInfo, bool) {
	rest, ok := strings.CutPrefix(trial, "caps-")
	if !ok {
		return CapabilityTrialInfo{}, false
	}
	key, suffix, ok := strings.Cut(rest, "-")
	if !ok || len(key) < 2 || (key[0] != 'c' && key[0] != 'i') {
		return CapabilityTrialInfo{}, false
	}
	var info CapabilityTrialInfo
	switch suffix {
	case "none":
		info.Step = CapabilityAttribution
	case "need":
		info.Step = CapabilityNeeded
	case "no-" + rareGroup:
		info.Step = CapabilityNecessityRare
		info.Group = slices.Clone(RarelyNeededCapabilities)
	default:
		steps := []struct {
			prefix string
			step   CapabilityStep
		}{{"no-", CapabilityNecessity}, {"need-", CapabilityExtension}, {"try-", CapabilityElimination}}
		for _, s := range steps {
			if slug, ok := strings.CutPrefix(suffix, s.prefix); ok {
				i := slices.IndexFunc(RuntimeDefaultCapabilities, func(c corev1.Capability) bool { return capSlug(c) == slug })
				if i < 0 {
					return CapabilityTrialInfo{}, false
				}
				info.Step, info.Capability = s.step, RuntimeDefaultCapabilities[i]
				break
			}
		}
		if info.Step == "" {
			return CapabilityTrialInfo{}, false
		}
	}
	info.Init = key[0] == 'i'
	if t != nil {
		for _, r := range containersOf(&t.Spec) {
			if r.key != key {
				continue
			}
			info.Container = r.c.Name
			if info.Group != nil {
				info.Group = slices.DeleteFunc(candidates(r.c), func(c corev1.Capability) bool {
					return !slices.Contains(RarelyNeededCapabilities, c)
				})
			}
		}
	}
	return info, true
}
