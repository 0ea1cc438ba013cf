package jobs

import (
	"context"
	"errors"
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

	"github.com/cinch-dev/cinch/internal/jobs/jobstest"
	"github.com/cinch-dev/cinch/pkg/hardening"
)

// scriptedPublisher answers the attempts of each job (by template hash) with
// the next scripted error; nil stores the job (a duplicate when stored
// before). gate, when set, holds every attempt until it is closed.
type scriptedPublisher struct {
	mu       sync.Mutex
	script   []error
	attempts map[string]int
	stored   map[string]bool
	calls    chan string
	gate     chan struct{}
}

func (p *scriptedPublisher) Publish(ctx context.Context, j Job) (Ack, error) {
	if p.calls != nil {
		p.calls <- j.TemplateHash
	}
	if p.gate != nil {
		select {
		case <-p.gate:
		case <-ctx.Done():
			return Ack{}, ctx.Err()
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.attempts == nil {
		p.attempts, p.stored = map[string]int{}, map[string]bool{}
	}
	i := p.attempts[j.TemplateHash]
	p.attempts[j.TemplateHash]++
	var err error
	if i < len(p.script) {
		err = p.script[i]
	}
	if errors.Is(err, context.DeadlineExceeded) {
		p.stored[j.TemplateHash] = true // timed out, but landed
	}
	if err != nil {
		return Ack{}, err
	}
	dup := p.stored[j.TemplateHash]
	p.stored[j.TemplateHash] = true
	return Ack{Sequence: 1, Duplicate: dup}, nil
}

func fastBuffer() BufferConfig {
	c := DefaultBufferConfig()
	c.RetryFirst, c.RetryMax = time.Millisecond, 5*time.Millisecond
	return c
}

func startBuffer(t *testing.T, cfg BufferConfig, pub Publisher) (*Buffer, *Metrics, func()) {
	t.Helper()
	m := NewMetrics(prometheus.NewRegistry())
	b, err := NewBuffer(cfg, pub, m)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { _ = b.Start(ctx); close(done) }()
	stop := func() { cancel(); <-done }
	t.Cleanup(stop)
	return b, m, stop
}

func TestBufferOutcomes(t *testing.T) {
	timeout := fmt.Errorf("publish: %w", context.DeadlineExceeded)
	tests := []struct {
		name        string
		script      []error
		job         func(Job) Job
		giveUpAfter time.Duration
		wantPub     map[string]float64 // duplicate label -> count
		wantRetries map[string]float64
		wantDropped map[string]float64
	}{
		{name: "stored at once", wantPub: map[string]float64{"false": 1}},
		{name: "timed out but landed counts as published, not duplicate", script: []error{timeout},
			wantPub: map[string]float64{"false": 1}, wantRetries: map[string]float64{"timeout": 1}},
		{name: "unavailable then stored", script: []error{ErrUnavailable, fmt.Errorf("x: %w", ErrUnavailable)},
			wantPub: map[string]float64{"false": 1}, wantRetries: map[string]float64{"unavailable": 2}},
		{name: "server error then stored", script: []error{errors.New("maximum messages exceeded")},
			wantPub: map[string]float64{"false": 1}, wantRetries: map[string]float64{"error": 1}},
		{name: "invalid is dropped at once", script: []error{fmt.Errorf("%w: bad", ErrInvalid)},
			wantDropped: map[string]float64{DropInvalid: 1}},
		{name: "never stored expires", script: []error{ErrUnavailable, ErrUnavailable, ErrUnavailable, ErrUnavailable, ErrUnavailable, ErrUnavailable, ErrUnavailable, ErrUnavailable, ErrUnavailable, ErrUnavailable},
			giveUpAfter: 20 * time.Millisecond, wantDropped: map[string]float64{DropExpired: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := fastBuffer()
			if tt.giveUpAfter > 0 {
				cfg.GiveUpAfter = tt.giveUpAfter
			}
			b, m, _ := startBuffer(t, cfg, &scriptedPublisher{script: tt.script})
			require.NoError(t, b.Enqueue(t.Context(), validJob()))
			require.Eventually(t, func() bool { return testutil.ToFloat64(m.buffered) == 0 }, 5*time.Second, time.Millisecond)
			for _, dup := range []string{"false", "true"} {
				assert.Equal(t, tt.wantPub[dup], testutil.ToFloat64(m.published.WithLabelValues(hardening.KindDeployment, dup)), "published duplicate=%s", dup)
			}
			for _, r := range []string{"unavailable", "timeout", "error"} {
				if tt.giveUpAfter == 0 {
					assert.Equal(t, tt.wantRetries[r], testutil.ToFloat64(m.retries.WithLabelValues(r)), "retries %s", r)
				}
			}
			for _, r := range []string{DropFull, DropShutdown, DropExpired, DropInvalid} {
				assert.Equal(t, tt.wantDropped[r], testutil.ToFloat64(m.dropped.WithLabelValues(r)), "dropped %s", r)
			}
		})
	}
}

func TestBufferDuplicateOfAnotherProducer(t *testing.T) {
	pub := &scriptedPublisher{}
	b, m, _ := startBuffer(t, fastBuffer(), pub)
	require.NoError(t, b.Enqueue(t.Context(), validJob()))
	require.NoError(t, b.Enqueue(t.Context(), validJob()))
	require.Eventually(t, func() bool { return testutil.ToFloat64(m.buffered) == 0 }, 5*time.Second, time.Millisecond)
	assert.Equal(t, 1.0, testutil.ToFloat64(m.published.WithLabelValues(hardening.KindDeployment, "false")))
	assert.Equal(t, 1.0, testutil.ToFloat64(m.published.WithLabelValues(hardening.KindDeployment, "true")))
}

func job(i int) Job {
	j := validJob()
	j.TemplateHash = fmt.Sprintf("h%04d", i)
	return j
}

func TestBufferFullDropsAndIsUnready(t *testing.T) {
	gate := make(chan struct{})
	pub := &scriptedPublisher{gate: gate, calls: make(chan string, 100)}
	cfg := fastBuffer()
	cfg.Size, cfg.Workers = 5, 1
	b, m, _ := startBuffer(t, cfg, pub)

	require.NoError(t, b.Enqueue(t.Context(), job(0)))
	<-pub.calls // the only worker holds job 0
	require.NoError(t, b.Ready())
	var full int
	for i := 1; i <= 12; i++ {
		if err := b.Enqueue(t.Context(), job(i)); err != nil {
			require.ErrorIs(t, err, ErrBufferFull)
			full++
		}
	}
	assert.Equal(t, 7, full, "5 wait, the rest is dropped")
	assert.Equal(t, 7.0, testutil.ToFloat64(m.dropped.WithLabelValues(DropFull)))
	assert.Equal(t, 6.0, testutil.ToFloat64(m.buffered))
	assert.Error(t, b.Ready(), "a full buffer is not ready")

	close(gate)
	require.Eventually(t, func() bool { return testutil.ToFloat64(m.buffered) == 0 }, 5*time.Second, time.Millisecond)
	assert.Equal(t, 6.0, testutil.ToFloat64(m.published.WithLabelValues(hardening.KindDeployment, "false")))
	assert.NoError(t, b.Ready())
}

func TestBufferDrainsOnShutdown(t *testing.T) {
	t.Run("drains what it can", func(t *testing.T) {
		gate := make(chan struct{})
		b, m, stop := startBuffer(t, fastBuffer(), &scriptedPublisher{gate: gate})
		for i := range 50 {
			require.NoError(t, b.Enqueue(t.Context(), job(i)))
		}
		go func() { time.Sleep(50 * time.Millisecond); close(gate) }()
		stop()
		assert.Equal(t, 50.0, testutil.ToFloat64(m.published.WithLabelValues(hardening.KindDeployment, "false")))
		assert.Equal(t, 0.0, testutil.ToFloat64(m.buffered))
		assert.ErrorIs(t, b.Enqueue(t.Context(), job(99)), ErrBufferClosed)
		assert.Equal(t, 1.0, testutil.ToFloat64(m.dropped.WithLabelValues(DropShutdown)))
	})
	t.Run("counts what it could not drain in time", func(t *testing.T) {
		cfg := fastBuffer()
		cfg.DrainTimeout = 50 * time.Millisecond
		b, m, stop := startBuffer(t, cfg, &scriptedPublisher{gate: make(chan struct{})}) // stalled for ever
		for i := range 20 {
			require.NoError(t, b.Enqueue(t.Context(), job(i)))
		}
		start := time.Now()
		stop()
		assert.Less(t, time.Since(start), 2*time.Second)
		assert.Equal(t, 20.0, testutil.ToFloat64(m.dropped.WithLabelValues(DropShutdown)))
		assert.Equal(t, 0.0, testutil.ToFloat64(m.buffered))
	})
}

// TestBufferStalledJetStream: a real JetStream behind a stalled proxy. The
// attempts time out while it is stalled, land when it resumes, and the
// retries are deduplicated: every job is stored once and counted once, as
// published.
func TestBufferStalledJetStream(t *testing.T) {
	s := jobstest.Server(t)
	proxy := jobstest.StartProxy(t, s.Addr().String())
	nc, err := nats.Connect(proxy.URL(), nats.MaxReconnects(-1))
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	stream, err := EnsureStream(t.Context(), js, DefaultStreamConfig())
	require.NoError(t, err)
	cfg := fastBuffer()
	cfg.RetryFirst, cfg.RetryMax = 20*time.Millisecond, 200*time.Millisecond
	b, m, _ := startBuffer(t, cfg, NewPublisher(js, PublisherOptions{Timeout: 100 * time.Millisecond, Stream: DefaultStreamConfig().Name}))

	const n = 200
	proxy.Stall()
	for i := range n {
		require.NoError(t, b.Enqueue(t.Context(), job(i)))
	}
	time.Sleep(time.Second)
	proxy.Resume()
	require.Eventually(t, func() bool { return testutil.ToFloat64(m.buffered) == 0 }, 20*time.Second, 10*time.Millisecond)
	info, err := stream.Info(t.Context())
	require.NoError(t, err)
	assert.Equal(t, uint64(n), info.State.Msgs)
	assert.Equal(t, float64(n), testutil.ToFloat64(m.published.WithLabelValues(hardening.KindDeployment, "false")))
	assert.Equal(t, 0.0, testutil.ToFloat64(m.published.WithLabelValues(hardening.KindDeployment, "true")))
	assert.Positive(t, testutil.ToFloat64(m.retries.WithLabelValues("timeout")), "attempts timed out while stalled")
	assert.Equal(t, 0.0, testutil.ToFloat64(m.dropped.WithLabelValues(DropFull)))
}
