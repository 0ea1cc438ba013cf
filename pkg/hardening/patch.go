package hardening

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"
)

// ErrUnsupportedKind is returned for a workload kind Cinch cannot patch.
var ErrUnsupportedKind = errors.New("unsupported workload kind")

type containerPatch struct {
	Name            string                  `json:"name"`
	SecurityContext *corev1.SecurityContext `json:"securityContext"`
}

// StrategicMergePatch returns a strategic-merge patch that sets rec's
// securityContexts on a workload of the given kind (see Kinds). Containers are merged by name, so
// the patch touches nothing but the securityContexts it names; since rec
// holds complete securityContexts (existing settings included), replacing
// list fields such as capabilities.drop loses nothing.
func StrategicMergePatch(kind string, rec Recommendation) ([]byte, error) {
	path, ok := TemplatePath(kind)
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnsupportedKind, kind)
	}
	if err := validateRecommendation(rec); err != nil {
		return nil, err
	}
	spec := map[string]any{}
	if rec.Pod != nil {
		spec["securityContext"] = rec.Pod
	}
	if l := containerPatches(rec.Containers); len(l) > 0 {
		spec["containers"] = l
	}
	if l := containerPatches(rec.InitContainers); len(l) > 0 {
		spec["initContainers"] = l
	}
	var doc any = map[string]any{"spec": spec}
	for i := len(path) - 1; i >= 0; i-- {
		doc = map[string]any{path[i]: doc}
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("encode patch: %w", err)
	}
	return b, nil
}

func containerPatches(m map[string]*corev1.SecurityContext) []containerPatch {
	names := make([]string, 0, len(m))
	for n, sc := range m {
		if sc != nil {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	out := make([]containerPatch, len(names))
	for i, n := range names {
		out[i] = containerPatch{Name: n, SecurityContext: m[n]}
	}
	return out
}

// PatchCommand returns the kubectl command that applies rec to the named
// workload, e.g.
//
//	kubectl patch deployment/web -n shop --type strategic -p '{"spec":...}'
//
// The namespace and name must be valid Kubernetes names, and the patch is
// single-quoted for a POSIX shell.
func PatchCommand(kind, namespace, name string, rec Recommendation) (string, error) {
	if errs := validation.IsDNS1123Label(namespace); len(errs) > 0 {
		return "", fmt.Errorf("namespace %q: %s", namespace, strings.Join(errs, "; "))
	}
	if errs := validation.IsDNS1123Subdomain(name); len(errs) > 0 {
		return "", fmt.Errorf("name %q: %s", name, strings.Join(errs, "; "))
	}
	p, err := StrategicMergePatch(kind, rec)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("kubectl patch %s/%s -n %s --type strategic -p %s",
		strings.ToLower(kind), name, namespace, shellQuote(string(p))), nil
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
