package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"github.com/nats-io/nats.go/jetstream"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/cinch-dev/cinch/internal/jobs"
	"github.com/cinch-dev/cinch/internal/results"
)

// Message is the part of a JetStream message the consumer uses;
// jetstream.Msg is one.
type Message interface {
	Data() []byte
	Ack() error
	DoubleAck(ctx context.Context) error
	Nak() error
	NakWithDelay(delay time.Duration) error
	TermWithReason(reason string) error
	InProgress() error
	Metadata() (*jetstream.MsgMetadata, error)
}

var _ Message = (jetstream.Msg)(nil)

// JobSource is the part of a jetstream.Consumer the consumer uses.
type JobSource interface {
	Fetch(batch int, opts ...jetstream.FetchOpt) (jetstream.MessageBatch, error)
	Info(ctx context.Context) (*jetstream.ConsumerInfo, error)
}

var _ JobSource = (jetstream.Consumer)(nil)

// Processor runs jobs; *Handler is one.
type Processor interface {
	Process(ctx context.Context, j jobs.Job) (Disposition, error)
	// GiveUp records that a job failed on its last delivery.
	GiveUp(ctx context.Context, j jobs.Job, cause error) error
}

var _ Processor = (*Handler)(nil)

// PullConfig configures a Consumer: how it pulls, heartbeats and settles
// (ack, nak, term) job messages. The durable consumer on the stream, which
// the server runs, is configured by jobs.ConsumerConfig.
type PullConfig struct {
	// Concurrency is the number of jobs run at once.
	Concurrency int
	// FetchWait bounds one pull; shutdown stops pulling within it.
	FetchWait time.Duration
	// Heartbeat is the interval of InProgress while a job runs; it must be
	// well below the consumer's ack wait.
	Heartbeat time.Duration
	// NakDelay is the redelivery delay after the first transient failure;
	// it doubles per delivery up to MaxNakDelay.
	NakDelay    time.Duration
	MaxNakDelay time.Duration
	// MaxDeliver is the consumer's MaxDeliver: on that delivery a transient
	// failure is final (GiveUp, Term). -1 = never.
	MaxDeliver int
	// ShutdownGrace is how long a running job may go on after shutdown
	// began; then it is cancelled (its clones deleted) and nak'ed.
	ShutdownGrace time.Duration
	// BusyDelay is the redelivery delay of a job whose namespace another
	// worker runs.
	BusyDelay time.Duration
	// DepthInterval is how often the queue depth is read (0 = never).
	DepthInterval time.Duration
	// AckTimeout bounds the wait for the server to confirm an ack.
	AckTimeout time.Duration
}

// DefaultPullConfig matches jobs.DefaultConsumerConfig.
func DefaultPullConfig() PullConfig {
	return PullConfig{
		Concurrency:   1,
		FetchWait:     2 * time.Second,
		Heartbeat:     15 * time.Second,
		NakDelay:      15 * time.Second,
		MaxNakDelay:   5 * time.Minute,
		MaxDeliver:    jobs.DefaultConsumerConfig().MaxDeliver,
		BusyDelay:     20 * time.Second,
		ShutdownGrace: 20 * time.Second,
		DepthInterval: 15 * time.Second,
		AckTimeout:    time.Minute,
	}
}

// Validate checks the configuration.
func (c PullConfig) Validate() error {
	var errs []error
	if c.Concurrency < 1 {
		errs = append(errs, fmt.Errorf("concurrency %d must be at least 1", c.Concurrency))
	}
	if c.FetchWait <= 0 || c.Heartbeat <= 0 || c.NakDelay <= 0 || c.MaxNakDelay < c.NakDelay || c.BusyDelay <= 0 {
		errs = append(errs, errors.New("fetch wait, heartbeat, nak and busy delay must be positive, max nak delay at least nak delay"))
	}
	if c.MaxDeliver == 0 || c.MaxDeliver < -1 {
		errs = append(errs, fmt.Errorf("max deliver %d must be positive or -1", c.MaxDeliver))
	}
	if c.AckTimeout <= 0 {
		errs = append(errs, errors.New("ack timeout must be positive"))
	}
	if c.ShutdownGrace < 0 || c.DepthInterval < 0 {
		errs = append(errs, errors.New("shutdown grace and depth interval must not be negative"))
	}
	return errors.Join(errs...)
}

// Consumer pulls jobs and runs them.
type Consumer struct {
	cfg     PullConfig
	src     JobSource
	proc    Processor
	events  *results.Writer
	metrics *Metrics
}

// NewConsumer returns a consumer. events (for Events about poison jobs) and
// m may be nil.
func NewConsumer(cfg PullConfig, src JobSource, proc Processor, events *results.Writer, m *Metrics) (*Consumer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("consumer config: %w", err)
	}
	return &Consumer{cfg: cfg, src: src, proc: proc, events: events, metrics: m}, nil
}

// Start pulls and runs jobs until ctx ends, then stops pulling, gives the
// running jobs ShutdownGrace to finish, cancels and naks the rest, and
// returns once they are cleaned up.
func (c *Consumer) Start(ctx context.Context) error {
	var wg sync.WaitGroup
	for range c.cfg.Concurrency {
		wg.Go(func() { c.loop(ctx) })
	}
	if c.cfg.DepthInterval > 0 {
		wg.Go(func() { c.depth(ctx) })
	}
	wg.Wait()
	return nil
}

func (c *Consumer) loop(ctx context.Context) {
	log := logr.FromContextOrDiscard(ctx)
	for ctx.Err() == nil {
		batch, err := c.src.Fetch(1, jetstream.FetchMaxWait(c.cfg.FetchWait))
		if err != nil {
			log.Error(err, "fetch jobs")
			sleep(ctx, time.Second)
			continue
		}
		for m := range batch.Messages() {
			c.Handle(ctx, m)
		}
		if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) && !errors.Is(err, context.DeadlineExceeded) {
			log.V(1).Info("fetch ended", "err", err.Error())
		}
	}
}

func (c *Consumer) depth(ctx context.Context) {
	t := time.NewTicker(c.cfg.DepthInterval)
	defer t.Stop()
	for {
		if info, err := c.src.Info(ctx); err == nil && c.metrics != nil {
			c.metrics.queueDepth.Set(float64(info.NumPending))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// Handle runs one message to its acknowledgement. ctx ending means
// shutdown: the job gets ShutdownGrace, then it is cancelled and nak'ed.
func (c *Consumer) Handle(ctx context.Context, m Message) {
	start := time.Now()
	log := logr.FromContextOrDiscard(ctx)
	j, err := jobs.Decode(m.Data())
	if err != nil {
		log.Error(err, "poison job")
		c.poisonEvent(ctx, m.Data(), err)
		c.settle(log, "term", m.TermWithReason(truncate(err.Error(), 200)))
		c.count(DispositionPoison, start)
		return
	}
	if ctx.Err() != nil {
		c.settle(log, "nak", m.Nak())
		c.count(DispositionShutdown, start)
		return
	}
	log = log.WithValues("job", jobs.MsgID(j.UID, j.TemplateHash), "workload", refOf(j).String(), "reason", j.Reason)
	jobCtx, cancel := context.WithCancel(logr.NewContext(context.WithoutCancel(ctx), log))
	defer cancel()
	done := make(chan struct{})
	var hb sync.WaitGroup
	hb.Go(func() { c.heartbeat(ctx, m, cancel, done) })
	if c.metrics != nil {
		c.metrics.inProgress.Inc()
	}
	out, err := c.process(jobCtx, m, j)
	close(done)
	hb.Wait()
	if c.metrics != nil {
		c.metrics.inProgress.Dec()
	}
	switch {
	case err == nil:
		log.Info("job done", "outcome", out, "took", time.Since(start).Round(time.Second))
		c.settle(log, "ack", c.ack(ctx, m))
	case errors.Is(err, ErrLeaseHeld):
		out = DispositionDeferred
		log.Info("namespace busy, job deferred", "delay", c.cfg.BusyDelay, "reason", err.Error())
		c.settle(log, "nak", m.NakWithDelay(c.cfg.BusyDelay))
	case errors.Is(err, jobs.ErrPoison):
		out = DispositionPoison
		log.Error(err, "poison job")
		c.poisonEvent(ctx, m.Data(), err)
		c.settle(log, "term", m.TermWithReason(truncate(err.Error(), 200)))
	case jobCtx.Err() != nil:
		out = DispositionShutdown
		log.Info("job interrupted by shutdown, returned to the queue")
		c.settle(log, "nak", m.Nak())
	default:
		delivered := uint64(1)
		if md, merr := m.Metadata(); merr == nil {
			delivered = md.NumDelivered
		}
		if c.cfg.MaxDeliver > 0 && delivered >= uint64(c.cfg.MaxDeliver) {
			out = DispositionGaveUp
			log.Error(err, "job failed on its last delivery", "delivered", delivered)
			if gerr := c.proc.GiveUp(context.WithoutCancel(ctx), j, err); gerr != nil {
				log.Error(gerr, "mark job failed")
			}
			c.settle(log, "term", m.TermWithReason(truncate(err.Error(), 200)))
			break
		}
		out = DispositionRetry
		delay := c.nakDelay(delivered)
		log.Error(err, "job failed, retrying", "delivered", delivered, "delay", delay)
		c.settle(log, "nak", m.NakWithDelay(delay))
	}
	c.count(out, start)
}

// process runs the job. While another worker runs its namespace the job
// is deferred (nak'ed with BusyDelay), but on the last delivery that a
// deferral could still be followed by, it waits here instead, so a busy
// namespace never makes the server drop a job.
func (c *Consumer) process(ctx context.Context, m Message, j jobs.Job) (Disposition, error) {
	for {
		out, err := c.proc.Process(ctx, j)
		if !errors.Is(err, ErrLeaseHeld) || c.cfg.MaxDeliver <= 0 {
			return out, err
		}
		if md, merr := m.Metadata(); merr != nil || md.NumDelivered+1 < uint64(c.cfg.MaxDeliver) {
			return out, err
		}
		select {
		case <-ctx.Done():
			return DispositionShutdown, ctx.Err()
		case <-time.After(c.cfg.BusyDelay):
		}
	}
}

// heartbeat keeps the message in progress until done; after shutdown began
// it cancels the job when the grace period is over.
func (c *Consumer) heartbeat(ctx context.Context, m Message, cancel context.CancelFunc, done <-chan struct{}) {
	t := time.NewTicker(c.cfg.Heartbeat)
	defer t.Stop()
	shutdown := ctx.Done()
	var grace <-chan time.Time
	for {
		select {
		case <-done:
			return
		case <-t.C:
			_ = m.InProgress()
		case <-shutdown:
			shutdown = nil
			grace = time.After(c.cfg.ShutdownGrace)
		case <-grace:
			cancel()
			return
		}
	}
}

// ack acknowledges a finished job and waits for the server to confirm it,
// retrying while the connection is down (a NATS restart): an ack lost then
// would have the job run again. It gives up after AckTimeout; the job is
// then redelivered and skipped, its result being written already.
func (c *Consumer) ack(ctx context.Context, m Message) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.cfg.AckTimeout)
	defer cancel()
	for {
		actx, acancel := context.WithTimeout(ctx, 2*time.Second)
		err := m.DoubleAck(actx)
		acancel()
		if err == nil || errors.Is(err, jetstream.ErrMsgAlreadyAckd) {
			return nil
		}
		logr.FromContextOrDiscard(ctx).V(1).Info("ack not confirmed, retrying", "err", err.Error())
		select {
		case <-ctx.Done():
			return fmt.Errorf("ack: %w", err)
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func (c *Consumer) nakDelay(delivered uint64) time.Duration {
	d := c.cfg.NakDelay
	for i := uint64(1); i < delivered && d < c.cfg.MaxNakDelay; i++ {
		d *= 2
	}
	return min(d, c.cfg.MaxNakDelay)
}

func (c *Consumer) settle(log logr.Logger, what string, err error) {
	if err != nil {
		log.Error(err, "settle job message", "action", what)
	}
}

func (c *Consumer) count(out Disposition, start time.Time) {
	if c.metrics == nil {
		return
	}
	c.metrics.jobs.WithLabelValues(string(out)).Inc()
	c.metrics.jobDuration.WithLabelValues(string(out)).Observe(time.Since(start).Seconds())
}

// poisonEvent records an Event on the workload a poison message names, when
// it names one well enough.
func (c *Consumer) poisonEvent(ctx context.Context, data []byte, cause error) {
	if c.events == nil {
		return
	}
	var j jobs.Job
	if json.Unmarshal(data, &j) != nil {
		return
	}
	if len(validation.IsDNS1123Label(j.Namespace)) > 0 || len(validation.IsDNS1123Subdomain(j.Name)) > 0 || j.Kind == "" || len(j.Kind) > 63 {
		return
	}
	ref := results.Ref{Namespace: j.Namespace, Kind: j.Kind, Name: j.Name}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := c.events.Event(ctx, ref, types.UID(j.UID), corev1.EventTypeWarning, results.ReasonFailed,
		"hardening job dropped: "+truncate(cause.Error(), 500)); err != nil {
		logr.FromContextOrDiscard(ctx).V(1).Info("poison event", "err", err.Error())
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
