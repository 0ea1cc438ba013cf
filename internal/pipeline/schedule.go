package pipeline

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"

	"github.com/cinch-dev/cinch/pkg/hardening"
	"github.com/cinch-dev/cinch/pkg/oracle"
)

// phase says what a clone is for.
type phase int

const (
	phaseTrial phase = iota
	// phaseAlone re-tests one workload's failure with every other workload
	// unmodified (attribution).
	phaseAlone
	// phaseVerifyNamespace runs every verified recommendation together.
	phaseVerifyNamespace
	// phaseVerifyAlone re-verifies one recommendation that failed the
	// namespace-wide verification, every other workload unmodified.
	phaseVerifyAlone
)

// Clone labels of the namespace-wide verification.
const (
	TrialNameVerifyNamespace = "verify-namespace"
	trialNameVerifyAlone     = "verify-alone"
	trialNameAlone           = "alone"
	groupCapabilities        = "caps"
)

// slot is one workload's part of a clone.
type slot struct {
	m       *member
	trial   hardening.Trial
	noEarly bool
}

// cloneJob is one clone: the workloads it modifies (slots) and what for.
type cloneJob struct {
	key   string
	label string
	phase phase
	slots []slot
	delay time.Duration
	// suspects name, for an attribution re-test, the failed workloads of
	// the shared clone each slot may depend on, and sharedIn that clone.
	suspects map[*member][]Ref
	sharedIn string
	// judged: its verdicts are recorded; cancelled: its workloads were
	// all decided before it finished, so its error is no failure.
	judged    bool
	cancelled bool
	// ahead holds the verdicts of the slots judged before the clone
	// ended (judgeAhead): pass or not.
	ahead map[int]bool
	// notBefore holds a new trial clone back for Config.Gather while other
	// clones are in flight, so the same trial of workloads judged moments
	// apart shares it.
	notBefore time.Time
	// pods are the pods the clone holds while it is in flight: estimated
	// when it is dispatched, then what it runs (guarded by run.mu).
	pods int
}

func (j *cloneJob) has(m *member) bool {
	for _, s := range j.slots {
		if s.m == m {
			return true
		}
	}
	return false
}

// done is one finished clone, or (ahead) one finished slot of a clone
// still running.
type done struct {
	job *cloneJob
	// ahead: only slot's recording is over; the clone runs on.
	ahead      bool
	slot       int
	recs       []oracle.Recording
	early      []*oracle.TestResult
	err        error
	clone      string
	started    time.Time
	ended      time.Time
	podSeconds float64
}

// run is the state of one RunNamespace. Everything but the members'
// baselines is touched only by the loop goroutine.
type run struct {
	p       *Pipeline
	ctx     context.Context
	cancel  context.CancelFunc
	log     logr.Logger
	ns      string
	obs     Observer
	limit   int
	members []*member

	events   chan done
	inflight map[*cloneJob]context.CancelFunc
	queue    []*cloneJob
	groups   map[string]int

	mu       sync.Mutex
	alive    int
	alivePod int
	peak     int
	peakPods int
	clones   int
	// reserved are the pods of the clones in flight (run.room).
	reserved int
	// perWorkload is the most pods a workload had in a clone of this run,
	// and workloads the most workloads a clone of the whole namespace ran.
	perWorkload     int
	workloads       int
	capacityRetries int

	baseDone int
	stashed  []done
	// waitingAhead are slots of clones in flight whose recording ended before
	// the baselines were known (judgeAhead).
	waitingAhead []done
	verifyRun    []done // finished alone re-verifications
	pending      int    // alone verifications still to finish
	nsDone       bool

	err        error
	podSeconds float64
}

func newRun(ctx context.Context, cancel context.CancelFunc, p *Pipeline, ns string, wls []Workload, obs Observer) *run {
	s := &run{
		p: p, ctx: ctx, cancel: cancel, ns: ns, obs: obs,
		log:         logr.FromContextOrDiscard(ctx),
		events:      make(chan done),
		inflight:    map[*cloneJob]context.CancelFunc{},
		groups:      map[string]int{},
		limit:       p.cfg.Strategy.scheduler().maxClones(p.cfg),
		perWorkload: 1,
		workloads:   len(wls),
	}
	for _, w := range wls {
		m := newMember(w, p.cfg)
		m.shared = len(wls) > 1
		s.members = append(s.members, m)
	}
	deps := dependencies(wls)
	for _, m := range s.members {
		m.deps = deps[m.ref]
	}
	return s
}

// dependencies closes each workload's DependsOn transitively; a workload
// whose DependsOn is nil gets nil (unknown), as does one that depends on
// such a workload.
func dependencies(wls []Workload) map[Ref]map[Ref]bool {
	direct := map[Ref][]Ref{}
	for _, w := range wls {
		direct[w.Ref] = w.DependsOn
	}
	out := map[Ref]map[Ref]bool{}
	for _, w := range wls {
		seen := map[Ref]bool{}
		stack := []Ref{w.Ref}
		known := true
		for len(stack) > 0 && known {
			r := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			d, in := direct[r]
			if in && d == nil {
				known = false
				break
			}
			for _, x := range d {
				if !seen[x] {
					seen[x] = true
					stack = append(stack, x)
				}
			}
		}
		if known {
			out[w.Ref] = seen
		}
	}
	return out
}

// mayDependOn reports whether a failure of x may have caused m's.
func (m *member) mayDependOn(x *member) bool {
	return m.deps == nil || m.deps[x.ref]
}

// start decides the members with nothing to harden and queues the
// baselines and the first round of the others.
func (s *run) start() {
	var active []*member
	for _, m := range s.members {
		if len(m.plan.Trials) == 0 {
			if err := m.nothingPlanned(); err != nil {
				s.err = err
				return
			}
			continue
		}
		active = append(active, m)
	}
	stagger := s.p.cfg.Strategy.scheduler().stagger(s.p.cfg)
	for _, m := range active {
		b1, _ := m.plan.Trial(hardening.TrialNameBaseline1)
		b2, _ := m.plan.Trial(hardening.TrialNameBaseline2)
		m.enqueue(b1, 0)
		m.enqueue(b2, stagger)
		m.sched.first(m)
	}
	s.collect()
	if len(active) == 0 {
		s.nsDone = true
	}
}

// groupKey is the clone a trial shares with the other workloads' trials of
// the same key: one clone per check, the nth capability trials of every
// workload together.
func groupKey(t hardening.Trial) string {
	if t.Kind == hardening.TrialCapabilityAddBack {
		return groupCapabilities
	}
	return t.Name
}

// collect turns the members' wants into clones: a want joins a queued
// clone of its key that does not hold the member yet, or opens one.
func (s *run) collect() {
	for _, m := range s.members {
		for _, w := range m.wants {
			s.place(m, w)
		}
		m.wants = nil
	}
}

func (s *run) place(m *member, w want) {
	key := groupKey(w.trial)
	for _, j := range s.queue {
		if j.phase == phaseTrial && j.key == key && !j.has(m) {
			j.slots = append(j.slots, slot{m: m, trial: w.trial, noEarly: w.noEarly})
			j.delay = max(j.delay, w.delay)
			return
		}
	}
	label := key
	if key == groupCapabilities {
		s.groups[key]++
		label = fmt.Sprintf("%s-%d", key, s.groups[key])
	}
	j := &cloneJob{key: key, label: label, phase: phaseTrial, delay: w.delay,
		slots: []slot{{m: m, trial: w.trial, noEarly: w.noEarly}}}
	if len(s.inflight) > 0 {
		j.notBefore = s.p.now().Add(s.p.cfg.Gather)
	}
	if leadsToSearch(w.trial) {
		i := slices.IndexFunc(s.queue, func(q *cloneJob) bool {
			return q.phase == phaseTrial && len(q.slots) > 0 && q.slots[0].trial.Kind == hardening.TrialSingle && !leadsToSearch(q.slots[0].trial)
		})
		if i >= 0 {
			s.queue = slices.Insert(s.queue, i, j)
			return
		}
	}
	s.queue = append(s.queue, j)
}

// leadsToSearch reports whether t is a capability trial or the single
// drop-all-capabilities trial whose failure starts the search. The search
// is the longest chain of rounds, so these clones go before the queued
// single trials, which only have to be known by the time it ends.
func leadsToSearch(t hardening.Trial) bool {
	return t.Kind == hardening.TrialCapabilityAddBack ||
		t.Kind == hardening.TrialSingle && slices.Equal(t.Checks, []hardening.CheckID{hardening.CheckDropAllCapabilities})
}

// room reports whether clone j may start now: within MaxClones, and
// within MaxPods counting the pods of the clones in flight and those j
// will run (the first clone always starts).
func (s *run) room(j *cloneJob) bool {
	if s.limit > 0 && len(s.inflight) >= s.limit {
		return false
	}
	if s.p.cfg.MaxPods == 0 || len(s.inflight) == 0 {
		return true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reserved+s.estimate(j) <= s.p.cfg.MaxPods
}

// estimate is how many pods clone j will run: its workloads and those
// they depend on (every workload of the namespace when that is unknown),
// each with as many pods as the most a workload had so far. Called with
// s.mu held.
func (s *run) estimate(j *cloneJob) int {
	n := s.workloads
	if copies := copiesFor(j.slots); copies != nil {
		n = len(j.slots) + len(copies)
	}
	return n * s.perWorkload
}

// gathered fires when the first queued clone still gathering may start
// (nil when none is).
func (s *run) gathered() <-chan time.Time {
	var first time.Time
	for _, j := range s.queue {
		if !j.notBefore.IsZero() && (first.IsZero() || j.notBefore.Before(first)) {
			first = j.notBefore
		}
	}
	if first.IsZero() {
		return nil
	}
	return time.After(max(first.Sub(s.p.now()), 0))
}

// dispatch starts the queued clones, in order, while there is room; a
// clone still gathering waits unless nothing else is in flight.
func (s *run) dispatch() {
	now := s.p.now()
	for k := 0; k < len(s.queue) && s.err == nil; {
		j := s.queue[k]
		if len(s.inflight) > 0 && now.Before(j.notBefore) {
			k++
			continue
		}
		if !s.room(j) {
			return
		}
		s.queue = slices.Delete(s.queue, k, k+1)
		s.mu.Lock()
		j.pods = s.estimate(j)
		s.reserved += j.pods
		s.mu.Unlock()
		tctx, tcancel := context.WithCancel(s.ctx)
		s.inflight[j] = tcancel
		go func() { s.events <- s.exec(tctx, j) }()
	}
}

func (s *run) loop() {
	for {
		s.dispatch()
		if len(s.inflight) == 0 {
			return
		}
		var ev done
		select {
		case ev = <-s.events:
		case <-s.gathered():
			continue
		}
		if ev.ahead {
			if s.err == nil {
				s.judgeAhead(ev)
				s.advance()
			}
			continue
		}
		if cancel, ok := s.inflight[ev.job]; ok {
			cancel()
			delete(s.inflight, ev.job)
		}
		s.mu.Lock()
		s.reserved -= ev.job.pods
		ev.job.pods = 0
		s.mu.Unlock()
		s.podSeconds += ev.podSeconds
		s.p.metrics.clonePodSeconds(ev.podSeconds)
		s.handle(ev)
		if s.err != nil {
			s.queue = nil
			for _, c := range s.inflight {
				c()
			}
		}
	}
}

// exec runs one clone: create it, record each of its modified workloads,
// delete it.
func (s *run) exec(ctx context.Context, j *cloneJob) (ev done) {
	ev.job = j
	if j.delay > 0 {
		select {
		case <-time.After(j.delay):
		case <-ctx.Done():
			ev.err = ctx.Err()
			return ev
		}
	}
	log := s.log.WithValues("trial", j.label)
	ev.started = s.p.now()
	spec := CloneSpec{
		Templates:  make(map[Ref]*corev1.PodTemplateSpec, len(j.slots)),
		StartAfter: make(map[Ref][]Ref, len(j.slots)),
	}
	for _, sl := range j.slots {
		spec.Templates[sl.m.ref] = sl.trial.Template
		spec.StartAfter[sl.m.ref] = sortedRefs(sl.m.deps)
	}
	spec.Copies = copiesFor(j.slots)
	cl, err := s.p.cloner.Create(ctx, s.ns, j.label, spec)
	life := newLifetime(j.slots, cl)
	s.cloneUp(j, cl, spec.Copies == nil)
	defer func() {
		if derr := s.p.deleteClone(ctx, cl); derr != nil {
			log.Error(derr, "delete clone", "clone", cl.Namespace)
		}
		s.podsDown(j, life.remaining())
		s.cloneDown()
		ev.ended = s.p.now()
		ev.podSeconds = life.podSeconds(ev.started, ev.ended)
	}()
	if err != nil {
		ev.err = fmt.Errorf("trial %s: create clone: %w", j.label, err)
		return ev
	}
	ev.clone = cl.Namespace
	ev.recs = make([]oracle.Recording, len(j.slots))
	ev.early = make([]*oracle.TestResult, len(j.slots))
	errs := make([]error, len(j.slots))
	var wg sync.WaitGroup
	for i, sl := range j.slots {
		wg.Go(func() {
			var earlyFn func(oracle.Recording) bool
			if sl.trial.Kind != hardening.TrialBaseline && !sl.noEarly {
				earlyFn = func(partial oracle.Recording) bool {
					tr, fail := oracle.EarlyFailure(sl.m.oracle, s.knownBaselines(sl.m), partial)
					if fail {
						ev.early[i] = &tr
					}
					return fail
				}
			}
			rec, err := s.p.recorder.Record(ctx, cl, sl.m.workload(), s.runLimit(sl), earlyFn)
			if err != nil {
				errs[i] = fmt.Errorf("trial %s: record %s: %w", j.label, sl.m.ref, err)
			}
			ev.recs[i] = rec
			s.releaseDone(ctx, cl, j, life, i)
			if err == nil && ctx.Err() == nil && j.standsAlone(i) {
				s.events <- done{job: j, ahead: true, slot: i, recs: ev.recs, early: ev.early, clone: cl.Namespace, started: ev.started, ended: s.p.now()}
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			ev.err = err
			return ev
		}
	}
	if ctx.Err() != nil {
		ev.err = fmt.Errorf("trial %s: %w", j.label, ctx.Err())
	}
	return ev
}

// cloneUp counts clone cl of job j alive; whole says it runs every
// workload of the namespace.
func (s *run) cloneUp(j *cloneJob, cl Clone, whole bool) {
	s.mu.Lock()
	s.alive++
	s.clones++
	s.alivePod += cl.Pods
	s.reserved += cl.Pods - j.pods
	j.pods = cl.Pods
	if n := len(cl.Selectors); n > 0 {
		s.perWorkload = max(s.perWorkload, (cl.Pods+n-1)/n)
		if whole {
			s.workloads = max(s.workloads, n)
		}
	}
	s.peak = max(s.peak, s.alive)
	s.peakPods = max(s.peakPods, s.alivePod)
	s.mu.Unlock()
	s.p.metrics.cloneAlive(1)
}

// podsDown counts pods of job j's clone stopped.
func (s *run) podsDown(j *cloneJob, pods int) {
	s.mu.Lock()
	s.alivePod -= pods
	s.reserved -= pods
	j.pods -= pods
	s.mu.Unlock()
}

func (s *run) cloneDown() {
	s.mu.Lock()
	s.alive--
	s.mu.Unlock()
	s.p.metrics.cloneAlive(-1)
}

func (s *run) knownBaselines(m *member) [2]oracle.Recording {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m.baselines == nil {
		return [2]oracle.Recording{}
	}
	return *m.baselines
}

func (s *run) baselinesKnown() bool { return s.baseDone == 2 }

func (s *run) handle(ev done) {
	share := ev.podSeconds / float64(len(ev.job.slots))
	for _, sl := range ev.job.slots {
		sl.m.podSeconds += share
	}
	if ev.err != nil {
		if s.err == nil && !s.finished() && !ev.job.cancelled {
			s.err = ev.err
		}
		if ev.job.cancelled {
			s.advance() // it may have been the last clone in flight
		}
		return
	}
	if why, short := capacityShort(ev); short && !ev.job.cancelled {
		s.capacityRetries++
		if s.capacityRetries > maxCapacityRetries {
			s.err = fmt.Errorf("%w: clone %s: %s", ErrNoCapacity, ev.clone, why)
			return
		}
		s.log.Info("trial pods could not be scheduled; the clone runs again later, nothing is judged", "trial", ev.job.label, "clone", ev.clone, "why", why)
		ev.job.dropJudged()
		if len(ev.job.slots) > 0 {
			ev.job.delay = s.p.cfg.CapacityRetryDelay
			s.queue = append(s.queue, ev.job)
		}
		s.advance()
		return
	}
	switch {
	case ev.job.phase == phaseTrial && ev.job.slots[0].trial.Kind == hardening.TrialBaseline:
		s.baseline(ev, share)
	case !s.baselinesKnown():
		s.stashed = append(s.stashed, ev)
	case ev.job.phase == phaseVerifyNamespace || ev.job.phase == phaseVerifyAlone:
		s.verified(ev)
	default:
		s.judge(ev, share)
	}
	s.advance()
}

// finished reports whether every member is decided and the namespace-wide
// verification is over.
func (s *run) finished() bool {
	for _, m := range s.members {
		if !m.decided {
			return false
		}
	}
	return s.nsDone
}

func (s *run) result(ev done, i int, v oracle.Verdict, early bool, share float64) TrialResult {
	sl := ev.job.slots[i]
	return TrialResult{
		Workload: sl.m.ref, Trial: sl.trial, Verdict: v, Early: early, Clone: ev.clone, Shared: len(ev.job.slots),
		Started: ev.started, Ended: ev.ended, PodSeconds: share, rec: ev.recs[i],
	}
}

func (s *run) report(r TrialResult) {
	s.p.metrics.trialFinished(r)
	if s.obs != nil {
		s.obs.TrialFinished(s.ctx, r)
	}
}

func (s *run) baseline(ev done, share float64) {
	for i, sl := range ev.job.slots {
		if sl.m.decided {
			continue
		}
		sl.m.baseRec[sl.trial.Name] = ev.recs[i]
		r := s.result(ev, i, oracle.Verdict{Pass: true}, false, share)
		sl.m.finish(r)
		s.report(r)
	}
	s.baseDone++
	if !s.baselinesKnown() {
		return
	}
	for _, m := range s.members {
		if m.decided {
			continue
		}
		b := [2]oracle.Recording{m.baseRec[hardening.TrialNameBaseline1], m.baseRec[hardening.TrialNameBaseline2]}
		s.mu.Lock()
		m.baselines = &b
		s.mu.Unlock()
		if m.neverReady() {
			s.log.Info("The unmodified workload is no working reference", "workload", m.ref.String(), "reason", m.res.Reason)
		}
	}
	stashed := s.stashed
	s.stashed = nil
	for _, ev := range stashed {
		s.judge(ev, ev.podSeconds/float64(len(ev.job.slots)))
	}
	waitingAhead := s.waitingAhead
	s.waitingAhead = nil
	for _, ev := range waitingAhead {
		s.judgeAhead(ev)
	}
	for _, m := range s.members {
		if m.decided {
			continue
		}
		for _, name := range m.recheckEarly() {
			s.log.Info("early failure explained by the baselines, running the trial again", "workload", m.ref.String(), "trial", name)
		}
	}
}

// Capacity is not a verdict: a clone whose pods could not be scheduled
// says nothing about its settings.
const maxCapacityRetries = 6

// ErrNoCapacity: trial pods stayed unschedulable however often their clone
// was run again; the job is retried later, nothing is recorded as failed.
var ErrNoCapacity = errors.New("no capacity for the trial clones")

// capacityShort reports, with the scheduler's reason, whether a workload of
// the clone never became Ready because its pods could not be scheduled (or
// were never created: a quota, or a node out of room).
func capacityShort(ev done) (string, bool) {
	for i, sl := range ev.job.slots {
		if why, short := slotShort(sl, ev.recs[i]); short {
			return why, true
		}
	}
	return "", false
}

// slotShort is capacityShort for one slot's recording.
func slotShort(sl slot, rec oracle.Recording) (string, bool) {
	if everReady(rec) {
		return "", false
	}
	if len(rec.Pods) == 0 {
		return sl.m.ref.String() + ": no pod was created", true
	}
	for _, p := range rec.Pods {
		if p.Unschedulable != "" {
			return sl.m.ref.String() + ": " + p.Unschedulable, true
		}
	}
	return "", false
}

// keepsFailure reports whether a failure of t decides something (a check
// failed, a capability is needed, a combination failed); a failed
// "everything" only starts the single trials.
func keepsFailure(t hardening.Trial) bool {
	switch t.Kind {
	case hardening.TrialSingle, hardening.TrialCapabilityAddBack, hardening.TrialCombination:
		return true
	}
	return false
}

// judge judges every workload of a trial clone against its own baselines.
// When two or more workloads fail there, each failure that decides
// something is re-tested with the other workloads unmodified before it is
// kept: one may only have failed because another broke.
func (s *run) judge(ev done, share float64) {
	j := ev.job
	verdicts := make([]oracle.Verdict, len(j.slots))
	var failed []int
	for i, sl := range j.slots {
		if pass, ok := j.ahead[i]; ok {
			// Judged already; its failure may still explain another's.
			if !pass && keepsFailure(sl.trial) {
				failed = append(failed, i)
			}
			continue
		}
		if sl.m.decided {
			continue
		}
		verdicts[i] = slotVerdict(ev, i)
		if !verdicts[i].Pass && keepsFailure(sl.trial) {
			failed = append(failed, i)
		}
	}
	// suspects[i] are the other failed workloads slot i may depend on.
	suspects := make([][]Ref, len(j.slots))
	var others []Ref
	if j.phase == phaseTrial {
		for _, i := range failed {
			for _, k := range failed {
				if k != i && j.slots[i].m.mayDependOn(j.slots[k].m) {
					suspects[i] = append(suspects[i], j.slots[k].m.ref)
				}
			}
			others = append(others, j.slots[i].m.ref)
		}
	}
	for i, sl := range j.slots {
		if _, ok := j.ahead[i]; ok || sl.m.decided {
			continue
		}
		if len(suspects[i]) > 0 {
			s.log.Info("failures coincide, re-testing alone", "workload", sl.m.ref.String(), "trial", sl.trial.Name, "clone", ev.clone, "suspects", joinRefs(suspects[i]))
			s.placeAlone(sl, suspects[i], ev.clone)
			continue
		}
		r := s.result(ev, i, verdicts[i], ev.early[i] != nil, share)
		switch {
		case j.phase == phaseAlone:
			r.Attribution = j.aloneAttribution(sl.m, r.Verdict.Pass)
		case !r.Verdict.Pass && len(others) > 1:
			r.Attribution = fmt.Sprintf("its own: of the other workloads that failed in the clone (%s) it depends on none", joinRefs(slices.DeleteFunc(slices.Clone(others), func(x Ref) bool { return x == sl.m.ref })))
		case !r.Verdict.Pass && len(j.slots) > 1:
			r.Attribution = fmt.Sprintf("its own: the only one of the %d workloads modified in its clone that failed", len(j.slots))
		}
		sl.m.finish(r)
		s.report(r)
	}
}

// standsAlone reports whether slot i of a trial clone can be judged as
// soon as its own recording is over: its workload depends on none of the
// other workloads modified there, so no failure of theirs can explain its
// verdict.
func (j *cloneJob) standsAlone(i int) bool {
	if j.phase != phaseTrial && j.phase != phaseAlone {
		return false
	}
	if j.slots[i].trial.Kind == hardening.TrialBaseline {
		return false
	}
	for k, o := range j.slots {
		if k != i && j.slots[i].m.mayDependOn(o.m) {
			return false
		}
	}
	return true
}

// dropJudged drops the slots already judged, before the clone runs again.
func (j *cloneJob) dropJudged() {
	var kept []slot
	for i, sl := range j.slots {
		if _, ok := j.ahead[i]; !ok {
			kept = append(kept, sl)
		}
	}
	j.slots, j.ahead = kept, nil
}

// aloneAttribution says why a re-test alone decides m's failure.
func (j *cloneJob) aloneAttribution(m *member, pass bool) string {
	if pass {
		return fmt.Sprintf("passed with %s unmodified: its failure in clone %s was theirs", joinRefs(j.suspects[m]), j.sharedIn)
	}
	return fmt.Sprintf("its own: it failed again with %s unmodified, after failing in clone %s together with them", joinRefs(j.suspects[m]), j.sharedIn)
}

// slotVerdict judges slot i of a finished recording against its
// workload's baselines.
func slotVerdict(ev done, i int) oracle.Verdict {
	sl := ev.job.slots[i]
	if e := ev.early[i]; e != nil {
		return oracle.Verdict{Pass: false, Tests: []oracle.TestResult{*e}}
	}
	return oracle.Judge(sl.m.oracle, *sl.m.baselines, ev.recs[i])
}

// judgeAhead judges one slot of a running clone whose recording is over
// (cloneJob.standsAlone), so its workload moves on while the clone's other
// workloads are still recorded. Before the baselines are known it waits
// for them (or its clone's end, whichever is first); a slot whose pods
// found no room waits for its clone.
func (s *run) judgeAhead(ev done) {
	j, i := ev.job, ev.slot
	sl := j.slots[i]
	if !s.baselinesKnown() {
		s.waitingAhead = append(s.waitingAhead, ev)
		return
	}
	if _, running := s.inflight[j]; !running || sl.m.decided || j.cancelled {
		return
	}
	if _, short := slotShort(sl, ev.recs[i]); short {
		return
	}
	s.mu.Lock()
	pods := s.perWorkload
	s.mu.Unlock()
	v := slotVerdict(ev, i)
	if j.ahead == nil {
		j.ahead = map[int]bool{}
	}
	j.ahead[i] = v.Pass
	r := s.result(ev, i, v, ev.early[i] != nil, ev.ended.Sub(ev.started).Seconds()*float64(pods))
	switch {
	case j.phase == phaseAlone:
		r.Attribution = j.aloneAttribution(sl.m, v.Pass)
	case !v.Pass && len(j.slots) > 1:
		var others []Ref
		for k, o := range j.slots {
			if k != i {
				others = append(others, o.m.ref)
			}
		}
		r.Attribution = fmt.Sprintf("its own: it depends on none of the other workloads modified in its clone (%s)", joinRefs(others))
	}
	sl.m.finish(r)
	s.report(r)
}

// placeAlone queues a re-test of sl with every workload it may depend on
// unmodified. Re-tests of the same trial share a clone when none of them
// may depend on another.
func (s *run) placeAlone(sl slot, suspects []Ref, clone string) {
	key := trialNameAlone + "-" + sl.trial.Name
	for _, j := range s.queue {
		if j.phase != phaseAlone || j.key != key || j.sharedIn != clone {
			continue
		}
		independent := true
		for _, o := range j.slots {
			if o.m.mayDependOn(sl.m) || sl.m.mayDependOn(o.m) {
				independent = false
			}
		}
		if independent {
			j.slots = append(j.slots, slot{m: sl.m, trial: sl.trial, noEarly: sl.noEarly})
			j.suspects[sl.m] = suspects
			return
		}
	}
	s.queue = append(s.queue, &cloneJob{
		key: key, label: key, phase: phaseAlone, sharedIn: clone,
		slots:    []slot{{m: sl.m, trial: sl.trial, noEarly: sl.noEarly}},
		suspects: map[*member][]Ref{sl.m: suspects},
	})
}

func joinRefs(refs []Ref) string {
	s := make([]string, len(refs))
	for i, r := range refs {
		s[i] = r.String()
	}
	return strings.Join(s, ", ")
}

// prune drops the queued trial clones whose workloads are all decided
// and cancels the running ones.
func (s *run) prune() {
	decided := func(j *cloneJob) bool {
		if j.phase != phaseTrial && j.phase != phaseAlone {
			return false
		}
		for _, sl := range j.slots {
			if !sl.m.decided {
				return false
			}
		}
		return true
	}
	kept := s.queue[:0]
	for _, j := range s.queue {
		if !decided(j) {
			kept = append(kept, j)
		}
	}
	s.queue = kept
	for j, cancel := range s.inflight {
		if !j.cancelled && decided(j) {
			j.cancelled = true
			cancel()
		}
	}
}

// advance lets every member ask for its next trials, then, once all are
// decided, runs the namespace-wide verification.
func (s *run) advance() {
	if s.err != nil {
		return
	}
	for _, m := range s.members {
		m.advance()
	}
	s.collect()
	s.prune()
	for _, m := range s.members {
		if !m.decided {
			return
		}
	}
	if s.nsDone || s.pending > 0 || len(s.inflight) > 0 || len(s.queue) > 0 {
		return
	}
	s.verifyNamespace()
}

// verifyNamespace ends the run when one clone already ran every
// workload with its final settings and they all passed; otherwise it runs
// that clone.
func (s *run) verifyNamespace() {
	var changed []*member
	for _, m := range s.members {
		if m.changes() {
			changed = append(changed, m)
		}
	}
	if len(changed) == 0 {
		s.nsDone = true
		return
	}
	if by, ok := s.alreadyTogether(changed); ok {
		s.together(changed, by)
		return
	}
	var slots []slot
	for _, m := range s.members {
		if m.baselines == nil || m.noReference {
			continue // no working reference to judge it against
		}
		slots = append(slots, slot{m: m, trial: hardening.Trial{
			Name: TrialNameVerifyNamespace, Kind: hardening.TrialCombination, Template: m.final(),
		}, noEarly: true})
	}
	s.queue = append(s.queue, &cloneJob{label: TrialNameVerifyNamespace, phase: phaseVerifyNamespace, slots: slots})
}

// alreadyTogether finds a finished clone in which every changed workload
// ran exactly its final settings and passed, and every other workload ran
// unmodified.
func (s *run) alreadyTogether(changed []*member) (string, bool) {
	for _, m := range changed {
	trials:
		for _, r := range m.finished {
			if !r.Verdict.Pass || !hardening.SameSettings(r.Trial.Template, m.final()) {
				continue
			}
			for _, o := range s.members {
				if o == m {
					continue
				}
				or, ran := o.ranIn(r.Clone)
				if !ran && o.changes() {
					continue trials
				}
				if ran && (!or.Verdict.Pass || !hardening.SameSettings(or.Trial.Template, o.final())) {
					continue trials
				}
			}
			return r.Clone, true
		}
	}
	return "", false
}

// ranIn returns the member's trial that ran in clone.
func (m *member) ranIn(clone string) (TrialResult, bool) {
	for _, r := range m.finished {
		if r.Clone == clone && r.Trial.Kind != hardening.TrialBaseline {
			return r, true
		}
	}
	return TrialResult{}, false
}

func (s *run) together(changed []*member, clone string) {
	if len(s.members) > 1 {
		for _, m := range changed {
			m.res.NamespaceVerifiedBy = clone
		}
	}
	s.nsDone = true
}

// verified handles a namespace-wide verification clone, or one of the
// re-verifications alone that follow its failure: a recommendation that
// fails alone is rejected; when every failing one passes alone, they fail
// only together and are all rejected. The rest is verified together again.
func (s *run) verified(ev done) {
	j := ev.job
	if j.phase == phaseVerifyAlone {
		s.verifyRun = append(s.verifyRun, ev)
		s.pending--
		if s.pending > 0 {
			return
		}
		s.resolve()
		return
	}
	var failedChanged, failedSame []*member
	verdicts := s.judgeVerification(ev)
	for _, sl := range j.slots {
		v := verdicts[sl.m]
		switch {
		case v.Pass:
		case sl.m.changes():
			failedChanged = append(failedChanged, sl.m)
		default:
			failedSame = append(failedSame, sl.m)
		}
	}
	// An unmodified workload that failed is flaky unless it may depend on a
	// changed one: those become suspects, verified alone like the others.
	var changed []*member
	for _, m := range s.members {
		if m.changes() {
			changed = append(changed, m)
		}
	}
	for _, u := range failedSame {
		for _, c := range changed {
			if u.mayDependOn(c) && !slices.Contains(failedChanged, c) {
				failedChanged = append(failedChanged, c)
				verdicts[c] = verdicts[u]
				s.log.Info("an unmodified workload failed the namespace-wide verification; suspecting what it depends on", "workload", u.ref.String(), "suspect", c.ref.String())
			}
		}
	}
	if len(failedChanged) == 0 {
		if len(failedSame) > 0 {
			s.log.Info("unmodified workloads failed the namespace-wide verification on their own (they depend on no changed workload)", "workloads", refsOf(failedSame))
		}
		s.together(changed, ev.clone)
		return
	}
	for _, m := range failedChanged {
		s.log.Info("recommendation failed the namespace-wide verification, verifying it alone", "workload", m.ref.String())
		m.res.Reason = fmt.Sprintf("failed the namespace-wide verification in clone %s: %s", ev.clone, failureReason(verdicts[m]))
		s.queue = append(s.queue, &cloneJob{label: trialNameVerifyAlone, phase: phaseVerifyAlone, slots: []slot{{
			m: m, trial: hardening.Trial{Name: trialNameVerifyAlone, Kind: hardening.TrialCombination, Template: m.final()}, noEarly: true,
		}}})
		s.pending++
	}
}

// resolve rejects, after the alone re-verifications, the recommendations
// responsible for the namespace-wide failure.
func (s *run) resolve() {
	var failedAlone, passedAlone []*member
	verdicts := map[*member]oracle.Verdict{}
	for _, ev := range s.verifyRun {
		sl := ev.job.slots[0]
		v := s.judgeVerification(ev)[sl.m]
		verdicts[sl.m] = v
		if v.Pass {
			passedAlone = append(passedAlone, sl.m)
		} else {
			failedAlone = append(failedAlone, sl.m)
		}
	}
	for _, m := range failedAlone {
		m.reject(m.res.Reason + "; it failed again alone: " + failureReason(verdicts[m]))
	}
	if len(failedAlone) == 0 {
		for _, m := range passedAlone {
			m.reject(m.res.Reason + "; it passes alone, so it fails only together with the other workloads' recommendations")
		}
	} else {
		for _, m := range passedAlone {
			m.res.Reason = fmt.Sprintf("verified alone after the namespace-wide verification failed because of %s", refsOf(failedAlone))
			if m.deferred {
				m.res.VerifiedBy = trialNameVerifyAlone
			}
		}
	}
	s.verifyRun = nil
	s.verifyNamespace()
}

// judgeVerification judges every workload of a verification clone and
// records the verdicts as the workloads' trials (the evidence of why a
// recommendation was kept or rejected).
func (s *run) judgeVerification(ev done) map[*member]oracle.Verdict {
	out := map[*member]oracle.Verdict{}
	share := ev.podSeconds / float64(len(ev.job.slots))
	for i, sl := range ev.job.slots {
		v := oracle.Judge(sl.m.oracle, *sl.m.baselines, ev.recs[i])
		out[sl.m] = v
		if ev.job.judged {
			continue
		}
		r := s.result(ev, i, v, false, share)
		sl.m.finished = append(sl.m.finished, r)
		s.report(r)
	}
	ev.job.judged = true
	return out
}

func refsOf(ms []*member) string {
	refs := make([]Ref, len(ms))
	for i, m := range ms {
		refs[i] = m.ref
	}
	return joinRefs(refs)
}

// runLimit is how long the slot's run is recorded (member.runLimit).
func (s *run) runLimit(sl slot) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return sl.m.runLimit(s.p.cfg, sl.trial.Kind == hardening.TrialBaseline)
}

// copiesFor is what a clone of slots runs besides them: every workload
// they depend on (nil, every workload of the namespace, when a dependency
// is unknown). A workload is judged by its own pods, so it needs what it
// talks to and nothing else; the namespace-wide verification at the end
// runs every member together.
func copiesFor(slots []slot) map[Ref]bool {
	out := map[Ref]bool{}
	for _, sl := range slots {
		if sl.m.deps == nil {
			return nil
		}
		for r := range sl.m.deps {
			out[r] = true
		}
	}
	return out
}

// sortedRefs lists a set of workloads in a stable order.
func sortedRefs(set map[Ref]bool) []Ref {
	out := make([]Ref, 0, len(set))
	for r := range set {
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b Ref) int { return strings.Compare(a.String(), b.String()) })
	return out
}
