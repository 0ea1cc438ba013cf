package pipeline

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/cinch-dev/cinch/pkg/hardening"
	"github.com/cinch-dev/cinch/pkg/oracle"
)

// Ref names a workload within its namespace.
type Ref struct {
	// Kind is Deployment, StatefulSet or DaemonSet.
	Kind string
	Name string
}

func (r Ref) String() string { return r.Kind + "/" + r.Name }

// Source names the workload a single-workload run hardens.
type Source struct {
	Namespace string
	// Kind is Deployment, StatefulSet or DaemonSet.
	Kind string
	Name string
}

// Ref is the workload's name within its namespace.
func (s Source) Ref() Ref { return Ref{Kind: s.Kind, Name: s.Name} }

// Workload is one workload of a namespace run and its current pod template.
type Workload struct {
	Ref
	Template *corev1.PodTemplateSpec
	// DependsOn are the workloads of the namespace this one may talk to
	// (e.g. it names their Services). It decides which failures in a shared
	// clone need re-testing alone: one that coincides only with failures of
	// workloads it does not depend on is its own. Nil means unknown: it may
	// depend on every other workload; an empty slice means none.
	DependsOn []Ref
	// Metrics are the Prometheus endpoints declared for the workload's
	// pods outside its pod template (a PodMonitor or ServiceMonitor that
	// selects them): a clone never copies those, so they reach the
	// Recorder this way (TC-06). Those of its annotations are read from
	// its pods.
	Metrics []MetricsEndpoint
	// TolerateStartupNovelty is its namespace's log-novelty policy
	// (hardening.AnnotationLogNovelty): see oracle.Config.
	TolerateStartupNovelty bool
}

// MetricsEndpoint is a Prometheus endpoint declared for a workload's pods,
// in their pod template's terms.
type MetricsEndpoint struct {
	// Port is a container port number or name; empty means every TCP
	// port the containers declare.
	Port string
	// Path is the HTTP path (empty: /metrics).
	Path string
	// Scheme is http or https (empty: http).
	Scheme string
	// Source names the declaration, e.g. "PodMonitor web".
	Source string
}

// Clone is one running trial clone, as a Cloner made it.
type Clone struct {
	// Namespace of the clone.
	Namespace string
	// Selectors select each workload's pods in Namespace, for every
	// workload the clone runs.
	Selectors map[Ref]labels.Selector
	// Pods is how many pods the clone runs: every replica of every
	// workload in it, hardened or not (the clone's honest cost).
	Pods      int
	CreatedAt time.Time
	// Ref is the Cloner's own handle; it is passed back to Delete.
	Ref any
}

// CloneSpec is what one trial clone runs: every workload of the namespace,
// those named in Templates with that pod template.
type CloneSpec struct {
	Templates map[Ref]*corev1.PodTemplateSpec
	// StartAfter holds, for a workload of Templates, the workloads it
	// depends on: they start first and get time to become Ready, so a
	// client never races its server's start-up in one trial and not in
	// another (a new "connection refused" line is noise, not a verdict).
	StartAfter map[Ref][]Ref
	// Copies are the other workloads of the namespace the clone runs
	// unmodified: those the workloads of Templates depend on. Nil means
	// every one (a dependency is unknown).
	Copies map[Ref]bool
}

// Cloner creates and deletes the throw-away namespace clone of one trial.
// The worker binds it to internal/clone.
type Cloner interface {
	// Create clones namespace ns for one trial, as spec says.
	Create(ctx context.Context, ns, trial string, spec CloneSpec) (Clone, error)
	// Delete removes the clone; it must be safe to call after a failed or
	// cancelled Create returned a Clone.
	Delete(ctx context.Context, c Clone) error
	// Release stops workload w of running clone c (its trial is over and
	// no other workload there needs it) and returns how many of its pods
	// were alive.
	Release(ctx context.Context, c Clone, w Ref) (pods int, err error)
}

// Recorder observes workload w's pods in a running clone for d. w is the
// workload as given to RunNamespace (its Template is the unmodified one;
// the clone runs the trial's). It calls early with the partial recording
// as it goes; when early returns true it stops and returns that partial
// recording. The worker binds it to pkg/signals.
type Recorder interface {
	Record(ctx context.Context, c Clone, w Workload, d time.Duration, early func(partial oracle.Recording) bool) (oracle.Recording, error)
}

// Observer hears about every finished trial of every workload (baselines
// included), e.g. to publish an Event for a failure. It is called from one
// goroutine at a time.
type Observer interface {
	TrialFinished(ctx context.Context, r TrialResult)
}

// Outcome is the end of a pipeline run.
type Outcome string

const (
	// OutcomeVerified: a recommendation was verified (possibly the current
	// settings, when no check passed or nothing was planned).
	OutcomeVerified Outcome = "Verified"
	// OutcomeFailed: nothing is recommended, see the Reason: the unmodified
	// workload never became Ready, the combination of the passing checks
	// failed its verification, or the recommendation failed the
	// namespace-wide verification.
	OutcomeFailed Outcome = "Failed"
)

// TrialResult is one finished trial of one workload.
type TrialResult struct {
	// Workload is the workload the verdict is about.
	Workload Ref
	Trial    hardening.Trial
	Verdict  oracle.Verdict
	// Early is true when the trial ended at once on a hard failure.
	Early bool
	// Clone is the namespace the trial ran in.
	Clone string
	// Shared is how many workloads were modified in the same clone (1 when
	// the trial had the clone to itself).
	Shared int
	// Attribution says, for a failure in a shared clone, why the failure is
	// the workload's own.
	Attribution string
	Started     time.Time
	Ended       time.Time
	// PodSeconds is the workload's share of the clone's lifetime times its
	// pods.
	PodSeconds float64

	rec oracle.Recording
}

// Result is the outcome of one workload's run.
type Result struct {
	Workload Ref
	Outcome  Outcome
	// Reason says why, in one sentence.
	Reason         string
	Recommendation hardening.Recommendation
	// Level is the PodSecurity level the recommendation reaches.
	Level string
	// Planned and Passed are the planned and the passing checks.
	Planned []hardening.CheckID
	Passed  []hardening.CheckID
	// AddBack is the capability add-back the search found, by container.
	AddBack map[string][]corev1.Capability
	// VerifiedBy names the trial that ran the recommended settings.
	VerifiedBy string
	// NamespaceVerifiedBy names the clone in which every workload of a
	// namespace run ran its recommendation together and passed (empty for a
	// single-workload run, where VerifiedBy is that clone).
	NamespaceVerifiedBy string
	// Trials are the finished trials in the order they finished.
	Trials     []TrialResult
	Started    time.Time
	Ended      time.Time
	PodSeconds float64
	// PeakClones is the largest number of clones alive at once.
	PeakClones int
}

// NamespaceResult is the outcome of a namespace run.
type NamespaceResult struct {
	Namespace string
	// Workloads are the results, in the order the workloads were given.
	Workloads []Result
	Started   time.Time
	Ended     time.Time
	// PodSeconds counts every pod of every clone for as long as it ran: a
	// workload released from a shared clone stops counting then.
	PodSeconds float64
	// Clones is the number of clones created; PeakClones and PeakPods the
	// most alive at once.
	Clones     int
	PeakClones int
	PeakPods   int
}

// Pipeline runs hardening jobs. It is safe for concurrent use.
type Pipeline struct {
	cfg      Config
	cloner   Cloner
	recorder Recorder
	metrics  *Metrics
	now      func() time.Time
}

// New returns a pipeline. m may be nil (no metrics).
func New(cfg Config, cloner Cloner, recorder Recorder, m *Metrics) (*Pipeline, error) {
	if cfg.Strategy == "" {
		cfg.Strategy = StrategyFrugal
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cloner == nil || recorder == nil {
		return nil, fmt.Errorf("%w: cloner and recorder are required", ErrInvalidConfig)
	}
	return &Pipeline{cfg: cfg, cloner: cloner, recorder: recorder, metrics: m, now: time.Now}, nil
}

// Config returns the pipeline's configuration.
func (p *Pipeline) Config() Config { return p.cfg }

// Run hardens one workload whose current pod template is tmpl: a namespace
// run with that workload alone.
func (p *Pipeline) Run(ctx context.Context, src Source, tmpl *corev1.PodTemplateSpec, obs Observer) (Result, error) {
	nr, err := p.RunNamespace(ctx, src.Namespace, []Workload{{Ref: src.Ref(), Template: tmpl}}, obs)
	if len(nr.Workloads) == 0 {
		return Result{Workload: src.Ref()}, err
	}
	return nr.Workloads[0], err
}

// RunNamespace hardens the given workloads of namespace ns together: two
// baseline clones serve them all, every trial clone applies its settings to
// every workload that trial is for, and the last clone runs every verified
// recommendation together. It returns an error only when the run could not
// finish (a clone could not be created or recorded, or ctx ended); every
// clone it created is deleted before it returns, also then.
func (p *Pipeline) RunNamespace(ctx context.Context, ns string, wls []Workload, obs Observer) (NamespaceResult, error) {
	start := p.now()
	nr := NamespaceResult{Namespace: ns, Started: start}
	seen := map[Ref]bool{}
	for _, w := range wls {
		if w.Template == nil {
			return nr, fmt.Errorf("workload %s: nil pod template", w.Ref)
		}
		if seen[w.Ref] {
			return nr, fmt.Errorf("workload %s given twice", w.Ref)
		}
		seen[w.Ref] = true
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s := newRun(ctx, cancel, p, ns, wls, obs)
	s.start()
	s.loop()
	nr.Ended = p.now()
	nr.PodSeconds = s.podSeconds
	nr.Clones, nr.PeakClones, nr.PeakPods = s.clones, s.peak, s.peakPods
	for _, m := range s.members {
		r := m.result()
		r.Started, r.Ended, r.PeakClones = start, nr.Ended, s.peak
		nr.Workloads = append(nr.Workloads, r)
	}
	if s.err != nil {
		return nr, s.err
	}
	for _, m := range s.members {
		if !m.decided {
			return nr, fmt.Errorf("pipeline ended without a decision for %s", m.ref)
		}
	}
	if !s.nsDone {
		return nr, errors.New("pipeline ended before the namespace-wide verification")
	}
	return nr, nil
}

// deleteClone deletes cl on a fresh context, so the clone goes even when the
// job was cancelled, and retries with back-off for up to DeleteTimeout: the
// API server may be restarting. What is still left then is the sweeper's.
func (p *Pipeline) deleteClone(ctx context.Context, cl Clone) error {
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), p.cfg.DeleteTimeout)
	defer cancel()
	delay := 250 * time.Millisecond
	for {
		err := p.cloner.Delete(dctx, cl)
		if err == nil {
			return nil
		}
		select {
		case <-dctx.Done():
			return err
		case <-time.After(delay):
		}
		delay = min(2*delay, 5*time.Second)
	}
}

// failureReason joins the reasons of the failed hard tests.
func failureReason(v oracle.Verdict) string {
	var out string
	for _, t := range v.Tests {
		if t.Hard && !t.Pass {
			if out != "" {
				out += "; "
			}
			out += t.Name + ": " + t.Reason
		}
	}
	if out == "" {
		out = "no hard test failed"
	}
	return out
}
