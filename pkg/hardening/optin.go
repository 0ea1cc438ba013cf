package hardening

import (
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The opt-in rule, written once for the admission webhook, the worker's job
// handler and its resync: a workload is hardened when its namespace is
// labelled cinch.dev/harden=enabled or =enforce and is not a trial clone,
// and the workload does not carry the annotation cinch.dev/harden: disabled.
// An object that its owner makes from its own pod template (a Job a CronJob
// created) is hardened through that owner, never on its own.

// OptInSelector is the label selector of the namespaces that opt in; clones
// never carry the label, and NamespaceOptedIn excludes them anyway.
const OptInSelector = LabelHarden + " in (" + HardenEnabled + "," + HardenEnforce + ")"

// IsClone reports whether a namespace with labels nsLabels is a trial clone.
func IsClone(nsLabels map[string]string) bool {
	_, ok := nsLabels[LabelCloneOf]
	return ok
}

// NamespaceOptedIn reports whether a namespace with labels nsLabels opts in:
// cinch.dev/harden is enabled or enforce, and it is not a trial clone.
func NamespaceOptedIn(nsLabels map[string]string) bool {
	switch nsLabels[LabelHarden] {
	case HardenEnabled, HardenEnforce:
		return !IsClone(nsLabels)
	}
	return false
}

// NamespaceEnforces reports whether a namespace with labels nsLabels opts in
// with enforcement of verified recommendations (cinch.dev/harden=enforce).
func NamespaceEnforces(nsLabels map[string]string) bool {
	return nsLabels[LabelHarden] == HardenEnforce && NamespaceOptedIn(nsLabels)
}

// WorkloadOptedOut reports whether a workload with annotations ann opts out
// (cinch.dev/harden: disabled).
func WorkloadOptedOut(ann map[string]string) bool {
	return ann[LabelHarden] == HardenDisabled
}

// OptedIn reports whether a workload with annotations ann, in a namespace
// with labels nsLabels, is to be hardened.
func OptedIn(nsLabels, ann map[string]string) bool {
	return NamespaceOptedIn(nsLabels) && !WorkloadOptedOut(ann)
}

// HardenedByOwner reports whether an object of kind with owner references
// owners is hardened through its controller instead of on its own: the
// controller is of one of kind's Owners (a Job a CronJob made, whose pod
// template is the CronJob's). Such an object gets no job, no result and no
// place in a run; its owner's result applies to it.
func HardenedByOwner(kind string, owners []metav1.OwnerReference) bool {
	k := lookupKind(kind)
	if k == nil || len(k.Owners) == 0 {
		return false
	}
	for _, o := range owners {
		if o.Controller == nil || !*o.Controller || !slices.Contains(k.Owners, o.Kind) {
			continue
		}
		if owner := lookupKind(o.Kind); owner != nil && apiGroup(o.APIVersion) == owner.Group {
			return true
		}
	}
	return false
}

// apiGroup is the group of an apiVersion ("batch/v1": batch, "v1": core).
func apiGroup(apiVersion string) string {
	group, _, ok := strings.Cut(apiVersion, "/")
	if !ok {
		return ""
	}
	return group
}
