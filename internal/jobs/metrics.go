package jobs

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics of the webhook's job buffer: what happened to every job it
// accepted, counted once it is known (a timed-out attempt is a retry, not a
// failure: it may well have landed).
type Metrics struct {
	published *prometheus.CounterVec
	retries   *prometheus.CounterVec
	dropped   *prometheus.CounterVec
	buffered  prometheus.Gauge
	capacity  prometheus.Gauge
	delay     prometheus.Histogram
}

// NewMetrics creates the buffer metrics and registers them with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		published: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cinch_admission_jobs_published_total",
			Help: "Hardening jobs stored in the stream, by kind; duplicate=true when the stream already held the job " +
				"(and no earlier attempt of this webhook may have stored it).",
		}, []string{"kind", "duplicate"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cinch_admission_publish_retries_total",
			Help: "Publish attempts that failed and were retried, by reason (unavailable, timeout: may have landed, error).",
		}, []string{"reason"}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cinch_admission_jobs_dropped_total",
			Help: "Accepted hardening jobs never published (the request was allowed; resync catches up), by reason " +
				"(full: the buffer was full, shutdown: not drained in time, expired: retried too long, invalid).",
		}, []string{"reason"}),
		buffered: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "cinch_admission_jobs_buffered",
			Help: "Hardening jobs accepted and not yet published or dropped.",
		}),
		capacity: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "cinch_admission_job_buffer_capacity",
			Help: "Jobs the buffer holds at most (waiting for a publisher).",
		}),
		delay: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "cinch_admission_job_publish_delay_seconds",
			Help:    "Time from accepting a job to its stored publish.",
			Buckets: []float64{0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 300},
		}),
	}
	for _, r := range []string{DropFull, DropShutdown, DropExpired, DropInvalid} {
		m.dropped.WithLabelValues(r)
	}
	for _, r := range []string{"unavailable", "timeout", "error"} {
		m.retries.WithLabelValues(r)
	}
	reg.MustRegister(m.published, m.retries, m.dropped, m.buffered, m.capacity, m.delay)
	return m
}
