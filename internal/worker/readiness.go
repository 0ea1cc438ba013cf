package worker

import (
	"context"
	"sync"
	"time"

	"github.com/cinch-dev/cinch/internal/pipeline"
	"github.com/cinch-dev/cinch/pkg/oracle"
)

// ReadinessGate wraps the pipeline's Recorder and remembers, per clone,
// whether any of its pods ever became Ready. The handler asks it about the
// baselines: when no baseline pod ever became Ready, the unmodified
// workload does not work in a clone, readiness cannot tell a trial apart
// from it, and the job ends Failed instead of verifying settings against a
// broken reference.
type ReadinessGate struct {
	pipeline.Recorder

	mu    sync.Mutex
	ready map[string]bool
}

var _ pipeline.Recorder = (*ReadinessGate)(nil)

// NewReadinessGate wraps r.
func NewReadinessGate(r pipeline.Recorder) *ReadinessGate {
	return &ReadinessGate{Recorder: r, ready: map[string]bool{}}
}

// Record records through the wrapped recorder and remembers the clone's
// readiness.
func (g *ReadinessGate) Record(ctx context.Context, c pipeline.Clone, d time.Duration, early func(oracle.Recording) bool) (oracle.Recording, error) {
	rec, err := g.Recorder.Record(ctx, c, d, early)
	if err == nil {
		g.mu.Lock()
		g.ready[c.Namespace] = everReady(rec)
		g.mu.Unlock()
	}
	return rec, err
}

// take returns and forgets whether a pod of clone ever became Ready; known
// is false when no recording of clone finished.
func (g *ReadinessGate) take(clone string) (ready, known bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	ready, known = g.ready[clone]
	delete(g.ready, clone)
	return ready, known
}

func everReady(rec oracle.Recording) bool {
	for _, p := range rec.Pods {
		if p.Ready || p.ReadyAfter > 0 {
			return true
		}
	}
	return false
}
