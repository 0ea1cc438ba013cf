package kubectlcinch

import (
	"context"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/cinch-dev/cinch/pkg/hardening"
)

// FieldManager names kubectl-cinch's writes in managedFields.
const FieldManager = "kubectl-cinch"

// Client reads and patches workloads through the API server.
type Client struct {
	dyn dynamic.Interface
	cs  kubernetes.Interface
}

var _ cluster = (*Client)(nil)

// NewClient returns a client for cfg.
func NewClient(cfg *rest.Config) (*Client, error) {
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("dynamic client: %w", err)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("clientset: %w", err)
	}
	return &Client{dyn: dyn, cs: cs}, nil
}

// Namespace returns the labels of namespace ns.
func (c *Client) Namespace(ctx context.Context, ns string) (map[string]string, error) {
	o, err := c.cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("get namespace %s: %w", ns, err)
	}
	return o.Labels, nil
}

// OptedInNamespaces returns the names of the namespaces that opt in
// (hardening.NamespaceOptedIn), sorted.
func (c *Client) OptedInNamespaces(ctx context.Context) ([]string, error) {
	l, err := c.cs.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: hardening.OptInSelector})
	if err != nil {
		return nil, fmt.Errorf("list opted-in namespaces: %w", err)
	}
	var out []string
	for _, ns := range l.Items {
		if hardening.NamespaceOptedIn(ns.Labels) {
			out = append(out, ns.Name)
		}
	}
	slices.Sort(out)
	return out, nil
}

// Get reads one workload.
func (c *Client) Get(ctx context.Context, ns string, t Target) (Workload, error) {
	k, err := lookupKind(t.Kind)
	if err != nil {
		return Workload{}, err
	}
	u, err := c.dyn.Resource(k.Resource).Namespace(ns).Get(ctx, t.Name, metav1.GetOptions{})
	if err != nil {
		return Workload{}, fmt.Errorf("get %s/%s/%s: %w", k.Name, ns, t.Name, err)
	}
	return workloadOf(k, u)
}

// List reads the workloads of every kind in ns ("" for all namespaces),
// except those hardened through their owner (hardening.HardenedByOwner).
func (c *Client) List(ctx context.Context, ns string) ([]Workload, error) {
	var out []Workload
	for _, k := range kindsInOrder() {
		l, err := c.dyn.Resource(k.Resource).Namespace(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", k.Resource.Resource, err)
		}
		for i := range l.Items {
			if hardening.HardenedByOwner(k.Name, l.Items[i].GetOwnerReferences()) {
				continue // a Job its CronJob made: the CronJob's row stands for it
			}
			w, err := workloadOf(k, &l.Items[i])
			if err != nil {
				return nil, err
			}
			out = append(out, w)
		}
	}
	return out, nil
}

// Patch sends a strategic merge patch of w; with dryRun the API server
// runs admission and validation but stores nothing. It returns the
// workload as the API server answered.
func (c *Client) Patch(ctx context.Context, w Workload, patch []byte, dryRun bool) (Workload, error) {
	k, err := lookupKind(w.Kind)
	if err != nil {
		return Workload{}, err
	}
	opts := metav1.PatchOptions{FieldManager: FieldManager}
	if dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	u, err := c.dyn.Resource(k.Resource).Namespace(w.Namespace).Patch(ctx, w.Name, types.StrategicMergePatchType, patch, opts)
	if err != nil {
		return Workload{}, fmt.Errorf("patch %s: %w", w.Ref(), err)
	}
	return workloadOf(k, u)
}

// Events returns Cinch's Events on the workload w, oldest first.
func (c *Client) Events(ctx context.Context, w Workload) ([]corev1.Event, error) {
	sel := fields.OneTermEqualSelector("involvedObject.uid", string(w.UID)).String()
	l, err := c.cs.CoreV1().Events(w.Namespace).List(ctx, metav1.ListOptions{FieldSelector: sel})
	if err != nil {
		return nil, fmt.Errorf("list events of %s: %w", w.Ref(), err)
	}
	var out []corev1.Event
	for _, ev := range l.Items {
		if strings.HasPrefix(ev.ReportingController, hardening.AnnotationPrefix) || strings.HasPrefix(ev.Reason, "Hardening") {
			out = append(out, ev)
		}
	}
	slices.SortStableFunc(out, func(a, b corev1.Event) int { return eventTime(a).Compare(eventTime(b)) })
	return out, nil
}
