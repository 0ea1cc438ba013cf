package admission

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics of the admission handlers. What happens to a queued job
// afterwards (published, retried, dropped) is counted by its publisher.
type Metrics struct {
	requests   *prometheus.CounterVec
	duration   *prometheus.HistogramVec
	warnings   *prometheus.CounterVec
	unreadable *prometheus.CounterVec
}

// NewMetrics creates the handler metrics and registers them with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cinch_admission_requests_total",
			Help: "Admission requests by webhook (validate, mutate), kind, operation and outcome.",
		}, []string{"webhook", "kind", "operation", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "cinch_admission_request_duration_seconds",
			Help:    "Time to answer an admission request, by webhook.",
			Buckets: []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1},
		}, []string{"webhook"}),
		warnings: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cinch_admission_warnings_total",
			Help: "Requests answered with a warning that the template is weaker than its verified recommendation, by kind.",
		}, []string{"kind"}),
		unreadable: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cinch_admission_unreadable_reviews_total",
			Help: "Request bodies that were not an AdmissionReview this webhook can read, by webhook and reason; " +
				"never denied (allowed with a warning, or a non-200 status that failurePolicy Ignore allows).",
		}, []string{"webhook", "reason"}),
	}
	reg.MustRegister(m.requests, m.duration, m.warnings, m.unreadable)
	return m
}
