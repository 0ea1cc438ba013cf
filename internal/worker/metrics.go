package worker

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the worker's Prometheus metrics (the pipeline has its own).
type Metrics struct {
	jobs        *prometheus.CounterVec
	jobDuration *prometheus.HistogramVec
	inProgress  prometheus.Gauge
	queueDepth  prometheus.Gauge
	optedIn     *prometheus.GaugeVec
	verified    *prometheus.GaugeVec
	hardened    *prometheus.GaugeVec
	resync      *prometheus.CounterVec
	swept       prometheus.Counter
	// Per opted-in workload, set by resync (see WithWorkloadMetrics).
	wlHardened *prometheus.GaugeVec
	wlMissing  *prometheus.GaugeVec
}

// NewMetrics registers the worker's metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		jobs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cinch_jobs_total",
			Help: "Hardening jobs by outcome (verified, failed, superseded, gone, skipped, retry, poison, gave_up, shutdown).",
		}, []string{"outcome"}),
		jobDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "cinch_job_duration_seconds",
			Help:    "Wall time of one hardening job by outcome.",
			Buckets: []float64{1, 10, 30, 60, 120, 180, 300, 450, 600, 900, 1800},
		}, []string{"outcome"}),
		inProgress: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "cinch_jobs_in_progress",
			Help: "Jobs this worker is running.",
		}),
		queueDepth: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "cinch_queue_depth",
			Help: "Jobs waiting in the work queue (consumer NumPending).",
		}),
		optedIn: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "cinch_workloads_opted_in",
			Help: "Opted-in workloads per namespace (not opted out).",
		}, []string{"namespace"}),
		verified: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "cinch_workloads_verified",
			Help: "Opted-in workloads with a verified recommendation for their current pod template.",
		}, []string{"namespace"}),
		hardened: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "cinch_workloads_hardened",
			Help: "Opted-in workloads that already run with their verified recommendation (no setting weaker).",
		}, []string{"namespace"}),
		wlHardened: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "cinch_workload_hardened",
			Help: "1 if the opted-in workload runs with the verified recommendation for its current pod template (no setting weaker), else 0 (also without one).",
		}, []string{"namespace", "kind", "name"}),
		wlMissing: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "cinch_workload_missing_checks",
			Help: "Checks the workload's current pod template lacks although its verified recommendation has them; only for workloads with a verified recommendation for their current pod template.",
		}, []string{"namespace", "kind", "name"}),
		resync: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cinch_resync_jobs_total",
			Help: "Jobs published by resync by result (published, duplicate, error).",
		}, []string{"result"}),
		swept: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "cinch_clones_swept_total",
			Help: "Left-over trial clones deleted by the sweeper.",
		}),
	}
	reg.MustRegister(m.jobs, m.jobDuration, m.inProgress, m.queueDepth, m.optedIn, m.verified, m.hardened, m.wlHardened, m.wlMissing, m.resync, m.swept)
	return m
}
