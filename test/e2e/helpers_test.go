//go:build e2e

package e2e

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"

	"github.com/cinch-dev/cinch/internal/kubetest"
)

// KubeClient returns a client of the local cluster (env KUBECONFIG).
func KubeClient(t *testing.T) kubernetes.Interface { return kubetest.Client(t, kubetest.EnvE2E) }

// Namespace creates a namespace with labels, deleted when t ends.
func Namespace(t *testing.T, cs kubernetes.Interface, prefix string, labels map[string]string) string {
	return kubetest.Namespace(t, cs, prefix, labels)
}

// ApplyWorkload creates the objects of test/workloads/manifests/NAME.yaml
// (ConfigMaps, then the Deployment) in ns and returns the Deployment.
func ApplyWorkload(t *testing.T, cs kubernetes.Interface, ns, name string) *appsv1.Deployment {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	b, err := os.ReadFile(filepath.Join(filepath.Dir(file), "..", "workloads", "manifests", name+".yaml"))
	require.NoError(t, err)
	var dep *appsv1.Deployment
	for _, doc := range strings.Split(string(b), "\n---\n") {
		var meta metav1.TypeMeta
		require.NoError(t, yaml.Unmarshal([]byte(doc), &meta))
		switch meta.Kind {
		case "ConfigMap":
			var cm corev1.ConfigMap
			require.NoError(t, yaml.Unmarshal([]byte(doc), &cm))
			_, err := cs.CoreV1().ConfigMaps(ns).Create(t.Context(), &cm, metav1.CreateOptions{})
			require.NoError(t, err)
		case "Deployment":
			var d appsv1.Deployment
			require.NoError(t, yaml.Unmarshal([]byte(doc), &d))
			dep = CreateDeployment(t, cs, ns, &d)
		default:
			t.Fatalf("%s.yaml: unexpected kind %q", name, meta.Kind)
		}
	}
	require.NotNil(t, dep, "%s.yaml has no Deployment", name)
	return dep
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
