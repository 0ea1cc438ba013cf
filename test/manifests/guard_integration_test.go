//go:build integration

package manifests

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/rand"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes"

	"github.com/cinch-dev/cinch/internal/kubetest"
	"github.com/cinch-dev/cinch/pkg/hardening"
)

// workerUser is the identity the manifests' guard policies match.
const workerUser = "system:serviceaccount:cinch-system:cinch-worker"

// readObjects reads the YAML documents of a manifests/base file.
func readObjects(t *testing.T, file string) []*unstructured.Unstructured {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "manifests", "base", file))
	require.NoError(t, err)
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(b), 4096)
	var out []*unstructured.Unstructured
	for {
		u := &unstructured.Unstructured{}
		err := dec.Decode(&u.Object)
		if errors.Is(err, io.EOF) {
			return out
		}
		require.NoError(t, err, file)
		if len(u.Object) > 0 {
			out = append(out, u)
		}
	}
}

func as[T any](t *testing.T, u *unstructured.Unstructured) *T {
	t.Helper()
	var out T
	require.NoError(t, runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &out))
	return &out
}

// installFor installs the worker's ClusterRole and guard policies of
// manifests/base for user instead of the worker, under names with suffix,
// and removes them when the test ends.
func installFor(t *testing.T, cs kubernetes.Interface, user, namespace, suffix string) {
	t.Helper()
	ctx := t.Context()
	rename := func(name string) string { return name + "-" + suffix }
	// t.Context() is cancelled before cleanups run.
	cleanupCtx := context.WithoutCancel(ctx)
	cleanup := func(f func(context.Context) error) {
		t.Cleanup(func() {
			if err := f(cleanupCtx); err != nil && !apierrors.IsNotFound(err) {
				t.Errorf("cleanup: %v", err)
			}
		})
	}
	del := metav1.DeleteOptions{}
	for _, u := range append(readObjects(t, "worker-rbac.yaml"), readObjects(t, "worker-guard.yaml")...) {
		switch u.GetKind() {
		case "ClusterRole":
			o := as[rbacv1.ClusterRole](t, u)
			o.Name = rename(o.Name)
			_, err := cs.RbacV1().ClusterRoles().Create(ctx, o, metav1.CreateOptions{})
			require.NoError(t, err)
			cleanup(func(ctx context.Context) error { return cs.RbacV1().ClusterRoles().Delete(ctx, o.Name, del) })
		case "ClusterRoleBinding":
			o := as[rbacv1.ClusterRoleBinding](t, u)
			o.Name = rename(o.Name)
			o.RoleRef.Name = rename(o.RoleRef.Name)
			require.Len(t, o.Subjects, 1)
			o.Subjects[0].Namespace = namespace
			_, err := cs.RbacV1().ClusterRoleBindings().Create(ctx, o, metav1.CreateOptions{})
			require.NoError(t, err)
			cleanup(func(ctx context.Context) error { return cs.RbacV1().ClusterRoleBindings().Delete(ctx, o.Name, del) })
		case "ValidatingAdmissionPolicy":
			o := as[admissionregistrationv1.ValidatingAdmissionPolicy](t, u)
			o.Name = rename(o.Name)
			require.NotEmpty(t, o.Spec.MatchConditions)
			for i := range o.Spec.MatchConditions {
				c := &o.Spec.MatchConditions[i]
				require.Contains(t, c.Expression, workerUser)
				c.Expression = strings.ReplaceAll(c.Expression, workerUser, user)
			}
			_, err := cs.AdmissionregistrationV1().ValidatingAdmissionPolicies().Create(ctx, o, metav1.CreateOptions{})
			require.NoError(t, err)
			cleanup(func(ctx context.Context) error {
				return cs.AdmissionregistrationV1().ValidatingAdmissionPolicies().Delete(ctx, o.Name, del)
			})
		case "ValidatingAdmissionPolicyBinding":
			o := as[admissionregistrationv1.ValidatingAdmissionPolicyBinding](t, u)
			o.Name = rename(o.Name)
			o.Spec.PolicyName = rename(o.Spec.PolicyName)
			_, err := cs.AdmissionregistrationV1().ValidatingAdmissionPolicyBindings().Create(ctx, o, metav1.CreateOptions{})
			require.NoError(t, err)
			cleanup(func(ctx context.Context) error {
				return cs.AdmissionregistrationV1().ValidatingAdmissionPolicyBindings().Delete(ctx, o.Name, del)
			})
		default:
			t.Fatalf("unexpected %s in the worker's RBAC or guard", u.GetKind())
		}
	}
}

func suspendedJob(name string) *batchv1.Job {
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: batchv1.JobSpec{Suspend: ptr(true), Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
			RestartPolicy: corev1.RestartPolicyNever,
			Containers:    []corev1.Container{{Name: "task", Image: "docker.io/local/scenario:1"}},
		}}},
	}
}

func cronJob(name string) *batchv1.CronJob {
	return &batchv1.CronJob{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: batchv1.CronJobSpec{Schedule: "0 3 * * *", Suspend: ptr(true),
			JobTemplate: batchv1.JobTemplateSpec{Spec: suspendedJob("").Spec}},
	}
}

func ptr[T any](v T) *T { return &v }

// TestWorkerGuardIntegration: with the RBAC and guard policies of
// manifests/base, the worker may annotate Jobs and CronJobs where it hardens
// them and nothing more there; in a clone it may run (create, read, delete)
// Jobs; it never creates, changes or deletes a CronJob, not even in a
// clone. Every write is a server-side dry run.
func TestWorkerGuardIntegration(t *testing.T) {
	cs := kubetest.Client(t, kubetest.EnvIntegration)
	ctx := t.Context()
	id := rand.String(6)
	home := kubetest.Namespace(t, cs, "guard-it-sa", nil)
	user := fmt.Sprintf("system:serviceaccount:%s:cinch-worker", home)
	installFor(t, cs, user, home, id)

	app := kubetest.Namespace(t, cs, "guard-it-app", map[string]string{hardening.LabelHarden: hardening.HardenEnabled})
	clone := kubetest.Namespace(t, cs, "guard-it-clone", map[string]string{hardening.LabelCloneOf: app})
	for _, ns := range []string{app, clone} {
		_, err := cs.BatchV1().Jobs(ns).Create(ctx, suspendedJob("migrate"), metav1.CreateOptions{})
		require.NoError(t, err)
		_, err = cs.BatchV1().CronJobs(ns).Create(ctx, cronJob("nightly"), metav1.CreateOptions{})
		require.NoError(t, err)
	}
	_, err := cs.AppsV1().Deployments(app).Create(ctx, &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: appsv1.DeploymentSpec{Replicas: ptr(int32(0)), Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "docker.io/local/scenario:1"}}}}},
	}, metav1.CreateOptions{})
	require.NoError(t, err)

	cfg := kubetest.Config(t, kubetest.EnvIntegration)
	cfg.Impersonate.UserName = user
	worker, err := kubernetes.NewForConfig(cfg)
	require.NoError(t, err)

	dry := []string{metav1.DryRunAll}
	annotate := []byte(`{"metadata":{"annotations":{"cinch.dev/status":"Running"}}}`)
	patchJob := func(ns string, body []byte) func() error {
		return func() error {
			_, err := worker.BatchV1().Jobs(ns).Patch(ctx, "migrate", types.MergePatchType, body, metav1.PatchOptions{DryRun: dry})
			return err
		}
	}
	patchCronJob := func(ns string, body []byte) func() error {
		return func() error {
			_, err := worker.BatchV1().CronJobs(ns).Patch(ctx, "nightly", types.MergePatchType, body, metav1.PatchOptions{DryRun: dry})
			return err
		}
	}
	// The policies take effect a moment after they are created.
	require.Eventually(t, func() bool {
		err := patchCronJob(app, []byte(`{"spec":{"schedule":"0 4 * * *"}}`))()
		return apierrors.IsForbidden(err) && strings.Contains(err.Error(), "ValidatingAdmissionPolicy")
	}, 30*time.Second, 200*time.Millisecond, "the guard policies never took effect")

	const (
		allowed = ""
		rbac    = "RBAC"
		guard   = "ValidatingAdmissionPolicy"
	)
	tests := []struct {
		name string
		do   func() error
		want string
	}{
		{name: "annotate a Job", do: patchJob(app, annotate), want: allowed},
		{name: "annotate a CronJob", do: patchCronJob(app, annotate), want: allowed},
		{name: "change a Job's spec", do: patchJob(app, []byte(`{"spec":{"suspend":false}}`)), want: guard},
		{name: "change a CronJob's spec", do: patchCronJob(app, []byte(`{"spec":{"schedule":"0 4 * * *"}}`)), want: guard},
		{name: "create a Job outside clones", want: guard, do: func() error {
			_, err := worker.BatchV1().Jobs(app).Create(ctx, suspendedJob("trial"), metav1.CreateOptions{DryRun: dry})
			return err
		}},
		{name: "delete a Job outside clones", want: guard, do: func() error {
			return worker.BatchV1().Jobs(app).Delete(ctx, "migrate", metav1.DeleteOptions{DryRun: dry})
		}},
		{name: "read Jobs and CronJobs", want: allowed, do: func() error {
			if _, err := worker.BatchV1().Jobs(app).Get(ctx, "migrate", metav1.GetOptions{}); err != nil {
				return err
			}
			_, err := worker.BatchV1().CronJobs(app).List(ctx, metav1.ListOptions{})
			return err
		}},
		{name: "create a Job in a clone", want: allowed, do: func() error {
			_, err := worker.BatchV1().Jobs(clone).Create(ctx, suspendedJob("trial"), metav1.CreateOptions{DryRun: dry})
			return err
		}},
		{name: "watch Jobs in a clone", want: allowed, do: func() error {
			w, err := worker.BatchV1().Jobs(clone).Watch(ctx, metav1.ListOptions{})
			if err == nil {
				w.Stop()
			}
			return err
		}},
		{name: "delete a Job in a clone", want: allowed, do: func() error {
			return worker.BatchV1().Jobs(clone).Delete(ctx, "migrate", metav1.DeleteOptions{DryRun: dry})
		}},
		{name: "create a CronJob in a clone", want: rbac, do: func() error {
			_, err := worker.BatchV1().CronJobs(clone).Create(ctx, cronJob("trial"), metav1.CreateOptions{DryRun: dry})
			return err
		}},
		{name: "change a CronJob's spec in a clone", do: patchCronJob(clone, []byte(`{"spec":{"suspend":false}}`)), want: guard},
		{name: "delete a CronJob", want: rbac, do: func() error {
			return worker.BatchV1().CronJobs(clone).Delete(ctx, "nightly", metav1.DeleteOptions{DryRun: dry})
		}},
		{name: "watch CronJobs", want: rbac, do: func() error {
			w, err := worker.BatchV1().CronJobs(app).Watch(ctx, metav1.ListOptions{})
			if err == nil {
				w.Stop()
			}
			return err
		}},
		{name: "annotate a Deployment", want: allowed, do: func() error {
			_, err := worker.AppsV1().Deployments(app).Patch(ctx, "web", types.MergePatchType, annotate, metav1.PatchOptions{DryRun: dry})
			return err
		}},
		{name: "change a Deployment's spec", want: guard, do: func() error {
			_, err := worker.AppsV1().Deployments(app).Patch(ctx, "web", types.MergePatchType, []byte(`{"spec":{"replicas":1}}`), metav1.PatchOptions{DryRun: dry})
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.do()
			if tt.want == allowed {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.True(t, apierrors.IsForbidden(err), "%v", err)
			if tt.want == guard {
				assert.Contains(t, err.Error(), "ValidatingAdmissionPolicy", "denied by the guard, not RBAC")
			} else {
				assert.NotContains(t, err.Error(), "ValidatingAdmissionPolicy", "denied by RBAC")
			}
		})
	}
}
