package hardening

// The opt-in rule, written once for the admission webhook, the worker's job
// handler and its resync: a workload is hardened when its namespace is
// labelled cinch.dev/harden=enabled or =enforce and is not a trial clone,
// and the workload does not carry the annotation cinch.dev/harden: disabled.

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
