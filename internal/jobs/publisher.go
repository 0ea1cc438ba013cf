package jobs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// ErrUnavailable is returned by Publish when the NATS connection is down; the
// publish is not attempted, so it fails at once instead of waiting out its
// timeout.
var ErrUnavailable = errors.New("nats connection unavailable")

// DefaultPublishTimeout bounds one publish (send plus stream ack).
const DefaultPublishTimeout = 100 * time.Millisecond

// Ack is the outcome of a stored (or deduplicated) publish.
type Ack struct {
	// Sequence of the job in the stream.
	Sequence uint64
	// Duplicate is true when the stream already held a job with the same
	// message id within its duplicate window; nothing new was stored.
	Duplicate bool
}

// msgPublisher is the part of jetstream.JetStream that JetStreamPublisher uses.
type msgPublisher interface {
	PublishMsg(ctx context.Context, msg *nats.Msg, opts ...jetstream.PublishOpt) (*jetstream.PubAck, error)
}

// JetStreamPublisher publishes jobs to the job stream with a bounded wait.
// It is safe for concurrent use.
type JetStreamPublisher struct {
	js        msgPublisher
	connected func() bool
	timeout   time.Duration
	stream    string
	now       func() time.Time
}

// PublisherOptions configures a JetStreamPublisher.
type PublisherOptions struct {
	// Timeout bounds one publish; DefaultPublishTimeout when zero.
	Timeout time.Duration
	// Stream, when set, is sent as the expected stream so a subject bound to
	// another stream is an error rather than a silent misroute.
	Stream string
}

// NewPublisher returns a publisher over js. When js has a connection, a
// publish while it is not connected fails at once with ErrUnavailable.
func NewPublisher(js jetstream.JetStream, opts PublisherOptions) *JetStreamPublisher {
	p := &JetStreamPublisher{
		js:        js,
		connected: func() bool { return true },
		timeout:   opts.Timeout,
		stream:    opts.Stream,
		now:       time.Now,
	}
	if p.timeout <= 0 {
		p.timeout = DefaultPublishTimeout
	}
	if nc := js.Conn(); nc != nil {
		p.connected = nc.IsConnected
	}
	return p
}

// Publish encodes j and publishes it on Subject(j.Namespace) with message id
// MsgID(j.UID, j.TemplateHash). A zero EnqueuedAt is set to now, a zero
// Version to Version. It waits at most the configured timeout (or ctx,
// whichever ends first). Errors: ErrInvalid (the job), ErrUnavailable (not
// connected), context.DeadlineExceeded (no ack in time), or the server's.
func (p *JetStreamPublisher) Publish(ctx context.Context, j Job) (Ack, error) {
	if j.EnqueuedAt.IsZero() {
		j.EnqueuedAt = p.now().UTC()
	}
	data, err := Encode(j)
	if err != nil {
		return Ack{}, err
	}
	if !p.connected() {
		return Ack{}, ErrUnavailable
	}
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	opts := []jetstream.PublishOpt{
		jetstream.WithMsgID(MsgID(j.UID, j.TemplateHash)),
		// No retries on "no responders": the bound is short and resync
		// catches up.
		jetstream.WithRetryAttempts(0),
	}
	if p.stream != "" {
		opts = append(opts, jetstream.WithExpectStream(p.stream))
	}
	ack, err := p.js.PublishMsg(ctx, &nats.Msg{Subject: Subject(j.Namespace), Data: data}, opts...)
	if err != nil {
		if errors.Is(err, nats.ErrTimeout) {
			err = fmt.Errorf("%w: %w", context.DeadlineExceeded, err)
		}
		return Ack{}, fmt.Errorf("publish job %s/%s %s: %w", j.Namespace, j.Name, j.TemplateHash, err)
	}
	return Ack{Sequence: ack.Sequence, Duplicate: ack.Duplicate}, nil
}
