package jobs_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cinch-dev/cinch/internal/jobs"
	"github.com/cinch-dev/cinch/internal/jobs/jobstest"
)

var fastRetry = jobs.RetryPolicy{Attempt: time.Second, First: time.Millisecond, Max: 4 * time.Millisecond}

func TestRetrySucceedsAfterFailures(t *testing.T) {
	calls := 0
	err := jobs.Retry(t.Context(), fastRetry, "do it", func(ctx context.Context) error {
		calls++
		_, hasDeadline := ctx.Deadline()
		require.True(t, hasDeadline, "each attempt is bounded")
		if calls < 4 {
			return errors.New("not yet")
		}
		return nil
	})
	require.NoError(t, err)
	assert.Equal(t, 4, calls)
}

func TestRetryStopsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	calls := 0
	err := jobs.Retry(ctx, fastRetry, "reach the server", func(context.Context) error {
		calls++
		if calls == 3 {
			cancel()
		}
		return errors.New("connection refused")
	})
	require.ErrorIs(t, err, context.Canceled)
	assert.ErrorContains(t, err, "reach the server")
	assert.ErrorContains(t, err, "connection refused", "the last error is kept")
	assert.Equal(t, 3, calls)
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// TestConnectBeforeServer: a component started before NATS gets a
// connection at once and is connected when the server comes up.
func TestConnectBeforeServer(t *testing.T) {
	port := freePort(t)
	nc, err := jobs.Connect(jobs.ConnectOptions{URL: fmt.Sprintf("nats://127.0.0.1:%d", port), Name: "test"}, logr.Discard())
	require.NoError(t, err, "no server yet, yet no error")
	defer nc.Close()
	assert.False(t, nc.IsConnected())

	s, err := jobstest.StartServer(t.TempDir(), port)
	require.NoError(t, err)
	defer func() { s.Shutdown(); s.WaitForShutdown() }()
	require.Eventually(t, nc.IsConnected, 10*time.Second, 20*time.Millisecond)
}

func TestConnectRejectsBadOptions(t *testing.T) {
	_, err := jobs.Connect(jobs.ConnectOptions{URL: "nats://127.0.0.1:1", CA: "/nonexistent/ca.pem"}, logr.Discard())
	require.Error(t, err)
	assert.ErrorContains(t, err, "nats://127.0.0.1:1")
}
