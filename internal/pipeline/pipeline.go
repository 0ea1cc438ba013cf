package pipeline

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/cinch-dev/cinch/pkg/hardening"
	"github.com/cinch-dev/cinch/pkg/oracle"
)

// Source names the workload a job hardens.
type Source struct {
	Namespace string
	// Kind is Deployment, StatefulSet or DaemonSet.
	Kind string
	Name string
}

// Clone is one running trial clone, as a Cloner made it.
type Clone struct {
	// Namespace of the clone.
	Namespace string
	// Selector selects the trial's pods in Namespace.
	Selector  labels.Selector
	CreatedAt time.Time
	// Ref is the Cloner's own handle; it is passed back to Delete.
	Ref any
}

// Cloner creates and deletes the throw-away namespace clone of one trial.
// The worker binds it to internal/clone.
type Cloner interface {
	// Create clones src's namespace and runs the workload with tmpl in it.
	Create(ctx context.Context, src Source, trial string, tmpl *corev1.PodTemplateSpec) (Clone, error)
	// Delete removes the clone; it must be safe to call after a failed or
	// cancelled Create returned a Clone.
	Delete(ctx context.Context, c Clone) error
}

// Recorder observes a running clone for d. It calls early with the partial
// recording as it goes; when early returns true it stops and returns that
// partial recording. The worker binds it to pkg/signals.
type Recorder interface {
	Record(ctx context.Context, c Clone, d time.Duration, early func(partial oracle.Recording) bool) (oracle.Recording, error)
}

// Observer hears about every finished trial (baselines included), e.g. to
// publish an Event for a failure. It is called from one goroutine at a time.
type Observer interface {
	TrialFinished(ctx context.Context, r TrialResult)
}

// Outcome is the end of a pipeline run.
type Outcome string

const (
	// OutcomeVerified: a recommendation was verified (possibly the current
	// settings, when no check passed or nothing was planned).
	OutcomeVerified Outcome = "Verified"
	// OutcomeFailed: the combination of the passing checks failed its
	// verification trial; nothing is recommended.
	OutcomeFailed Outcome = "Failed"
)

// TrialResult is one finished trial.
type TrialResult struct {
	Trial   hardening.Trial
	Verdict oracle.Verdict
	// Early is true when the trial ended at once on a hard failure.
	Early bool
	// Clone is the namespace the trial ran in.
	Clone   string
	Started time.Time
	Ended   time.Time
	// PodSeconds is the clone's lifetime times its pods (at least one).
	PodSeconds float64

	rec oracle.Recording
}

// Result is the outcome of one pipeline run.
type Result struct {
	Outcome Outcome
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
	// Trials are the finished trials in the order they finished.
	Trials     []TrialResult
	Started    time.Time
	Ended      time.Time
	PodSeconds float64
	// PeakClones is the largest number of clones alive at once.
	PeakClones int
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

// Run hardens one workload whose current pod template is tmpl. It returns an
// error only when the run could not finish (a clone could not be created or
// recorded, or ctx ended); every clone it created is deleted before it
// returns, also then.
func (p *Pipeline) Run(ctx context.Context, src Source, tmpl *corev1.PodTemplateSpec, obs Observer) (Result, error) {
	start := p.now()
	plan := hardening.PlanTrials(tmpl, p.cfg.Hardening)
	if len(plan.Trials) == 0 {
		rec := hardening.Combine(tmpl, nil, p.cfg.Hardening, nil)
		level, err := hardening.PodSecurityLevel(rec.Apply(tmpl))
		if err != nil {
			return Result{}, err
		}
		return Result{
			Outcome: OutcomeVerified, Reason: "nothing to harden: the workload has every checked setting",
			Recommendation: rec, Level: level, Started: start, Ended: p.now(),
		}, nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s := &run{
		p: p, ctx: ctx, cancel: cancel, src: src, tmpl: tmpl, plan: plan, obs: obs,
		log:      logr.FromContextOrDiscard(ctx),
		events:   make(chan event),
		inflight: map[string]context.CancelFunc{},
		started:  map[string]bool{},
		baseRec:  map[string]oracle.Recording{},
		unjudged: map[string]event{},
		results:  map[string]TrialResult{},
		capRes:   map[string]bool{},
	}
	s.limit = p.cfg.MaxClones
	if p.cfg.Strategy == StrategySequential {
		s.limit = 1
	}
	s.initial()
	s.loop()
	res := s.res
	res.Planned = plan.Checks
	res.Started, res.Ended = start, p.now()
	res.Trials = s.finished
	res.PeakClones = s.peak
	for _, t := range s.finished {
		res.PodSeconds += t.PodSeconds
	}
	res.PodSeconds += s.lostPodSeconds
	if s.err != nil {
		return res, s.err
	}
	if !s.decided {
		return res, errors.New("pipeline ended without a decision")
	}
	return res, nil
}

type queued struct {
	trial   hardening.Trial
	delay   time.Duration
	noEarly bool
}

type event struct {
	trial      hardening.Trial
	rec        oracle.Recording
	early      *oracle.TestResult
	err        error
	clone      string
	started    time.Time
	ended      time.Time
	podSeconds float64
}

// run is the state of one Run. Everything but baselines is touched only by
// the loop goroutine.
type run struct {
	p      *Pipeline
	ctx    context.Context
	cancel context.CancelFunc
	log    logr.Logger
	src    Source
	tmpl   *corev1.PodTemplateSpec
	plan   hardening.Plan
	obs    Observer
	limit  int

	events   chan event
	inflight map[string]context.CancelFunc
	queue    []queued
	started  map[string]bool
	alive    int
	peak     int

	mu        sync.Mutex
	baselines *[2]oracle.Recording

	baseRec  map[string]oracle.Recording
	unjudged map[string]event
	results  map[string]TrialResult
	finished []TrialResult

	singlesStarted bool
	capRes         map[string]bool
	capDone        bool
	addBack        map[string][]corev1.Capability
	verify         *hardening.Trial
	rec            hardening.Recommendation
	passed         []hardening.CheckID

	decided        bool
	res            Result
	err            error
	lostPodSeconds float64
}

func (s *run) strategy() Strategy { return s.p.cfg.Strategy }

func (s *run) initial() {
	s.enqueue(s.mustTrial(hardening.TrialNameBaseline1), 0)
	stagger := s.p.cfg.Stagger
	if s.strategy() == StrategySequential {
		stagger = 0
	}
	s.enqueue(s.mustTrial(hardening.TrialNameBaseline2), stagger)
	switch s.strategy() {
	case StrategyParallel:
		for _, t := range s.plan.Trials {
			if t.Kind != hardening.TrialBaseline {
				s.enqueue(t, 0)
			}
		}
		s.singlesStarted = true
	default: // frugal, and sequential in the same order one at a time
		if t, ok := s.plan.Trial(hardening.TrialNameEverything); ok {
			s.enqueue(t, 0)
		} else {
			s.startSingles()
		}
	}
}

func (s *run) mustTrial(name string) hardening.Trial {
	t, _ := s.plan.Trial(name)
	return t
}

func (s *run) startSingles() {
	if s.singlesStarted {
		return
	}
	s.singlesStarted = true
	for _, t := range s.plan.Trials {
		if t.Kind == hardening.TrialSingle {
			s.enqueue(t, 0)
		}
	}
}

func (s *run) enqueue(t hardening.Trial, delay time.Duration) {
	if s.started[t.Name] {
		return
	}
	s.started[t.Name] = true
	s.queue = append(s.queue, queued{trial: t, delay: delay})
}

func (s *run) dispatch() {
	for len(s.queue) > 0 && (s.limit == 0 || len(s.inflight) < s.limit) && s.err == nil && !s.decided {
		q := s.queue[0]
		s.queue = s.queue[1:]
		tctx, tcancel := context.WithCancel(s.ctx)
		s.inflight[q.trial.Name] = tcancel
		go func() { s.events <- s.exec(tctx, q) }()
	}
}

func (s *run) loop() {
	for {
		s.dispatch()
		if len(s.inflight) == 0 {
			return
		}
		ev := <-s.events
		if cancel, ok := s.inflight[ev.trial.Name]; ok {
			cancel()
			delete(s.inflight, ev.trial.Name)
		}
		s.handle(ev)
		if s.err != nil || s.decided {
			s.queue = nil
			for _, c := range s.inflight {
				c()
			}
		}
	}
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

// exec runs one trial: create the clone, record it, delete it.
func (s *run) exec(ctx context.Context, q queued) (ev event) {
	ev.trial = q.trial
	if q.delay > 0 {
		select {
		case <-time.After(q.delay):
		case <-ctx.Done():
			ev.err = ctx.Err()
			return ev
		}
	}
	log := s.log.WithValues("trial", q.trial.Name)
	ev.started = s.p.now()
	cl, err := s.p.cloner.Create(ctx, s.src, q.trial.Name, q.trial.Template)
	s.cloneUp()
	defer func() {
		if derr := s.p.deleteClone(ctx, cl); derr != nil {
			log.Error(derr, "delete clone", "clone", cl.Namespace)
		}
		s.cloneDown()
		ev.ended = s.p.now()
		ev.podSeconds = ev.ended.Sub(ev.started).Seconds() * float64(max(1, len(ev.rec.Pods)))
	}()
	if err != nil {
		ev.err = fmt.Errorf("trial %s: create clone: %w", q.trial.Name, err)
		return ev
	}
	ev.clone = cl.Namespace
	var earlyFn func(oracle.Recording) bool
	if q.trial.Kind != hardening.TrialBaseline && !q.noEarly {
		earlyFn = func(partial oracle.Recording) bool {
			tr, fail := oracle.EarlyFailure(s.p.cfg.Oracle, s.knownBaselines(), partial)
			if fail {
				ev.early = &tr
			}
			return fail
		}
	}
	rec, err := s.p.recorder.Record(ctx, cl, s.p.cfg.Duration, earlyFn)
	if err != nil {
		ev.err = fmt.Errorf("trial %s: record: %w", q.trial.Name, err)
		return ev
	}
	if ctx.Err() != nil {
		ev.err = fmt.Errorf("trial %s: %w", q.trial.Name, ctx.Err())
		return ev
	}
	ev.rec = rec
	return ev
}

func (s *run) cloneUp() {
	s.mu.Lock()
	s.alive++
	s.peak = max(s.peak, s.alive)
	s.mu.Unlock()
	s.p.metrics.cloneAlive(1)
}

func (s *run) cloneDown() {
	s.mu.Lock()
	s.alive--
	s.mu.Unlock()
	s.p.metrics.cloneAlive(-1)
}

func (s *run) knownBaselines() [2]oracle.Recording {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.baselines == nil {
		return [2]oracle.Recording{}
	}
	return *s.baselines
}

func (s *run) handle(ev event) {
	if ev.err != nil {
		s.lostPodSeconds += ev.podSeconds
		if s.decided || s.err != nil {
			return // cancelled after the decision or after another error
		}
		s.err = ev.err
		return
	}
	if s.decided || s.err != nil {
		s.lostPodSeconds += ev.podSeconds
		return
	}
	if ev.trial.Kind == hardening.TrialBaseline {
		s.baseRec[ev.trial.Name] = ev.rec
		s.finish(ev, oracle.Verdict{Pass: true}, false)
		b1, ok1 := s.baseRec[hardening.TrialNameBaseline1]
		b2, ok2 := s.baseRec[hardening.TrialNameBaseline2]
		if ok1 && ok2 {
			s.mu.Lock()
			s.baselines = &[2]oracle.Recording{b1, b2}
			s.mu.Unlock()
			s.baselinesKnown()
		}
	} else {
		switch {
		case ev.early != nil:
			s.finish(ev, oracle.Verdict{Pass: false, Tests: []oracle.TestResult{*ev.early}}, true)
		case s.baselines != nil:
			s.finish(ev, oracle.Judge(s.p.cfg.Oracle, *s.baselines, ev.rec), false)
		default:
			s.unjudged[ev.trial.Name] = ev
		}
	}
	s.advance()
}

// baselinesKnown judges the trials that waited for the baselines and
// re-checks early failures that were judged against no baselines: one the
// baselines explain (they restart too) is run again in full.
func (s *run) baselinesKnown() {
	for _, name := range sortedNames(s.unjudged) {
		ev := s.unjudged[name]
		delete(s.unjudged, name)
		s.finish(ev, oracle.Judge(s.p.cfg.Oracle, *s.baselines, ev.rec), false)
	}
	for _, name := range sortedNames(s.results) {
		r := s.results[name]
		if !r.Early {
			continue
		}
		if _, still := oracle.EarlyFailure(s.p.cfg.Oracle, *s.baselines, r.rec); still {
			continue
		}
		s.log.Info("early failure explained by the baselines, running the trial again", "trial", name)
		delete(s.results, name)
		s.finished = slices.DeleteFunc(s.finished, func(f TrialResult) bool { return f.Trial.Name == name })
		s.lostPodSeconds += r.PodSeconds
		s.queue = append(s.queue, queued{trial: r.Trial, noEarly: true})
	}
}

func sortedNames[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func (s *run) finish(ev event, v oracle.Verdict, early bool) {
	r := TrialResult{
		Trial: ev.trial, Verdict: v, Early: early, Clone: ev.clone,
		Started: ev.started, Ended: ev.ended, PodSeconds: ev.podSeconds, rec: ev.rec,
	}
	s.finished = append(s.finished, r)
	if ev.trial.Kind != hardening.TrialBaseline {
		s.results[ev.trial.Name] = r
		if ev.trial.Kind == hardening.TrialCapabilityAddBack {
			s.capRes[ev.trial.Name] = v.Pass
		}
	}
	s.p.metrics.trialFinished(r)
	if s.obs != nil {
		s.obs.TrialFinished(s.ctx, r)
	}
}

// checkVerdict returns the verdict of one planned check, when known: it
// passed when "everything" passed or its single trial passed.
func (s *run) checkVerdict(id hardening.CheckID) (pass, known bool) {
	if r, ok := s.results[hardening.TrialNameEverything]; ok && r.Verdict.Pass {
		return true, true
	}
	info, _ := id.Info()
	if r, ok := s.results[info.Short]; ok {
		return r.Verdict.Pass, true
	}
	return false, false
}

func (s *run) firstRoundDone() bool {
	for _, t := range s.plan.Trials {
		if _, ok := s.results[t.Name]; !ok && t.Kind != hardening.TrialBaseline {
			return false
		}
	}
	return true
}

// advance starts what the known verdicts allow and decides when it can.
func (s *run) advance() {
	if s.decided {
		return
	}
	if r, ok := s.results[hardening.TrialNameEverything]; ok {
		if !r.Verdict.Pass {
			s.startSingles()
		} else {
			// Every planned check passed together with nothing added back:
			// that is the recommendation, whatever a single trial showed (a
			// process that switches users needs SETUID only while it runs
			// as root), so every strategy decides alike.
			s.addBack, s.capDone = nil, true
		}
	}
	known := true
	var passed []hardening.CheckID
	dropFailed := false
	for _, id := range s.plan.Checks {
		pass, ok := s.checkVerdict(id)
		switch {
		case !ok:
			known = false
		case pass:
			passed = append(passed, id)
		case id == hardening.CheckDropAllCapabilities:
			dropFailed = true
		}
	}
	if dropFailed && !s.capDone {
		round := hardening.CapabilityPlan(s.tmpl, s.p.cfg.Hardening, s.capRes)
		if round.Done {
			s.capDone = true
			s.addBack = pruneAddBack(s.tmpl, round.AddBack)
		} else {
			for _, t := range round.Trials {
				s.enqueue(t, 0)
			}
		}
	}
	if !known || (dropFailed && !s.capDone) || s.baselines == nil || len(s.unjudged) > 0 {
		return
	}
	if s.strategy() == StrategyParallel && !s.firstRoundDone() {
		return // parallel runs the whole first round, as its reference cost
	}
	if s.verify == nil {
		s.passed = passed
		s.rec = hardening.Combine(s.tmpl, passed, s.p.cfg.Hardening, s.addBack)
		checks := slices.Clone(passed)
		if len(s.addBack) > 0 {
			checks = append(checks, hardening.CheckDropAllCapabilities)
		}
		var ok []hardening.Trial
		for _, r := range s.finished {
			if r.Verdict.Pass {
				ok = append(ok, r.Trial)
			}
		}
		vt, need := hardening.VerificationTrial(s.tmpl, s.rec, checks, ok)
		if !need {
			s.decide(OutcomeVerified, vt.Name, fmt.Sprintf("verified by trial %s", vt.Name))
			return
		}
		s.verify = &vt
		s.enqueue(vt, 0)
		return
	}
	if r, ok := s.results[s.verify.Name]; ok {
		if r.Verdict.Pass {
			s.decide(OutcomeVerified, r.Trial.Name, "verified by the combination trial")
		} else {
			s.decide(OutcomeFailed, "", "the combination of the passing checks failed verification: "+failureReason(r.Verdict))
		}
	}
}

func (s *run) decide(o Outcome, by, reason string) {
	s.decided = true
	s.res.Outcome = o
	s.res.Reason = reason
	s.res.Passed = s.passed
	s.res.AddBack = s.addBack
	if o != OutcomeVerified {
		return
	}
	s.res.VerifiedBy = by
	s.res.Recommendation = s.rec
	level, err := hardening.PodSecurityLevel(s.rec.Apply(s.tmpl))
	if err != nil {
		s.err = err
		return
	}
	s.res.Level = level
}

// pruneAddBack leaves out containers whose search kept every capability
// the runtime grants: "drop ALL, add all of them back" hardens nothing.
func pruneAddBack(t *corev1.PodTemplateSpec, addBack map[string][]corev1.Capability) map[string][]corev1.Capability {
	out := map[string][]corev1.Capability{}
	all := append(slices.Clone(t.Spec.InitContainers), t.Spec.Containers...)
	for _, c := range all {
		caps, ok := addBack[c.Name]
		if !ok {
			continue
		}
		if len(caps) >= len(grantable(c)) {
			continue
		}
		out[c.Name] = caps
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// grantable are the runtime's default capabilities the container neither
// drops nor adds already (the add-back candidates).
func grantable(c corev1.Container) []corev1.Capability {
	var drop, add []corev1.Capability
	if c.SecurityContext != nil && c.SecurityContext.Capabilities != nil {
		drop, add = c.SecurityContext.Capabilities.Drop, c.SecurityContext.Capabilities.Add
	}
	var out []corev1.Capability
	for _, d := range hardening.RuntimeDefaultCapabilities {
		if !slices.Contains(drop, d) && !slices.Contains(add, d) {
			out = append(out, d)
		}
	}
	return out
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
