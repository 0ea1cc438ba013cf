package jobs

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/go-logr/logr"
)

// ErrBufferFull is returned by Buffer.Enqueue when the buffer already holds
// its bound; the job is dropped (and counted).
var ErrBufferFull = errors.New("job buffer full")

// ErrBufferClosed is returned by Buffer.Enqueue once the buffer has drained
// at shutdown; the job is dropped (and counted).
var ErrBufferClosed = errors.New("job buffer closed")

// Reasons a buffered job was dropped (the reason label of
// cinch_admission_jobs_dropped_total).
const (
	DropFull     = "full"
	DropShutdown = "shutdown"
	DropExpired  = "expired"
	DropInvalid  = "invalid"
)

// Publisher publishes one job with a bounded wait; *JetStreamPublisher is
// one. The buffer relies on the message id (uid + template hash) making a
// retried publish of a job that did land a duplicate, not a second job.
type Publisher interface {
	Publish(ctx context.Context, j Job) (Ack, error)
}

var _ Publisher = (*JetStreamPublisher)(nil)

// BufferConfig configures a Buffer.
type BufferConfig struct {
	// Size bounds the jobs waiting to be published; Enqueue drops a job
	// beyond it.
	Size int
	// Workers is the number of publishes in flight at once.
	Workers int
	// RetryFirst is the wait after a failed attempt; it doubles per attempt
	// up to RetryMax.
	RetryFirst, RetryMax time.Duration
	// GiveUpAfter drops a job still unpublished this long after it was
	// enqueued (the worker's resync catches up).
	GiveUpAfter time.Duration
	// DrainTimeout is how long buffered jobs may still be published after
	// Start's context ended.
	DrainTimeout time.Duration
}

// DefaultBufferConfig is the webhook's buffer.
func DefaultBufferConfig() BufferConfig {
	return BufferConfig{
		Size:         1000,
		Workers:      4,
		RetryFirst:   100 * time.Millisecond,
		RetryMax:     2 * time.Second,
		GiveUpAfter:  5 * time.Minute,
		DrainTimeout: 5 * time.Second,
	}
}

// Validate checks the configuration.
func (c BufferConfig) Validate() error {
	var errs []error
	if c.Size < 1 {
		errs = append(errs, fmt.Errorf("buffer size %d must be positive", c.Size))
	}
	if c.Workers < 1 {
		errs = append(errs, fmt.Errorf("buffer workers %d must be positive", c.Workers))
	}
	if c.RetryFirst <= 0 || c.RetryMax < c.RetryFirst {
		errs = append(errs, fmt.Errorf("retry waits %s..%s: first must be positive and not above max", c.RetryFirst, c.RetryMax))
	}
	if c.GiveUpAfter <= 0 {
		errs = append(errs, fmt.Errorf("give-up age %s must be positive", c.GiveUpAfter))
	}
	if c.DrainTimeout < 0 {
		errs = append(errs, fmt.Errorf("drain timeout %s is negative", c.DrainTimeout))
	}
	return errors.Join(errs...)
}

type entry struct {
	job      Job
	enqueued time.Time
}

// Buffer decouples accepting a job from publishing it: Enqueue never waits,
// and Start publishes the buffered jobs in the background, retrying each one
// (same message id, so a retry of a publish that did land is deduplicated by
// the stream) until it is stored, it expires, or the drain at shutdown ends.
// Every job that is not published is counted as dropped, by reason.
type Buffer struct {
	cfg     BufferConfig
	pub     Publisher
	metrics *Metrics
	now     func() time.Time
	queue   chan entry

	mu     sync.RWMutex
	closed bool
}

// NewBuffer returns a buffer that publishes through pub and counts into m.
func NewBuffer(cfg BufferConfig, pub Publisher, m *Metrics) (*Buffer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("job buffer: %w", err)
	}
	m.capacity.Set(float64(cfg.Size))
	return &Buffer{cfg: cfg, pub: pub, metrics: m, now: time.Now, queue: make(chan entry, cfg.Size)}, nil
}

// Enqueue accepts j for publishing without waiting. It fails with
// ErrBufferFull or ErrBufferClosed; the job is then counted as dropped. A zero
// EnqueuedAt is set now, so every attempt publishes the same job.
func (b *Buffer) Enqueue(_ context.Context, j Job) error {
	now := b.now()
	if j.EnqueuedAt.IsZero() {
		j.EnqueuedAt = now.UTC()
	}
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.closed {
		b.metrics.dropped.WithLabelValues(DropShutdown).Inc()
		return ErrBufferClosed
	}
	select {
	case b.queue <- entry{job: j, enqueued: now}:
		b.metrics.buffered.Inc()
		return nil
	default:
		b.metrics.dropped.WithLabelValues(DropFull).Inc()
		return ErrBufferFull
	}
}

// Waiting is the number of jobs waiting for a publisher worker.
func (b *Buffer) Waiting() int { return len(b.queue) }

// Ready fails while the buffer is full, so a readiness probe takes the
// replica out of service until it has room again.
func (b *Buffer) Ready() error {
	if n := len(b.queue); n >= b.cfg.Size {
		return fmt.Errorf("job buffer full (%d jobs waiting)", n)
	}
	return nil
}

// Start publishes buffered jobs until ctx ends, then keeps publishing what is
// left for at most DrainTimeout, counts the rest as dropped and returns.
// Enqueue fails after Start returned.
func (b *Buffer) Start(ctx context.Context) error {
	log := logr.FromContextOrDiscard(ctx).WithName("job-buffer")
	drainCtx, cancelDrain := context.WithCancel(logr.NewContext(context.WithoutCancel(ctx), log))
	defer cancelDrain()
	stopped := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
		case <-stopped:
			return
		}
		select {
		case <-time.After(b.cfg.DrainTimeout):
			cancelDrain()
		case <-stopped:
		}
	}()

	var wg sync.WaitGroup
	for range b.cfg.Workers {
		wg.Go(func() {
			for {
				select {
				case e := <-b.queue:
					b.publish(drainCtx, log, e)
					continue
				case <-ctx.Done():
				}
				// Drain: publish what is left, then stop.
				for {
					select {
					case e := <-b.queue:
						b.publish(drainCtx, log, e)
					default:
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(stopped)

	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	left := 0
	for {
		select {
		case <-b.queue:
			left++
			b.drop(DropShutdown)
			continue
		default:
		}
		break
	}
	if left > 0 {
		log.Info("Dropped buffered jobs at shutdown; resync will catch up", "jobs", left)
	}
	return nil
}

func (b *Buffer) drop(reason string) {
	b.metrics.buffered.Dec()
	b.metrics.dropped.WithLabelValues(reason).Inc()
}

// publish publishes e, retrying until it is stored, it expires or ctx ends.
func (b *Buffer) publish(ctx context.Context, log logr.Logger, e entry) {
	wait := b.cfg.RetryFirst
	mayHaveLanded := false
	for attempt := 1; ; attempt++ {
		ack, err := b.pub.Publish(ctx, e.job)
		if err == nil {
			// A duplicate after an attempt that timed out is most likely that
			// attempt's own job: count it as published, not as a duplicate.
			dup := ack.Duplicate && !mayHaveLanded
			b.metrics.buffered.Dec()
			b.metrics.published.WithLabelValues(e.job.Kind, fmt.Sprint(dup)).Inc()
			b.metrics.delay.Observe(b.now().Sub(e.enqueued).Seconds())
			if attempt > 1 {
				log.V(1).Info("Published hardening job after retries", "attempts", attempt, "duplicate", ack.Duplicate, "sequence", ack.Sequence)
			}
			return
		}
		if errors.Is(err, ErrInvalid) {
			b.drop(DropInvalid)
			log.Error(err, "Dropping invalid hardening job")
			return
		}
		reason := RetryReason(err)
		if reason == "timeout" {
			mayHaveLanded = true
		}
		b.metrics.retries.WithLabelValues(reason).Inc()
		if b.now().Sub(e.enqueued) >= b.cfg.GiveUpAfter {
			b.drop(DropExpired)
			log.Error(err, "Giving up publishing hardening job; resync will catch up", "attempts", attempt, "namespace", e.job.Namespace, "kind", e.job.Kind)
			return
		}
		log.V(1).Info("Publish failed; retrying", "reason", reason, "attempt", attempt, "retryIn", wait, "error", err.Error())
		select {
		case <-ctx.Done():
			b.drop(DropShutdown)
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, b.cfg.RetryMax)
	}
}

// RetryReason classifies a failed publish attempt: "unavailable" (not
// connected), "timeout" (no ack in time: the job may still have landed) or
// "error" (the server refused it).
func RetryReason(err error) string {
	switch {
	case errors.Is(err, ErrUnavailable):
		return "unavailable"
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	}
	return "error"
}
