package pipeline

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/cinch-dev/cinch/pkg/hardening"
)

// Metrics are the pipeline's Prometheus metrics.
type Metrics struct {
	trialDuration *prometheus.HistogramVec
	trialOutcomes *prometheus.CounterVec
	podSeconds    prometheus.Counter
	clonesAlive   prometheus.Gauge
}

// NewMetrics registers the pipeline's metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		trialDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "cinch_trial_duration_seconds",
			Help:    "Wall time of one trial, from clone creation to clone deletion.",
			Buckets: []float64{5, 10, 20, 30, 45, 60, 90, 120, 180, 300, 600},
		}, []string{"kind", "outcome"}),
		trialOutcomes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cinch_trial_outcomes_total",
			Help: "Finished trials by check id (empty for multi-check trials), trial kind and outcome (pass, fail, early_fail).",
		}, []string{"check", "kind", "outcome"}),
		podSeconds: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "cinch_trial_pod_seconds_total",
			Help: "Pod-seconds spent in trial clones: every pod of every clone, hardened or not, for the clone's lifetime.",
		}),
		clonesAlive: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "cinch_clones_alive",
			Help: "Trial clones that exist right now (created, not yet deleted).",
		}),
	}
	reg.MustRegister(m.trialDuration, m.trialOutcomes, m.podSeconds, m.clonesAlive)
	return m
}

func (m *Metrics) cloneAlive(delta float64) {
	if m == nil {
		return
	}
	m.clonesAlive.Add(delta)
}

func (m *Metrics) clonePodSeconds(v float64) {
	if m == nil {
		return
	}
	m.podSeconds.Add(v)
}

// TrialOutcome is the outcome label of a trial.
func TrialOutcome(r TrialResult) string {
	switch {
	case r.Verdict.Pass:
		return "pass"
	case r.Early:
		return "early_fail"
	default:
		return "fail"
	}
}

func (m *Metrics) trialFinished(r TrialResult) {
	if m == nil {
		return
	}
	outcome := TrialOutcome(r)
	m.trialDuration.WithLabelValues(string(r.Trial.Kind), outcome).Observe(r.Ended.Sub(r.Started).Seconds())
	if r.Trial.Kind == hardening.TrialBaseline {
		return
	}
	check := ""
	if len(r.Trial.Checks) == 1 {
		check = string(r.Trial.Checks[0])
	}
	m.trialOutcomes.WithLabelValues(check, string(r.Trial.Kind), outcome).Inc()
}
