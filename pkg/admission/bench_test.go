package admission

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	admissionv1 "k8s.io/api/admission/v1"
	"k8s.io/apimachinery/pkg/types"
)

// BenchmarkValidate measures the CPU cost of one validating review (decode,
// hash, decide, publish to an in-memory fake, encode), without the network.
func BenchmarkValidate(b *testing.B) {
	h := New(&fakePublisher{}, fakeNamespaces{labels: map[string]map[string]string{"shop": enabled()}},
		NewMetrics(prometheus.NewRegistry()), Options{OwnNamespace: "cinch"})
	validate, _ := h.Webhooks()
	bodies := make([][]byte, 1024)
	for i := range bodies {
		d := deployment("nginx:1.27")
		d.UID = types.UID(fmt.Sprintf("uid-%d", i))
		bodies[i] = review(b, request(b, admissionv1.Create, d, nil))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(bodies[i%len(bodies)]))
		req.Header.Set("Content-Type", "application/json")
		validate.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d", rec.Code)
		}
	}
}
