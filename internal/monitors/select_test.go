package monitors

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/cinch-dev/cinch/internal/pipeline"
)

// object is a monitor of kind in namespace ns with spec, as the API
// serves it.
func object(kind, ns, name string, spec map[string]any) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "monitoring.coreos.com/v1", "spec": spec}}
	u.SetKind(kind)
	u.SetNamespace(ns)
	u.SetName(name)
	return u
}

// monitor decodes a monitor of kind in namespace ns from its spec.
func monitor(t *testing.T, kind, ns, name string, spec map[string]any) Monitor {
	t.Helper()
	m, err := Decode(object(kind, ns, name, spec))
	require.NoError(t, err)
	return m
}

func matchApp(app string) map[string]any {
	return map[string]any{"matchLabels": map[string]any{"app": app}}
}

func endpoints(eps ...map[string]any) []any {
	out := make([]any, len(eps))
	for i, e := range eps {
		out[i] = e
	}
	return out
}

func service(name string, lbls, selector map[string]string, ports ...corev1.ServicePort) corev1.Service {
	return corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: name, Labels: lbls},
		Spec:       corev1.ServiceSpec{Selector: selector, Ports: ports},
	}
}

func TestWatches(t *testing.T) {
	tests := []struct {
		name string
		spec map[string]any
		want bool
	}{
		{"empty: its own namespace", map[string]any{}, true},
		{"any", map[string]any{"namespaceSelector": map[string]any{"any": true}}, true},
		{"matchNames with the namespace", map[string]any{"namespaceSelector": map[string]any{"matchNames": []any{"other", "shop"}}}, true},
		{"matchNames without it", map[string]any{"namespaceSelector": map[string]any{"matchNames": []any{"other"}}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, monitor(t, KindPodMonitor, "shop", "m", tt.spec).Watches("shop"))
		})
	}
	assert.False(t, monitor(t, KindPodMonitor, "monitoring", "m", map[string]any{}).Watches("shop"), "empty, in another namespace")
	assert.True(t, monitor(t, KindPodMonitor, "monitoring", "m", map[string]any{"namespaceSelector": map[string]any{"matchNames": []any{"shop"}}}).Watches("shop"))
}

func TestDeclaredPodMonitor(t *testing.T) {
	tmpl := &corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web", "tier": "front"}}}
	tests := []struct {
		name string
		ns   string
		spec map[string]any
		want []pipeline.MetricsEndpoint
	}{
		{"port name, default path and scheme", "shop", map[string]any{"selector": matchApp("web"), "podMetricsEndpoints": endpoints(map[string]any{"port": "metrics"})},
			[]pipeline.MetricsEndpoint{{Port: "metrics", Source: "PodMonitor m"}}},
		{"portNumber, path, https", "shop", map[string]any{"selector": matchApp("web"), "podMetricsEndpoints": endpoints(map[string]any{"portNumber": int64(9443), "path": "stats", "scheme": "HTTPS"})},
			[]pipeline.MetricsEndpoint{{Port: "9443", Path: "/stats", Scheme: "https", Source: "PodMonitor m"}}},
		{"targetPort by number and by name", "shop", map[string]any{"selector": matchApp("web"), "podMetricsEndpoints": endpoints(map[string]any{"targetPort": int64(9090)}, map[string]any{"targetPort": "admin", "path": "/x"})},
			[]pipeline.MetricsEndpoint{{Port: "9090", Source: "PodMonitor m"}, {Port: "admin", Path: "/x", Source: "PodMonitor m"}}},
		{"no port: every container port", "shop", map[string]any{"selector": matchApp("web"), "podMetricsEndpoints": endpoints(map[string]any{"path": "/m"})},
			[]pipeline.MetricsEndpoint{{Path: "/m", Source: "PodMonitor m"}}},
		{"matchExpressions", "shop", map[string]any{"selector": map[string]any{"matchExpressions": []any{map[string]any{"key": "tier", "operator": "In", "values": []any{"front", "edge"}}}},
			"podMetricsEndpoints": endpoints(map[string]any{"port": "metrics"})},
			[]pipeline.MetricsEndpoint{{Port: "metrics", Source: "PodMonitor m"}}},
		{"empty selector: every pod", "shop", map[string]any{"selector": map[string]any{}, "podMetricsEndpoints": endpoints(map[string]any{"port": "metrics"})},
			[]pipeline.MetricsEndpoint{{Port: "metrics", Source: "PodMonitor m"}}},
		{"another app", "shop", map[string]any{"selector": matchApp("db"), "podMetricsEndpoints": endpoints(map[string]any{"port": "metrics"})}, nil},
		{"matchExpressions that exclude it", "shop", map[string]any{"selector": map[string]any{"matchExpressions": []any{map[string]any{"key": "tier", "operator": "NotIn", "values": []any{"front"}}}},
			"podMetricsEndpoints": endpoints(map[string]any{"port": "metrics"})}, nil},
		{"another namespace's monitor naming this one", "monitoring", map[string]any{"selector": matchApp("web"), "namespaceSelector": map[string]any{"matchNames": []any{"shop"}},
			"podMetricsEndpoints": endpoints(map[string]any{"port": "metrics"})},
			[]pipeline.MetricsEndpoint{{Port: "metrics", Source: "PodMonitor monitoring/m"}}},
		{"another namespace's monitor of its own namespace", "monitoring", map[string]any{"selector": matchApp("web"), "podMetricsEndpoints": endpoints(map[string]any{"port": "metrics"})}, nil},
		{"a scheme neither http nor https; repeats", "shop", map[string]any{"selector": matchApp("web"), "podMetricsEndpoints": endpoints(
			map[string]any{"port": "metrics", "scheme": "ftp"}, map[string]any{"port": "metrics", "scheme": "http"}, map[string]any{"port": "metrics", "scheme": "https"})},
			[]pipeline.MetricsEndpoint{{Port: "metrics", Scheme: "http", Source: "PodMonitor m"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Declared("shop", tmpl, []Monitor{monitor(t, KindPodMonitor, tt.ns, "m", tt.spec)}, nil)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestDeclaredServiceMonitor(t *testing.T) {
	tmpl := &corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}}}
	web := map[string]string{"app": "web"}
	svcs := []corev1.Service{
		service("web", map[string]string{"team": "shop"}, web,
			corev1.ServicePort{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080)},
			corev1.ServicePort{Name: "metrics", Port: 9090, TargetPort: intstr.FromString("prom")},
			corev1.ServicePort{Name: "plain", Port: 9100},
			corev1.ServicePort{Name: "statsd", Port: 8125, Protocol: corev1.ProtocolUDP}),
		service("db", map[string]string{"team": "shop"}, map[string]string{"app": "db"}, corev1.ServicePort{Name: "metrics", Port: 9187}),
		service("headless-manual", map[string]string{"team": "shop"}, nil, corev1.ServicePort{Name: "metrics", Port: 9999}),
	}
	team := map[string]any{"matchLabels": map[string]any{"team": "shop"}}
	tests := []struct {
		name string
		spec map[string]any
		want []pipeline.MetricsEndpoint
	}{
		{"Service port name to its targetPort by name", map[string]any{"selector": team, "endpoints": endpoints(map[string]any{"port": "metrics", "scheme": "https", "path": "/m"})},
			[]pipeline.MetricsEndpoint{{Port: "prom", Path: "/m", Scheme: "https", Source: "ServiceMonitor m"}}},
		{"Service port name to its targetPort by number", map[string]any{"selector": team, "endpoints": endpoints(map[string]any{"port": "http"})},
			[]pipeline.MetricsEndpoint{{Port: "8080", Source: "ServiceMonitor m"}}},
		{"Service port without a targetPort", map[string]any{"selector": team, "endpoints": endpoints(map[string]any{"port": "plain"})},
			[]pipeline.MetricsEndpoint{{Port: "9100", Source: "ServiceMonitor m"}}},
		{"targetPort", map[string]any{"selector": team, "endpoints": endpoints(map[string]any{"targetPort": int64(7070)})},
			[]pipeline.MetricsEndpoint{{Port: "7070", Source: "ServiceMonitor m"}}},
		{"no port: every TCP port of the Service", map[string]any{"selector": team, "endpoints": endpoints(map[string]any{})},
			[]pipeline.MetricsEndpoint{{Port: "8080", Source: "ServiceMonitor m"}, {Port: "prom", Source: "ServiceMonitor m"}, {Port: "9100", Source: "ServiceMonitor m"}}},
		{"a port name the Service does not have", map[string]any{"selector": team, "endpoints": endpoints(map[string]any{"port": "admin"})}, nil},
		{"selects no Service of the workload", map[string]any{"selector": matchApp("web"), "endpoints": endpoints(map[string]any{"port": "metrics"})}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Declared("shop", tmpl, []Monitor{monitor(t, KindServiceMonitor, "shop", "m", tt.spec)}, svcs)
			assert.Equal(t, tt.want, got)
		})
	}
}

// TestDeclaredMerged: the endpoints of every monitor that selects the
// pods, in order, a port and path declared twice once.
func TestDeclaredMerged(t *testing.T) {
	tmpl := &corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}}}
	svcs := []corev1.Service{service("web", map[string]string{"app": "web"}, map[string]string{"app": "web"},
		corev1.ServicePort{Name: "metrics", Port: 9090, TargetPort: intstr.FromString("metrics")})}
	mons := []Monitor{
		monitor(t, KindPodMonitor, "shop", "a", map[string]any{"selector": matchApp("web"), "podMetricsEndpoints": endpoints(map[string]any{"port": "metrics"})}),
		monitor(t, KindServiceMonitor, "shop", "b", map[string]any{"selector": matchApp("web"), "endpoints": endpoints(map[string]any{"port": "metrics"}, map[string]any{"port": "metrics", "path": "/extra"})}),
	}
	assert.Equal(t, []pipeline.MetricsEndpoint{
		{Port: "metrics", Source: "PodMonitor a"},
		{Port: "metrics", Path: "/extra", Source: "ServiceMonitor b"},
	}, Declared("shop", tmpl, mons, svcs))
}

func TestDecodeErrors(t *testing.T) {
	for name, spec := range map[string]any{
		"bad operator":  map[string]any{"selector": map[string]any{"matchExpressions": []any{map[string]any{"key": "a", "operator": "Near"}}}},
		"not an object": "x",
		"bad endpoints": map[string]any{"podMetricsEndpoints": "metrics"},
	} {
		u := object(KindPodMonitor, "shop", "m", nil)
		u.Object["spec"] = spec
		_, err := Decode(u)
		assert.Error(t, err, name)
	}
}
