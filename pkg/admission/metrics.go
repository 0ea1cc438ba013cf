package admission

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics of the admission handlers.
type Metrics struct {
	requests        *prometheus.CounterVec
	duration        *prometheus.HistogramVec
	published       *prometheus.CounterVec
	publishFailures *prometheus.CounterVec
	warnings        *prometheus.CounterVec
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
		published: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cinch_admission_jobs_published_total",
			Help: "Hardening jobs published, by kind; duplicate=true when the stream already held the job.",
		}, []string{"kind", "duplicate"}),
		publishFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cinch_admission_publish_failures_total",
			Help: "Hardening jobs that could not be published (the request was allowed; resync catches up), by reason.",
		}, []string{"reason"}),
		warnings: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cinch_admission_warnings_total",
			Help: "Requests answered with a warning that the template is weaker than its verified recommendation, by kind.",
		}, []string{"kind"}),
	}
	reg.MustRegister(m.requests, m.duration, m.published, m.publishFailures, m.warnings)
	return m
}
