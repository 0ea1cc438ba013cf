package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseRun(t *testing.T) {
	base := []string{"--nats-url", "nats://127.0.0.1:4222"}
	tests := []struct {
		name    string
		args    []string
		wantErr string
		check   func(t *testing.T, c RunConfig)
	}{
		{name: "defaults", check: func(t *testing.T, c RunConfig) {
			assert.Equal(t, time.Minute, c.Consumer.AckWait)
			assert.Equal(t, 5*time.Minute, c.ResyncInterval)
			assert.Empty(t, c.CloneLabels)
		}},
		{name: "ack backoff", args: []string{"--ack-backoff", "5s,10s"}, check: func(t *testing.T, c RunConfig) {
			assert.Equal(t, []time.Duration{5 * time.Second, 10 * time.Second}, c.Consumer.BackOff)
			assert.Equal(t, 5*time.Second, c.Consumer.AckWait)
			assert.Equal(t, time.Duration(1666666666), c.consumerConfig().Heartbeat)
		}},
		{name: "bad ack backoff", args: []string{"--ack-backoff", "5s,x"}, wantErr: "--ack-backoff"},
		{name: "resync off", args: []string{"--resync-interval", "0"}, check: func(t *testing.T, c RunConfig) {
			assert.Equal(t, time.Duration(0), c.ResyncInterval)
		}},
		{name: "negative resync", args: []string{"--resync-interval", "-1s"}, wantErr: "--resync-interval"},
		{name: "resync selector", args: []string{"--resync-namespace-selector", "team=shop"}, check: func(t *testing.T, c RunConfig) {
			assert.Equal(t, "team=shop", c.ResyncSelector)
		}},
		{name: "bad resync selector", args: []string{"--resync-namespace-selector", "team in shop"}, wantErr: "--resync-namespace-selector"},
		{name: "short sweep needs clone labels", args: []string{"--sweep-older-than", "1s"}, wantErr: "--sweep-older-than"},
		{name: "short sweep with clone labels", args: []string{"--sweep-older-than", "1s", "--clone-labels", "team=a,env=test"}, check: func(t *testing.T, c RunConfig) {
			assert.Equal(t, map[string]string{"team": "a", "env": "test"}, c.CloneLabels)
			assert.Equal(t, time.Second, c.SweepOlderThan)
		}},
		{name: "clone labels of cinch", args: []string{"--clone-labels", "cinch.dev/harden=enabled"}, wantErr: "Cinch's own"},
		{name: "ready timeout", args: []string{"--ready-timeout", "0s"}, wantErr: "--ready-timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := parseRun(append(append([]string{}, base...), tt.args...))
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			tt.check(t, c)
		})
	}
}
