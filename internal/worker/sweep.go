package worker

import (
	"context"
	"time"

	"github.com/go-logr/logr"
)

// CloneSweeper deletes trial clones older than a bound; *clone.Cloner is
// one.
type CloneSweeper interface {
	Sweep(ctx context.Context, olderThan time.Duration, now time.Time) (int, error)
}

// Sweeper deletes left-over clones (of a crashed worker) at start and every
// interval. olderThan must exceed the longest job, so that no live trial is
// swept.
type Sweeper struct {
	s         CloneSweeper
	interval  time.Duration
	olderThan time.Duration
	metrics   *Metrics
}

// NewSweeper returns a sweeper.
func NewSweeper(s CloneSweeper, interval, olderThan time.Duration, m *Metrics) *Sweeper {
	return &Sweeper{s: s, interval: interval, olderThan: olderThan, metrics: m}
}

// Start sweeps at once and then every interval until ctx ends.
func (s *Sweeper) Start(ctx context.Context) error {
	log := logr.FromContextOrDiscard(ctx).WithName("sweeper")
	t := time.NewTicker(s.interval)
	defer t.Stop()
	for {
		n, err := s.s.Sweep(ctx, s.olderThan, time.Now())
		if err != nil && ctx.Err() == nil {
			log.Error(err, "sweep clones")
		}
		if n > 0 {
			log.Info("swept left-over clones", "count", n)
			if s.metrics != nil {
				s.metrics.swept.Add(float64(n))
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
