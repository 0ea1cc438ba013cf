package clone

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/go-logr/logr"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	utilrand "k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/client-go/kubernetes"

	"github.com/cinch-dev/cinch/internal/kinds"
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
	// StartWait bounds the wait for a workload's dependencies to become
	// Ready before the workload itself starts (Spec.StartAfter);
	// DefaultStartWait when zero.
	StartWait time.Duration
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

// Ref names a workload within its namespace.
type Ref struct {
	Kind, Name string
}

func (r Ref) String() string { return r.Kind + "/" + r.Name }

// Clone is one created clone.
type Clone struct {
	// Namespace is the clone namespace.
	Namespace string
	// Kind and Name of the target workload (as in the source) when the
	// clone was made for one workload (Create).
	Kind, Name string
	// Selector selects the target workload's pods in the clone (Create).
	Selector labels.Selector
	// Workloads select the pods of every workload the clone runs.
	Workloads map[Ref]labels.Selector
	// Pods is how many pods the clone's workloads ask for: the replicas of
	// every Deployment and StatefulSet, a pod per schedulable node for
	// every DaemonSet.
	Pods int
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
	if opts.StartWait <= 0 {
		opts.StartWait = DefaultStartWait
	}
	return &Cloner{cs: cs, opts: opts}
}

// target is a source workload read from the API server.
type target struct {
	ref Ref
	// acc is the accessor of ref's kind, obj the source object it read.
	acc kinds.Accessor
	obj kinds.Object
	// job is the Job a batch target (Job, CronJob) runs as.
	job  *batchv1.Job
	sel  labels.Selector
	tmpl *corev1.PodTemplateSpec
}

// getTarget reads the workload ref of namespace ns through its kind's
// accessor (internal/kinds) and checks that tmpl matches its selector.
func (c *Cloner) getTarget(ctx context.Context, ns string, ref Ref, tmpl *corev1.PodTemplateSpec) (target, error) {
	t := target{ref: ref, tmpl: tmpl}
	a, err := kinds.For(ref.Kind)
	if err != nil {
		return t, fmt.Errorf("%w: %q", ErrUnsupportedKind, ref.Kind)
	}
	if t.obj, err = a.Get(ctx, c.cs, ns, ref.Name); err != nil {
		return t, fmt.Errorf("get %s/%s: %w", ns, ref, err)
	}
	t.acc = a
	if a.Kind().Batch {
		return t, batchTarget(&t)
	}
	sel := a.Selector(t.obj)
	if sel == nil {
		return t, fmt.Errorf("%s/%s: workload has no selector", ns, ref)
	}
	if t.sel, err = metav1.LabelSelectorAsSelector(sel); err != nil {
		return t, fmt.Errorf("%s/%s: selector: %w", ns, ref, err)
	}
	if t.sel.Empty() || !t.sel.Matches(labels.Set(tmpl.Labels)) {
		return t, fmt.Errorf("%s/%s: %w", ns, ref, ErrTemplateMismatch)
	}
	return t, nil
}

// Create makes a fresh clone of src's namespace for one trial, with tmpl as
// the target workload's pod template. On failure it deletes what it made.
func (c *Cloner) Create(ctx context.Context, src Source, trial string, tmpl *corev1.PodTemplateSpec) (*Clone, error) {
	ref := Ref{Kind: src.Kind, Name: src.Name}
	cl, err := c.CreateWith(ctx, src.Namespace, trial, Spec{Templates: map[Ref]*corev1.PodTemplateSpec{ref: tmpl}})
	if err != nil {
		return nil, err
	}
	cl.Kind, cl.Name, cl.Selector = src.Kind, src.Name, cl.Workloads[ref]
	return cl, nil
}

// Spec is what one clone runs.
type Spec struct {
	// Templates are the workloads under trial and their pod templates
	// (also when a controller owns them).
	Templates map[Ref]*corev1.PodTemplateSpec
	// StartAfter holds, for a workload of Templates, the workloads it
	// depends on: the unmodified ones start first, then the modified ones
	// in dependency order, each once the pods it depends on are Ready or
	// Options.StartWait has passed, so a client does not race its server's
	// start-up in one trial and not in another.
	StartAfter map[Ref][]Ref
	// Copies are the workloads of the namespace that run unmodified besides
	// Templates (those they depend on); nil means every one.
	Copies map[Ref]bool
}

// CreateWith makes a fresh clone of namespace ns for one trial, as spec
// says. On failure it deletes what it made.
func (c *Cloner) CreateWith(ctx context.Context, ns, trial string, spec Spec) (*Clone, error) {
	templates := spec.Templates
	if len(templates) == 0 {
		return nil, errors.New("create clone: no workload to run")
	}
	refs := make([]Ref, 0, len(templates))
	for r := range templates {
		refs = append(refs, r)
	}
	slices.SortFunc(refs, func(a, b Ref) int { return strings.Compare(a.String(), b.String()) })
	targets := make([]target, 0, len(refs))
	for _, r := range refs {
		if templates[r] == nil {
			return nil, fmt.Errorf("create clone: nil pod template for %s", r)
		}
		t, err := c.getTarget(ctx, ns, r, templates[r])
		if err != nil {
			return nil, fmt.Errorf("create clone: %w", err)
		}
		targets = append(targets, t)
	}
	srcNS, err := c.cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("create clone: get namespace %s: %w", ns, err)
	}
	what := ns + "/" + refs[0].String()
	if len(refs) > 1 {
		what = fmt.Sprintf("%s (%d workloads)", ns, len(refs))
	}
	now := c.opts.Now()
	cns, err := c.createNamespace(ctx, srcNS, refs, trial, now)
	if err != nil {
		return nil, fmt.Errorf("create clone of %s: %w", what, err)
	}
	cl := &Clone{Namespace: cns.Name, CreatedAt: now}
	log := logr.FromContextOrDiscard(ctx).WithValues("source", what, "clone", cns.Name)

	if err := c.populate(ctx, ns, cns, targets, spec, cl); err != nil {
		if derr := c.cleanUp(ctx, cl); derr != nil {
			err = errors.Join(err, fmt.Errorf("clean up: %w", derr))
		}
		return nil, fmt.Errorf("create clone of %s in %s: %w", what, cns.Name, err)
	}
	log.V(1).Info("Clone created", "trial", trial, "pods", cl.Pods)
	return cl, nil
}

func (c *Cloner) createNamespace(ctx context.Context, srcNS *corev1.Namespace, refs []Ref, trial string, now time.Time) (*corev1.Namespace, error) {
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
	lbls[hardening.LabelCloneOf] = srcNS.Name
	sources := make([]string, len(refs))
	for i, r := range refs {
		sources[i] = r.Kind + "/" + srcNS.Name + "/" + r.Name
	}
	if v := labelValue(trial); v != "" {
		lbls[hardening.LabelTrial] = v
	}
	var lastErr error
	for range 3 {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
			Name:   cloneName(c.opts.NamePrefix, srcNS.Name, trial, utilrand.String(5)),
			Labels: lbls,
			Annotations: map[string]string{
				hardening.AnnotationCloneCreatedAt: now.UTC().Format(time.RFC3339),
				hardening.AnnotationCloneSource:    strings.Join(sources, ","),
			},
		}}
		got, err := c.cs.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{})
		if err == nil {
			return got, nil
		}
		if ctx.Err() != nil {
			// Cancelled mid-call: the API server may have created it
			// anyway, and nobody would know its name to delete it.
			if derr := c.cleanUp(ctx, &Clone{Namespace: ns.Name}); derr != nil {
				err = errors.Join(err, fmt.Errorf("clean up %s: %w", ns.Name, derr))
			}
		}
		lastErr = err
		if !apierrors.IsAlreadyExists(err) {
			break
		}
	}
	return nil, fmt.Errorf("create namespace: %w", lastErr)
}

// populate copies the source namespace's objects into ns and runs the
// targets with their templates; it fills in cl's workloads and pods.
func (c *Cloner) populate(ctx context.Context, src string, ns *corev1.Namespace, targets []target, spec Spec, cl *Clone) error {
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
		if err := s.fn(ctx, src, ns.Name); err != nil {
			return fmt.Errorf("copy %s: %w", s.what, err)
		}
	}
	if err := c.copyClusterRoleBindings(ctx, src, ns); err != nil {
		return fmt.Errorf("copy clusterrolebindings: %w", err)
	}
	perDS, err := c.daemonPods(ctx)
	if err != nil {
		return err
	}
	cl.Workloads = map[Ref]labels.Selector{}
	keep := func(r Ref) bool {
		_, target := spec.Templates[r]
		return !target && (spec.Copies == nil || spec.Copies[r])
	}
	if err := c.copyWorkloads(ctx, src, ns.Name, keep, perDS, cl); err != nil {
		return fmt.Errorf("copy workloads: %w", err)
	}
	want := map[Ref]int{}
	for r := range cl.Workloads {
		want[r] = c.podsOf(r.Kind, perDS)
	}
	for _, t := range targets {
		cl.Workloads[t.ref] = t.sel
		want[t.ref] = c.podsOf(t.ref.Kind, perDS)
		cl.Pods += want[t.ref]
	}
	deadline := c.opts.Now().Add(c.opts.StartWait)
	for _, wave := range startWaves(targets, spec.StartAfter) {
		if err := c.waitReady(ctx, ns.Name, awaited(wave, spec.StartAfter, cl), want, cl.Workloads, deadline); err != nil {
			return fmt.Errorf("wait for dependencies: %w", err)
		}
		for _, t := range wave {
			if err := c.createTarget(ctx, ns.Name, t); err != nil {
				return fmt.Errorf("create target %s: %w", t.ref, err)
			}
		}
	}
	return nil
}

// podsOf is how many pods a clone runs for a workload of kind: one for a
// batch kind (its trial Job), Options.Replicas for a kind that counts
// replicas, perNode for one that runs a pod per node (a DaemonSet).
func (c *Cloner) podsOf(kind string, perNode int) int {
	if a, err := kinds.For(kind); err == nil {
		switch {
		case a.Kind().Batch:
			return 1
		case !a.Replicated():
			return perNode
		}
	}
	return int(c.opts.Replicas)
}

// daemonPods is how many pods a DaemonSet runs: one per schedulable node.
func (c *Cloner) daemonPods(ctx context.Context) (int, error) {
	nodes, err := c.cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return 0, fmt.Errorf("list nodes: %w", err)
	}
	n := 0
	for _, nd := range nodes.Items {
		if !nd.Spec.Unschedulable {
			n++
		}
	}
	return max(n, 1), nil
}
