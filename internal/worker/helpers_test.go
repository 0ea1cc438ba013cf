//go:build integration

package worker

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func prometheusRegistry() *prometheus.Registry { return prometheus.NewRegistry() }

func gaugeValue(t *testing.T, v *prometheus.GaugeVec, label string) float64 {
	t.Helper()
	return testutil.ToFloat64(v.WithLabelValues(label))
}
