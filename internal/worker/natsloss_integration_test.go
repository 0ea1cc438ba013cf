//go:build integration

package worker

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cinch-dev/cinch/internal/jobs"
	"github.com/cinch-dev/cinch/internal/jobs/jobstest"
	"github.com/cinch-dev/cinch/pkg/hardening"
)

// countingProcessor counts how often each job is run.
type countingProcessor struct {
	mu   sync.Mutex
	runs map[string]int
}

func (p *countingProcessor) Process(_ context.Context, j jobs.Job) (Disposition, error) {
	time.Sleep(2 * time.Millisecond)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.runs[jobs.MsgID(j.UID, j.TemplateHash)]++
	return DispositionVerified, nil
}

func (p *countingProcessor) GiveUp(context.Context, jobs.Job, error) error { return nil }

func (p *countingProcessor) snapshot() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[string]int, len(p.runs))
	for k, v := range p.runs {
		out[k] = v
	}
	return out
}

// TestIntegrationNATSServerLoss runs the production 3-server setup in
// process: the job stream at 3 replicas, the webhook's job buffer publishing
// and a worker consuming, both connected to all three servers. The server
// leading the stream is stopped mid-run: every job published is run exactly
// once, and the worker keeps consuming.
func TestIntegrationNATSServerLoss(t *testing.T) {
	servers := jobstest.Cluster(t, 3)
	urls := jobstest.ClientURLs(servers)
	connect := func(name string) *nats.Conn {
		nc, err := nats.Connect(urls, nats.Name(name), nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond), nats.ReconnectBufSize(-1))
		require.NoError(t, err)
		t.Cleanup(nc.Close)
		return nc
	}
	pubJS, err := jetstream.New(connect("webhook"))
	require.NoError(t, err)
	workJS, err := jetstream.New(connect("worker"))
	require.NoError(t, err)

	sc := jobs.DefaultStreamConfig()
	sc.Replicas = 3
	require.NoError(t, jobs.Retry(t.Context(), jobs.RetryPolicy{Attempt: 5 * time.Second, First: 100 * time.Millisecond, Max: time.Second},
		"create the stream", func(ctx context.Context) error { _, err := jobs.EnsureStream(ctx, pubJS, sc); return err }))
	var cons jetstream.Consumer
	cc := jobs.ConsumerConfig{Durable: "w", AckWait: 5 * time.Second, MaxDeliver: -1, MaxAckPending: 16}
	require.NoError(t, jobs.Retry(t.Context(), jobs.RetryPolicy{Attempt: 5 * time.Second, First: 100 * time.Millisecond, Max: time.Second},
		"create the consumer", func(ctx context.Context) (err error) {
			cons, err = jobs.EnsureConsumer(ctx, workJS, sc.Name, cc)
			return err
		}))

	proc := &countingProcessor{runs: map[string]int{}}
	wm := NewMetrics(prometheus.NewRegistry())
	ccfg := DefaultPullConfig()
	ccfg.Concurrency, ccfg.FetchWait, ccfg.Heartbeat, ccfg.AckTimeout = 4, 200*time.Millisecond, time.Second, 20*time.Second
	consumer, err := NewConsumer(ccfg, cons, proc, nil, wm)
	require.NoError(t, err)
	cctx, stopConsumer := context.WithCancel(t.Context())
	consumerDone := make(chan struct{})
	go func() { _ = consumer.Start(cctx); close(consumerDone) }()
	t.Cleanup(func() { stopConsumer(); <-consumerDone })

	breg := prometheus.NewRegistry()
	bm := jobs.NewMetrics(breg)
	bc := jobs.DefaultBufferConfig()
	bc.RetryFirst, bc.RetryMax = 50*time.Millisecond, 500*time.Millisecond
	buffer, err := jobs.NewBuffer(bc, jobs.NewPublisher(pubJS, jobs.PublisherOptions{Timeout: time.Second, Stream: sc.Name}), bm)
	require.NoError(t, err)
	bctx, stopBuffer := context.WithCancel(t.Context())
	bufferDone := make(chan struct{})
	go func() { _ = buffer.Start(bctx); close(bufferDone) }()
	t.Cleanup(func() { stopBuffer(); <-bufferDone })

	const n = 300
	start := time.Now()
	var stoppedAt time.Duration
	stopped := -1
	for i := range n {
		if i == n/2 {
			stopped = 0
			for k, s := range servers {
				if s.JetStreamIsStreamLeader("$G", sc.Name) {
					stopped = k
				}
			}
			servers[stopped].Shutdown()
			stoppedAt = time.Since(start)
		}
		j := jobs.Job{Namespace: "shop", Kind: hardening.KindDeployment, Name: fmt.Sprintf("web-%d", i),
			UID: fmt.Sprintf("uid-%04d", i), TemplateHash: "h", Reason: jobs.ReasonAdmission}
		require.NoError(t, buffer.Enqueue(t.Context(), j))
		time.Sleep(10 * time.Millisecond)
	}
	published := time.Since(start)

	require.Eventually(t, func() bool { return len(proc.snapshot()) == n }, 45*time.Second, 50*time.Millisecond,
		"every job run (ran %d of %d)", len(proc.snapshot()), n)
	allRun := time.Since(start)
	time.Sleep(2 * time.Second) // a lost ack would redeliver within the ack wait
	runs := proc.snapshot()
	twice := 0
	for id, c := range runs {
		if c != 1 {
			twice++
			t.Errorf("job %s ran %d times", id, c)
		}
	}
	t.Logf("3 NATS servers, stream R3: stopped server n%d (stream leader) at %s after %d of %d jobs; all published by %s, all run once by %s; "+
		"retried attempts %v, dropped %v",
		stopped, stoppedAt.Round(time.Millisecond), n/2, n, published.Round(time.Millisecond), allRun.Round(time.Millisecond),
		sumCounter(t, breg, "cinch_admission_publish_retries_total"), sumCounter(t, breg, "cinch_admission_jobs_dropped_total"))
	assert.Len(t, runs, n)
	assert.Zero(t, twice)
	assert.Equal(t, float64(n), testutil.ToFloat64(wm.jobs.WithLabelValues(string(DispositionVerified))), "the worker kept consuming")
	assert.Zero(t, sumCounter(t, breg, "cinch_admission_jobs_dropped_total"))
	assert.Equal(t, float64(n), sumCounter(t, breg, "cinch_admission_jobs_published_total"))
}

func sumCounter(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() == name {
			for _, m := range mf.GetMetric() {
				sum += m.GetCounter().GetValue()
			}
		}
	}
	return sum
}
