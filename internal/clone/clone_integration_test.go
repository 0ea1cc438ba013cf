//go:build integration

package clone_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/cinch-dev/cinch/internal/clone"
	"github.com/cinch-dev/cinch/internal/kubetest"
	"github.com/cinch-dev/cinch/pkg/hardening"
)

func podTemplate(app string) corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": app}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name: "app", Image: "docker.io/local/scenario:1", Args: []string{"fine"}, ImagePullPolicy: corev1.PullNever,
		}}},
	}
}

func deployment(name string, replicas int32) *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: podTemplate(name),
		},
	}
}

// sourceNamespace creates a namespace holding every kind of object the
// cloner copies, rewrites or skips, and removes it (and its binding) at the
// end of the test.
func sourceNamespace(t *testing.T, cs kubernetes.Interface) string {
	t.Helper()
	ctx := t.Context()
	ns, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
		GenerateName: "clonesrc-",
		Labels:       map[string]string{hardening.LabelHarden: hardening.HardenEnabled, "pod-security.kubernetes.io/enforce": "baseline", "team": "payments"},
	}}, metav1.CreateOptions{})
	require.NoError(t, err)
	n := ns.Name
	t.Cleanup(func() {
		_ = cs.CoreV1().Namespaces().Delete(context.Background(), n, metav1.DeleteOptions{})
		_ = cs.RbacV1().ClusterRoleBindings().Delete(context.Background(), n+"-view", metav1.DeleteOptions{})
	})

	core, rbac, apps := cs.CoreV1(), cs.RbacV1(), cs.AppsV1()
	must := func(_ any, err error) { t.Helper(); require.NoError(t, err) }

	web := deployment("web", 2)
	web.Annotations = map[string]string{hardening.AnnotationStatus: "Verified", hardening.AnnotationTemplateHash: "abc", "team": "payments"}
	web, err = apps.Deployments(n).Create(ctx, web, metav1.CreateOptions{})
	require.NoError(t, err)
	other, err := apps.Deployments(n).Create(ctx, deployment("other", 3), metav1.CreateOptions{})
	require.NoError(t, err)
	owner := []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "Deployment", Name: other.Name, UID: other.UID, Controller: ptr.To(true)}}

	cm, err := core.ConfigMaps(n).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "app-config"}, Data: map[string]string{"mode": "fine"}}, metav1.CreateOptions{})
	require.NoError(t, err)
	must(core.ConfigMaps(n).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "owned-config", OwnerReferences: owner}}, metav1.CreateOptions{}))
	if _, err := core.ConfigMaps(n).Get(ctx, "kube-root-ca.crt", metav1.GetOptions{}); apierrors.IsNotFound(err) {
		must(core.ConfigMaps(n).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "kube-root-ca.crt"}, Data: map[string]string{"ca.crt": "source"}}, metav1.CreateOptions{}))
	}
	must(core.Secrets(n).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "app-secret"}, Type: corev1.SecretTypeOpaque, Data: map[string][]byte{"password": []byte("s3cret")}}, metav1.CreateOptions{}))
	must(core.ServiceAccounts(n).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "app"}}, metav1.CreateOptions{}))
	must(core.Secrets(n).Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "app-token", Annotations: map[string]string{corev1.ServiceAccountNameKey: "app"}},
		Type:       corev1.SecretTypeServiceAccountToken,
	}, metav1.CreateOptions{}))

	port := []corev1.ServicePort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP}}
	must(core.Services(n).Create(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "web"}, Ports: port}}, metav1.CreateOptions{}))
	must(core.Services(n).Create(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web-nodeport"}, Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, Selector: map[string]string{"app": "web"}, Ports: port}}, metav1.CreateOptions{}))
	must(core.Services(n).Create(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "db"}, Spec: corev1.ServiceSpec{ClusterIP: corev1.ClusterIPNone, Selector: map[string]string{"app": "db"}, Ports: port}}, metav1.CreateOptions{}))
	must(core.Services(n).Create(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "ext"}, Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "db.example.org"}}, metav1.CreateOptions{}))
	must(core.Endpoints(n).Create(ctx, &corev1.Endpoints{ObjectMeta: metav1.ObjectMeta{Name: "manual"}}, metav1.CreateOptions{})) //nolint:staticcheck // Endpoints must be skipped.
	must(core.Events(n).Create(ctx, &corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{Name: "web.1"},
		InvolvedObject: corev1.ObjectReference{Kind: "Deployment", Namespace: n, Name: "web"},
		Reason:         "Test", Message: "source event", Type: corev1.EventTypeNormal,
	}, metav1.CreateOptions{}))
	pathType := networkingv1.PathTypePrefix
	must(cs.NetworkingV1().Ingresses(n).Create(ctx, &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: networkingv1.IngressSpec{Rules: []networkingv1.IngressRule{{Host: "shop.example.org", IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
			Paths: []networkingv1.HTTPIngressPath{{Path: "/", PathType: &pathType, Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: "web", Port: networkingv1.ServiceBackendPort{Number: 80}}}}},
		}}}}},
	}, metav1.CreateOptions{}))

	must(rbac.Roles(n).Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "reader"}, Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get"}}}}, metav1.CreateOptions{}))
	must(rbac.RoleBindings(n).Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "reader"},
		Subjects: []rbacv1.Subject{
			{Kind: rbacv1.ServiceAccountKind, Name: "app", Namespace: n},
			{Kind: rbacv1.UserKind, Name: "alice", APIGroup: rbacv1.GroupName},
		},
		RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "reader"},
	}, metav1.CreateOptions{}))
	must(rbac.ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: n + "-view"},
		Subjects: []rbacv1.Subject{
			{Kind: rbacv1.ServiceAccountKind, Name: "app", Namespace: n},
			{Kind: rbacv1.ServiceAccountKind, Name: "other", Namespace: "kube-system"},
		},
		RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "view"},
	}, metav1.CreateOptions{}))

	must(core.PersistentVolumeClaims(n).Create(ctx, &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: "data"},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Mi")}},
			StorageClassName: ptr.To("cinch-test-none"),
			VolumeName:       "pv-of-the-source",
		},
	}, metav1.CreateOptions{}))

	db := &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: "db"},
		Spec: appsv1.StatefulSetSpec{
			Replicas:    ptr.To[int32](3),
			ServiceName: "db",
			Selector:    &metav1.LabelSelector{MatchLabels: map[string]string{"app": "db"}},
			Template:    podTemplate("db"),
			VolumeClaimTemplates: []corev1.PersistentVolumeClaim{{
				ObjectMeta: metav1.ObjectMeta{Name: "state"},
				Spec: corev1.PersistentVolumeClaimSpec{
					AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
					StorageClassName: ptr.To("cinch-test-none"),
					Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Mi")}},
				},
			}},
		},
	}
	must(apps.StatefulSets(n).Create(ctx, db, metav1.CreateOptions{}))
	must(apps.DaemonSets(n).Create(ctx, &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Name: "agent"},
		Spec: appsv1.DaemonSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "agent"}},
			Template: podTemplate("agent"),
		},
	}, metav1.CreateOptions{}))
	managed := deployment("managed", 1)
	managed.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "ConfigMap", Name: cm.Name, UID: cm.UID, Controller: ptr.To(true)}}
	must(apps.Deployments(n).Create(ctx, managed, metav1.CreateOptions{}))
	must(apps.ReplicaSets(n).Create(ctx, &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: "owned-rs", OwnerReferences: owner},
		Spec: appsv1.ReplicaSetSpec{
			Replicas: ptr.To[int32](0),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "owned"}},
			Template: podTemplate("owned"),
		},
	}, metav1.CreateOptions{}))
	_ = web
	return n
}

func names[T any](items []T, name func(T) string) []string {
	var out []string
	for _, it := range items {
		out = append(out, name(it))
	}
	slices.Sort(out)
	return out
}

func TestIntegrationCloneCreateDelete(t *testing.T) {
	cs := kubetest.Client(t, kubetest.EnvIntegration)
	ctx := t.Context()
	src := sourceNamespace(t, cs)
	cl := clone.New(cs, clone.Options{Replicas: 1, DenyEgress: true, NamePrefix: "cinch-", Labels: map[string]string{
		"app.kubernetes.io/managed-by": "cinch", hardening.LabelHarden: hardening.HardenEnabled,
	}})

	webSrc, err := cs.AppsV1().Deployments(src).Get(ctx, "web", metav1.GetOptions{})
	require.NoError(t, err)
	tmpl := webSrc.Spec.Template.DeepCopy()
	tmpl.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{RunAsNonRoot: ptr.To(true), RunAsUser: ptr.To[int64](1000)}

	c, err := cl.Create(ctx, clone.Source{Namespace: src, Kind: hardening.KindDeployment, Name: "web"}, "run-as-non-root", tmpl)
	require.NoError(t, err)
	t.Cleanup(func() { _ = cl.Delete(context.Background(), c) })
	n := c.Namespace
	core, rbac, apps := cs.CoreV1(), cs.RbacV1(), cs.AppsV1()

	// The clone namespace.
	ns, err := core.Namespaces().Get(ctx, n, metav1.GetOptions{})
	require.NoError(t, err)
	assert.LessOrEqual(t, len(n), 63)
	assert.Regexp(t, "^cinch-"+src+"-run-as-non-root-[a-z0-9]{5}$", n)
	assert.Equal(t, src, ns.Labels[hardening.LabelCloneOf])
	assert.Equal(t, "run-as-non-root", ns.Labels[hardening.LabelTrial])
	assert.Equal(t, "baseline", ns.Labels["pod-security.kubernetes.io/enforce"], "PodSecurity labels are copied")
	assert.Equal(t, "cinch", ns.Labels["app.kubernetes.io/managed-by"])
	assert.NotContains(t, ns.Labels, hardening.LabelHarden, "a clone never carries the opt-in label")
	assert.NotContains(t, ns.Labels, "team")
	_, err = time.Parse(time.RFC3339, ns.Annotations[hardening.AnnotationCloneCreatedAt])
	assert.NoError(t, err)
	assert.Equal(t, hardening.KindDeployment, c.Kind)
	assert.Equal(t, "web", c.Name)
	assert.True(t, c.Selector.Matches(labels.Set(tmpl.Labels)))

	// Configuration.
	cms, err := core.ConfigMaps(n).List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	for _, cm := range cms.Items {
		if cm.Name == "kube-root-ca.crt" {
			assert.NotEqual(t, "source", cm.Data["ca.crt"], "kube-root-ca.crt is the clone's own, not a copy")
		}
	}
	assert.Equal(t, []string{"app-config"}, slices.DeleteFunc(names(cms.Items, func(o corev1.ConfigMap) string { return o.Name }), func(s string) bool { return s == "kube-root-ca.crt" }))
	secrets, err := core.Secrets(n).List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	require.Equal(t, []string{"app-secret"}, names(secrets.Items, func(o corev1.Secret) string { return o.Name }))
	assert.Equal(t, []byte("s3cret"), secrets.Items[0].Data["password"])
	sas, err := core.ServiceAccounts(n).List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	assert.Equal(t, []string{"app"}, slices.DeleteFunc(names(sas.Items, func(o corev1.ServiceAccount) string { return o.Name }), func(s string) bool { return s == "default" }))

	// Services: addresses re-allocated, headless and ExternalName kept, no node ports.
	srcWeb, err := core.Services(src).Get(ctx, "web", metav1.GetOptions{})
	require.NoError(t, err)
	svcs, err := core.Services(n).List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	require.Equal(t, []string{"db", "ext", "web", "web-nodeport"}, names(svcs.Items, func(o corev1.Service) string { return o.Name }))
	for _, s := range svcs.Items {
		switch s.Name {
		case "web":
			assert.NotEmpty(t, s.Spec.ClusterIP)
			assert.NotEqual(t, srcWeb.Spec.ClusterIP, s.Spec.ClusterIP)
		case "web-nodeport":
			assert.Equal(t, corev1.ServiceTypeClusterIP, s.Spec.Type)
			assert.Equal(t, int32(0), s.Spec.Ports[0].NodePort)
		case "db":
			assert.Equal(t, corev1.ClusterIPNone, s.Spec.ClusterIP)
		case "ext":
			assert.Equal(t, corev1.ServiceTypeExternalName, s.Spec.Type)
			assert.Equal(t, "db.example.org", s.Spec.ExternalName)
		}
	}

	// RBAC: subjects in the source namespace now point at the clone.
	roles, err := rbac.Roles(n).List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	assert.Equal(t, []string{"reader"}, names(roles.Items, func(o rbacv1.Role) string { return o.Name }))
	rb, err := rbac.RoleBindings(n).Get(ctx, "reader", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, []rbacv1.Subject{
		{Kind: rbacv1.ServiceAccountKind, Name: "app", Namespace: n},
		{Kind: rbacv1.UserKind, Name: "alice", APIGroup: rbacv1.GroupName},
	}, rb.Subjects)
	crb, err := rbac.ClusterRoleBindings().Get(ctx, n+"-"+src+"-view", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: "app", Namespace: n}}, crb.Subjects)
	assert.Equal(t, "view", crb.RoleRef.Name)
	assert.Equal(t, src, crb.Labels[hardening.LabelCloneOf])
	assert.Equal(t, n, crb.Labels[hardening.LabelClone])

	// Storage: a fresh claim.
	pvc, err := core.PersistentVolumeClaims(n).Get(ctx, "data", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Empty(t, pvc.Spec.VolumeName)
	assert.Equal(t, ptr.To("cinch-test-none"), pvc.Spec.StorageClassName)

	// Workloads: the target with the trial template, the others unmodified
	// but for replicas, the controller-owned ones skipped.
	deps, err := apps.Deployments(n).List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	require.Equal(t, []string{"other", "web"}, names(deps.Items, func(o appsv1.Deployment) string { return o.Name }))
	for _, d := range deps.Items {
		assert.Equal(t, int32(1), *d.Spec.Replicas, d.Name)
		assert.Empty(t, d.OwnerReferences)
		switch d.Name {
		case "web":
			assert.Equal(t, tmpl.Spec.Containers[0].SecurityContext, d.Spec.Template.Spec.Containers[0].SecurityContext)
			assert.Equal(t, "payments", d.Annotations["team"])
			assert.NotContains(t, d.Annotations, hardening.AnnotationStatus, "cinch.dev annotations are stripped")
			assert.NotContains(t, d.Annotations, hardening.AnnotationTemplateHash, "cinch.dev annotations are stripped")
		case "other":
			assert.Nil(t, d.Spec.Template.Spec.Containers[0].SecurityContext)
		}
	}
	sts, err := apps.StatefulSets(n).Get(ctx, "db", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, int32(1), *sts.Spec.Replicas)
	require.Len(t, sts.Spec.VolumeClaimTemplates, 1)
	assert.Equal(t, "state", sts.Spec.VolumeClaimTemplates[0].Name)
	dss, err := apps.DaemonSets(n).List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	assert.Equal(t, []string{"agent"}, names(dss.Items, func(o appsv1.DaemonSet) string { return o.Name }))
	_, err = apps.ReplicaSets(n).Get(ctx, "owned-rs", metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err), "controller-owned ReplicaSet is not copied: %v", err)

	// Skipped kinds.
	ings, err := cs.NetworkingV1().Ingresses(n).List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	assert.Empty(t, ings.Items)
	_, err = core.Endpoints(n).Get(ctx, "manual", metav1.GetOptions{}) //nolint:staticcheck
	assert.True(t, apierrors.IsNotFound(err), "endpoints are not copied: %v", err)
	evs, err := core.Events(n).List(ctx, metav1.ListOptions{FieldSelector: "reason=Test"})
	require.NoError(t, err)
	assert.Empty(t, evs.Items)

	// Isolation.
	np, err := cs.NetworkingV1().NetworkPolicies(n).Get(ctx, clone.DenyEgressPolicy, metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, []networkingv1.PolicyType{networkingv1.PolicyTypeEgress}, np.Spec.PolicyTypes)
	assert.Empty(t, np.Spec.PodSelector.MatchLabels)
	// Inside the clone, the cluster DNS, and the API server's real address.
	require.Len(t, np.Spec.Egress, 3, "%+v", np.Spec.Egress)
	api, err := cs.DiscoveryV1().EndpointSlices(metav1.NamespaceDefault).List(ctx, metav1.ListOptions{LabelSelector: "kubernetes.io/service-name=kubernetes"})
	require.NoError(t, err)
	require.NotEmpty(t, api.Items)
	require.NotEmpty(t, api.Items[0].Endpoints)
	require.NotEmpty(t, np.Spec.Egress[2].To)
	assert.Equal(t, api.Items[0].Endpoints[0].Addresses[0]+"/32", np.Spec.Egress[2].To[0].IPBlock.CIDR)
	require.Len(t, np.Spec.Egress[2].Ports, 1)
	assert.Equal(t, *api.Items[0].Ports[0].Port, np.Spec.Egress[2].Ports[0].Port.IntVal)

	// Delete: the namespace goes (or is terminating), the binding copy is
	// gone, a second Delete is a no-op.
	require.NoError(t, cl.Delete(ctx, c))
	got, err := core.Namespaces().Get(ctx, n, metav1.GetOptions{})
	if err == nil {
		assert.NotNil(t, got.DeletionTimestamp, "the clone namespace is being deleted")
	} else {
		assert.True(t, apierrors.IsNotFound(err), err)
	}
	_, err = rbac.ClusterRoleBindings().Get(ctx, crb.Name, metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err), "binding copy deleted: %v", err)
	assert.NoError(t, cl.Delete(ctx, c), "Delete is idempotent")
	_, err = core.Namespaces().Get(ctx, src, metav1.GetOptions{})
	assert.NoError(t, err, "the source is untouched")
}

func TestIntegrationCloneErrors(t *testing.T) {
	cs := kubetest.Client(t, kubetest.EnvIntegration)
	ctx := t.Context()
	src := sourceNamespace(t, cs)
	cl := clone.New(cs, clone.DefaultOptions())
	good := podTemplate("web")

	t.Run("unsupported kind", func(t *testing.T) {
		_, err := cl.Create(ctx, clone.Source{Namespace: src, Kind: "ReplicaSet", Name: "web"}, "t", &good)
		assert.ErrorIs(t, err, clone.ErrUnsupportedKind)
	})
	t.Run("missing workload", func(t *testing.T) {
		_, err := cl.Create(ctx, clone.Source{Namespace: src, Kind: hardening.KindDeployment, Name: "nope"}, "t", &good)
		assert.True(t, apierrors.IsNotFound(err), err)
	})
	t.Run("template outside the selector", func(t *testing.T) {
		bad := podTemplate("other")
		_, err := cl.Create(ctx, clone.Source{Namespace: src, Kind: hardening.KindDeployment, Name: "web"}, "t", &bad)
		assert.ErrorIs(t, err, clone.ErrTemplateMismatch)
	})
	t.Run("a rejected template removes the partial clone", func(t *testing.T) {
		bad := podTemplate("web")
		bad.Spec.Containers[0].Image = ""
		trial := "broken-" + time.Now().Format("150405.000000")
		_, err := cl.Create(ctx, clone.Source{Namespace: src, Kind: hardening.KindDeployment, Name: "web"}, trial, &bad)
		require.Error(t, err)
		assert.True(t, apierrors.IsInvalid(err), "the API server's rejection is wrapped: %v", err)
		left, err := cs.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: hardening.LabelTrial + "=" + trial})
		require.NoError(t, err)
		for _, ns := range left.Items {
			assert.NotNil(t, ns.DeletionTimestamp, "partial clone %s is being deleted", ns.Name)
			crbs, err := cs.RbacV1().ClusterRoleBindings().List(ctx, metav1.ListOptions{LabelSelector: hardening.LabelClone + "=" + ns.Name})
			require.NoError(t, err)
			assert.Empty(t, crbs.Items)
		}
	})
	t.Run("Delete refuses a namespace that is not a clone", func(t *testing.T) {
		err := cl.Delete(ctx, &clone.Clone{Namespace: src})
		assert.ErrorIs(t, err, clone.ErrNotAClone)
		_, err = cs.CoreV1().Namespaces().Get(ctx, src, metav1.GetOptions{})
		assert.NoError(t, err)
	})
}

func TestIntegrationCloneSweep(t *testing.T) {
	cs := kubetest.Client(t, kubetest.EnvIntegration)
	ctx := t.Context()
	src := sourceNamespace(t, cs)
	source := clone.Source{Namespace: src, Kind: hardening.KindDeployment, Name: "web"}
	tmpl := podTemplate("web")

	// Clones made "in 2001" are older than anything another test makes.
	longAgo := time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)
	oldOpts := clone.DefaultOptions()
	oldOpts.Now = func() time.Time { return longAgo }
	old, err := clone.New(cs, oldOpts).Create(ctx, source, "old", &tmpl)
	require.NoError(t, err)
	cl := clone.New(cs, clone.DefaultOptions())
	t.Cleanup(func() { _ = cl.Delete(context.Background(), old) })
	fresh, err := cl.Create(ctx, source, "fresh", &tmpl)
	require.NoError(t, err)
	t.Cleanup(func() { _ = cl.Delete(context.Background(), fresh) })

	orphan, err := cs.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{
			GenerateName: "cinch-gone-",
			Labels:       map[string]string{hardening.LabelCloneOf: src, hardening.LabelClone: "cinch-" + src + "-gone-zzzzz"},
		},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: "app", Namespace: "cinch-" + src + "-gone-zzzzz"}},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "view"},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = cs.RbacV1().ClusterRoleBindings().Delete(context.Background(), orphan.Name, metav1.DeleteOptions{})
	})

	deleted, err := cl.Sweep(ctx, time.Since(longAgo.Add(24*time.Hour)), time.Now())
	require.NoError(t, err)
	assert.GreaterOrEqual(t, deleted, 2, "the old clone and the orphaned binding")

	oldNS, err := cs.CoreV1().Namespaces().Get(ctx, old.Namespace, metav1.GetOptions{})
	if err == nil {
		assert.NotNil(t, oldNS.DeletionTimestamp, "old clone swept")
	} else {
		assert.True(t, apierrors.IsNotFound(err), err)
	}
	_, err = cs.RbacV1().ClusterRoleBindings().Get(ctx, old.Namespace+"-"+src+"-view", metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err), "old clone's binding swept: %v", err)
	_, err = cs.RbacV1().ClusterRoleBindings().Get(ctx, orphan.Name, metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err), "orphaned binding swept: %v", err)

	freshNS, err := cs.CoreV1().Namespaces().Get(ctx, fresh.Namespace, metav1.GetOptions{})
	require.NoError(t, err)
	assert.Nil(t, freshNS.DeletionTimestamp, "a fresh clone is kept")
	_, err = cs.RbacV1().ClusterRoleBindings().Get(ctx, fresh.Namespace+"-"+src+"-view", metav1.GetOptions{})
	assert.NoError(t, err, "a fresh clone keeps its binding")
	_, err = cs.CoreV1().Namespaces().Get(ctx, src, metav1.GetOptions{})
	assert.NoError(t, err, "the source is never swept")
}

func TestIntegrationCloneOtherKinds(t *testing.T) {
	cs := kubetest.Client(t, kubetest.EnvIntegration)
	ctx := t.Context()
	src := sourceNamespace(t, cs)
	cl := clone.New(cs, clone.DefaultOptions())
	sc := &corev1.SecurityContext{ReadOnlyRootFilesystem: ptr.To(true)}

	tests := []struct {
		kind, name string
		template   func(n string) (corev1.PodTemplateSpec, error)
	}{
		{hardening.KindStatefulSet, "db", func(n string) (corev1.PodTemplateSpec, error) {
			s, err := cs.AppsV1().StatefulSets(n).Get(ctx, "db", metav1.GetOptions{})
			if err != nil {
				return corev1.PodTemplateSpec{}, err
			}
			return s.Spec.Template, nil
		}},
		{hardening.KindDaemonSet, "agent", func(n string) (corev1.PodTemplateSpec, error) {
			s, err := cs.AppsV1().DaemonSets(n).Get(ctx, "agent", metav1.GetOptions{})
			if err != nil {
				return corev1.PodTemplateSpec{}, err
			}
			return s.Spec.Template, nil
		}},
	}
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			tmpl, err := tt.template(src)
			require.NoError(t, err)
			tmpl.Spec.Containers[0].SecurityContext = sc
			c, err := cl.Create(ctx, clone.Source{Namespace: src, Kind: tt.kind, Name: tt.name}, "read-only-root-filesystem", &tmpl)
			require.NoError(t, err)
			t.Cleanup(func() { _ = cl.Delete(context.Background(), c) })
			got, err := tt.template(c.Namespace)
			require.NoError(t, err)
			assert.Equal(t, sc, got.Spec.Containers[0].SecurityContext, "the target has the trial template")
			assert.True(t, c.Selector.Matches(labels.Set(got.Labels)))
			deps, err := cs.AppsV1().Deployments(c.Namespace).List(ctx, metav1.ListOptions{})
			require.NoError(t, err)
			for _, d := range deps.Items {
				assert.Nil(t, d.Spec.Template.Spec.Containers[0].SecurityContext, "%s is copied unmodified", d.Name)
			}
			assert.Equal(t, []string{"other", "web"}, names(deps.Items, func(o appsv1.Deployment) string { return o.Name }))
		})
	}
}

// BenchmarkIntegrationCloneCreateDelete measures one clone of the full
// three-Deployment, three-ConfigMap, three-Service namespace plus its deletion.
func BenchmarkIntegrationCloneCreateDelete(b *testing.B) {
	cfg := kubetest.Config(b, kubetest.EnvIntegration)
	cfg.QPS, cfg.Burst = 100, 200
	cs, err := kubernetes.NewForConfig(cfg)
	require.NoError(b, err)
	ctx := b.Context()
	ns, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "clonebench-"}}, metav1.CreateOptions{})
	require.NoError(b, err)
	b.Cleanup(func() { _ = cs.CoreV1().Namespaces().Delete(context.Background(), ns.Name, metav1.DeleteOptions{}) })
	for _, name := range []string{"web", "a", "b"} {
		_, err := cs.AppsV1().Deployments(ns.Name).Create(ctx, deployment(name, 0), metav1.CreateOptions{})
		require.NoError(b, err)
		_, err = cs.CoreV1().ConfigMaps(ns.Name).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
		require.NoError(b, err)
		_, err = cs.CoreV1().Services(ns.Name).Create(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 80}}}}, metav1.CreateOptions{})
		require.NoError(b, err)
	}
	cl := clone.New(cs, clone.Options{Replicas: 1, DenyEgress: true})
	tmpl := podTemplate("web")
	b.ResetTimer()
	for b.Loop() {
		c, err := cl.Create(ctx, clone.Source{Namespace: ns.Name, Kind: hardening.KindDeployment, Name: "web"}, "bench", &tmpl)
		require.NoError(b, err)
		require.NoError(b, cl.Delete(ctx, c))
	}
}
