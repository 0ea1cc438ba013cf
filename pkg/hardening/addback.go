package hardening

import (
	"slices"

	corev1 "k8s.io/api/core/v1"
)

// PruneAddBack leaves out of a finished capability search's add-back the
// containers whose search kept every capability the runtime grants: "drop
// ALL, add all of them back" hardens nothing. It returns nil when no
// container is left.
func PruneAddBack(t *corev1.PodTemplateSpec, addBack map[string][]corev1.Capability) map[string][]corev1.Capability {
	out := map[string][]corev1.Capability{}
	all := append(slices.Clone(t.Spec.InitContainers), t.Spec.Containers...)
	for _, c := range all {
		caps, ok := addBack[c.Name]
		if !ok {
			continue
		}
		if len(caps) >= len(grantable(c)) {
			continue
		}
		out[c.Name] = caps
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// grantable are the runtime's default capabilities the container neither
// drops nor adds already (the add-back candidates).
func grantable(c corev1.Container) []corev1.Capability {
	var drop, add []corev1.Capability
	if c.SecurityContext != nil && c.SecurityContext.Capabilities != nil {
		drop, add = c.SecurityContext.Capabilities.Drop, c.SecurityContext.Capabilities.Add
	}
	var out []corev1.Capability
	for _, d := range RuntimeDefaultCapabilities {
		if !slices.Contains(drop, d) && !slices.Contains(add, d) {
			out = append(out, d)
		}
	}
	return out
}
