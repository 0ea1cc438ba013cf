package kinds

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/cinch-dev/cinch/pkg/hardening"
)

// ErrUnknownKind is returned for a kind Cinch does not harden.
var ErrUnknownKind = errors.New("unknown workload kind")

// Object is one workload object as an accessor read it.
type Object interface {
	metav1.Object
	runtime.Object
}

// Accessor reads and annotates the workloads of one kind.
type Accessor interface {
	// Kind describes the kind (hardening.LookupKind).
	Kind() hardening.WorkloadKind
	// Get reads one object; a missing one is an apierrors NotFound error.
	Get(ctx context.Context, cs kubernetes.Interface, namespace, name string) (Object, error)
	// List reads every object of the kind in namespace.
	List(ctx context.Context, cs kubernetes.Interface, namespace string) ([]Object, error)
	// Patch patches one object (e.g. a merge patch of its annotations).
	Patch(ctx context.Context, cs kubernetes.Interface, namespace, name string, pt types.PatchType, data []byte, opts metav1.PatchOptions) error
	// Delete deletes one object; its pods go with it (background
	// propagation). A missing object is an apierrors NotFound error.
	Delete(ctx context.Context, cs kubernetes.Interface, namespace, name string) error
	// Create creates obj, an object of this kind, in namespace.
	Create(ctx context.Context, cs kubernetes.Interface, namespace string, obj Object) error
	// New returns an empty object of the kind.
	New() Object
	// Template returns the pod template of obj, an object of this kind
	// (for a CronJob spec.jobTemplate.spec.template); ok is false for an
	// object of another kind. Changing it changes obj.
	Template(obj runtime.Object) (tmpl *corev1.PodTemplateSpec, ok bool)
	// Selector returns the label selector through which the kind's
	// controller finds the pods of obj (spec.selector); nil for an object of
	// another kind and for a kind whose pods are found otherwise (a Job's
	// selector is made by the API server: its pods carry the Job's name).
	Selector(obj runtime.Object) *metav1.LabelSelector
	// Replicated reports whether the kind runs a number of replicas it is
	// given (spec.replicas); a DaemonSet runs one pod per node instead.
	Replicated() bool
	// SetReplicas sets the replicas of obj, an object of a Replicated
	// kind; it reports false for an object of another kind.
	SetReplicas(obj runtime.Object, n int32) bool
}

// All returns the accessor of every kind Cinch hardens, in the order of
// hardening.Kinds. A new kind is a file with its accessor and a line here.
func All() []Accessor {
	return []Accessor{deployments, statefulSets, daemonSets, jobs, cronJobs}
}

// For returns the accessor of kind.
func For(kind string) (Accessor, error) {
	for _, a := range All() {
		if a.Kind().Name == kind {
			return a, nil
		}
	}
	return nil, fmt.Errorf("%w: %q", ErrUnknownKind, kind)
}

// client is the part of a typed client of client-go an accessor uses.
type client[T Object, L any] interface {
	Get(ctx context.Context, name string, opts metav1.GetOptions) (T, error)
	List(ctx context.Context, opts metav1.ListOptions) (L, error)
	Patch(ctx context.Context, name string, pt types.PatchType, data []byte, opts metav1.PatchOptions, subresources ...string) (T, error)
	Delete(ctx context.Context, name string, opts metav1.DeleteOptions) error
	Create(ctx context.Context, obj T, opts metav1.CreateOptions) (T, error)
}

// typed is the accessor of a kind with a typed client: E is the object
// type (appsv1.Deployment), T its pointer, L its list.
type typed[E any, T interface {
	*E
	Object
}, L any] struct {
	kind string
	// client returns the typed client of namespace.
	client func(cs kubernetes.Interface, namespace string) client[T, L]
	// items returns a list's objects.
	items func(L) []E
	// template returns where the object keeps its pod template; it must be
	// the kind's hardening.TemplatePath (TestTemplateAtTemplatePath).
	template func(T) *corev1.PodTemplateSpec
	// selector returns spec.selector; nil when the kind's pods are not
	// found through a selector of its own.
	selector func(T) *metav1.LabelSelector
	// replicas returns where the object keeps its replica count; nil for a
	// kind without one.
	replicas func(T) **int32
}

func (a typed[E, T, L]) Kind() hardening.WorkloadKind {
	k, _ := hardening.LookupKind(a.kind)
	return k
}

func (a typed[E, T, L]) Get(ctx context.Context, cs kubernetes.Interface, namespace, name string) (Object, error) {
	o, err := a.client(cs, namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	return o, nil
}

func (a typed[E, T, L]) List(ctx context.Context, cs kubernetes.Interface, namespace string) ([]Object, error) {
	l, err := a.client(cs, namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	items := a.items(l)
	out := make([]Object, len(items))
	for i := range items {
		out[i] = T(&items[i])
	}
	return out, nil
}

func (a typed[E, T, L]) Patch(ctx context.Context, cs kubernetes.Interface, namespace, name string, pt types.PatchType, data []byte, opts metav1.PatchOptions) error {
	_, err := a.client(cs, namespace).Patch(ctx, name, pt, data, opts)
	return err
}

func (a typed[E, T, L]) Delete(ctx context.Context, cs kubernetes.Interface, namespace, name string) error {
	policy := metav1.DeletePropagationBackground
	return a.client(cs, namespace).Delete(ctx, name, metav1.DeleteOptions{PropagationPolicy: &policy})
}

func (a typed[E, T, L]) Create(ctx context.Context, cs kubernetes.Interface, namespace string, obj Object) error {
	o, ok := obj.(T)
	if !ok || o == nil {
		return fmt.Errorf("create %s: object is a %T", a.kind, obj)
	}
	_, err := a.client(cs, namespace).Create(ctx, o, metav1.CreateOptions{})
	return err
}

func (a typed[E, T, L]) New() Object { return T(new(E)) }

func (a typed[E, T, L]) Template(obj runtime.Object) (*corev1.PodTemplateSpec, bool) {
	o, ok := obj.(T)
	if !ok || o == nil {
		return nil, false
	}
	return a.template(o), true
}

func (a typed[E, T, L]) Selector(obj runtime.Object) *metav1.LabelSelector {
	o, ok := obj.(T)
	if !ok || o == nil || a.selector == nil {
		return nil
	}
	return a.selector(o)
}

func (a typed[E, T, L]) Replicated() bool { return a.replicas != nil }

func (a typed[E, T, L]) SetReplicas(obj runtime.Object, n int32) bool {
	o, ok := obj.(T)
	if !ok || o == nil || a.replicas == nil {
		return false
	}
	*a.replicas(o) = &n
	return true
}
