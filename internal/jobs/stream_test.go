package jobs

import (
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStreamConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(*StreamConfig)
		wantErr string
	}{
		{name: "default", mutate: func(*StreamConfig) {}},
		{name: "unlimited", mutate: func(c *StreamConfig) { c.MaxMsgs, c.MaxBytes, c.MaxAge = -1, -1, 0 }},
		{name: "no name", mutate: func(c *StreamConfig) { c.Name = "" }, wantErr: "stream name is empty"},
		{name: "no replicas", mutate: func(c *StreamConfig) { c.Replicas = 0 }, wantErr: "replicas"},
		{name: "no dedup window", mutate: func(c *StreamConfig) { c.Duplicates = 0 }, wantErr: "duplicate window"},
		{name: "window over age", mutate: func(c *StreamConfig) { c.MaxAge = time.Minute }, wantErr: "exceeds max age"},
		{name: "zero msgs", mutate: func(c *StreamConfig) { c.MaxMsgs = 0 }, wantErr: "max msgs"},
		{name: "zero bytes", mutate: func(c *StreamConfig) { c.MaxBytes = 0 }, wantErr: "max bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultStreamConfig()
			tt.mutate(&c)
			err := c.Validate()
			if tt.wantErr == "" {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.wantErr)
		})
	}
}

func TestConsumerConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(*ConsumerConfig)
		wantErr string
	}{
		{name: "default", mutate: func(*ConsumerConfig) {}},
		{name: "no backoff", mutate: func(c *ConsumerConfig) { c.BackOff = nil }},
		{name: "backoff without ack wait", mutate: func(c *ConsumerConfig) { c.AckWait = 0 }},
		{name: "unlimited deliveries", mutate: func(c *ConsumerConfig) { c.MaxDeliver = -1 }},
		{name: "no durable", mutate: func(c *ConsumerConfig) { c.Durable = "" }, wantErr: "durable"},
		{name: "nothing bounds ack", mutate: func(c *ConsumerConfig) { c.BackOff, c.AckWait = nil, 0 }, wantErr: "ack wait is zero"},
		{name: "ack wait differs", mutate: func(c *ConsumerConfig) { c.AckWait = time.Second }, wantErr: "differs from backoff[0]"},
		{name: "too many backoffs", mutate: func(c *ConsumerConfig) { c.MaxDeliver = 2 }, wantErr: "exceed max deliver"},
		{name: "negative backoff", mutate: func(c *ConsumerConfig) { c.BackOff = []time.Duration{time.Minute, -1} }, wantErr: "backoff[1]"},
		{name: "zero max deliver", mutate: func(c *ConsumerConfig) { c.MaxDeliver = 0 }, wantErr: "max deliver"},
		{name: "zero ack pending", mutate: func(c *ConsumerConfig) { c.MaxAckPending = 0 }, wantErr: "max ack pending"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConsumerConfig()
			tt.mutate(&c)
			err := c.Validate()
			if tt.wantErr == "" {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.wantErr)
		})
	}
}

func TestEnsureStreamAndConsumer(t *testing.T) {
	js := newJetStream(t)
	ctx := t.Context()

	cfg := DefaultStreamConfig()
	s, err := EnsureStream(ctx, js, cfg)
	require.NoError(t, err)
	info, err := s.Info(ctx)
	require.NoError(t, err)
	assert.Equal(t, jetstream.WorkQueuePolicy, info.Config.Retention)
	assert.Equal(t, []string{SubjectAll}, info.Config.Subjects)
	assert.Equal(t, cfg.Duplicates, info.Config.Duplicates)
	assert.Equal(t, jetstream.DiscardNew, info.Config.Discard)

	// Idempotent, and updates a changed setting.
	cfg.Duplicates = 20 * time.Minute
	s, err = EnsureStream(ctx, js, cfg)
	require.NoError(t, err)
	info, err = s.Info(ctx)
	require.NoError(t, err)
	assert.Equal(t, 20*time.Minute, info.Config.Duplicates)

	ccfg := DefaultConsumerConfig()
	c, err := EnsureConsumer(ctx, js, cfg.Name, ccfg)
	require.NoError(t, err)
	cinfo, err := c.Info(ctx)
	require.NoError(t, err)
	assert.Equal(t, ccfg.Durable, cinfo.Config.Durable)
	assert.Equal(t, jetstream.AckExplicitPolicy, cinfo.Config.AckPolicy)
	assert.Equal(t, ccfg.BackOff[0], cinfo.Config.AckWait)
	assert.Equal(t, ccfg.BackOff, cinfo.Config.BackOff)
	assert.Equal(t, ccfg.MaxDeliver, cinfo.Config.MaxDeliver)
	assert.Equal(t, ccfg.MaxAckPending, cinfo.Config.MaxAckPending)

	ccfg.MaxAckPending = 8
	c, err = EnsureConsumer(ctx, js, cfg.Name, ccfg)
	require.NoError(t, err)
	cinfo, err = c.Info(ctx)
	require.NoError(t, err)
	assert.Equal(t, 8, cinfo.Config.MaxAckPending)
}

func TestEnsureRejectsInvalidConfig(t *testing.T) {
	js := newJetStream(t)
	_, err := EnsureStream(t.Context(), js, StreamConfig{})
	assert.ErrorContains(t, err, "stream config")
	_, err = EnsureConsumer(t.Context(), js, "CINCH_JOBS", ConsumerConfig{})
	assert.ErrorContains(t, err, "consumer config")
}
