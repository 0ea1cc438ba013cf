package clone

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/cinch-dev/cinch/pkg/hardening"
)

// TestRelease: releasing a workload of a clone deletes its object there
// and counts its live pods; the other workloads, the source namespace and
// namespaces that are not clones are left alone.
func TestRelease(t *testing.T) {
	cloneNS := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop-x-abcde", Labels: map[string]string{hardening.LabelCloneOf: "shop"}}}
	pod := func(ns, name, app string, phase corev1.PodPhase) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{"app": app}}, Status: corev1.PodStatus{Phase: phase}}
	}
	dep := func(ns, name string) *appsv1.Deployment {
		return &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}}
	}
	cs := fake.NewClientset(cloneNS, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop"}},
		dep("shop-x-abcde", "web"), dep("shop-x-abcde", "db"), dep("shop", "web"),
		&batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "nightly", Namespace: "shop-x-abcde"}},
		pod("shop-x-abcde", "web-1", "web", corev1.PodRunning), pod("shop-x-abcde", "web-2", "web", corev1.PodPending),
		pod("shop-x-abcde", "web-old", "web", corev1.PodFailed), pod("shop-x-abcde", "db-1", "db", corev1.PodRunning),
	)
	c := New(cs, DefaultOptions())
	web, db, nightly := Ref{hardening.KindDeployment, "web"}, Ref{hardening.KindDeployment, "db"}, Ref{hardening.KindCronJob, "nightly"}
	cl := &Clone{Namespace: cloneNS.Name, Workloads: map[Ref]labels.Selector{
		web:     labels.SelectorFromSet(labels.Set{"app": "web"}),
		db:      labels.SelectorFromSet(labels.Set{"app": "db"}),
		nightly: labels.SelectorFromSet(labels.Set{"batch.kubernetes.io/job-name": "nightly"}),
	}}
	ctx := t.Context()

	pods, err := c.Release(ctx, cl, web)
	require.NoError(t, err)
	assert.Equal(t, 2, pods, "the running and the pending pod; the failed one is not alive")
	_, err = cs.AppsV1().Deployments(cloneNS.Name).Get(ctx, "web", metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err), "released: %v", err)
	_, err = cs.AppsV1().Deployments(cloneNS.Name).Get(ctx, "db", metav1.GetOptions{})
	assert.NoError(t, err, "the other workload keeps running")
	_, err = cs.AppsV1().Deployments("shop").Get(ctx, "web", metav1.GetOptions{})
	assert.NoError(t, err, "the source is never touched")

	pods, err = c.Release(ctx, cl, web)
	require.NoError(t, err, "releasing twice is no error")
	assert.Equal(t, 2, pods, "the fake API server does not delete the pods with their owner")

	_, err = c.Release(ctx, cl, nightly)
	require.NoError(t, err)
	_, err = cs.BatchV1().Jobs(cloneNS.Name).Get(ctx, "nightly", metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err), "a CronJob runs in a clone as a Job of its name: %v", err)

	_, err = c.Release(ctx, cl, Ref{hardening.KindDeployment, "cache"})
	assert.ErrorContains(t, err, "does not run it")

	notClone := &Clone{Namespace: "shop", Workloads: map[Ref]labels.Selector{web: labels.Everything()}}
	_, err = c.Release(ctx, notClone, web)
	require.ErrorIs(t, err, ErrNotAClone)
	_, err = cs.AppsV1().Deployments("shop").Get(ctx, "web", metav1.GetOptions{})
	assert.NoError(t, err, "a namespace that is not a clone is refused")

	gone := &Clone{Namespace: "shop-y-gone", Workloads: cl.Workloads}
	pods, err = c.Release(ctx, gone, db)
	assert.NoError(t, err, "a deleted clone has nothing left to release")
	assert.Zero(t, pods)
}

// TestCreateCancelledMidCall: when the namespace create call is cancelled
// after the API server made the namespace, the clone is deleted rather
// than left behind under a name nobody knows.
func TestCreateCancelledMidCall(t *testing.T) {
	src := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop"}}
	sel := &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}
	cs := fake.NewClientset(src, &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop"}, Spec: appsv1.DeploymentSpec{Selector: sel}})
	ctx, cancel := context.WithCancel(t.Context())
	cs.PrependReactor("create", "namespaces", func(a k8stesting.Action) (bool, runtime.Object, error) {
		ns := a.(k8stesting.CreateAction).GetObject().(*corev1.Namespace)
		require.NoError(t, cs.Tracker().Add(ns))
		cancel()
		return true, nil, context.Canceled
	})
	c := New(cs, DefaultOptions())
	tmpl := &corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: sel.MatchLabels}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "i"}}}}
	_, err := c.CreateWith(ctx, "shop", "ro", Spec{Templates: map[Ref]*corev1.PodTemplateSpec{{hardening.KindDeployment, "web"}: tmpl}})
	require.ErrorIs(t, err, context.Canceled)
	l, err := cs.CoreV1().Namespaces().List(t.Context(), metav1.ListOptions{LabelSelector: hardening.LabelCloneOf})
	require.NoError(t, err)
	for _, ns := range l.Items {
		assert.NotNil(t, ns.DeletionTimestamp, "clone %s left behind", ns.Name)
	}
}

// TestCreateCleansUpThroughAnOutage: a create that fails half-way because
// the API server went away (every call refused for a while) still deletes
// the clone namespace it made, once the API server answers again.
func TestCreateCleansUpThroughAnOutage(t *testing.T) {
	src := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop"}}
	sel := &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}
	cs := fake.NewClientset(src, &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop"}, Spec: appsv1.DeploymentSpec{Selector: sel}})
	refused := errors.New("dial tcp 198.18.255.1:6443: connect: connection refused")
	down := false
	cs.PrependReactor("create", "deployments", func(k8stesting.Action) (bool, runtime.Object, error) {
		down = true // the API server stops right after the clone namespace was made
		return true, nil, refused
	})
	refusals := 0
	cs.PrependReactor("*", "namespaces", func(k8stesting.Action) (bool, runtime.Object, error) {
		if !down || refusals == 3 {
			return false, nil, nil
		}
		refusals++
		return true, nil, refused
	})
	c := New(cs, DefaultOptions())
	tmpl := &corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: sel.MatchLabels}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "i"}}}}
	_, err := c.CreateWith(t.Context(), "shop", "ro", Spec{Templates: map[Ref]*corev1.PodTemplateSpec{{hardening.KindDeployment, "web"}: tmpl}})
	require.ErrorIs(t, err, refused)
	assert.NotContains(t, err.Error(), "clean up", "the clean-up outlasted the outage")
	l, err := cs.CoreV1().Namespaces().List(t.Context(), metav1.ListOptions{LabelSelector: hardening.LabelCloneOf})
	require.NoError(t, err)
	assert.Empty(t, l.Items, "clone left behind")
	assert.Equal(t, 3, refusals, "the clean-up was tried while the API server was down")
}
