package pipeline

import (
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/cinch-dev/cinch/pkg/hardening"
	"github.com/cinch-dev/cinch/pkg/oracle"
)

// want is a trial a member asks the scheduler to run.
type want struct {
	trial   hardening.Trial
	delay   time.Duration
	noEarly bool
}

// member is one workload's part of a run: its plan and the decisions its
// verdicts allow. Only the run's loop goroutine touches it, but for
// baselines, which the recording goroutines read under run.mu.
type member struct {
	ref  Ref
	tmpl *corev1.PodTemplateSpec
	// metrics are the workload's endpoints declared outside its template.
	metrics []MetricsEndpoint
	// deps are the workloads it may depend on, directly or not; nil when
	// unknown.
	deps  map[Ref]bool
	plan  hardening.Plan
	cfg   Config
	sched scheduler
	// oracle judges its trials: cfg.Oracle with the log lines its template
	// declares harmless; ignoreNote says why that annotation was ignored.
	oracle     oracle.Config
	ignoreNote string

	wants   []want
	started map[string]bool

	baseRec   map[string]oracle.Recording
	baselines *[2]oracle.Recording // guarded by run.mu

	results  map[string]TrialResult
	finished []TrialResult

	singlesStarted bool
	capRes         map[string]bool
	capDone        bool
	addBack        map[string][]corev1.Capability
	verify         *hardening.Trial
	// shared: the run verifies every recommendation together at its end,
	// so a combination no trial ran yet is left to that verification
	// (deferred) instead of a clone of its own.
	shared   bool
	deferred bool
	rec      hardening.Recommendation
	passed   []hardening.CheckID

	decided bool
	// noReference: the unmodified workload never became Ready.
	noReference bool
	res         Result
	podSeconds  float64
}

func newMember(w Workload, cfg Config) *member {
	oc, note := oracleConfigFor(cfg.Oracle, w.Template)
	oc.TolerateStartupNovelty = w.TolerateStartupNovelty
	return &member{
		ref: w.Ref, tmpl: w.Template, metrics: w.Metrics, cfg: cfg, sched: cfg.Strategy.scheduler(),
		oracle: oc, ignoreNote: note,
		plan:    hardening.PlanTrials(w.Template, cfg.Hardening),
		started: map[string]bool{},
		baseRec: map[string]oracle.Recording{},
		results: map[string]TrialResult{},
		capRes:  map[string]bool{},
	}
}

// workload is what the Recorder is told of the member's workload.
func (m *member) workload() Workload {
	return Workload{Ref: m.ref, Template: m.tmpl, Metrics: m.metrics}
}

// nothingPlanned decides a member that already has every checked setting.
func (m *member) nothingPlanned() error {
	rec := hardening.Combine(m.tmpl, nil, m.cfg.Hardening, nil)
	level, err := hardening.PodSecurityLevel(rec.Apply(m.tmpl))
	if err != nil {
		return err
	}
	m.decided = true
	m.res = Result{Outcome: OutcomeVerified, Reason: "nothing to harden: the workload has every checked setting", Recommendation: rec, Level: level}
	return nil
}

func (m *member) result() Result {
	r := m.res
	r.Workload = m.ref
	r.Planned = m.plan.Checks
	r.Trials = m.finished
	r.PodSeconds = m.podSeconds
	if m.ignoreNote != "" {
		if r.Reason != "" {
			r.Reason += "; "
		}
		r.Reason += m.ignoreNote
	}
	return r
}

// oracleConfigFor returns the oracle configuration that judges the
// workload of template t: cfg with the log lines its cinch.dev/ignore-logs
// annotation declares harmless. A value that does not parse is ignored
// (the run goes on with cfg), and the note says so.
func oracleConfigFor(cfg oracle.Config, t *corev1.PodTemplateSpec) (oracle.Config, string) {
	if t == nil {
		return cfg, ""
	}
	v, ok := t.Annotations[hardening.AnnotationIgnoreLogs]
	if !ok {
		return cfg, ""
	}
	f, err := oracle.ParseLineFilter(v)
	if err != nil {
		return cfg, fmt.Sprintf("annotation %s ignored: %v", hardening.AnnotationIgnoreLogs, err)
	}
	cfg.IgnoreLines = f
	return cfg, ""
}

func (m *member) startSingles() {
	if m.singlesStarted {
		return
	}
	m.singlesStarted = true
	for _, t := range m.plan.Trials {
		if t.Kind == hardening.TrialSingle {
			m.enqueue(t, 0)
		}
	}
}

func (m *member) enqueue(t hardening.Trial, delay time.Duration) {
	if m.started[t.Name] {
		return
	}
	m.started[t.Name] = true
	m.wants = append(m.wants, want{trial: t, delay: delay})
}

// finish records a judged trial.
func (m *member) finish(r TrialResult) {
	m.finished = append(m.finished, r)
	if r.Trial.Kind == hardening.TrialBaseline {
		return
	}
	m.results[r.Trial.Name] = r
	if r.Trial.Kind == hardening.TrialCapabilityAddBack {
		m.capRes[r.Trial.Name] = r.Verdict.Pass
	}
}

// recheckEarly re-runs (in full) every early failure that the baselines
// explain (they restart too): it was judged against no baselines.
func (m *member) recheckEarly() []string {
	var again []string
	for _, name := range sortedNames(m.results) {
		r := m.results[name]
		if !r.Early {
			continue
		}
		if _, still := oracle.EarlyFailure(m.oracle, *m.baselines, r.rec); still {
			continue
		}
		delete(m.results, name)
		m.finished = slices.DeleteFunc(m.finished, func(f TrialResult) bool { return f.Trial.Name == name })
		m.wants = append(m.wants, want{trial: r.Trial, noEarly: true})
		again = append(again, name)
	}
	return again
}

// runLimit is how long a run of the member is recorded: R for a
// long-running workload; for a run-to-completion one, until its Job ends,
// bounded by the slower baseline's duration (see Config.BatchTimeout).
func (m *member) runLimit(cfg Config, baseline bool) time.Duration {
	if !hardening.IsBatch(m.ref.Kind) {
		return cfg.Duration
	}
	if baseline || m.baselines == nil {
		return cfg.BatchTimeout
	}
	var slowest time.Duration
	for _, b := range m.baselines {
		if b.Batch != nil {
			slowest = max(slowest, b.Batch.Duration)
		}
	}
	return min(cfg.BatchTimeout, 2*slowest+cfg.BatchMargin)
}

// unfinishedBaseline decides a run-to-completion member Failed when its Job
// did not succeed in a baseline: a Job that fails unmodified cannot be
// hardened, there is nothing to compare with.
func (m *member) unfinishedBaseline() bool {
	for _, name := range []string{hardening.TrialNameBaseline1, hardening.TrialNameBaseline2} {
		b := m.baseRec[name].Batch
		if b == nil || b.Outcome == oracle.BatchSucceeded {
			continue
		}
		how := strings.ToLower(b.Outcome)
		if b.Reason != "" {
			how += " (" + b.Reason + ")"
		}
		m.decided, m.noReference = true, true
		m.wants = nil
		m.res = Result{Outcome: OutcomeFailed, Reason: fmt.Sprintf("the unmodified Job %s after %s in baseline %s: "+
			"a Job that does not complete unmodified cannot be hardened; fix it first", how, b.Duration.Round(time.Second), name)}
		return true
	}
	return false
}

// neverReady decides the member Failed when its pods never became Ready in
// a baseline: there is no working reference to judge trials against.
func (m *member) neverReady() bool {
	if hardening.IsBatch(m.ref.Kind) {
		return m.unfinishedBaseline()
	}
	for _, name := range []string{hardening.TrialNameBaseline1, hardening.TrialNameBaseline2} {
		rec := m.baseRec[name]
		if everReady(rec) {
			continue
		}
		m.decided, m.noReference = true, true
		m.wants = nil
		m.res = Result{Outcome: OutcomeFailed, Reason: fmt.Sprintf("the unmodified workload never became Ready in baseline %s (recorded %s): "+
			"there is no working reference to judge trials against; fix its readiness first", name, rec.Duration.Round(time.Second))}
		return true
	}
	return false
}

func everReady(rec oracle.Recording) bool {
	for _, p := range rec.Pods {
		if p.Ready || p.ReadyAfter > 0 {
			return true
		}
	}
	return false
}

func sortedNames[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// checkVerdict returns the verdict of one planned check, when known: it
// passed when "everything" passed or its single trial passed.
func (m *member) checkVerdict(id hardening.CheckID) (pass, known bool) {
	if r, ok := m.results[hardening.TrialNameEverything]; ok && r.Verdict.Pass {
		return true, true
	}
	info, _ := id.Info()
	if r, ok := m.results[info.Short]; ok {
		return r.Verdict.Pass, true
	}
	return false, false
}

func (m *member) firstRoundDone() bool {
	for _, t := range m.plan.Trials {
		if _, ok := m.results[t.Name]; !ok && t.Kind != hardening.TrialBaseline {
			return false
		}
	}
	return true
}

// advance asks for what the known verdicts allow and decides when it can.
func (m *member) advance() {
	if m.decided || m.baselines == nil {
		return
	}
	if r, ok := m.results[hardening.TrialNameEverything]; ok {
		if !r.Verdict.Pass {
			m.startSingles()
		} else {
			// Every planned check passed together with nothing added back:
			// that is the recommendation, whatever a single trial showed (a
			// process that switches users needs SETUID only while it runs
			// as root), so every strategy decides alike.
			m.addBack, m.capDone = nil, true
		}
	}
	known := true
	var passed []hardening.CheckID
	dropFailed := false
	for _, id := range m.plan.Checks {
		pass, ok := m.checkVerdict(id)
		switch {
		case !ok:
			known = false
		case pass:
			passed = append(passed, id)
		case id == hardening.CheckDropAllCapabilities:
			dropFailed = true
		}
	}
	if dropFailed && !m.capDone {
		round := hardening.CapabilityPlan(m.tmpl, m.cfg.Hardening, m.capRes)
		if round.Done {
			m.capDone = true
			m.addBack = hardening.PruneAddBack(m.tmpl, round.AddBack)
		} else {
			for _, t := range round.Trials {
				m.enqueue(t, 0)
			}
		}
	}
	if !known || (dropFailed && !m.capDone) {
		return
	}
	if !m.sched.mayCombine(m) {
		return
	}
	if m.verify == nil {
		m.passed = passed
		m.rec = hardening.Combine(m.tmpl, passed, m.cfg.Hardening, m.addBack)
		checks := slices.Clone(passed)
		if len(m.addBack) > 0 {
			checks = append(checks, hardening.CheckDropAllCapabilities)
		}
		var ok []hardening.Trial
		for _, r := range m.finished {
			if r.Verdict.Pass {
				ok = append(ok, r.Trial)
			}
		}
		vt, need := hardening.VerificationTrial(m.tmpl, m.rec, checks, ok)
		if !need {
			m.decide(OutcomeVerified, vt.Name, fmt.Sprintf("verified by trial %s", vt.Name))
			return
		}
		if m.shared {
			// Provisional: the namespace-wide verification runs it, and
			// when it fails there, alone (run.verified).
			m.deferred = true
			m.decide(OutcomeVerified, TrialNameVerifyNamespace, "verified by the namespace-wide verification")
			return
		}
		m.verify = &vt
		m.enqueue(vt, 0)
		return
	}
	if r, ok := m.results[m.verify.Name]; ok {
		if r.Verdict.Pass {
			m.decide(OutcomeVerified, r.Trial.Name, "verified by the combination trial")
		} else {
			m.decide(OutcomeFailed, "", "the combination of the passing checks failed verification: "+failureReason(r.Verdict))
		}
	}
}

func (m *member) decide(o Outcome, by, reason string) {
	m.decided = true
	m.res.Outcome = o
	m.res.Reason = reason
	m.res.Passed = m.passed
	m.res.AddBack = m.addBack
	if o != OutcomeVerified {
		return
	}
	m.res.VerifiedBy = by
	m.res.Recommendation = m.rec
	level, err := hardening.PodSecurityLevel(m.rec.Apply(m.tmpl))
	if err != nil {
		// Combine only tightens a template the API server accepted.
		m.res.Outcome, m.res.Reason = OutcomeFailed, "the recommendation has no PodSecurity level: "+err.Error()
		m.res.Recommendation, m.res.VerifiedBy = hardening.Recommendation{}, ""
		return
	}
	m.res.Level = level
}

// final is the template the member runs with once its result is applied.
func (m *member) final() *corev1.PodTemplateSpec {
	if m.res.Outcome == OutcomeVerified {
		return m.res.Recommendation.Apply(m.tmpl)
	}
	return m.tmpl
}

// changes reports whether the member's result changes its template.
func (m *member) changes() bool {
	return m.decided && m.res.Outcome == OutcomeVerified && !hardening.SameSettings(m.final(), m.tmpl)
}

// reject turns a verified member Failed after the namespace-wide
// verification.
func (m *member) reject(reason string) {
	m.res.Outcome = OutcomeFailed
	m.res.Reason = reason
	m.res.Recommendation, m.res.Level, m.res.VerifiedBy, m.res.NamespaceVerifiedBy = hardening.Recommendation{}, "", "", ""
}
