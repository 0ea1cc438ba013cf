//go:build integration

package admission_test

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cinch-dev/cinch/internal/jobs"
	"github.com/cinch-dev/cinch/pkg/hardening"
)

func burstDeployment(i int) *appsv1.Deployment {
	replicas := int32(0)
	labels := map[string]string{"app": "burst"}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("burst-%03d", i)},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name: "web", Image: "docker.io/local/none:1", ImagePullPolicy: corev1.PullNever,
					Env: []corev1.EnvVar{{Name: "I", Value: fmt.Sprint(i)}},
				}}},
			},
		},
	}
}

// burst creates n Deployments in ns through the API server (and so through
// the webhook), conc at a time, and returns each create's latency.
func (e *env) burst(ns string, n, conc int) []time.Duration {
	e.t.Helper()
	lat := make([]time.Duration, n)
	var next atomic.Int64
	var failed atomic.Int64
	var wg sync.WaitGroup
	for range conc {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				start := time.Now()
				_, err := e.client.AppsV1().Deployments(ns).Create(e.t.Context(), burstDeployment(i), metav1.CreateOptions{})
				lat[i] = time.Since(start)
				// The API server is shared with other tests on a loaded
				// machine: retry what it failed itself (the webhook cannot
				// fail a create, its failurePolicy is Ignore).
				for attempt := 0; err != nil && attempt < 3 && (apierrors.IsServerTimeout(err) || apierrors.IsTooManyRequests(err) ||
					apierrors.IsInternalError(err) || apierrors.IsTimeout(err) || apierrors.IsServiceUnavailable(err)); attempt++ {
					e.t.Logf("create %d: %v; retrying", i, err)
					_, err = e.client.AppsV1().Deployments(ns).Create(e.t.Context(), burstDeployment(i), metav1.CreateOptions{})
					if apierrors.IsAlreadyExists(err) {
						err = nil
					}
				}
				if err != nil {
					failed.Add(1)
					e.t.Errorf("create %d: %v", i, err)
				}
			}
		})
	}
	wg.Wait()
	require.Zero(e.t, failed.Load(), "creates failed")
	return lat
}

func p99(lat []time.Duration) time.Duration {
	s := slices.Clone(lat)
	slices.Sort(s)
	return s[min(len(s)-1, len(s)*99/100)]
}

// histogramShareBelow is the share of the samples of a histogram (labels
// matching) in buckets up to le.
func histogramShareBelow(t *testing.T, reg *prometheus.Registry, name string, match map[string]string, le float64) (float64, uint64) {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metrics:
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if v, ok := match[l.GetName()]; ok && v != l.GetValue() {
					continue metrics
				}
			}
			h := m.GetHistogram()
			for _, b := range h.GetBucket() {
				if b.GetUpperBound() == le {
					return float64(b.GetCumulativeCount()) / float64(h.GetSampleCount()), h.GetSampleCount()
				}
			}
		}
	}
	t.Fatalf("no histogram %s with bucket %g", name, le)
	return 0, 0
}

// TestIntegrationBurst: 500 creates, 100 at a time, through the API server
// and the real handlers, while the JetStream server is stalled for 3 s: every
// request is allowed at once (the answer never waits for NATS), and every job
// is in the stream within seconds of the burst; nothing is dropped below the
// buffer's bound.
func TestIntegrationBurst(t *testing.T) {
	e := setup(t)
	ns := e.namespace("burst", hardening.HardenEnabled)
	e.waitActive()
	queued0 := validateOutcome(t, e.reg, "queued")

	const n, conc = 500, 100
	e.proxy.Stall()
	stalled := time.AfterFunc(3*time.Second, e.proxy.Resume)
	defer stalled.Stop()
	start := time.Now()
	lat := e.burst(ns, n, conc)
	took := time.Since(start)

	var got int
	require.Eventually(t, func() bool { got = len(e.storedIn(ns)); return got == n }, 15*time.Second, 50*time.Millisecond,
		"jobs in the stream after the burst")
	allIn := time.Since(start) - took
	t.Logf("burst of %d creates (%d at a time) with NATS stalled 3s: took %s, create p99 %s; all %d jobs in the stream %s after the burst",
		n, conc, took.Round(time.Millisecond), p99(lat).Round(time.Millisecond), got, allIn.Round(time.Millisecond))

	assert.GreaterOrEqual(t, validateOutcome(t, e.reg, "queued")-queued0, float64(n), "every request allowed and its job queued (a retried create may call the webhook again)")
	assert.Equal(t, 0.0, validateOutcome(t, e.reg, "dropped"))
	assert.Equal(t, 0.0, validateOutcome(t, e.reg, "error"))
	assert.Equal(t, 0.0, metricSum(t, e.reg, "cinch_admission_jobs_dropped_total", nil))
	share, count := histogramShareBelow(t, e.reg, "cinch_admission_request_duration_seconds", map[string]string{"webhook": "validate"}, 0.05)
	t.Logf("validate answers within 50ms: %.1f%% of %d", 100*share, count)
	assert.GreaterOrEqual(t, share, 0.99, "p99 of the admission answer within 50ms while NATS is stalled")
	// A job is in the stream a moment before its publisher hears the ack
	// and lets go of its buffer slot.
	assert.Eventually(t, func() bool { return gauge(t, e.reg, "cinch_admission_jobs_buffered") == 0 }, 5*time.Second, 20*time.Millisecond,
		"the buffer empties once every job is acked")
}

// TestIntegrationBurstAboveBufferBound: with a buffer of 50 and NATS stalled
// through a burst of 200, the requests are still allowed, what does not fit is
// dropped and counted, the replica reports unready while the buffer is full,
// and every job that was accepted lands once NATS resumes.
func TestIntegrationBurstAboveBufferBound(t *testing.T) {
	bc := jobs.DefaultBufferConfig()
	bc.Size, bc.Workers = 50, 2
	e := setupWith(t, bc)
	ns := e.namespace("bound", hardening.HardenEnabled)
	e.waitActive()
	queued0 := validateOutcome(t, e.reg, "queued")

	e.proxy.Stall()
	e.burst(ns, 200, 100)
	assert.Error(t, e.buffer.Ready(), "a full buffer makes the replica unready")
	queued := validateOutcome(t, e.reg, "queued") - queued0
	dropped := validateOutcome(t, e.reg, "dropped")
	t.Logf("burst of 200 with NATS stalled and a buffer of 50: %v queued, %v dropped", queued, dropped)
	assert.GreaterOrEqual(t, queued+dropped, 200.0, "every request allowed")
	assert.Positive(t, dropped)
	assert.LessOrEqual(t, queued, float64(bc.Size+bc.Workers))
	assert.Equal(t, dropped, metricSum(t, e.reg, "cinch_admission_jobs_dropped_total", map[string]string{"reason": jobs.DropFull}))

	e.proxy.Resume()
	require.Eventually(t, func() bool { return len(e.storedIn(ns)) == int(queued) }, 15*time.Second, 50*time.Millisecond,
		"every accepted job lands")
	assert.NoError(t, e.buffer.Ready())
	assert.Equal(t, dropped, metricSum(t, e.reg, "cinch_admission_jobs_dropped_total", nil), "nothing else dropped")
}
