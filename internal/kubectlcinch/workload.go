package kubectlcinch

import (
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"

	"github.com/cinch-dev/cinch/pkg/hardening"
)

// Workload is one workload as read from the API server, with what
// kubectl-cinch needs of it.
type Workload struct {
	Namespace       string
	Kind            string
	Name            string
	UID             types.UID
	ResourceVersion string
	// Annotations are the object's annotations (cinch.dev/* among them).
	Annotations map[string]string
	// Template is the workload's current pod template.
	Template *corev1.PodTemplateSpec
	// Hash is hardening.TemplateHash(Template).
	Hash string
	// Object is the whole object as JSON, for a local strategic merge
	// patch (diff, apply --dry-run=client).
	Object []byte
}

// Ref returns "Kind/namespace/name".
func (w Workload) Ref() string { return w.Kind + "/" + w.Namespace + "/" + w.Name }

// Status returns the cinch.dev/status annotation as written ("" when none).
func (w Workload) Status() hardening.Status {
	return hardening.Status(w.Annotations[hardening.AnnotationStatus])
}

// Current reports whether the annotations hold the result for the current
// pod template (hardening.Describes: the template hash matches, or the
// template is the enforce-mode form of the verified one).
func (w Workload) Current() bool { return hardening.Describes(w.Annotations, w.Hash) }

// Recommendation decodes cinch.dev/recommendation; ok is false when the
// annotation is absent.
func (w Workload) Recommendation() (rec hardening.Recommendation, ok bool, err error) {
	s, ok := w.Annotations[hardening.AnnotationRecommendation]
	if !ok {
		return hardening.Recommendation{}, false, nil
	}
	rec, err = hardening.DecodeRecommendation(s)
	if err != nil {
		return hardening.Recommendation{}, true, fmt.Errorf("%s: %w", hardening.AnnotationRecommendation, err)
	}
	return rec, true, nil
}

// Checks decodes cinch.dev/checks; ok is false when the annotation is
// absent.
func (w Workload) Checks() (checks []hardening.CheckResult, ok bool, err error) {
	s, ok := w.Annotations[hardening.AnnotationChecks]
	if !ok {
		return nil, false, nil
	}
	checks, err = hardening.DecodeChecks(s)
	if err != nil {
		return nil, true, fmt.Errorf("%s: %w", hardening.AnnotationChecks, err)
	}
	return checks, true, nil
}

// workloadOf reads a workload of kind k from an object of the dynamic
// client. The pod template is decoded from JSON, as a typed client decodes
// it, so its hash is the one the webhook and the worker compute.
func workloadOf(k kind, u *unstructured.Unstructured) (Workload, error) {
	path, ok := hardening.TemplatePath(k.Name)
	if !ok {
		return Workload{}, fmt.Errorf("%w %q", ErrUnknownKind, k.Name)
	}
	obj, err := u.MarshalJSON()
	if err != nil {
		return Workload{}, fmt.Errorf("encode %s/%s: %w", k.Name, u.GetName(), err)
	}
	tmpl, err := templateOf(obj, path)
	if err != nil {
		return Workload{}, fmt.Errorf("%s/%s/%s: %w", k.Name, u.GetNamespace(), u.GetName(), err)
	}
	return Workload{
		Namespace: u.GetNamespace(), Kind: k.Name, Name: u.GetName(),
		UID: u.GetUID(), ResourceVersion: u.GetResourceVersion(),
		Annotations: u.GetAnnotations(), Template: tmpl, Hash: hardening.TemplateHash(tmpl),
		Object: obj,
	}, nil
}

// templateOf decodes the pod template at path in the JSON object obj.
func templateOf(obj []byte, path []string) (*corev1.PodTemplateSpec, error) {
	var raw json.RawMessage = obj
	for _, field := range path {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, fmt.Errorf("read %v: %w", path, err)
		}
		next, ok := m[field]
		if !ok {
			return nil, fmt.Errorf("no pod template at %v", path)
		}
		raw = next
	}
	var t corev1.PodTemplateSpec
	if err := json.Unmarshal(raw, &t); err != nil {
		return nil, fmt.Errorf("decode pod template: %w", err)
	}
	return &t, nil
}
