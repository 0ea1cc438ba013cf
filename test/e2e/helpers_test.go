//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"

	"github.com/cinch-dev/cinch/internal/kubetest"
	"github.com/cinch-dev/cinch/internal/monitors"
)

// KubeClient returns a client of the local cluster (env KUBECONFIG).
func KubeClient(t *testing.T) kubernetes.Interface { return kubetest.Client(t, kubetest.EnvE2E) }

// Namespace creates a namespace with labels, deleted when t ends.
func Namespace(t *testing.T, cs kubernetes.Interface, prefix string, labels map[string]string) string {
	return kubetest.Namespace(t, cs, prefix, labels)
}

// Manifest is test/workloads/manifests/NAME.yaml, decoded.
type Manifest struct {
	ServiceAccounts     []corev1.ServiceAccount
	ClusterRoles        []rbacv1.ClusterRole
	ClusterRoleBindings []rbacv1.ClusterRoleBinding
	ConfigMaps          []corev1.ConfigMap
	Services            []corev1.Service
	Deployments         []appsv1.Deployment
	StatefulSets        []appsv1.StatefulSet
	Jobs                []batchv1.Job
	CronJobs            []batchv1.CronJob
	// Monitors are PodMonitors and ServiceMonitors (Prometheus Operator).
	Monitors []unstructured.Unstructured
}

// ReadManifest decodes test/workloads/manifests/NAME.yaml; an object of a
// kind it does not know fails the test.
func ReadManifest(t *testing.T, name string) Manifest {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	b, err := os.ReadFile(filepath.Join(filepath.Dir(file), "..", "workloads", "manifests", name+".yaml"))
	require.NoError(t, err)
	var m Manifest
	docs := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(b)))
	for {
		doc, err := docs.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		var tm metav1.TypeMeta
		require.NoError(t, yaml.Unmarshal(doc, &tm))
		var into any
		switch tm.Kind {
		case "ServiceAccount":
			into = appendNew(&m.ServiceAccounts)
		case "ClusterRole":
			into = appendNew(&m.ClusterRoles)
		case "ClusterRoleBinding":
			into = appendNew(&m.ClusterRoleBindings)
		case "ConfigMap":
			into = appendNew(&m.ConfigMaps)
		case "Service":
			into = appendNew(&m.Services)
		case "Deployment":
			into = appendNew(&m.Deployments)
		case "StatefulSet":
			into = appendNew(&m.StatefulSets)
		case "Job":
			into = appendNew(&m.Jobs)
		case "CronJob":
			into = appendNew(&m.CronJobs)
		case monitors.KindPodMonitor, monitors.KindServiceMonitor:
			into = appendNew(&m.Monitors)
		default:
			t.Fatalf("%s.yaml: unexpected kind %q", name, tm.Kind)
		}
		require.NoError(t, yaml.UnmarshalStrict(doc, into), "%s.yaml: %s", name, tm.Kind)
	}
	return m
}

// appendNew appends a zero element to *s and returns a pointer to it.
func appendNew[T any](s *[]T) *T {
	*s = append(*s, *new(T))
	return &(*s)[len(*s)-1]
}

// Apply creates the manifest's objects in ns. Cluster-scoped objects are
// made unique to ns (their name gets "-<ns>"; a binding's subjects in
// namespace NAMESPACE move to ns) and deleted when t ends.
func (m Manifest) Apply(t *testing.T, cs kubernetes.Interface, ns string) {
	t.Helper()
	ctx := t.Context()
	rename := func(n string) string { return n + "-" + ns }
	for _, o := range m.ServiceAccounts {
		_, err := cs.CoreV1().ServiceAccounts(ns).Create(ctx, &o, metav1.CreateOptions{})
		require.NoError(t, err)
	}
	rbac := cs.RbacV1()
	for _, o := range m.ClusterRoles {
		o.Name = rename(o.Name)
		_, err := rbac.ClusterRoles().Create(ctx, &o, metav1.CreateOptions{})
		require.NoError(t, err)
		t.Cleanup(func() { _ = rbac.ClusterRoles().Delete(context.Background(), o.Name, metav1.DeleteOptions{}) })
	}
	for _, o := range m.ClusterRoleBindings {
		o.Name = rename(o.Name)
		if o.RoleRef.Kind == "ClusterRole" && slices.ContainsFunc(m.ClusterRoles, func(r rbacv1.ClusterRole) bool { return r.Name == o.RoleRef.Name }) {
			o.RoleRef.Name = rename(o.RoleRef.Name)
		}
		for i := range o.Subjects {
			if o.Subjects[i].Namespace == "NAMESPACE" {
				o.Subjects[i].Namespace = ns
			}
		}
		_, err := rbac.ClusterRoleBindings().Create(ctx, &o, metav1.CreateOptions{})
		require.NoError(t, err)
		t.Cleanup(func() { _ = rbac.ClusterRoleBindings().Delete(context.Background(), o.Name, metav1.DeleteOptions{}) })
	}
	for _, o := range m.ConfigMaps {
		_, err := cs.CoreV1().ConfigMaps(ns).Create(ctx, &o, metav1.CreateOptions{})
		require.NoError(t, err)
	}
	for _, o := range m.Services {
		_, err := cs.CoreV1().Services(ns).Create(ctx, &o, metav1.CreateOptions{})
		require.NoError(t, err)
	}
	for _, o := range m.Deployments {
		CreateDeployment(t, cs, ns, &o)
	}
	for _, o := range m.StatefulSets {
		_, err := cs.AppsV1().StatefulSets(ns).Create(ctx, &o, metav1.CreateOptions{})
		require.NoError(t, err)
	}
	for _, o := range m.Jobs {
		_, err := cs.BatchV1().Jobs(ns).Create(ctx, &o, metav1.CreateOptions{})
		require.NoError(t, err)
	}
	for _, o := range m.CronJobs {
		_, err := cs.BatchV1().CronJobs(ns).Create(ctx, &o, metav1.CreateOptions{})
		require.NoError(t, err)
	}
	if len(m.Monitors) > 0 {
		kubetest.MonitorCRDs(t, kubetest.EnvE2E)
		dyn := kubetest.Dynamic(t, kubetest.EnvE2E)
		for _, o := range m.Monitors {
			_, err := dyn.Resource(monitors.Resources[o.GetKind()]).Namespace(ns).Create(ctx, &o, metav1.CreateOptions{})
			require.NoError(t, err)
		}
	}
}

// ApplyWorkload creates the objects of test/workloads/manifests/NAME.yaml,
// which holds one Deployment, in ns and returns the Deployment.
func ApplyWorkload(t *testing.T, cs kubernetes.Interface, ns, name string) *appsv1.Deployment {
	t.Helper()
	m := ReadManifest(t, name)
	require.Len(t, m.Deployments, 1, "%s.yaml", name)
	m.Apply(t, cs, ns)
	d, err := cs.AppsV1().Deployments(ns).Get(t.Context(), m.Deployments[0].Name, metav1.GetOptions{})
	require.NoError(t, err)
	return d
}

// CreateDeployment creates d in ns.
func CreateDeployment(t *testing.T, cs kubernetes.Interface, ns string, d *appsv1.Deployment) *appsv1.Deployment {
	t.Helper()
	out, err := cs.AppsV1().Deployments(ns).Create(t.Context(), d, metav1.CreateOptions{})
	require.NoError(t, err)
	return out
}

// WaitFor polls cond every interval until it returns true or timeout ends.
func WaitFor(t *testing.T, interval, timeout time.Duration, cond func(ctx context.Context) (bool, error)) {
	t.Helper()
	require.NoError(t, wait.PollUntilContextTimeout(t.Context(), interval, timeout, true, cond))
}

// WaitDeploymentReady waits until every replica of a Deployment is ready.
func WaitDeploymentReady(t *testing.T, cs kubernetes.Interface, ns, name string, timeout time.Duration) {
	t.Helper()
	WaitFor(t, time.Second, timeout, func(ctx context.Context) (bool, error) {
		d, err := cs.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		want := int32(1)
		if d.Spec.Replicas != nil {
			want = *d.Spec.Replicas
		}
		return d.Status.ReadyReplicas >= want, nil
	})
}

// envDuration is the duration the environment variable name sets, or def.
func envDuration(t *testing.T, name string, def time.Duration) time.Duration {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	require.NoError(t, err, name)
	return d
}

// envRuns is how many unmodified runs the environment variable name asks
// for (at least 3: each is judged against a pair of the others), or 3.
func envRuns(t *testing.T, name string) int {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return 3
	}
	runs, err := strconv.Atoi(v)
	require.NoError(t, err, name)
	require.GreaterOrEqual(t, runs, 3, name)
	return runs
}
