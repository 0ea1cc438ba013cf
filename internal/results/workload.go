package results

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/cinch-dev/cinch/internal/kinds"
	"github.com/cinch-dev/cinch/pkg/hardening"
)

// ErrUnknownKind is returned for a kind Cinch does not harden
// (hardening.Kinds); it is kinds.ErrUnknownKind.
var ErrUnknownKind = kinds.ErrUnknownKind

var (
	// ErrGone: the workload was deleted, or re-created with another uid.
	ErrGone = errors.New("workload gone")
	// ErrSuperseded: the workload's pod template is no longer the job's.
	ErrSuperseded = errors.New("workload template superseded")
)

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

// Get reads a workload of any kind Cinch hardens. A missing workload is an
// apierrors NotFound error.
func Get(ctx context.Context, cs kubernetes.Interface, ref Ref) (Workload, error) {
	a, err := kinds.For(ref.Kind)
	if err != nil {
		return Workload{}, err
	}
	o, err := a.Get(ctx, cs, ref.Namespace, ref.Name)
	if err != nil {
		return Workload{}, fmt.Errorf("get %s: %w", ref, err)
	}
	tmpl, _ := a.Template(o)
	return newWorkload(ref, o, tmpl), nil
}

// Current reads the workload and checks that it is still the object (uid)
// and template (hash) of a job: errors wrap ErrGone or ErrSuperseded when it
// is not (with the workload read, for a superseded one). Empty uid or hash
// skip that check.
func Current(ctx context.Context, cs kubernetes.Interface, ref Ref, uid types.UID, hash string) (Workload, error) {
	wl, err := Get(ctx, cs, ref)
	if apierrors.IsNotFound(err) {
		return Workload{}, fmt.Errorf("%w: %s: %w", ErrGone, ref, err)
	}
	if err != nil {
		return Workload{}, err
	}
	if uid != "" && wl.UID != uid {
		return wl, fmt.Errorf("%w: %s has uid %s, job %s", ErrGone, ref, wl.UID, uid)
	}
	if hash != "" && wl.Hash != hash {
		return wl, fmt.Errorf("%w: %s has template %s, job %s", ErrSuperseded, ref, wl.Hash, hash)
	}
	return wl, nil
}

func newWorkload(ref Ref, o metav1.Object, tmpl *corev1.PodTemplateSpec) Workload {
	return Workload{
		Ref: ref, UID: o.GetUID(), ResourceVersion: o.GetResourceVersion(),
		Annotations: o.GetAnnotations(), Template: tmpl, Hash: hardening.TemplateHash(tmpl),
	}
}

// List returns the workloads of every kind Cinch hardens in namespace, in
// the order of hardening.Kinds, except those hardened through their owner
// (hardening.HardenedByOwner: the Jobs a CronJob made).
func List(ctx context.Context, cs kubernetes.Interface, namespace string) ([]Workload, error) {
	var out []Workload
	for _, a := range kinds.All() {
		k := a.Kind()
		objs, err := a.List(ctx, cs, namespace)
		if err != nil {
			return nil, fmt.Errorf("list %s in %s: %w", k.Resource, namespace, err)
		}
		for _, o := range objs {
			if hardening.HardenedByOwner(k.Name, o.GetOwnerReferences()) {
				continue
			}
			tmpl, _ := a.Template(o)
			out = append(out, newWorkload(Ref{Namespace: o.GetNamespace(), Kind: k.Name, Name: o.GetName()}, o, tmpl))
		}
	}
	return out, nil
}
