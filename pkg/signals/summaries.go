package signals

import (
	"context"
	"sync"
	"time"
)

// summaryCache shares kubelet stats summaries between the recordings of one
// Recorder. Every recording samples its pods every StatsInterval, and each
// sample needs the summary of a whole node; with dozens of trials running
// on a node, fetching it per recording made the kubelet (and the API
// server proxying it) build the same summary several times a second. A
// summary younger than maxAge is reused, and concurrent requests for one
// node wait for the one fetch in flight. Failed fetches are not kept.
type summaryCache struct {
	source
	maxAge time.Duration
	now    func() time.Time

	mu    sync.Mutex
	nodes map[string]*summaryFetch
}

// summaryFetch is one fetch of a node's summary; raw, err and at are set
// before done is closed.
type summaryFetch struct {
	done chan struct{}
	raw  []byte
	err  error
	at   time.Time
}

func newSummaryCache(src source, maxAge time.Duration, now func() time.Time) *summaryCache {
	return &summaryCache{source: src, maxAge: maxAge, now: now, nodes: map[string]*summaryFetch{}}
}

// Summary returns a summary of node at most maxAge old. The returned bytes
// are shared: callers must not modify them.
func (c *summaryCache) Summary(ctx context.Context, node string) ([]byte, error) {
	c.mu.Lock()
	f := c.nodes[node]
	if f == nil || c.stale(f) {
		f = &summaryFetch{done: make(chan struct{})}
		c.nodes[node] = f
		c.mu.Unlock()
		f.raw, f.err = c.source.Summary(ctx, node)
		f.at = c.now()
		close(f.done)
		return f.raw, f.err
	}
	c.mu.Unlock()
	select {
	case <-f.done:
		return f.raw, f.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// stale reports whether a finished fetch can no longer be used; a fetch in
// flight never is. c.mu is held.
func (c *summaryCache) stale(f *summaryFetch) bool {
	select {
	case <-f.done:
		return f.err != nil || c.now().Sub(f.at) > c.maxAge
	default:
		return false
	}
}
