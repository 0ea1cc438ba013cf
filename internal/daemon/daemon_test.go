package daemon

import (
	"context"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestGroupStopsOnFirstError(t *testing.T) {
	g, _ := NewGroup(t.Context(), time.Second)
	stopped := make(chan struct{})
	g.Go("waits", func(ctx context.Context) error { <-ctx.Done(); close(stopped); return nil })
	g.Go("done early", func(context.Context) error { return nil })
	g.Go("fails", func(context.Context) error { return assert.AnError })
	err := g.Wait()
	assert.ErrorIs(t, err, assert.AnError)
	assert.ErrorContains(t, err, "fails: ")
	<-stopped
}

func TestGroupBoundsShutdown(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	g, _ := NewGroup(ctx, 50*time.Millisecond)
	release := make(chan struct{})
	defer close(release)
	g.Go("hangs", func(context.Context) error { <-release; return nil })
	cancel()
	assert.ErrorContains(t, g.Wait(), "shutdown did not finish within 50ms")
}

func TestServeHTTP(t *testing.T) {
	for _, addr := range []string{"", "0"} {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		assert.NoError(t, ServeHTTP(ctx, addr, http.NotFoundHandler(), time.Second), "off: %q", addr)
	}
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer taken.Close()
	assert.ErrorContains(t, ServeHTTP(t.Context(), taken.Addr().String(), http.NotFoundHandler(), time.Second), "listen ")
}
