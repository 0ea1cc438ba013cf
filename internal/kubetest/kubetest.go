// Package kubetest gives integration and end-to-end tests a client of a real
// API server and throw-away namespaces on it. It is test support only.
package kubetest

import (
	"context"
	"os"
	"testing"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

const (
	// EnvIntegration names the kubeconfig of the integration tier's API
	// server (make test-integration sets it).
	EnvIntegration = "CINCH_TEST_KUBECONFIG"
	// EnvE2E names the kubeconfig of the full local cluster (make test-e2e).
	EnvE2E = "KUBECONFIG"
)

// Kubeconfig returns the kubeconfig path named by env, for tests that hand
// it to a binary's configuration; the test fails when env is unset.
func Kubeconfig(t testing.TB, env string) string {
	t.Helper()
	path := os.Getenv(env)
	if path == "" {
		t.Fatalf("%s must name a kubeconfig of the local cluster (make cluster-up)", env)
	}
	return path
}

// Config returns the REST config of the kubeconfig named by env; the test
// fails when env is unset: a tier that needs a cluster never skips.
func Config(t testing.TB, env string) *rest.Config {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", Kubeconfig(t, env))
	require.NoError(t, err)
	// Each test client has its own rate limit, as each Cinch process does.
	cfg.QPS, cfg.Burst = 50, 100
	cfg.WarningHandler = rest.NoWarnings{}
	return cfg
}

// Client returns a clientset for the kubeconfig named by env.
func Client(t testing.TB, env string) kubernetes.Interface {
	t.Helper()
	cs, err := kubernetes.NewForConfig(Config(t, env))
	require.NoError(t, err)
	return cs
}

// Namespace creates a namespace named prefix-<random> with labels and
// deletes it when the test ends.
func Namespace(t testing.TB, cs kubernetes.Interface, prefix string, labels map[string]string) string {
	t.Helper()
	ns, err := cs.CoreV1().Namespaces().Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
		GenerateName: prefix + "-", Labels: labels,
	}}, metav1.CreateOptions{})
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = cs.CoreV1().Namespaces().Delete(context.WithoutCancel(t.Context()), ns.Name, metav1.DeleteOptions{})
	})
	return ns.Name
}
