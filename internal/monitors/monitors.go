package monitors

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/cinch-dev/cinch/internal/pipeline"
)

// The kinds of monitors read.
const (
	KindPodMonitor     = "PodMonitor"
	KindServiceMonitor = "ServiceMonitor"
)

// Resources are the monitors' API resources, by kind.
var Resources = map[string]schema.GroupVersionResource{
	KindPodMonitor:     {Group: "monitoring.coreos.com", Version: "v1", Resource: "podmonitors"},
	KindServiceMonitor: {Group: "monitoring.coreos.com", Version: "v1", Resource: "servicemonitors"},
}

// Monitor is what a PodMonitor or ServiceMonitor says about which
// endpoints of which pods Prometheus scrapes.
type Monitor struct {
	Kind, Namespace, Name string
	// Selector selects pods (PodMonitor) or Services (ServiceMonitor) by
	// their labels.
	Selector labels.Selector
	// Any, MatchNames: the namespaceSelector (neither: the monitor's own
	// namespace).
	Any        bool
	MatchNames []string
	// Endpoints are the podMetricsEndpoints or endpoints.
	Endpoints []Endpoint
}

// Endpoint is one podMetricsEndpoints or endpoints entry: the fields that
// say where Prometheus scrapes.
type Endpoint struct {
	// Port names a container port (PodMonitor) or a Service port
	// (ServiceMonitor).
	Port string `json:"port,omitempty"`
	// PortNumber is a container port number (PodMonitor).
	PortNumber int32 `json:"portNumber,omitempty"`
	// TargetPort is a container port number or name (deprecated in
	// both kinds, still honoured).
	TargetPort *intstr.IntOrString `json:"targetPort,omitempty"`
	Path       string              `json:"path,omitempty"`
	Scheme     string              `json:"scheme,omitempty"`
}

// spec is the part of a monitor's spec Decode reads.
type spec struct {
	Selector          metav1.LabelSelector `json:"selector"`
	NamespaceSelector struct {
		Any        bool     `json:"any,omitempty"`
		MatchNames []string `json:"matchNames,omitempty"`
	} `json:"namespaceSelector"`
	PodMetricsEndpoints []Endpoint `json:"podMetricsEndpoints,omitempty"`
	Endpoints           []Endpoint `json:"endpoints,omitempty"`
}

// Decode reads a PodMonitor or ServiceMonitor; a spec or selector that
// does not parse is an error (the operator would not use it either).
func Decode(u *unstructured.Unstructured) (Monitor, error) {
	m := Monitor{Kind: u.GetKind(), Namespace: u.GetNamespace(), Name: u.GetName()}
	raw, _, err := unstructured.NestedMap(u.Object, "spec")
	if err != nil {
		return m, fmt.Errorf("%s %s/%s: spec: %w", m.Kind, m.Namespace, m.Name, err)
	}
	var s spec
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(raw, &s); err != nil {
		return m, fmt.Errorf("%s %s/%s: spec: %w", m.Kind, m.Namespace, m.Name, err)
	}
	if m.Selector, err = metav1.LabelSelectorAsSelector(&s.Selector); err != nil {
		return m, fmt.Errorf("%s %s/%s: selector: %w", m.Kind, m.Namespace, m.Name, err)
	}
	m.Any, m.MatchNames = s.NamespaceSelector.Any, s.NamespaceSelector.MatchNames
	m.Endpoints = s.Endpoints
	if m.Kind == KindPodMonitor {
		m.Endpoints = s.PodMetricsEndpoints
	}
	return m, nil
}

// Reader reads the monitors of the cluster and the Services they select
// through.
type Reader struct {
	dyn dynamic.Interface
	cs  kubernetes.Interface
}

// NewReader returns a Reader over dyn (the monitors) and cs (Services).
func NewReader(dyn dynamic.Interface, cs kubernetes.Interface) *Reader {
	return &Reader{dyn: dyn, cs: cs}
}

// Endpoints returns, for each pod template of a workload of namespace ns,
// the endpoints that the cluster's monitors declare for its pods (see
// Declared; the monitors of ns first); templates with none are left out. A monitor kind whose CRD is
// not installed has no monitors; one the worker may not list is logged
// and skipped.
func (r *Reader) Endpoints(ctx context.Context, ns string, tmpls map[pipeline.Ref]*corev1.PodTemplateSpec) (map[pipeline.Ref][]pipeline.MetricsEndpoint, error) {
	mons, err := r.monitors(ctx, ns)
	if err != nil || len(mons) == 0 {
		return nil, err
	}
	var svcs []corev1.Service
	if hasKind(mons, KindServiceMonitor) {
		l, err := r.cs.CoreV1().Services(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, fmt.Errorf("list services in %s: %w", ns, err)
		}
		svcs = l.Items
	}
	out := map[pipeline.Ref][]pipeline.MetricsEndpoint{}
	for ref, t := range tmpls {
		if eps := Declared(ns, t, mons, svcs); len(eps) > 0 {
			out[ref] = eps
		}
	}
	return out, nil
}

// monitors lists the monitors of every namespace that apply to namespace
// ns: those of ns first, then by kind, namespace and name.
func (r *Reader) monitors(ctx context.Context, ns string) ([]Monitor, error) {
	var out []Monitor
	for _, kind := range []string{KindPodMonitor, KindServiceMonitor} {
		mons, err := r.list(ctx, kind)
		if err != nil {
			return nil, err
		}
		for _, m := range mons {
			if m.Watches(ns) {
				out = append(out, m)
			}
		}
	}
	slices.SortStableFunc(out, func(a, b Monitor) int {
		return cmp.Compare(btoi(a.Namespace != ns), btoi(b.Namespace != ns))
	})
	return out, nil
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// list lists and decodes the monitors of kind in every namespace.
func (r *Reader) list(ctx context.Context, kind string) ([]Monitor, error) {
	log := logr.FromContextOrDiscard(ctx)
	gvr := Resources[kind]
	l, err := r.dyn.Resource(gvr).Namespace(metav1.NamespaceAll).List(ctx, metav1.ListOptions{})
	switch {
	case apierrors.IsNotFound(err) || meta.IsNoMatchError(err):
		return nil, nil // the CRD is not installed
	case apierrors.IsForbidden(err):
		log.Info("Monitors not readable; TC-06 reads the pods' annotations only", "resource", gvr.GroupResource().String(), "err", err.Error())
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("list %s: %w", gvr.GroupResource(), err)
	}
	out := make([]Monitor, 0, len(l.Items))
	for i := range l.Items {
		l.Items[i].SetKind(kind) // items of a list may carry no kind
		m, err := Decode(&l.Items[i])
		if err != nil {
			log.V(1).Info("Monitor skipped", "err", err.Error())
			continue
		}
		out = append(out, m)
	}
	slices.SortFunc(out, func(a, b Monitor) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	})
	return out, nil
}

func hasKind(mons []Monitor, kind string) bool {
	for _, m := range mons {
		if m.Kind == kind {
			return true
		}
	}
	return false
}
