//go:build e2e

package e2e

import (
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"

	"github.com/cinch-dev/cinch/pkg/oracle"
	"github.com/cinch-dev/cinch/pkg/signals"
)

// amRun deploys the workload (with mutate applied to its pod template) in a
// fresh namespace and records it as the worker does: for d from its first
// Ready pod, with the service prober (TC-05) and the metrics scraper
// (TC-06).
func amRun(t *testing.T, cs kubernetes.Interface, name string, mutate func(*corev1.PodSpec), d time.Duration) oracle.Recording {
	t.Helper()
	_, dep := spManifest(t, name)
	ns := Namespace(t, cs, "am", nil)
	start := time.Now()
	dep.Namespace = ns
	if mutate != nil {
		mutate(&dep.Spec.Template.Spec)
	}
	CreateDeployment(t, cs, ns, dep)
	svcs, err := cs.CoreV1().Services(ns).List(t.Context(), metav1.ListOptions{})
	require.NoError(t, err)
	p := signals.Probers{
		signals.NewServiceProber(signals.ProbeOptions{Networks: []netip.Prefix{podCIDR}}, d, svcs.Items),
		signals.NewMetricsScraper(signals.MetricsOptions{Networks: []netip.Prefix{podCIDR}}, d, nil),
	}
	rec := signals.NewRecorder(cs, signals.Options{})
	sel := labels.SelectorFromSet(dep.Spec.Selector.MatchLabels)
	r, err := rec.Record(t.Context(), signals.Target{Namespace: ns, Selector: sel, Duration: d, ReadyTimeout: 90 * time.Second, Start: start, Prober: p}, nil)
	require.NoError(t, err)
	return r
}

// TestAppMetrics records scenario-metrics-errors CINCH_E2E_METRICS_RUNS
// times unmodified (default 3) and once under readOnlyRootFilesystem, and
// judges every unmodified run and the read-only run against every pair of
// the other unmodified runs as baselines. Every unmodified run must pass
// TC-06 (the false-positive check) and the whole verdict; the read-only
// run must fail on TC-06 alone (it answers, logs and stays Ready as
// before), with app_cache_write_errors_total as the evidence.
func TestAppMetrics(t *testing.T) {
	cs := KubeClient(t)
	d := envDuration(t, "CINCH_E2E_METRICS_DURATION", 20*time.Second)
	runs := envRuns(t, "CINCH_E2E_METRICS_RUNS")
	const workload = "scenario-metrics-errors"
	recs := make([]oracle.Recording, runs+1)
	var wg sync.WaitGroup
	for i := range recs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mutate func(*corev1.PodSpec)
			if i == runs {
				mutate = readOnlyRoot
			}
			recs[i] = amRun(t, cs, workload, mutate, d)
		}()
	}
	wg.Wait()
	require.False(t, t.Failed())
	for i, r := range recs {
		name := fmt.Sprintf("run %d", i)
		if i == runs {
			name = "read-only run"
		}
		require.GreaterOrEqual(t, len(r.Metrics), 2, "%s was scraped twice or more", name)
		for _, s := range r.Metrics {
			t.Logf("%s %s %s ok=%v %s %v", name, s.Offset.Round(100*time.Millisecond), s.Endpoint, s.OK, s.Error, s.Samples)
		}
	}

	cfg := oracle.DefaultConfig()
	judged := 0
	for a := 0; a < runs; a++ {
		for b := a + 1; b < runs; b++ {
			base := [2]oracle.Recording{recs[a], recs[b]}
			for c := 0; c < runs; c++ {
				if c == a || c == b {
					continue
				}
				v := oracle.Judge(cfg, base, recs[c])
				r := spResult(v, oracle.TestMetrics)
				judged++
				assert.True(t, r.Pass, "run %d against baselines %d, %d: %s %+v", c, a, b, r.Reason, r.Evidence)
				assert.Empty(t, oracle.CompareMetrics(cfg, base, recs[c]).NotJudged)
				assert.True(t, v.Pass, "run %d against baselines %d, %d: %+v", c, a, b, v.Tests)
			}
			ro := oracle.Judge(cfg, base, recs[runs])
			r := spResult(ro, oracle.TestMetrics)
			t.Logf("read-only root against baselines %d, %d: pass=%v TC-06: %s", a, b, r.Pass, r.Reason)
			assert.False(t, r.Pass)
			require.NotEmpty(t, r.Evidence)
			assert.Equal(t, oracle.ReasonErrorRate, r.Evidence[0].Reason)
			assert.Equal(t, "app_cache_write_errors_total", r.Evidence[0].Metric)
			assert.Equal(t, ":8081/metrics", r.Evidence[0].Path)
			t.Logf("  %s", r.Evidence[0].Message)
			assert.True(t, passWithout(ro, oracle.TestMetrics), "only TC-06 catches %s: %+v", workload, ro.Tests)
		}
	}
	t.Logf("MEASURE %s: %d judgements of an unmodified run against a pair of other unmodified runs, R=%s", workload, judged, d)
}
