package jobs

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cinch-dev/cinch/internal/jobs/jobstest"
)

// jobPublisher is how producers use the publisher.
type jobPublisher interface {
	Publish(ctx context.Context, j Job) (Ack, error)
}

var _ jobPublisher = (*JetStreamPublisher)(nil)

func newJetStream(t *testing.T) jetstream.JetStream {
	t.Helper()
	nc := jobstest.Connect(t, jobstest.Server(t))
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	return js
}

func TestPublishDeduplicatesAndConsumes(t *testing.T) {
	js := newJetStream(t)
	ctx := t.Context()
	cfg := DefaultStreamConfig()
	stream, err := EnsureStream(ctx, js, cfg)
	require.NoError(t, err)
	p := NewPublisher(js, PublisherOptions{Stream: cfg.Name})

	j := validJob()
	first, err := p.Publish(ctx, j)
	require.NoError(t, err)
	assert.False(t, first.Duplicate)

	// Same uid + hash: deduplicated, even with another reason and time.
	again := j
	again.Reason = ReasonResync
	again.EnqueuedAt = j.EnqueuedAt.Add(time.Second)
	dup, err := p.Publish(ctx, again)
	require.NoError(t, err)
	assert.True(t, dup.Duplicate)
	assert.Equal(t, first.Sequence, dup.Sequence)

	// New hash: a new job.
	changed := j
	changed.TemplateHash = "other"
	changed.EnqueuedAt = time.Time{} // filled in by Publish
	second, err := p.Publish(ctx, changed)
	require.NoError(t, err)
	assert.False(t, second.Duplicate)

	info, err := stream.Info(ctx)
	require.NoError(t, err)
	assert.Equal(t, uint64(2), info.State.Msgs)

	cons, err := EnsureConsumer(ctx, js, cfg.Name, DefaultConsumerConfig())
	require.NoError(t, err)
	batch, err := cons.Fetch(2, jetstream.FetchMaxWait(2*time.Second))
	require.NoError(t, err)
	var got []Job
	for m := range batch.Messages() {
		assert.Equal(t, Subject("shop"), m.Subject())
		assert.Equal(t, MsgID(j.UID, "5d8f7c9b"), m.Headers().Get(jetstream.MsgIDHeader), "only the first job carries the first hash")
		dj, err := Decode(m.Data())
		require.NoError(t, err)
		got = append(got, dj)
		require.NoError(t, m.Ack())
		break
	}
	require.Len(t, got, 1)
	assert.Equal(t, j, got[0])
}

func TestPublishRejectsInvalidJob(t *testing.T) {
	js := newJetStream(t)
	p := NewPublisher(js, PublisherOptions{})
	j := validJob()
	j.Namespace = "bad.namespace"
	_, err := p.Publish(t.Context(), j)
	assert.ErrorIs(t, err, ErrInvalid)
}

func TestPublishFailsFastWhenDisconnected(t *testing.T) {
	s := jobstest.Server(t)
	nc := jobstest.Connect(t, s)
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	_, err = EnsureStream(t.Context(), js, DefaultStreamConfig())
	require.NoError(t, err)
	p := NewPublisher(js, PublisherOptions{Timeout: 5 * time.Second})

	s.Shutdown()
	s.WaitForShutdown()
	require.Eventually(t, func() bool { return !nc.IsConnected() }, 5*time.Second, 10*time.Millisecond)

	start := time.Now()
	_, err = p.Publish(t.Context(), validJob())
	assert.ErrorIs(t, err, ErrUnavailable)
	// Far below the 5 s timeout: no wait when the connection is down.
	assert.Less(t, time.Since(start), time.Second)
}

// stuckJS never answers and records the options it was given.
type stuckJS struct{ deadline time.Duration }

func (s *stuckJS) PublishMsg(ctx context.Context, _ *nats.Msg, _ ...jetstream.PublishOpt) (*jetstream.PubAck, error) {
	if d, ok := ctx.Deadline(); ok {
		s.deadline = time.Until(d)
	}
	<-ctx.Done()
	return nil, ctx.Err()
}

func TestPublishIsBounded(t *testing.T) {
	stuck := &stuckJS{}
	p := &JetStreamPublisher{js: stuck, connected: func() bool { return true }, timeout: 20 * time.Millisecond, now: time.Now}
	_, err := p.Publish(t.Context(), validJob())
	assert.True(t, errors.Is(err, context.DeadlineExceeded), "got %v", err)
	assert.LessOrEqual(t, stuck.deadline, 20*time.Millisecond)
	assert.Greater(t, stuck.deadline, time.Duration(0))
}

func TestPublishWithoutStream(t *testing.T) {
	js := newJetStream(t)
	p := NewPublisher(js, PublisherOptions{Timeout: 200 * time.Millisecond})
	_, err := p.Publish(t.Context(), validJob())
	require.Error(t, err)
	assert.ErrorIs(t, err, jetstream.ErrNoStreamResponse)
}
