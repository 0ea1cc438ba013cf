package pipeline

import (
	"time"

	"github.com/cinch-dev/cinch/pkg/hardening"
)

// scheduler is what a Strategy decides: the order of a member's trials and
// the pace of the run's clones. Everything else — judging, the capability
// search, combining, verifying — is the same for every strategy, so they
// decide alike and differ only in cost.
type scheduler interface {
	// first asks for m's first round, next to its baselines.
	first(m *member)
	// mayCombine reports whether m may combine its passing checks now, all
	// its check verdicts being known.
	mayCombine(m *member) bool
	// maxClones bounds the clones alive at once (0: no bound).
	maxClones(cfg Config) int
	// stagger delays the second baseline.
	stagger(cfg Config) time.Duration
}

func (s Strategy) scheduler() scheduler {
	switch s {
	case StrategyParallel:
		return parallel{}
	case StrategySequential:
		return sequential{}
	}
	return frugal{}
}

// frugal runs "everything" first and the single checks only when it fails.
type frugal struct{}

func (frugal) first(m *member) {
	if t, ok := m.plan.Trial(hardening.TrialNameEverything); ok {
		m.enqueue(t, 0)
		return
	}
	m.startSingles()
}

func (frugal) mayCombine(*member) bool          { return true }
func (frugal) maxClones(cfg Config) int         { return cfg.MaxClones }
func (frugal) stagger(cfg Config) time.Duration { return cfg.Stagger }

// parallel runs the whole first round at once, as its reference cost.
type parallel struct{ frugal }

func (parallel) first(m *member) {
	for _, t := range m.plan.Trials {
		if t.Kind != hardening.TrialBaseline {
			m.enqueue(t, 0)
		}
	}
	m.singlesStarted = true
}

func (parallel) mayCombine(m *member) bool { return m.firstRoundDone() }

// sequential keeps the frugal order, one clone at a time.
type sequential struct{ frugal }

func (sequential) maxClones(Config) int         { return 1 }
func (sequential) stagger(Config) time.Duration { return 0 }
