package app

import (
	"bytes"
	"flag"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestConfigFlags(t *testing.T) {
	cfg := DefaultConfig()
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	cfg.Bind(fs)
	require.NoError(t, fs.Parse([]string{"--port=10443", "--publish-timeout=50ms", "--job-buffer=20", "--drain-timeout=2s", "--namespace=cinch", "--nats-url=nats://127.0.0.1:4222"}))
	assert.Equal(t, 10443, cfg.Port)
	assert.Equal(t, 50*time.Millisecond, cfg.PublishTimeout)
	assert.Equal(t, 20, cfg.BufferConfig().Size)
	assert.Equal(t, 2*time.Second, cfg.BufferConfig().DrainTimeout)
	assert.Equal(t, "cinch", cfg.Namespace)
	assert.Equal(t, "nats://127.0.0.1:4222", cfg.NATSURL)
	assert.NoError(t, cfg.Validate())
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(*Config)
		wantErr string
	}{
		{name: "defaults", mutate: func(*Config) {}},
		{name: "metrics disabled", mutate: func(c *Config) { c.MetricsAddr = "0" }},
		{name: "metrics disabled (empty)", mutate: func(c *Config) { c.MetricsAddr = "" }},
		{name: "bad port", mutate: func(c *Config) { c.Port = 0 }, wantErr: "--port"},
		{name: "no cert dir", mutate: func(c *Config) { c.CertDir = "" }, wantErr: "--cert-dir"},
		{name: "bad health addr", mutate: func(c *Config) { c.HealthAddr = "8081" }, wantErr: "--health-addr"},
		{name: "bad namespace", mutate: func(c *Config) { c.Namespace = "Cinch_System" }, wantErr: "--namespace"},
		{name: "no nats", mutate: func(c *Config) { c.NATSURL = "" }, wantErr: "--nats-url"},
		{name: "no stream", mutate: func(c *Config) { c.Stream = "" }, wantErr: "--stream"},
		{name: "zero stream replicas", mutate: func(c *Config) { c.StreamReplicas = 0 }, wantErr: "--stream-replicas"},
		{name: "six stream replicas", mutate: func(c *Config) { c.StreamReplicas = 6 }, wantErr: "--stream-replicas"},
		{name: "zero publish timeout", mutate: func(c *Config) { c.PublishTimeout = 0 }, wantErr: "--publish-timeout"},
		{name: "huge publish timeout", mutate: func(c *Config) { c.PublishTimeout = time.Minute }, wantErr: "--publish-timeout"},
		{name: "no job buffer", mutate: func(c *Config) { c.JobBuffer = 0 }, wantErr: "--job-buffer"},
		{name: "no retries", mutate: func(c *Config) { c.PublishRetryFor = 0 }, wantErr: "--publish-retry-for"},
		{name: "drain beyond shutdown", mutate: func(c *Config) { c.DrainTimeout = c.ShutdownTimeout }, wantErr: "--drain-timeout"},
		{name: "zero shutdown", mutate: func(c *Config) { c.ShutdownTimeout = 0 }, wantErr: "--shutdown-timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			tt.mutate(&c)
			err := c.Validate()
			if tt.wantErr == "" {
				assert.NoError(t, err)
				return
			}
			assert.ErrorContains(t, err, tt.wantErr)
		})
	}
}

func TestMainRejectsBadConfig(t *testing.T) {
	var stderr bytes.Buffer
	code := Main(t.Context(), []string{"--port=0"}, &stderr)
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr.String(), "--port 0")

	stderr.Reset()
	assert.Equal(t, 2, Main(t.Context(), []string{"--no-such-flag"}, &stderr))
}
