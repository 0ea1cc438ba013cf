package worker

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cinch-dev/cinch/internal/jobs"
	"github.com/cinch-dev/cinch/internal/jobs/jobstest"
	"github.com/cinch-dev/cinch/pkg/hardening"
)

// fakeProcessor answers each delivery of a job with the next scripted step.
type fakeProcessor struct {
	mu     sync.Mutex
	steps  []func(ctx context.Context) (Disposition, error)
	calls  int
	gaveUp []jobs.Job
	done   chan struct{}
}

func (f *fakeProcessor) Process(ctx context.Context, _ jobs.Job) (Disposition, error) {
	f.mu.Lock()
	i := f.calls
	f.calls++
	f.mu.Unlock()
	defer func() { f.done <- struct{}{} }()
	if i >= len(f.steps) {
		return DispositionVerified, nil
	}
	return f.steps[i](ctx)
}

func (f *fakeProcessor) GiveUp(_ context.Context, j jobs.Job, _ error) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.gaveUp = append(f.gaveUp, j)
	return nil
}

func ok(context.Context) (Disposition, error) { return DispositionVerified, nil }
func transient(context.Context) (Disposition, error) {
	return DispositionRetry, errors.New("clone: connection refused")
}
func slow(d time.Duration) func(context.Context) (Disposition, error) {
	return func(context.Context) (Disposition, error) { time.Sleep(d); return DispositionVerified, nil }
}
func blockUntilCancelled(ctx context.Context) (Disposition, error) {
	<-ctx.Done()
	return DispositionRetry, ctx.Err()
}

func testJob() jobs.Job {
	return jobs.Job{Namespace: "shop", Kind: hardening.KindDeployment, Name: "web", UID: "u1", TemplateHash: "h1",
		Reason: jobs.ReasonAdmission, EnqueuedAt: time.Now().UTC()}
}

func setup(t *testing.T) (jetstream.JetStream, jetstream.Consumer) {
	t.Helper()
	s := jobstest.Server(t)
	js, err := jetstream.New(jobstest.Connect(t, s))
	require.NoError(t, err)
	_, err = jobs.EnsureStream(t.Context(), js, jobs.DefaultStreamConfig())
	require.NoError(t, err)
	cc := jobs.ConsumerConfig{Durable: "w", AckWait: 400 * time.Millisecond, MaxDeliver: 2, MaxAckPending: 4}
	cons, err := jobs.EnsureConsumer(t.Context(), js, jobs.DefaultStreamConfig().Name, cc)
	require.NoError(t, err)
	return js, cons
}

func TestConsumer(t *testing.T) {
	tests := []struct {
		name       string
		data       []byte
		steps      []func(context.Context) (Disposition, error)
		wantCalls  int
		wantOut    Disposition
		wantGaveUp int
	}{
		{name: "success is acked", steps: []func(context.Context) (Disposition, error){ok}, wantCalls: 1, wantOut: DispositionVerified},
		{name: "transient then success", steps: []func(context.Context) (Disposition, error){transient, ok}, wantCalls: 2, wantOut: DispositionVerified},
		{name: "transient on last delivery gives up", steps: []func(context.Context) (Disposition, error){transient, transient}, wantCalls: 2, wantOut: DispositionGaveUp, wantGaveUp: 1},
		{name: "heartbeats keep a slow job", steps: []func(context.Context) (Disposition, error){slow(1200 * time.Millisecond)}, wantCalls: 1, wantOut: DispositionVerified},
		{name: "poison is terminated", data: []byte(`{"version":1,"kind":"Pod"}`), wantCalls: 0, wantOut: DispositionPoison},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			js, cons := setup(t)
			reg := prometheus.NewRegistry()
			m := NewMetrics(reg)
			proc := &fakeProcessor{steps: tt.steps, done: make(chan struct{}, 10)}
			cfg := DefaultPullConfig()
			cfg.FetchWait, cfg.Heartbeat, cfg.NakDelay, cfg.MaxNakDelay, cfg.MaxDeliver = 100*time.Millisecond, 50*time.Millisecond, 50*time.Millisecond, 100*time.Millisecond, 2
			c, err := NewConsumer(cfg, cons, proc, nil, m)
			require.NoError(t, err)
			data := tt.data
			if data == nil {
				data, err = jobs.Encode(testJob())
				require.NoError(t, err)
			}
			_, err = js.Publish(t.Context(), jobs.Subject("shop"), data)
			require.NoError(t, err)

			ctx, cancel := context.WithCancel(t.Context())
			stopped := make(chan struct{})
			go func() { _ = c.Start(ctx); close(stopped) }()
			require.Eventually(t, func() bool {
				return testutil.ToFloat64(m.jobs.WithLabelValues(string(tt.wantOut))) == 1
			}, 10*time.Second, 20*time.Millisecond)
			time.Sleep(600 * time.Millisecond) // a missed ack would redeliver by now
			cancel()
			<-stopped
			assert.Equal(t, tt.wantCalls, proc.calls)
			assert.Len(t, proc.gaveUp, tt.wantGaveUp)
			info, err := cons.Info(t.Context())
			require.NoError(t, err)
			assert.Equal(t, uint64(0), info.NumPending, "nothing left to deliver")
			assert.Equal(t, 0, info.NumAckPending, "nothing unacknowledged")
		})
	}
}

func TestConsumerShutdownNaksRunningJob(t *testing.T) {
	js, cons := setup(t)
	m := NewMetrics(prometheus.NewRegistry())
	proc := &fakeProcessor{steps: []func(context.Context) (Disposition, error){blockUntilCancelled}, done: make(chan struct{}, 10)}
	cfg := DefaultPullConfig()
	cfg.FetchWait, cfg.Heartbeat, cfg.ShutdownGrace = 100*time.Millisecond, 50*time.Millisecond, 100*time.Millisecond
	c, err := NewConsumer(cfg, cons, proc, nil, m)
	require.NoError(t, err)
	data, err := jobs.Encode(testJob())
	require.NoError(t, err)
	_, err = js.Publish(t.Context(), jobs.Subject("shop"), data)
	require.NoError(t, err)

	ctx, cancel := context.WithCancel(t.Context())
	stopped := make(chan struct{})
	go func() { _ = c.Start(ctx); close(stopped) }()
	require.Eventually(t, func() bool { proc.mu.Lock(); defer proc.mu.Unlock(); return proc.calls == 1 }, 5*time.Second, 10*time.Millisecond)
	cancel()
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		t.Fatal("consumer did not stop within its deadline")
	}
	assert.Equal(t, 1.0, testutil.ToFloat64(m.jobs.WithLabelValues(string(DispositionShutdown))))
	// The job is back in the queue at once (a nak without delay).
	batch, err := cons.Fetch(1, jetstream.FetchMaxWait(time.Second))
	require.NoError(t, err)
	var got []jetstream.Msg
	for msg := range batch.Messages() {
		got = append(got, msg)
	}
	require.Len(t, got, 1)
	md, err := got[0].Metadata()
	require.NoError(t, err)
	assert.Equal(t, uint64(2), md.NumDelivered)
}

func TestNakDelay(t *testing.T) {
	c := &Consumer{cfg: PullConfig{NakDelay: 10 * time.Second, MaxNakDelay: time.Minute}}
	for _, tt := range []struct {
		delivered uint64
		want      time.Duration
	}{{1, 10 * time.Second}, {2, 20 * time.Second}, {3, 40 * time.Second}, {4, time.Minute}, {9, time.Minute}} {
		assert.Equal(t, tt.want, c.nakDelay(tt.delivered), "delivery %d", tt.delivered)
	}
}
