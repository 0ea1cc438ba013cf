package kubectlcinch

import (
	"fmt"
	"strings"

	"github.com/pmezard/go-difflib/difflib"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"sigs.k8s.io/yaml"

	"github.com/cinch-dev/cinch/pkg/hardening"
)

// securityView is what diff compares: every securityContext of a pod
// template, keyed like the cinch.dev/recommendation annotation.
type securityView struct {
	Pod            *corev1.PodSecurityContext         `json:"pod"`
	InitContainers map[string]*corev1.SecurityContext `json:"initContainers,omitempty"`
	Containers     map[string]*corev1.SecurityContext `json:"containers"`
}

// SecurityYAML renders the securityContexts of t as YAML: pod, then each
// container and init container by name; unset ones as {}.
func SecurityYAML(t *corev1.PodTemplateSpec) (string, error) {
	v := securityView{Pod: t.Spec.SecurityContext, Containers: map[string]*corev1.SecurityContext{}}
	if v.Pod == nil {
		v.Pod = &corev1.PodSecurityContext{}
	}
	for _, c := range t.Spec.InitContainers {
		if v.InitContainers == nil {
			v.InitContainers = map[string]*corev1.SecurityContext{}
		}
		v.InitContainers[c.Name] = orEmpty(c.SecurityContext)
	}
	for _, c := range t.Spec.Containers {
		v.Containers[c.Name] = orEmpty(c.SecurityContext)
	}
	b, err := yaml.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("encode securityContexts: %w", err)
	}
	return string(b), nil
}

func orEmpty(sc *corev1.SecurityContext) *corev1.SecurityContext {
	if sc == nil {
		return &corev1.SecurityContext{}
	}
	return sc
}

// Patched returns the pod template w would have after apply: rec's
// strategic merge patch (hardening.StrategicMergePatch) applied to the
// object locally, with the API server's merge rules. Admission may still
// change it.
func Patched(w Workload, rec hardening.Recommendation) (*corev1.PodTemplateSpec, error) {
	k, err := lookupKind(w.Kind)
	if err != nil {
		return nil, err
	}
	patch, err := hardening.StrategicMergePatch(k.Name, rec)
	if err != nil {
		return nil, fmt.Errorf("recommendation patch: %w", err)
	}
	obj, err := strategicpatch.StrategicMergePatch(w.Object, patch, k.Schema())
	if err != nil {
		return nil, fmt.Errorf("apply recommendation patch to %s: %w", w.Ref(), err)
	}
	path, _ := hardening.TemplatePath(k.Name)
	return templateOf(obj, path)
}

// Diff returns the unified diff of w's current securityContexts against
// those it would have with rec applied; "" when they are the same.
func Diff(w Workload, rec hardening.Recommendation) (string, error) {
	after, err := Patched(w, rec)
	if err != nil {
		return "", err
	}
	a, err := SecurityYAML(w.Template)
	if err != nil {
		return "", err
	}
	b, err := SecurityYAML(after)
	if err != nil {
		return "", err
	}
	return unified(w, a, b, "verified recommendation")
}

// unified returns the unified diff of the securityContext YAMLs a (w's
// current ones) and b; "" when they are the same.
func unified(w Workload, a, b, what string) (string, error) {
	if a == b {
		return "", nil
	}
	name := strings.ToLower(w.Kind) + "/" + w.Name
	return difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
		// SplitLines adds an empty last line after a final newline.
		A: difflib.SplitLines(strings.TrimSuffix(a, "\n")), B: difflib.SplitLines(strings.TrimSuffix(b, "\n")),
		FromFile: name + " (current)",
		ToFile:   name + " (" + what + ")",
		Context:  3,
	})
}
