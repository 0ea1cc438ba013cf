package signals

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// slowSummaries counts summary fetches per node; each blocks until release
// is closed, and fails while fail is set.
type slowSummaries struct {
	source
	fetches sync.Map // node -> *atomic.Int32
	release chan struct{}
	fail    atomic.Bool
}

func (s *slowSummaries) Summary(ctx context.Context, node string) ([]byte, error) {
	n, _ := s.fetches.LoadOrStore(node, new(atomic.Int32))
	k := n.(*atomic.Int32).Add(1)
	select {
	case <-s.release:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if s.fail.Load() {
		return nil, errors.New("kubelet unreachable")
	}
	return fmt.Appendf(nil, "%s #%d", node, k), nil
}

func (s *slowSummaries) count(node string) int32 {
	n, ok := s.fetches.Load(node)
	if !ok {
		return 0
	}
	return n.(*atomic.Int32).Load()
}

// TestSummaryCacheShares: recordings sampling one node at the same time
// share one fetch; a summary is reused until it is maxAge old; each node
// has its own; a failed fetch is never reused.
func TestSummaryCacheShares(t *testing.T) {
	src := &slowSummaries{release: make(chan struct{})}
	var mu sync.Mutex
	clock := time.Unix(0, 0)
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	advance := func(d time.Duration) { mu.Lock(); clock = clock.Add(d); mu.Unlock() }
	c := newSummaryCache(src, 2500*time.Millisecond, now)
	ctx := t.Context()

	var wg sync.WaitGroup
	got := make([]string, 20)
	for i := range got {
		wg.Go(func() {
			b, err := c.Summary(ctx, "node-a")
			assert.NoError(t, err)
			got[i] = string(b)
		})
	}
	require.Eventually(t, func() bool { return src.count("node-a") == 1 }, 5*time.Second, time.Millisecond)
	close(src.release)
	wg.Wait()
	for _, g := range got {
		assert.Equal(t, "node-a #1", g, "20 concurrent samples, one fetch")
	}
	assert.Equal(t, int32(1), src.count("node-a"))

	advance(2 * time.Second)
	b, err := c.Summary(ctx, "node-a")
	require.NoError(t, err)
	assert.Equal(t, "node-a #1", string(b), "younger than maxAge: reused")
	b, err = c.Summary(ctx, "node-b")
	require.NoError(t, err)
	assert.Equal(t, "node-b #1", string(b), "another node is fetched")

	advance(time.Second)
	b, err = c.Summary(ctx, "node-a")
	require.NoError(t, err)
	assert.Equal(t, "node-a #2", string(b), "older than maxAge: fetched again")

	advance(3 * time.Second)
	src.fail.Store(true)
	_, err = c.Summary(ctx, "node-a")
	require.Error(t, err)
	src.fail.Store(false)
	b, err = c.Summary(ctx, "node-a")
	require.NoError(t, err)
	assert.Equal(t, "node-a #4", string(b), "a failed fetch is not kept")
}

// TestSummaryCacheWaiterCancelled: a sample whose recording ends while
// another fetch of the node is in flight returns at once.
func TestSummaryCacheWaiterCancelled(t *testing.T) {
	src := &slowSummaries{release: make(chan struct{})}
	c := newSummaryCache(src, time.Second, time.Now)
	go func() { _, _ = c.Summary(t.Context(), "node-a") }()
	require.Eventually(t, func() bool { return src.count("node-a") == 1 }, 5*time.Second, time.Millisecond)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := c.Summary(ctx, "node-a")
	require.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, int32(1), src.count("node-a"), "it waited for the fetch in flight, not a fetch of its own")
	close(src.release)
}
