package jobs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// StreamConfig configures the job stream. The zero value is not usable; start
// from DefaultStreamConfig.
type StreamConfig struct {
	// Name of the stream.
	Name string
	// Replicas of the stream (1 for a single NATS server).
	Replicas int
	// Storage is file or memory.
	Storage jetstream.StorageType
	// Duplicates is the window within which a message id is deduplicated.
	Duplicates time.Duration
	// MaxAge drops jobs nobody took for this long (0 = forever). Resync
	// re-enqueues anything still unhardened, so old jobs are safe to drop.
	MaxAge time.Duration
	// MaxMsgs and MaxBytes bound the backlog (-1 = unlimited). When full, new
	// jobs are refused (DiscardNew): the producer counts the failure and
	// resync catches up later.
	MaxMsgs  int64
	MaxBytes int64
}

// DefaultStreamConfig is the stream Cinch uses in production.
func DefaultStreamConfig() StreamConfig {
	return StreamConfig{
		Name:       "CINCH_JOBS",
		Replicas:   1,
		Storage:    jetstream.FileStorage,
		Duplicates: 10 * time.Minute,
		MaxAge:     24 * time.Hour,
		MaxMsgs:    100_000,
		MaxBytes:   256 << 20,
	}
}

// Validate checks the configuration.
func (c StreamConfig) Validate() error {
	var errs []error
	if c.Name == "" {
		errs = append(errs, errors.New("stream name is empty"))
	}
	if c.Replicas < 1 || c.Replicas > 5 {
		errs = append(errs, fmt.Errorf("stream replicas %d not in 1..5", c.Replicas))
	}
	if c.Duplicates <= 0 {
		errs = append(errs, fmt.Errorf("duplicate window %s must be positive", c.Duplicates))
	}
	if c.MaxAge < 0 {
		errs = append(errs, fmt.Errorf("max age %s is negative", c.MaxAge))
	}
	if c.MaxAge > 0 && c.Duplicates > c.MaxAge {
		errs = append(errs, fmt.Errorf("duplicate window %s exceeds max age %s", c.Duplicates, c.MaxAge))
	}
	if c.MaxMsgs == 0 || c.MaxMsgs < -1 {
		errs = append(errs, fmt.Errorf("max msgs %d must be positive or -1", c.MaxMsgs))
	}
	if c.MaxBytes == 0 || c.MaxBytes < -1 {
		errs = append(errs, fmt.Errorf("max bytes %d must be positive or -1", c.MaxBytes))
	}
	return errors.Join(errs...)
}

func (c StreamConfig) jetstream() jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:        c.Name,
		Description: "Cinch hardening jobs",
		Subjects:    []string{SubjectAll},
		Retention:   jetstream.WorkQueuePolicy,
		Discard:     jetstream.DiscardNew,
		Storage:     c.Storage,
		Replicas:    c.Replicas,
		Duplicates:  c.Duplicates,
		MaxAge:      c.MaxAge,
		MaxMsgs:     c.MaxMsgs,
		MaxBytes:    c.MaxBytes,
		MaxMsgSize:  MaxEncodedSize,
	}
}

// EnsureStream creates the job stream, or updates it to cfg when it exists.
// It is safe to call from every producer and consumer at start.
func EnsureStream(ctx context.Context, js jetstream.JetStream, cfg StreamConfig) (jetstream.Stream, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("stream config: %w", err)
	}
	s, err := js.CreateOrUpdateStream(ctx, cfg.jetstream())
	if err != nil {
		return nil, fmt.Errorf("ensure stream %s: %w", cfg.Name, err)
	}
	return s, nil
}

// ConsumerConfig configures the workers' durable pull consumer.
type ConsumerConfig struct {
	// Durable name shared by all workers (they split the work).
	Durable string
	// AckWait is how long a delivered job may go without an ack or an
	// in-progress heartbeat before it is redelivered. When BackOff is set the
	// server uses BackOff[0] instead, so AckWait must be zero or equal to it.
	AckWait time.Duration
	// MaxDeliver bounds deliveries of one job (-1 = unlimited).
	MaxDeliver int
	// BackOff are the redelivery delays after a missed ack (the last one
	// repeats). At most MaxDeliver entries.
	BackOff []time.Duration
	// MaxAckPending bounds jobs in flight across all workers.
	MaxAckPending int
}

// DefaultConsumerConfig is the consumer Cinch uses in production.
func DefaultConsumerConfig() ConsumerConfig {
	return ConsumerConfig{
		Durable:       "cinch-worker",
		AckWait:       time.Minute,
		MaxDeliver:    5,
		BackOff:       []time.Duration{time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute},
		MaxAckPending: 4,
	}
}

// Validate checks the configuration against the server's rules.
func (c ConsumerConfig) Validate() error {
	var errs []error
	if c.Durable == "" {
		errs = append(errs, errors.New("durable name is empty"))
	}
	if c.AckWait < 0 {
		errs = append(errs, fmt.Errorf("ack wait %s is negative", c.AckWait))
	}
	if len(c.BackOff) == 0 && c.AckWait == 0 {
		errs = append(errs, errors.New("ack wait is zero and no backoff is set"))
	}
	if c.MaxDeliver == 0 || c.MaxDeliver < -1 {
		errs = append(errs, fmt.Errorf("max deliver %d must be positive or -1", c.MaxDeliver))
	}
	for i, d := range c.BackOff {
		if d <= 0 {
			errs = append(errs, fmt.Errorf("backoff[%d] %s must be positive", i, d))
		}
	}
	if len(c.BackOff) > 0 {
		if c.AckWait != 0 && c.AckWait != c.BackOff[0] {
			errs = append(errs, fmt.Errorf("ack wait %s differs from backoff[0] %s, which the server would use instead", c.AckWait, c.BackOff[0]))
		}
		if c.MaxDeliver != -1 && len(c.BackOff) > c.MaxDeliver {
			errs = append(errs, fmt.Errorf("%d backoff steps exceed max deliver %d", len(c.BackOff), c.MaxDeliver))
		}
	}
	if c.MaxAckPending < 1 {
		errs = append(errs, fmt.Errorf("max ack pending %d must be positive", c.MaxAckPending))
	}
	return errors.Join(errs...)
}

func (c ConsumerConfig) jetstream() jetstream.ConsumerConfig {
	ackWait := c.AckWait
	if len(c.BackOff) > 0 {
		ackWait = c.BackOff[0]
	}
	return jetstream.ConsumerConfig{
		Durable:       c.Durable,
		Description:   "Cinch workers",
		DeliverPolicy: jetstream.DeliverAllPolicy,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       ackWait,
		MaxDeliver:    c.MaxDeliver,
		BackOff:       c.BackOff,
		MaxAckPending: c.MaxAckPending,
		FilterSubject: SubjectAll,
	}
}

// EnsureConsumer creates the durable pull consumer on stream, or updates it
// to cfg when it exists.
func EnsureConsumer(ctx context.Context, js jetstream.JetStream, stream string, cfg ConsumerConfig) (jetstream.Consumer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("consumer config: %w", err)
	}
	c, err := js.CreateOrUpdateConsumer(ctx, stream, cfg.jetstream())
	if err != nil {
		return nil, fmt.Errorf("ensure consumer %s on %s: %w", cfg.Durable, stream, err)
	}
	return c, nil
}
