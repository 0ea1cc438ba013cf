package clone

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"

	"github.com/go-logr/logr"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	utilrand "k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/client-go/kubernetes"

	"github.com/cinch-dev/cinch/pkg/hardening"
)

const (
	// DenyEgressPolicy is the name of the clone's egress NetworkPolicy
	// (EgressPolicy): traffic only inside the clone, to the cluster DNS and
	// to the API server.
	DenyEgressPolicy = "cinch-deny-egress"
	// podSecurityLabelPrefix: PodSecurity admission labels are copied from the
	// source namespace so a trial is admitted as the real workload would be.
	podSecurityLabelPrefix = "pod-security.kubernetes.io/"
)

// Named errors of the package.
var (
	// ErrUnsupportedKind: the source is not a Deployment, StatefulSet or
	// DaemonSet.
	ErrUnsupportedKind = errors.New("unsupported workload kind")
	// ErrTemplateMismatch: the trial's pod template does not match the
	// workload's selector.
	ErrTemplateMismatch = errors.New("pod template labels do not match the workload selector")
	// ErrNotAClone: Delete refuses a namespace without the clone label.
	ErrNotAClone = errors.New("namespace is not a cinch clone")
)

// Workload kinds a Source may name: references to the contract
// (hardening.Kinds), kept for the end-to-end tests.
const (
	KindDeployment  = hardening.KindDeployment
	KindStatefulSet = hardening.KindStatefulSet
	KindDaemonSet   = hardening.KindDaemonSet
)

// Options configures a Cloner. Start from DefaultOptions: the zero value of
// DenyEgress is false.
type Options struct {
	// Replicas of every Deployment and StatefulSet in a clone; 1 when zero.
	// DaemonSets run as they are.
	Replicas int32
	// DenyEgress adds an egress NetworkPolicy (EgressPolicy) to each clone:
	// its pods reach only each other, the cluster DNS and the API server.
	DenyEgress bool
	// NamePrefix of clone namespaces; "cinch-" when empty.
	NamePrefix string
	// Labels are added to every clone namespace (never the opt-in label).
	Labels map[string]string
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// DefaultOptions are one replica, egress denied, prefix "cinch-".
func DefaultOptions() Options {
	return Options{Replicas: 1, DenyEgress: true, NamePrefix: "cinch-"}
}

// Source names the workload under trial.
type Source struct {
	Namespace string
	// Kind is "Deployment", "StatefulSet" or "DaemonSet".
	Kind string
	Name string
}

func (s Source) String() string { return s.Kind + "/" + s.Namespace + "/" + s.Name }

// Clone is one created clone.
type Clone struct {
	// Namespace is the clone namespace.
	Namespace string
	// Kind and Name of the target workload (as in the source).
	Kind, Name string
	// Selector selects the target workload's pods in the clone.
	Selector labels.Selector
	// CreatedAt is when the clone was created (the Cloner's clock).
	CreatedAt time.Time
}

// Cloner creates and deletes namespace clones. It is safe for concurrent use.
type Cloner struct {
	cs   kubernetes.Interface
	opts Options
}

// New returns a Cloner using cs.
func New(cs kubernetes.Interface, opts Options) *Cloner {
	if opts.Replicas <= 0 {
		opts.Replicas = 1
	}
	if opts.NamePrefix == "" {
		opts.NamePrefix = "cinch-"
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Cloner{cs: cs, opts: opts}
}

// target is the source workload read from the API server.
type target struct {
	deploy *appsv1.Deployment
	sts    *appsv1.StatefulSet
	ds     *appsv1.DaemonSet
	sel    *metav1.LabelSelector
}

func (c *Cloner) getTarget(ctx context.Context, src Source) (target, error) {
	apps := c.cs.AppsV1()
	var t target
	var err error
	switch src.Kind {
	case hardening.KindDeployment:
		t.deploy, err = apps.Deployments(src.Namespace).Get(ctx, src.Name, metav1.GetOptions{})
		if err == nil {
			t.sel = t.deploy.Spec.Selector
		}
	case hardening.KindStatefulSet:
		t.sts, err = apps.StatefulSets(src.Namespace).Get(ctx, src.Name, metav1.GetOptions{})
		if err == nil {
			t.sel = t.sts.Spec.Selector
		}
	case hardening.KindDaemonSet:
		t.ds, err = apps.DaemonSets(src.Namespace).Get(ctx, src.Name, metav1.GetOptions{})
		if err == nil {
			t.sel = t.ds.Spec.Selector
		}
	default:
		return t, fmt.Errorf("%w: %q", ErrUnsupportedKind, src.Kind)
	}
	if err != nil {
		return t, fmt.Errorf("get %s: %w", src, err)
	}
	return t, nil
}

// Create makes a fresh clone of src's namespace for one trial, with tmpl as
// the target workload's pod template. On failure it deletes what it made.
func (c *Cloner) Create(ctx context.Context, src Source, trial string, tmpl *corev1.PodTemplateSpec) (*Clone, error) {
	if tmpl == nil {
		return nil, errors.New("create clone: nil pod template")
	}
	t, err := c.getTarget(ctx, src)
	if err != nil {
		return nil, fmt.Errorf("create clone: %w", err)
	}
	if t.sel == nil {
		return nil, fmt.Errorf("create clone of %s: workload has no selector", src)
	}
	sel, err := metav1.LabelSelectorAsSelector(t.sel)
	if err != nil {
		return nil, fmt.Errorf("create clone of %s: selector: %w", src, err)
	}
	if sel.Empty() || !sel.Matches(labels.Set(tmpl.Labels)) {
		return nil, fmt.Errorf("create clone of %s: %w", src, ErrTemplateMismatch)
	}
	srcNS, err := c.cs.CoreV1().Namespaces().Get(ctx, src.Namespace, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("create clone: get namespace %s: %w", src.Namespace, err)
	}

	now := c.opts.Now()
	ns, err := c.createNamespace(ctx, srcNS, src, trial, now)
	if err != nil {
		return nil, fmt.Errorf("create clone of %s: %w", src, err)
	}
	cl := &Clone{Namespace: ns.Name, Kind: src.Kind, Name: src.Name, Selector: sel, CreatedAt: now}
	log := logr.FromContextOrDiscard(ctx).WithValues("source", src.String(), "clone", ns.Name)

	if err := c.populate(ctx, src, ns, t, tmpl); err != nil {
		// Clean up even when ctx is what failed.
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if derr := c.Delete(dctx, cl); derr != nil {
			err = errors.Join(err, fmt.Errorf("clean up: %w", derr))
		}
		return nil, fmt.Errorf("create clone of %s in %s: %w", src, ns.Name, err)
	}
	log.V(1).Info("Clone created", "trial", trial)
	return cl, nil
}

func (c *Cloner) createNamespace(ctx context.Context, srcNS *corev1.Namespace, src Source, trial string, now time.Time) (*corev1.Namespace, error) {
	lbls := map[string]string{}
	for k, v := range srcNS.Labels {
		if strings.HasPrefix(k, podSecurityLabelPrefix) {
			lbls[k] = v
		}
	}
	maps.Copy(lbls, c.opts.Labels)
	for k := range lbls {
		if strings.HasPrefix(k, hardening.AnnotationPrefix) {
			delete(lbls, k) // never the opt-in label, nor any other of ours
		}
	}
	lbls[hardening.LabelCloneOf] = src.Namespace
	if v := labelValue(trial); v != "" {
		lbls[hardening.LabelTrial] = v
	}
	var lastErr error
	for range 3 {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
			Name:   cloneName(c.opts.NamePrefix, src.Namespace, trial, utilrand.String(5)),
			Labels: lbls,
			Annotations: map[string]string{
				hardening.AnnotationCloneCreatedAt: now.UTC().Format(time.RFC3339),
				hardening.AnnotationCloneSource:    src.String(),
			},
		}}
		got, err := c.cs.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{})
		if err == nil {
			return got, nil
		}
		lastErr = err
		if !apierrors.IsAlreadyExists(err) {
			break
		}
	}
	return nil, fmt.Errorf("create namespace: %w", lastErr)
}

// populate copies the source namespace's objects into ns.
func (c *Cloner) populate(ctx context.Context, src Source, ns *corev1.Namespace, t target, tmpl *corev1.PodTemplateSpec) error {
	if c.opts.DenyEgress {
		if err := c.createEgressPolicy(ctx, ns.Name); err != nil {
			return err
		}
	}
	steps := []struct {
		what string
		fn   func(context.Context, string, string) error
	}{
		{"configmaps", c.copyConfigMaps},
		{"secrets", c.copySecrets},
		{"serviceaccounts", c.copyServiceAccounts},
		{"roles", c.copyRoles},
		{"rolebindings", c.copyRoleBindings},
		{"persistentvolumeclaims", c.copyPVCs},
		{"services", c.copyServices},
	}
	for _, s := range steps {
		if err := s.fn(ctx, src.Namespace, ns.Name); err != nil {
			return fmt.Errorf("copy %s: %w", s.what, err)
		}
	}
	if err := c.copyClusterRoleBindings(ctx, src.Namespace, ns); err != nil {
		return fmt.Errorf("copy clusterrolebindings: %w", err)
	}
	if err := c.copyWorkloads(ctx, src, ns.Name); err != nil {
		return fmt.Errorf("copy workloads: %w", err)
	}
	if err := c.createTarget(ctx, src, ns.Name, t, tmpl); err != nil {
		return fmt.Errorf("create target %s: %w", src, err)
	}
	return nil
}
