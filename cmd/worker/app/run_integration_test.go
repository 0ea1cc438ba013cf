//go:build integration

package app

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cinch-dev/cinch/internal/jobs/jobstest"
	"github.com/cinch-dev/cinch/internal/kubetest"
)

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func status(url string) int {
	resp, err := http.Get(url)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

// TestIntegrationRunStartsBeforeNATS starts the daemon while NATS is down
// (a fresh install starts all pods at once): it must stay up and unready,
// not exit into a crash loop, and become ready with its stream and consumer
// once the server is there; SIGTERM (cancel) then stops it cleanly.
func TestIntegrationRunStartsBeforeNATS(t *testing.T) {
	kubeconfig := kubetest.Kubeconfig(t, kubetest.EnvIntegration)
	natsPort, metricsPort := freePort(t), freePort(t)
	cfg, err := Parse(CommandRun, []string{
		"--kubeconfig", kubeconfig,
		"--nats-url", fmt.Sprintf("nats://127.0.0.1:%d", natsPort),
		"--metrics-addr", fmt.Sprintf("127.0.0.1:%d", metricsPort),
		"--clone-labels", "installation.cinch.dev/test=run-before-nats",
		"--stream", "RUN_BEFORE_NATS",
		"--resync-interval", "0",
	}, io.Discard)
	require.NoError(t, err)

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- Run(ctx, cfg) }()
	base := fmt.Sprintf("http://127.0.0.1:%d", metricsPort)

	require.Eventually(t, func() bool { return status(base+"/healthz") == http.StatusOK }, 20*time.Second, 50*time.Millisecond, "alive while NATS is down")
	assert.Equal(t, http.StatusServiceUnavailable, status(base+"/readyz"), "not ready while NATS is down")
	select {
	case err := <-done:
		t.Fatalf("the daemon exited while NATS was down: %v", err)
	case <-time.After(2 * time.Second):
	}

	s, err := jobstest.StartServer(t.TempDir(), natsPort)
	require.NoError(t, err)
	defer func() { s.Shutdown(); s.WaitForShutdown() }()
	require.Eventually(t, func() bool { return status(base+"/readyz") == http.StatusOK }, 60*time.Second, 100*time.Millisecond, "ready once NATS is up")

	nc, err := nats.Connect(s.ClientURL())
	require.NoError(t, err)
	defer nc.Close()
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	_, err = js.Consumer(t.Context(), "RUN_BEFORE_NATS", cfg.Consumer.Durable)
	assert.NoError(t, err, "the daemon created its stream and consumer")

	cancel()
	select {
	case err := <-done:
		assert.NoError(t, err)
	case <-time.After(30 * time.Second):
		t.Fatal("the daemon did not stop after cancel")
	}
}

// TestIntegrationRunStopsWhileWaitingForNATS: SIGTERM before NATS ever
// came up ends the daemon at once and without error.
func TestIntegrationRunStopsWhileWaitingForNATS(t *testing.T) {
	kubeconfig := kubetest.Kubeconfig(t, kubetest.EnvIntegration)
	cfg, err := Parse(CommandRun, []string{
		"--kubeconfig", kubeconfig,
		"--nats-url", fmt.Sprintf("nats://127.0.0.1:%d", freePort(t)),
		"--metrics-addr", fmt.Sprintf("127.0.0.1:%d", freePort(t)),
		"--resync-interval", "0",
	}, io.Discard)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- Run(ctx, cfg) }()
	select {
	case err := <-done:
		assert.NoError(t, err)
	case <-time.After(time.Minute):
		t.Fatal("the daemon did not stop after cancel")
	}
}

// TestIntegrationRunFailsWhenMetricsCannotListen: a daemon without its
// probe endpoint would never become ready; it exits with the reason instead.
func TestIntegrationRunFailsWhenMetricsCannotListen(t *testing.T) {
	kubeconfig := kubetest.Kubeconfig(t, kubetest.EnvIntegration)
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer taken.Close()
	cfg, err := Parse(CommandRun, []string{
		"--kubeconfig", kubeconfig,
		"--nats-url", fmt.Sprintf("nats://127.0.0.1:%d", freePort(t)),
		"--metrics-addr", taken.Addr().String(),
		"--resync-interval", "0",
	}, io.Discard)
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- Run(t.Context(), cfg) }()
	select {
	case err := <-done:
		require.Error(t, err)
		assert.Contains(t, err.Error(), "metrics server")
	case <-time.After(time.Minute):
		t.Fatal("the daemon kept running without its metrics server")
	}
}
