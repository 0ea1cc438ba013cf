package pipeline

import (
	"errors"
	"fmt"
	"time"

	"github.com/cinch-dev/cinch/pkg/hardening"
	"github.com/cinch-dev/cinch/pkg/oracle"
)

// Strategy says how trials are scheduled.
type Strategy string

const (
	// StrategyFrugal starts the two baselines and the "everything" trial
	// first and the single-check trials only when "everything" fails (early
	// or at the end). A workload that tolerates everything costs three
	// clones.
	StrategyFrugal Strategy = "frugal"
	// StrategyParallel starts every first-round trial at once.
	StrategyParallel Strategy = "parallel"
	// StrategySequential keeps the frugal order but runs one trial at a
	// time: fewest pods at once, longest wall time. Strategies change only
	// cost: every strategy decides the same way (when "everything" passes,
	// it is the recommendation, whatever single trials showed).
	StrategySequential Strategy = "sequential"
)

// Strategies lists the valid strategies.
func Strategies() []Strategy {
	return []Strategy{StrategyFrugal, StrategyParallel, StrategySequential}
}

// ParseStrategy returns the strategy named s.
func ParseStrategy(s string) (Strategy, error) {
	for _, st := range Strategies() {
		if string(st) == s {
			return st, nil
		}
	}
	return "", fmt.Errorf("%w: unknown strategy %q (frugal, parallel, sequential)", ErrInvalidConfig, s)
}

// ErrInvalidConfig is returned by Config.Validate.
var ErrInvalidConfig = errors.New("invalid pipeline config")

// Config configures a Pipeline.
type Config struct {
	// Duration is R, how long a trial that passes is recorded.
	Duration time.Duration
	// Strategy schedules the trials; frugal when empty.
	Strategy Strategy
	// Stagger delays the second baseline so that the two baselines do not
	// share every timestamp (natural novelty shows in the logs).
	Stagger time.Duration
	// Gather holds a new trial clone back this long while other clones are
	// in flight: workloads judged moments apart (each as soon as its own
	// recording ends) then share their next trial's clone.
	Gather time.Duration
	// MaxClones bounds the clones alive at once for one job (0 = no bound).
	// The sequential strategy always uses 1.
	MaxClones int
	// MaxPods bounds the pods of the clones alive at once for one run (0 =
	// no bound): a clone runs the pods of its workloads and of those they
	// depend on (the whole namespace where that is unknown), so a large
	// namespace must not start as many clones as a small one. The first
	// clone always starts.
	MaxPods int
	// CapacityRetryDelay is how long a clone whose pods could not be
	// scheduled waits before it runs again (capacity is not a verdict).
	CapacityRetryDelay time.Duration
	// BatchTimeout bounds a run of a run-to-completion workload (Job,
	// CronJob): the baselines run until their Job ends or BatchTimeout;
	// a trial until its Job ends or 2 × the slower baseline + BatchMargin,
	// BatchTimeout at most. R does not apply to them.
	BatchTimeout time.Duration
	BatchMargin  time.Duration
	// DeleteTimeout bounds the deletion of one clone, retried while the API
	// server does not answer; it runs on a fresh context so that a
	// cancelled job still cleans up.
	DeleteTimeout time.Duration
	// Oracle and Hardening are passed to the oracle and the planner.
	Oracle    oracle.Config
	Hardening hardening.Options
}

// DefaultConfig returns the defaults: R = 60 s, frugal, 3 s stagger.
func DefaultConfig() Config {
	return Config{
		Duration:           time.Minute,
		Strategy:           StrategyFrugal,
		Stagger:            3 * time.Second,
		Gather:             3 * time.Second,
		MaxClones:          16,
		MaxPods:            32,
		CapacityRetryDelay: 15 * time.Second,
		BatchTimeout:       10 * time.Minute,
		BatchMargin:        30 * time.Second,
		DeleteTimeout:      2 * time.Minute,
		Oracle:             oracle.DefaultConfig(),
		Hardening:          hardening.DefaultOptions(),
	}
}

// Validate reports a configuration that cannot run.
func (c Config) Validate() error {
	var errs []error
	if c.Duration <= 0 {
		errs = append(errs, fmt.Errorf("recording duration %s must be positive", c.Duration))
	}
	if c.Strategy != "" {
		if _, err := ParseStrategy(string(c.Strategy)); err != nil {
			errs = append(errs, err)
		}
	}
	if c.Stagger < 0 || c.Stagger >= c.Duration && c.Duration > 0 {
		errs = append(errs, fmt.Errorf("stagger %s must be in [0, recording duration)", c.Stagger))
	}
	if c.Gather < 0 || c.Gather >= c.Duration && c.Duration > 0 {
		errs = append(errs, fmt.Errorf("gather %s must be in [0, recording duration)", c.Gather))
	}
	if c.MaxClones < 0 || c.MaxPods < 0 {
		errs = append(errs, fmt.Errorf("max clones %d and max pods %d must not be negative", c.MaxClones, c.MaxPods))
	}
	if c.BatchTimeout <= 0 || c.BatchMargin < 0 {
		errs = append(errs, fmt.Errorf("batch timeout %s must be positive and batch margin %s not negative", c.BatchTimeout, c.BatchMargin))
	}
	if c.DeleteTimeout <= 0 {
		errs = append(errs, fmt.Errorf("delete timeout %s must be positive", c.DeleteTimeout))
	}
	if err := c.Oracle.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("oracle: %w", err))
	}
	if err := c.Hardening.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("hardening: %w", err))
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %w", ErrInvalidConfig, errors.Join(errs...))
	}
	return nil
}
