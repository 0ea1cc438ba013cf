package clone

import (
	"context"
	"fmt"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cinch-dev/cinch/internal/kinds"
	"github.com/cinch-dev/cinch/pkg/hardening"
)

// Annotations the API server or a controller sets on the source objects;
// they would lie about the copies.
var controllerAnnotationPrefixes = []string{
	hardening.AnnotationPrefix,
	"deployment.kubernetes.io/",
	"pv.kubernetes.io/",
	"volume.beta.kubernetes.io/",
	"volume.kubernetes.io/",
}

// controlled reports whether a controller owns the object: its controller
// makes its own copy in the clone (or it has no business there).
func controlled(m *metav1.ObjectMeta) bool {
	return metav1.GetControllerOfNoCopy(m) != nil
}

// cleanMeta turns source metadata into metadata for a new object in ns.
func cleanMeta(m metav1.ObjectMeta, ns string) metav1.ObjectMeta {
	out := metav1.ObjectMeta{
		Name:      m.Name,
		Namespace: ns,
		Labels:    m.Labels,
	}
	for k, v := range m.Annotations {
		skip := false
		for _, p := range controllerAnnotationPrefixes {
			if strings.HasPrefix(k, p) {
				skip = true
				break
			}
		}
		if !skip {
			if out.Annotations == nil {
				out.Annotations = map[string]string{}
			}
			out.Annotations[k] = v
		}
	}
	return out
}

func (c *Cloner) copyConfigMaps(ctx context.Context, from, to string) error {
	l, err := c.cs.CoreV1().ConfigMaps(from).List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	for _, o := range l.Items {
		if o.Name == "kube-root-ca.crt" || controlled(&o.ObjectMeta) {
			continue
		}
		n := &corev1.ConfigMap{ObjectMeta: cleanMeta(o.ObjectMeta, to), Data: o.Data, BinaryData: o.BinaryData, Immutable: o.Immutable}
		if _, err := c.cs.CoreV1().ConfigMaps(to).Create(ctx, n, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("create %s: %w", o.Name, err)
		}
	}
	return nil
}

// copySecrets copies every Secret but service-account tokens. Their
// contents are never logged nor put into errors.
func (c *Cloner) copySecrets(ctx context.Context, from, to string) error {
	l, err := c.cs.CoreV1().Secrets(from).List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	for _, o := range l.Items {
		if o.Type == corev1.SecretTypeServiceAccountToken || controlled(&o.ObjectMeta) {
			continue
		}
		n := &corev1.Secret{ObjectMeta: cleanMeta(o.ObjectMeta, to), Type: o.Type, Data: o.Data, Immutable: o.Immutable}
		if _, err := c.cs.CoreV1().Secrets(to).Create(ctx, n, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("create %s: %w", o.Name, err)
		}
	}
	return nil
}

func (c *Cloner) copyServiceAccounts(ctx context.Context, from, to string) error {
	l, err := c.cs.CoreV1().ServiceAccounts(from).List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	for _, o := range l.Items {
		if o.Name == "default" || controlled(&o.ObjectMeta) {
			continue
		}
		// The legacy token secrets listed in .secrets are not copied.
		n := &corev1.ServiceAccount{
			ObjectMeta:                   cleanMeta(o.ObjectMeta, to),
			ImagePullSecrets:             o.ImagePullSecrets,
			AutomountServiceAccountToken: o.AutomountServiceAccountToken,
		}
		if _, err := c.cs.CoreV1().ServiceAccounts(to).Create(ctx, n, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("create %s: %w", o.Name, err)
		}
	}
	return nil
}

func (c *Cloner) copyRoles(ctx context.Context, from, to string) error {
	l, err := c.cs.RbacV1().Roles(from).List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	for _, o := range l.Items {
		if controlled(&o.ObjectMeta) {
			continue
		}
		n := &rbacv1.Role{ObjectMeta: cleanMeta(o.ObjectMeta, to), Rules: o.Rules}
		if _, err := c.cs.RbacV1().Roles(to).Create(ctx, n, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("create %s: %w", o.Name, err)
		}
	}
	return nil
}

// rewriteSubjects points service-account subjects of namespace from at
// namespace to; it reports whether any subject was rewritten.
func rewriteSubjects(subjects []rbacv1.Subject, from, to string) ([]rbacv1.Subject, bool) {
	out := make([]rbacv1.Subject, len(subjects))
	changed := false
	for i, s := range subjects {
		if s.Kind == rbacv1.ServiceAccountKind && s.Namespace == from {
			s.Namespace = to
			changed = true
		}
		out[i] = s
	}
	return out, changed
}

func (c *Cloner) copyRoleBindings(ctx context.Context, from, to string) error {
	l, err := c.cs.RbacV1().RoleBindings(from).List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	for _, o := range l.Items {
		if controlled(&o.ObjectMeta) {
			continue
		}
		subjects, _ := rewriteSubjects(o.Subjects, from, to)
		n := &rbacv1.RoleBinding{ObjectMeta: cleanMeta(o.ObjectMeta, to), Subjects: subjects, RoleRef: o.RoleRef}
		if _, err := c.cs.RbacV1().RoleBindings(to).Create(ctx, n, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("create %s: %w", o.Name, err)
		}
	}
	return nil
}

// crbName is the name of the copy of ClusterRoleBinding name for clone ns.
func crbName(ns, name string) string {
	n := ns + "-" + name
	if len(n) > 253 {
		n = n[:253]
	}
	return n
}

// copyClusterRoleBindings copies every ClusterRoleBinding naming a service
// account of namespace from, with only those subjects, rewritten to the
// clone. Copies are labelled for Sweep and owned by the clone namespace, so
// the garbage collector removes them with it.
func (c *Cloner) copyClusterRoleBindings(ctx context.Context, from string, ns *corev1.Namespace) error {
	l, err := c.cs.RbacV1().ClusterRoleBindings().List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	for _, o := range l.Items {
		if _, isCopy := o.Labels[hardening.LabelCloneOf]; isCopy {
			continue
		}
		var subjects []rbacv1.Subject
		for _, s := range o.Subjects {
			if s.Kind == rbacv1.ServiceAccountKind && s.Namespace == from {
				s.Namespace = ns.Name
				subjects = append(subjects, s)
			}
		}
		if len(subjects) == 0 {
			continue
		}
		n := &rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{
				Name:   crbName(ns.Name, o.Name),
				Labels: map[string]string{hardening.LabelCloneOf: from, hardening.LabelClone: ns.Name},
				OwnerReferences: []metav1.OwnerReference{{
					APIVersion: "v1", Kind: "Namespace", Name: ns.Name, UID: ns.UID,
				}},
			},
			Subjects: subjects,
			RoleRef:  o.RoleRef,
		}
		if _, err := c.cs.RbacV1().ClusterRoleBindings().Create(ctx, n, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("create %s: %w", n.Name, err)
		}
	}
	return nil
}

// copyPVCs creates fresh claims: the source's request without its volume.
func (c *Cloner) copyPVCs(ctx context.Context, from, to string) error {
	l, err := c.cs.CoreV1().PersistentVolumeClaims(from).List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	for _, o := range l.Items {
		if controlled(&o.ObjectMeta) {
			continue
		}
		n := &corev1.PersistentVolumeClaim{
			ObjectMeta: cleanMeta(o.ObjectMeta, to),
			Spec:       freshClaimSpec(o.Spec),
		}
		if _, err := c.cs.CoreV1().PersistentVolumeClaims(to).Create(ctx, n, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("create %s: %w", o.Name, err)
		}
	}
	return nil
}

// freshClaimSpec keeps what a claim asks for and drops what binds it to the
// source's volume (volumeName, selector, data sources).
func freshClaimSpec(s corev1.PersistentVolumeClaimSpec) corev1.PersistentVolumeClaimSpec {
	return corev1.PersistentVolumeClaimSpec{
		AccessModes:               s.AccessModes,
		Resources:                 s.Resources,
		StorageClassName:          s.StorageClassName,
		VolumeMode:                s.VolumeMode,
		VolumeAttributesClassName: s.VolumeAttributesClassName,
	}
}

// cloneService resets what the API server allocates (cluster IPs, node
// ports) and what would reach outside the clone: NodePort and LoadBalancer
// become ClusterIP, external IPs are dropped. Headless and ExternalName
// services stay as they are.
func cloneService(o corev1.Service, ns string) *corev1.Service {
	n := &corev1.Service{ObjectMeta: cleanMeta(o.ObjectMeta, ns), Spec: *o.Spec.DeepCopy()}
	s := &n.Spec
	if s.Type == corev1.ServiceTypeExternalName {
		return n
	}
	headless := s.ClusterIP == corev1.ClusterIPNone
	s.ClusterIP, s.ClusterIPs = "", nil
	if headless {
		s.ClusterIP = corev1.ClusterIPNone
	}
	if s.Type == corev1.ServiceTypeNodePort || s.Type == corev1.ServiceTypeLoadBalancer {
		s.Type = corev1.ServiceTypeClusterIP
	}
	for i := range s.Ports {
		s.Ports[i].NodePort = 0
	}
	s.HealthCheckNodePort = 0
	s.ExternalIPs = nil
	s.ExternalTrafficPolicy = ""
	s.LoadBalancerIP = ""
	s.LoadBalancerSourceRanges = nil
	s.LoadBalancerClass = nil
	s.AllocateLoadBalancerNodePorts = nil
	return n
}

func (c *Cloner) copyServices(ctx context.Context, from, to string) error {
	l, err := c.cs.CoreV1().Services(from).List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	for _, o := range l.Items {
		if controlled(&o.ObjectMeta) {
			continue
		}
		if _, err := c.cs.CoreV1().Services(to).Create(ctx, cloneService(o, to), metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("create %s: %w", o.Name, err)
		}
	}
	return nil
}

// copyOf returns a copy of o, a workload of a's kind, to create in ns: its
// metadata cleaned and, for a kind that counts replicas, Options.Replicas
// of them. (Its status goes with it; the API server ignores a workload's
// status on create.)
func (c *Cloner) copyOf(a kinds.Accessor, o kinds.Object, ns string) kinds.Object {
	n := o.DeepCopyObject().(kinds.Object)
	if m, ok := n.(metav1.ObjectMetaAccessor).GetObjectMeta().(*metav1.ObjectMeta); ok {
		*m = cleanMeta(*m, ns)
	}
	a.SetReplicas(n, c.opts.Replicas)
	if sts, ok := n.(*appsv1.StatefulSet); ok {
		for i := range sts.Spec.VolumeClaimTemplates {
			v := &sts.Spec.VolumeClaimTemplates[i]
			v.ObjectMeta = cleanMeta(v.ObjectMeta, "")
			v.Status = corev1.PersistentVolumeClaimStatus{}
		}
	}
	return n
}

// copyWorkloads copies the namespace's long-running workloads that want
// says to keep and no controller owns, and records each copy's selector and
// pods in cl. Jobs and CronJobs are never copied: a clone runs a batch
// workload only as a target (batchTarget).
func (c *Cloner) copyWorkloads(ctx context.Context, from, to string, want func(Ref) bool, perNode int, cl *Clone) error {
	for _, a := range kinds.All() {
		k := a.Kind()
		if k.Batch {
			continue
		}
		objs, err := a.List(ctx, c.cs, from)
		if err != nil {
			return fmt.Errorf("list %s: %w", k.Resource, err)
		}
		for _, o := range objs {
			ref := Ref{Kind: k.Name, Name: o.GetName()}
			if !want(ref) || metav1.GetControllerOfNoCopy(o) != nil {
				continue
			}
			if err := a.Create(ctx, c.cs, to, c.copyOf(a, o, to)); err != nil {
				return fmt.Errorf("create %s %s: %w", strings.ToLower(k.Name), o.GetName(), err)
			}
			if s, err := metav1.LabelSelectorAsSelector(a.Selector(o)); err == nil {
				cl.Workloads[ref] = s
			}
			cl.Pods += c.podsOf(k.Name, perNode)
		}
	}
	return nil
}

// createTarget creates a workload under trial with its trial template. It
// is copied even when a controller owns the source.
func (c *Cloner) createTarget(ctx context.Context, to string, t target) error {
	if t.job != nil {
		_, err := c.cs.BatchV1().Jobs(to).Create(ctx, trialJob(t.job, t.ref, to, t.tmpl), metav1.CreateOptions{})
		return err
	}
	if t.acc == nil {
		return fmt.Errorf("%w: %q", ErrUnsupportedKind, t.ref.Kind)
	}
	n := c.copyOf(t.acc, t.obj, to)
	tmpl, ok := t.acc.Template(n)
	if !ok {
		return fmt.Errorf("%w: %q", ErrUnsupportedKind, t.ref.Kind)
	}
	*tmpl = *t.tmpl.DeepCopy()
	return t.acc.Create(ctx, c.cs, to, n)
}
