//go:build integration

package monitors

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/dynamic"

	"github.com/cinch-dev/cinch/internal/kubetest"
	"github.com/cinch-dev/cinch/internal/pipeline"
)

func createMonitor(t *testing.T, dyn dynamic.Interface, kind, ns, name string, spec map[string]any) {
	t.Helper()
	_, err := dyn.Resource(Resources[kind]).Namespace(ns).Create(t.Context(), object(kind, ns, name, spec), metav1.CreateOptions{})
	require.NoError(t, err)
}

// TestReaderIntegration reads monitors through a real API server (the
// stand-in CRDs): a PodMonitor of the namespace, a ServiceMonitor through
// a Service, a PodMonitor of another namespace that names this one, and
// one of another namespace that does not.
func TestReaderIntegration(t *testing.T) {
	kubetest.MonitorCRDs(t, kubetest.EnvIntegration)
	cs := kubetest.Client(t, kubetest.EnvIntegration)
	dyn := kubetest.Dynamic(t, kubetest.EnvIntegration)
	ns := kubetest.Namespace(t, cs, "monitors-it", nil)
	other := kubetest.Namespace(t, cs, "monitors-it-other", nil)

	_, err := cs.CoreV1().Services(ns).Create(t.Context(), &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Labels: map[string]string{"team": "shop"}},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "web"}, Ports: []corev1.ServicePort{
			{Name: "metrics", Port: 9090, TargetPort: intstr.FromString("prom")},
		}},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	web := map[string]any{"matchLabels": map[string]any{"app": "web"}}
	createMonitor(t, dyn, KindPodMonitor, ns, "web", map[string]any{"selector": web,
		"podMetricsEndpoints": []any{map[string]any{"port": "metrics", "scheme": "https"}}})
	createMonitor(t, dyn, KindServiceMonitor, ns, "shop", map[string]any{"selector": map[string]any{"matchLabels": map[string]any{"team": "shop"}},
		"endpoints": []any{map[string]any{"port": "metrics", "path": "/stats"}}})
	createMonitor(t, dyn, KindPodMonitor, other, "central", map[string]any{"selector": web, "namespaceSelector": map[string]any{"matchNames": []any{ns}},
		"podMetricsEndpoints": []any{map[string]any{"portNumber": int64(9100)}}})
	createMonitor(t, dyn, KindPodMonitor, other, "elsewhere", map[string]any{"selector": web,
		"podMetricsEndpoints": []any{map[string]any{"portNumber": int64(9200)}}})

	webRef, dbRef := pipeline.Ref{Kind: "Deployment", Name: "web"}, pipeline.Ref{Kind: "Deployment", Name: "db"}
	got, err := NewReader(dyn, cs).Endpoints(t.Context(), ns, map[pipeline.Ref]*corev1.PodTemplateSpec{
		webRef: {ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}}},
		dbRef:  {ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "db"}}},
	})
	require.NoError(t, err)
	assert.Equal(t, map[pipeline.Ref][]pipeline.MetricsEndpoint{webRef: {
		{Port: "metrics", Scheme: "https", Source: "PodMonitor web"},
		{Port: "prom", Path: "/stats", Source: "ServiceMonitor shop"},
		{Port: "9100", Source: "PodMonitor " + other + "/central"},
	}}, got, "the namespace's own monitors first, by kind; db has none")
}
