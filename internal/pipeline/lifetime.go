package pipeline

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"
)

// lifetime follows one running clone: which of its slots are still being
// recorded and which of its workloads still run. A shared clone releases
// a workload as soon as no slot still recorded may need it (its own trial
// is over and no running slot depends on it), so a workload whose trial
// failed early does not keep its pods running until the clone's slowest
// trial ends; and the clone's pod-seconds count each workload's pods for as
// long as they ran.
type lifetime struct {
	mu      sync.Mutex
	slots   []slot
	running []bool
	alive   map[Ref]bool
	pods    int
	// released are the pods released so far, and when.
	released []releasedPods
	freed    int
}

type releasedPods struct {
	pods int
	at   time.Time
}

func newLifetime(slots []slot, cl Clone) *lifetime {
	l := &lifetime{slots: slots, running: make([]bool, len(slots)), alive: map[Ref]bool{}, pods: cl.Pods}
	for i := range l.running {
		l.running[i] = true
	}
	for r := range cl.Selectors {
		l.alive[r] = true
	}
	return l
}

// finish marks slot i recorded and returns the workloads that no running
// slot may need any more, which the caller releases. Nothing is released
// while a running slot's dependencies are unknown (it may talk to every
// workload), nor once no slot runs: the whole clone goes next.
func (l *lifetime) finish(i int) []Ref {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.running[i] = false
	need := map[Ref]bool{}
	running := false
	for k, on := range l.running {
		if !on {
			continue
		}
		running = true
		m := l.slots[k].m
		if m.deps == nil {
			return nil
		}
		need[m.ref] = true
		for d := range m.deps {
			need[d] = true
		}
	}
	if !running {
		return nil
	}
	var out []Ref
	for r := range l.alive {
		if !need[r] {
			out = append(out, r)
			delete(l.alive, r)
		}
	}
	slices.SortFunc(out, func(a, b Ref) int { return strings.Compare(a.String(), b.String()) })
	return out
}

// release notes that pods of the clone stopped at; it returns how many
// count (never more than the clone ran).
func (l *lifetime) release(pods int, at time.Time) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	pods = min(pods, l.pods-l.freed)
	if pods <= 0 {
		return 0
	}
	l.freed += pods
	l.released = append(l.released, releasedPods{pods: pods, at: at})
	return pods
}

// remaining is how many of the clone's pods were not released.
func (l *lifetime) remaining() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.pods - l.freed
}

// podSeconds is the clone's cost from started to ended: every pod for as
// long as it ran (a clone of no pod counts as one, for its namespace).
func (l *lifetime) podSeconds(started, ended time.Time) float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	total := ended.Sub(started).Seconds() * float64(max(1, l.pods))
	for _, r := range l.released {
		total -= ended.Sub(r.at).Seconds() * float64(r.pods)
	}
	return max(total, 0)
}

// releaseDone releases from clone cl the workloads slot i no longer
// shares with a running slot. A failed release only costs pods: the
// workload runs on until the clone is deleted, and is counted so.
func (s *run) releaseDone(ctx context.Context, cl Clone, j *cloneJob, l *lifetime, i int) {
	for _, r := range l.finish(i) {
		if ctx.Err() != nil {
			return
		}
		pods, err := s.p.cloner.Release(ctx, cl, r)
		if err != nil {
			s.log.V(1).Info("release a workload of a clone", "clone", cl.Namespace, "workload", r.String(), "error", err.Error())
			continue
		}
		s.podsDown(j, l.release(pods, s.p.now()))
	}
}
