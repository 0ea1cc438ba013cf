package app

import (
	"bytes"
	"io"
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
		check   func(t *testing.T, c Config)
	}{
		{name: "defaults", check: func(t *testing.T, c Config) {
			assert.Equal(t, time.Minute, c.Consumer.AckWait)
			assert.Equal(t, 5*time.Minute, c.ResyncInterval)
			assert.Empty(t, c.CloneLabels)
		}},
		{name: "ack backoff", args: []string{"--ack-backoff", "5s,10s"}, check: func(t *testing.T, c Config) {
			assert.Equal(t, []time.Duration{5 * time.Second, 10 * time.Second}, c.Consumer.BackOff)
			assert.Equal(t, 5*time.Second, c.Consumer.AckWait)
			assert.Equal(t, time.Duration(1666666666), c.pullConfig().Heartbeat)
		}},
		{name: "bad ack backoff", args: []string{"--ack-backoff", "5s,x"}, wantErr: "--ack-backoff"},
		{name: "resync off", args: []string{"--resync-interval", "0"}, check: func(t *testing.T, c Config) {
			assert.Equal(t, time.Duration(0), c.ResyncInterval)
		}},
		{name: "negative resync", args: []string{"--resync-interval", "-1s"}, wantErr: "--resync-interval"},
		{name: "resync selector", args: []string{"--resync-namespace-selector", "team=shop"}, check: func(t *testing.T, c Config) {
			assert.Equal(t, "team=shop", c.ResyncSelector)
		}},
		{name: "bad resync selector", args: []string{"--resync-namespace-selector", "team in shop"}, wantErr: "--resync-namespace-selector"},
		{name: "short sweep needs clone labels", args: []string{"--sweep-older-than", "1s"}, wantErr: "--sweep-older-than"},
		{name: "short sweep with clone labels", args: []string{"--sweep-older-than", "1s", "--clone-labels", "team=a,env=test"}, check: func(t *testing.T, c Config) {
			assert.Equal(t, map[string]string{"team": "a", "env": "test"}, c.CloneLabels)
			assert.Equal(t, time.Second, c.SweepOlderThan)
		}},
		{name: "clone labels of cinch", args: []string{"--clone-labels", "cinch.dev/harden=enabled"}, wantErr: "Cinch's own"},
		{name: "ready timeout", args: []string{"--ready-timeout", "0s"}, wantErr: "--ready-timeout"},
		{name: "metrics off", args: []string{"--metrics-addr", ""}, check: func(t *testing.T, c Config) {
			assert.Empty(t, c.MetricsAddr)
		}},
		{name: "flag of harden", args: []string{"--name", "web"}, wantErr: "name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse(CommandRun, append(append([]string{}, base...), tt.args...), io.Discard)
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

func TestParseHarden(t *testing.T) {
	base := []string{"--namespace", "shop", "--name", "web"}
	tests := []struct {
		name    string
		args    []string
		wantErr string
		check   func(t *testing.T, c Config)
	}{
		{name: "defaults", check: func(t *testing.T, c Config) {
			assert.Equal(t, "Deployment", c.Kind)
			assert.Equal(t, "table", c.Output)
			assert.True(t, c.Write)
		}},
		{name: "statefulset as json", args: []string{"--kind", "StatefulSet", "-o", "json", "--write=false"}, check: func(t *testing.T, c Config) {
			assert.Equal(t, "StatefulSet", c.Kind)
			assert.Equal(t, "json", c.Output)
			assert.False(t, c.Write)
		}},
		{name: "bad kind", args: []string{"--kind", "Pod"}, wantErr: "--kind"},
		{name: "bad output", args: []string{"-o", "xml"}, wantErr: "-o"},
		{name: "bad strategy", args: []string{"--strategy", "random"}, wantErr: "random"},
		{name: "flag of run", args: []string{"--nats-url", "nats://x"}, wantErr: "nats-url"},
		{name: "arguments", args: []string{"extra"}, wantErr: "unexpected arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse(CommandHarden, append(append([]string{}, base...), tt.args...), io.Discard)
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			tt.check(t, c)
		})
	}
	_, err := Parse(CommandHarden, nil, io.Discard)
	assert.ErrorContains(t, err, "--namespace is required")
	c, err := Parse(CommandHarden, []string{"--namespace", "a"}, io.Discard)
	require.NoError(t, err, "without --name the whole namespace is hardened")
	assert.Empty(t, c.Name)
	_, err = Parse(CommandHarden, []string{"--namespace", "a", "--name", "b", "--kind", "Pod"}, io.Discard)
	assert.ErrorContains(t, err, `--kind "Pod"`)
}

func TestConfigValidate(t *testing.T) {
	c := DefaultConfig(CommandRun)
	assert.ErrorContains(t, c.Validate(), "--nats-url is required")
	c.NATSURL = "nats://127.0.0.1:4222"
	require.NoError(t, c.Validate())
	c.Concurrency = 8
	assert.Equal(t, 8, c.JobConsumer().MaxAckPending, "jobs in flight at least this worker's concurrency")
	assert.Equal(t, c.ShutdownGrace+shutdownMargin, c.ShutdownTimeout())
	c.Command = "serve"
	assert.ErrorContains(t, c.Validate(), `unknown command "serve"`)
}

func TestMainUsage(t *testing.T) {
	tests := []struct {
		args       []string
		want       int
		wantStdout string
		wantStderr string
	}{
		{args: nil, want: 2, wantStderr: Usage},
		{args: []string{"help"}, want: 0, wantStdout: Usage},
		{args: []string{"serve"}, want: 2, wantStderr: `unknown command "serve"`},
		{args: []string{"run"}, want: 2, wantStderr: "--nats-url is required"},
		{args: []string{"run", "-h"}, want: 2, wantStderr: "-shutdown-grace"},
		{args: []string{"harden", "-h"}, want: 2, wantStderr: "-write"},
		{args: []string{"harden", "--name", "a"}, want: 2, wantStderr: "--namespace is required"},
	}
	for _, tt := range tests {
		var stdout, stderr bytes.Buffer
		assert.Equal(t, tt.want, Main(t.Context(), tt.args, &stdout, &stderr), "%v", tt.args)
		assert.Contains(t, stdout.String(), tt.wantStdout, "%v", tt.args)
		assert.Contains(t, stderr.String(), tt.wantStderr, "%v", tt.args)
	}
}
