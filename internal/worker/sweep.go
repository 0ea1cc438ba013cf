package worker

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/go-logr/logr"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/client-go/kubernetes"

	"github.com/cinch-dev/cinch/internal/clone"
	"github.com/cinch-dev/cinch/pkg/hardening"
)

// CloneSweeper deletes trial clones older than a bound; *clone.Cloner is
// one (every clone of the cluster), ScopedSweeper another.
type CloneSweeper interface {
	Sweep(ctx context.Context, olderThan time.Duration, now time.Time) (int, error)
}

var (
	_ CloneSweeper = (*clone.Cloner)(nil)
	_ CloneSweeper = (*ScopedSweeper)(nil)
)

// Sweeper deletes left-over clones (of a crashed worker) at start and every
// interval. olderThan must exceed the longest job, so that no live trial is
// swept.
type Sweeper struct {
	s         CloneSweeper
	interval  time.Duration
	olderThan time.Duration
	metrics   *Metrics
	now       func() time.Time
}

// NewSweeper returns a sweeper.
func NewSweeper(s CloneSweeper, interval, olderThan time.Duration, m *Metrics) *Sweeper {
	return &Sweeper{s: s, interval: interval, olderThan: olderThan, metrics: m, now: time.Now}
}

// Start sweeps at once and then every interval until ctx ends.
func (s *Sweeper) Start(ctx context.Context) error {
	t := time.NewTicker(s.interval)
	defer t.Stop()
	for {
		s.SweepOnce(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// SweepOnce runs one sweep and logs its outcome. The worker runs one before
// it takes jobs, so that a redelivered job's old clones (of a worker that
// died) are gone before its new ones exist.
func (s *Sweeper) SweepOnce(ctx context.Context) int {
	log := logr.FromContextOrDiscard(ctx).WithName("sweeper")
	n, err := s.s.Sweep(ctx, s.olderThan, s.now())
	if err != nil && ctx.Err() == nil {
		log.Error(err, "sweep clones")
	}
	if n > 0 {
		log.Info("swept left-over clones", "count", n)
		if s.metrics != nil {
			s.metrics.swept.Add(float64(n))
		}
	}
	return n
}

// ScopedSweeper sweeps only the clones whose namespaces carry every label
// of a set: the clones of one group of workers (their --clone-labels), so
// that several installations, or tests, sharing a cluster never sweep each
// other's live clones.
type ScopedSweeper struct {
	cs     kubernetes.Interface
	cloner *clone.Cloner
	sel    string
}

// NewScopedSweeper returns a sweeper of the clones labelled with every
// label of scope (which must not be empty).
func NewScopedSweeper(cs kubernetes.Interface, cloner *clone.Cloner, scope map[string]string) (*ScopedSweeper, error) {
	if len(scope) == 0 {
		return nil, errors.New("scoped sweeper: no labels")
	}
	isClone, err := labels.NewRequirement(hardening.LabelCloneOf, selection.Exists, nil)
	if err != nil {
		return nil, fmt.Errorf("scoped sweeper: %w", err)
	}
	sel, err := labels.ValidatedSelectorFromSet(scope)
	if err != nil {
		return nil, fmt.Errorf("scoped sweeper: %w", err)
	}
	return &ScopedSweeper{cs: cs, cloner: cloner, sel: sel.Add(*isClone).String()}, nil
}

// Sweep deletes the scope's clone namespaces created more than olderThan
// before now.
func (s *ScopedSweeper) Sweep(ctx context.Context, olderThan time.Duration, now time.Time) (int, error) {
	nss, err := s.cs.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: s.sel})
	if err != nil {
		return 0, fmt.Errorf("sweep: list namespaces: %w", err)
	}
	var errs []error
	deleted := 0
	for i := range nss.Items {
		ns := &nss.Items[i]
		created := ns.CreationTimestamp.Time
		if v, ok := ns.Annotations[hardening.AnnotationCloneCreatedAt]; ok {
			if t, err := time.Parse(time.RFC3339, v); err == nil {
				created = t
			}
		}
		if ns.DeletionTimestamp != nil || now.Sub(created) <= olderThan {
			continue
		}
		if err := s.cloner.Delete(ctx, &clone.Clone{Namespace: ns.Name}); err != nil {
			errs = append(errs, err)
			continue
		}
		deleted++
	}
	return deleted, errors.Join(errs...)
}
