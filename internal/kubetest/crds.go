package kubetest

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/yaml"
)

var crdResource = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// Dynamic returns a dynamic client for the kubeconfig named by env.
func Dynamic(t testing.TB, env string) dynamic.Interface {
	t.Helper()
	dyn, err := dynamic.NewForConfig(Config(t, env))
	require.NoError(t, err)
	return dyn
}

// MonitorCRDs makes sure the cluster of env serves PodMonitors and
// ServiceMonitors: where a CRD is missing it installs the stand-in of
// manifests/crds/prometheus-operator (as make manifests-check does) and
// waits until it is established. The CRDs stay: other tests and Cinch's
// own manifests use them, and deleting one would delete every monitor.
func MonitorCRDs(t testing.TB, env string) {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	dir := filepath.Join(filepath.Dir(file), "..", "..", "manifests", "crds", "prometheus-operator")
	dyn := Dynamic(t, env)
	for _, name := range []string{"podmonitors.yaml", "servicemonitors.yaml"} {
		ensureCRD(t, dyn, filepath.Join(dir, name))
	}
}

// ensureCRD creates the CRD of file unless one of its name exists, and
// waits until it is established.
func ensureCRD(t testing.TB, dyn dynamic.Interface, file string) {
	t.Helper()
	b, err := os.ReadFile(file)
	require.NoError(t, err)
	j, err := yaml.YAMLToJSON(b)
	require.NoError(t, err)
	var crd unstructured.Unstructured
	require.NoError(t, crd.UnmarshalJSON(j), file)
	crds := dyn.Resource(crdResource)
	_, err = crds.Get(t.Context(), crd.GetName(), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		_, err = crds.Create(t.Context(), &crd, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			err = nil // another test was first
		}
	}
	require.NoError(t, err, "CRD %s", crd.GetName())
	err = wait.PollUntilContextTimeout(t.Context(), 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		cur, err := crds.Get(ctx, crd.GetName(), metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		conds, _, _ := unstructured.NestedSlice(cur.Object, "status", "conditions")
		for _, c := range conds {
			if c, ok := c.(map[string]any); ok && c["type"] == "Established" && c["status"] == "True" {
				return true, nil
			}
		}
		return false, nil
	})
	require.NoError(t, err, "CRD %s established", crd.GetName())
}
