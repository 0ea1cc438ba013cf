package monitors

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/cinch-dev/cinch/internal/pipeline"
)

// apiServer answers every monitor list with status (and its body), as an
// API server does when the CRD is missing (404), the worker may not list
// them (403) or it fails (500).
func apiServer(t *testing.T, status map[string]int) *Reader {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for res, code := range status {
			if strings.HasSuffix(r.URL.Path, "/"+res) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(code)
				fmt.Fprintf(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","code":%d}`, code)
				return
			}
		}
		t.Errorf("unexpected request %s", r.URL.Path)
		w.WriteHeader(http.StatusTeapot)
	}))
	t.Cleanup(srv.Close)
	cfg := &rest.Config{Host: srv.URL}
	dyn, err := dynamic.NewForConfig(cfg)
	require.NoError(t, err)
	cs, err := kubernetes.NewForConfig(cfg)
	require.NoError(t, err)
	return NewReader(dyn, cs)
}

// TestReaderWithoutMonitors: where the CRDs are not installed, or the
// worker may not list monitors, discovery quietly finds nothing; any other
// failure is an error (the run is retried).
func TestReaderWithoutMonitors(t *testing.T) {
	tmpls := map[pipeline.Ref]*corev1.PodTemplateSpec{{Kind: "Deployment", Name: "web"}: {ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}}}}
	tests := []struct {
		name   string
		status map[string]int
		err    string
	}{
		{"no CRDs", map[string]int{"podmonitors": http.StatusNotFound, "servicemonitors": http.StatusNotFound}, ""},
		{"not allowed", map[string]int{"podmonitors": http.StatusForbidden, "servicemonitors": http.StatusForbidden}, ""},
		{"API server failing", map[string]int{"podmonitors": http.StatusNotFound, "servicemonitors": http.StatusInternalServerError}, "list servicemonitors.monitoring.coreos.com"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := apiServer(t, tt.status).Endpoints(t.Context(), "shop", tmpls)
			if tt.err != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.err)
				return
			}
			require.NoError(t, err)
			assert.Empty(t, got)
		})
	}
}
