package results

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/cinch-dev/cinch/pkg/hardening"
)

// ErrUnknownKind is returned for a kind other than Deployment, StatefulSet
// and DaemonSet.
var ErrUnknownKind = errors.New("unknown workload kind")

// Ref names a workload.
type Ref struct {
	Namespace string
	Kind      string
	Name      string
}

func (r Ref) String() string { return r.Kind + "/" + r.Namespace + "/" + r.Name }

// Workload is the current state of a workload, as read from the API server.
type Workload struct {
	Ref
	UID             types.UID
	ResourceVersion string
	Annotations     map[string]string
	Template        *corev1.PodTemplateSpec
	// Hash is hardening.TemplateHash(Template).
	Hash string
}

// Status returns the cinch.dev/status annotation.
func (w Workload) Status() hardening.Status {
	return hardening.Status(w.Annotations[hardening.AnnotationStatus])
}

// Done reports whether the annotations hold a final result (Verified or
// Failed) for the current template, also when the current template is the
// enforced form of the verified one (see hardening.Describes).
func (w Workload) Done() bool {
	s := w.Status()
	return hardening.Describes(w.Annotations, w.Hash) && (s == hardening.StatusVerified || s == hardening.StatusFailed)
}

// Get reads a workload. A missing workload is an apierrors NotFound error.
func Get(ctx context.Context, cs kubernetes.Interface, ref Ref) (Workload, error) {
	var (
		meta metav1.ObjectMeta
		tmpl corev1.PodTemplateSpec
	)
	switch ref.Kind {
	case hardening.KindDeployment:
		o, err := cs.AppsV1().Deployments(ref.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
		if err != nil {
			return Workload{}, fmt.Errorf("get %s: %w", ref, err)
		}
		meta, tmpl = o.ObjectMeta, o.Spec.Template
	case hardening.KindStatefulSet:
		o, err := cs.AppsV1().StatefulSets(ref.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
		if err != nil {
			return Workload{}, fmt.Errorf("get %s: %w", ref, err)
		}
		meta, tmpl = o.ObjectMeta, o.Spec.Template
	case hardening.KindDaemonSet:
		o, err := cs.AppsV1().DaemonSets(ref.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
		if err != nil {
			return Workload{}, fmt.Errorf("get %s: %w", ref, err)
		}
		meta, tmpl = o.ObjectMeta, o.Spec.Template
	default:
		return Workload{}, fmt.Errorf("%w: %q", ErrUnknownKind, ref.Kind)
	}
	return newWorkload(ref, meta, &tmpl), nil
}

func newWorkload(ref Ref, meta metav1.ObjectMeta, tmpl *corev1.PodTemplateSpec) Workload {
	return Workload{
		Ref: ref, UID: meta.UID, ResourceVersion: meta.ResourceVersion,
		Annotations: meta.Annotations, Template: tmpl, Hash: hardening.TemplateHash(tmpl),
	}
}

// List returns the workloads of every kind in namespace.
func List(ctx context.Context, cs kubernetes.Interface, namespace string) ([]Workload, error) {
	var out []Workload
	ds, err := cs.AppsV1().Deployments(namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list deployments in %s: %w", namespace, err)
	}
	for _, o := range ds.Items {
		out = append(out, fromApps(hardening.KindDeployment, o.ObjectMeta, &o.Spec.Template))
	}
	ss, err := cs.AppsV1().StatefulSets(namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list statefulsets in %s: %w", namespace, err)
	}
	for _, o := range ss.Items {
		out = append(out, fromApps(hardening.KindStatefulSet, o.ObjectMeta, &o.Spec.Template))
	}
	dss, err := cs.AppsV1().DaemonSets(namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list daemonsets in %s: %w", namespace, err)
	}
	for _, o := range dss.Items {
		out = append(out, fromApps(hardening.KindDaemonSet, o.ObjectMeta, &o.Spec.Template))
	}
	return out, nil
}

func fromApps(kind string, meta metav1.ObjectMeta, tmpl *corev1.PodTemplateSpec) Workload {
	return newWorkload(Ref{Namespace: meta.Namespace, Kind: kind, Name: meta.Name}, meta, tmpl.DeepCopy())
}
