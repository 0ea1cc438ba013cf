package pipeline

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/cinch-dev/cinch/pkg/hardening"
	"github.com/cinch-dev/cinch/pkg/oracle"
)

// behaviour says how the fake workload reacts to a pod template.
type behaviour func(t *corev1.PodTemplateSpec) outcome

type outcome int

const (
	works     outcome = iota
	crashes           // fails at start-up (early)
	logsError         // keeps running, logs a line the baselines never show
)

// ctr returns the container's securityContext with the pod-level
// runAsNonRoot folded in.
func ctr(t *corev1.PodTemplateSpec) *corev1.SecurityContext {
	sc := &corev1.SecurityContext{}
	if c := t.Spec.Containers[0].SecurityContext; c != nil {
		sc = c.DeepCopy()
	}
	if p := t.Spec.SecurityContext; p != nil && sc.RunAsNonRoot == nil {
		sc.RunAsNonRoot = p.RunAsNonRoot
	}
	return sc
}

func isTrue(b *bool) bool { return b != nil && *b }

var (
	toleratesAll behaviour = func(*corev1.PodTemplateSpec) outcome { return works }
	needRoot     behaviour = func(t *corev1.PodTemplateSpec) outcome {
		if isTrue(ctr(t).RunAsNonRoot) {
			return crashes
		}
		return works
	}
	writeRoot behaviour = func(t *corev1.PodTemplateSpec) outcome {
		if isTrue(ctr(t).ReadOnlyRootFilesystem) {
			return logsError
		}
		return works
	}
	bind80 behaviour = func(t *corev1.PodTemplateSpec) outcome {
		c := ctr(t).Capabilities
		if c != nil && slices.Contains(c.Drop, "ALL") && !slices.Contains(c.Add, "NET_BIND_SERVICE") {
			return crashes
		}
		return works
	}
	failsAnyChange behaviour = func(t *corev1.PodTemplateSpec) outcome {
		if t.Spec.Containers[0].SecurityContext != nil || t.Spec.SecurityContext != nil {
			return crashes
		}
		return works
	}
	// drops root at start-up (memcached -u): as root without ALL it needs
	// SETUID and SETGID; as non-root it never switches users
	switchesUser behaviour = func(t *corev1.PodTemplateSpec) outcome {
		sc := ctr(t)
		c := sc.Capabilities
		if !isTrue(sc.RunAsNonRoot) && c != nil && slices.Contains(c.Drop, "ALL") &&
			(!slices.Contains(c.Add, "SETUID") || !slices.Contains(c.Add, "SETGID")) {
			return crashes
		}
		return works
	}
	// each check alone works, root filesystem and non-root together do not
	pairConflict behaviour = func(t *corev1.PodTemplateSpec) outcome {
		sc := ctr(t)
		if isTrue(sc.ReadOnlyRootFilesystem) && isTrue(sc.RunAsNonRoot) {
			return logsError
		}
		return works
	}
)

type fakeCloner struct {
	mu      sync.Mutex
	alive   int
	peak    int
	created []string
	deleted int
	failOn  string
	seq     int
	// deleteFails makes that many Delete calls fail first (the API server
	// restarting).
	deleteFails int
	// startAfter is the union of every clone's StartAfter.
	startAfter map[Ref][]Ref
	// copies are the Copies of every clone, by trial.
	copies map[string][]map[Ref]bool
	// released are the workloads released from each clone, in order.
	released map[string][]Ref
}

func (f *fakeCloner) Create(_ context.Context, ns, trial string, spec CloneSpec) (Clone, error) {
	templates := spec.Templates
	f.mu.Lock()
	defer f.mu.Unlock()
	for r, deps := range spec.StartAfter {
		if f.startAfter == nil {
			f.startAfter = map[Ref][]Ref{}
		}
		f.startAfter[r] = deps
	}
	if f.copies == nil {
		f.copies = map[string][]map[Ref]bool{}
	}
	f.copies[trial] = append(f.copies[trial], spec.Copies)
	f.created = append(f.created, trial)
	f.alive++
	f.peak = max(f.peak, f.alive)
	f.seq++
	sel := map[Ref]labels.Selector{}
	for r := range templates {
		sel[r] = labels.Everything()
	}
	cl := Clone{Namespace: fmt.Sprintf("%s-%s-%d", ns, trial, f.seq), Selectors: sel, Pods: len(templates), CreatedAt: time.Now(), Ref: templates}
	if trial == f.failOn {
		return cl, errors.New("boom")
	}
	return cl, nil
}

func (f *fakeCloner) Release(_ context.Context, c Clone, w Ref) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := c.Selectors[w]; !ok || slices.Contains(f.released[c.Namespace], w) {
		return 0, fmt.Errorf("clone %s does not run %s", c.Namespace, w)
	}
	if f.released == nil {
		f.released = map[string][]Ref{}
	}
	f.released[c.Namespace] = append(f.released[c.Namespace], w)
	return 1, nil
}

func (f *fakeCloner) wasReleased(clone string, w Ref) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Contains(f.released[clone], w)
}

func (f *fakeCloner) Delete(_ context.Context, _ Clone) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.deleteFails > 0 {
		f.deleteFails--
		return errors.New("connect: connection refused")
	}
	f.alive--
	f.deleted++
	return nil
}

// fakeRecorder plays each workload by its behaviour (b for every workload
// that has none in per).
type fakeRecorder struct {
	b   behaviour
	per map[string]behaviour
	// needs[w] = (x, working, f): w logs an error when it needs x working
	// and x, under its template in the clone, does not work, or when
	// f(w's template, x's template) is true.
	needs map[string]need
	// cloner, when set, breaks a workload whose needed workload was
	// released from the clone before its recording ended.
	cloner *fakeCloner
	// longer records a workload's trials (not its baselines) this much
	// longer.
	longer map[string]time.Duration
}

type need struct {
	on       string
	working  bool
	conflict func(own, other *corev1.PodTemplateSpec) bool
}

func (f fakeRecorder) behaviourOf(name string) behaviour {
	if b, ok := f.per[name]; ok {
		return b
	}
	return f.b
}

func podObs(waiting ...string) []oracle.PodObservation {
	return []oracle.PodObservation{{
		Name: "p", Phase: "Running", Ready: len(waiting) == 0, ReadyAfter: time.Second,
		Containers: []oracle.ContainerObservation{{Name: "app", Ready: len(waiting) == 0, WaitingReasons: waiting}},
	}}
}

func heartbeat(n int, extra ...string) []oracle.LogStream {
	var lines []string
	for i := range n {
		lines = append(lines, fmt.Sprintf("2026-01-02T03:04:%02d.%03dZ pid=7 heartbeat n=%d", i%60, i*7%1000, i))
	}
	return []oracle.LogStream{{Pod: "p", Container: "app", Lines: append(lines, extra...)}}
}

func (f fakeRecorder) Record(ctx context.Context, c Clone, w Workload, d time.Duration, early func(oracle.Recording) bool) (oracle.Recording, error) {
	tmpls := c.Ref.(map[Ref]*corev1.PodTemplateSpec)
	o := f.behaviourOf(w.Name)(tmpls[w.Ref])
	if n, ok := f.needs[w.Name]; ok && o == works {
		x := Ref{Kind: w.Kind, Name: n.on}
		other, modified := tmpls[x]
		if !modified {
			other = template()
		}
		if (n.working && f.behaviourOf(n.on)(other) != works) || (n.conflict != nil && n.conflict(tmpls[w.Ref], other)) {
			o = logsError
		}
	}
	if o == crashes {
		partial := oracle.Recording{Duration: time.Millisecond, Pods: podObs("CrashLoopBackOff")}
		partial.Pods[0].ReadyAfter = 0
		if early != nil && early(partial) {
			return partial, nil
		}
	}
	if !strings.Contains(c.Namespace, "-baseline-") {
		d += f.longer[w.Name]
	}
	select {
	case <-time.After(d):
	case <-ctx.Done():
		return oracle.Recording{}, ctx.Err()
	}
	if n, ok := f.needs[w.Name]; ok && f.cloner != nil && f.cloner.wasReleased(c.Namespace, Ref{Kind: w.Kind, Name: n.on}) {
		o = logsError
	}
	switch o {
	case crashes:
		r := oracle.Recording{Duration: d, Pods: podObs("CrashLoopBackOff")}
		r.Pods[0].ReadyAfter = 0
		return r, nil
	case logsError:
		return oracle.Recording{Duration: d, Pods: podObs(), Logs: heartbeat(20, "fatal: open /var/lib/state: read-only file system")}, nil
	}
	return oracle.Recording{Duration: d, Pods: podObs(), Logs: heartbeat(20)}, nil
}

func template() *corev1.PodTemplateSpec {
	return &corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "x"}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "docker.io/local/scenario:1"}}},
	}
}

func testConfig(s Strategy) Config {
	cfg := DefaultConfig()
	cfg.Duration = 60 * time.Millisecond
	cfg.Stagger = 5 * time.Millisecond
	cfg.Gather = 20 * time.Millisecond
	cfg.Strategy = s
	cfg.MaxClones, cfg.MaxPods = 0, 0
	cfg.CapacityRetryDelay = 10 * time.Millisecond
	return cfg
}

func allChecks() []hardening.CheckID {
	return []hardening.CheckID{hardening.CheckRunAsNonRoot, hardening.CheckRunAsGroup, hardening.CheckReadOnlyRootFilesystem,
		hardening.CheckNoPrivilegeEscalation, hardening.CheckDropAllCapabilities, hardening.CheckSeccompRuntimeDefault}
}

func without(ids []hardening.CheckID, drop hardening.CheckID) []hardening.CheckID {
	return slices.DeleteFunc(slices.Clone(ids), func(c hardening.CheckID) bool { return c == drop })
}

func trialNames(r Result) []string {
	var out []string
	for _, t := range r.Trials {
		out = append(out, t.Trial.Name)
	}
	slices.Sort(out)
	return out
}

var singles = []string{"drop-caps", "group", "no-privesc", "non-root", "ro-rootfs", "seccomp"}

func sorted(s ...[]string) []string {
	var out []string
	for _, x := range s {
		out = append(out, x...)
	}
	slices.Sort(out)
	return out
}

func TestRun(t *testing.T) {
	base := []string{"baseline-1", "baseline-2"}
	// The necessity round: every common capability alone and the rarely
	// needed ones as a group; capsRare when the group failed.
	caps := []string{"caps-c0-need", "caps-c0-no-rare"}
	var capsRare []string
	for _, c := range hardening.RuntimeDefaultCapabilities {
		if slices.Contains(hardening.RarelyNeededCapabilities, c) {
			capsRare = append(capsRare, "caps-c0-no-"+capSlug(c))
		} else {
			caps = append(caps, "caps-c0-no-"+capSlug(c))
		}
	}
	tests := []struct {
		name       string
		b          behaviour
		strategy   Strategy
		outcome    Outcome
		passed     []hardening.CheckID
		verifiedBy string
		trials     []string
		addBack    map[string][]corev1.Capability
	}{
		{"tolerates all frugal", toleratesAll, StrategyFrugal, OutcomeVerified, allChecks(), "everything", sorted(base, []string{"everything"}), nil},
		{"tolerates all parallel", toleratesAll, StrategyParallel, OutcomeVerified, allChecks(), "everything", sorted(base, singles, []string{"everything"}), nil},
		{"tolerates all sequential", toleratesAll, StrategySequential, OutcomeVerified, allChecks(), "everything", sorted(base, []string{"everything"}), nil},
		{"need-root frugal", needRoot, StrategyFrugal, OutcomeVerified, without(allChecks(), hardening.CheckRunAsNonRoot), "combination", sorted(base, singles, []string{"everything", "combination"}), nil},
		{"need-root sequential", needRoot, StrategySequential, OutcomeVerified, without(allChecks(), hardening.CheckRunAsNonRoot), "combination", sorted(base, singles, []string{"everything", "combination"}), nil},
		{"write-root frugal", writeRoot, StrategyFrugal, OutcomeVerified, without(allChecks(), hardening.CheckReadOnlyRootFilesystem), "combination", sorted(base, singles, []string{"everything", "combination"}), nil},
		{"write-root parallel", writeRoot, StrategyParallel, OutcomeVerified, without(allChecks(), hardening.CheckReadOnlyRootFilesystem), "combination", sorted(base, singles, []string{"everything", "combination"}), nil},
		{"bind-80 frugal", bind80, StrategyFrugal, OutcomeVerified, without(allChecks(), hardening.CheckDropAllCapabilities), "combination",
			sorted(base, singles, caps, []string{"everything", "combination"}), map[string][]corev1.Capability{"app": {"NET_BIND_SERVICE"}}},
		{"fails any change frugal", failsAnyChange, StrategyFrugal, OutcomeVerified, nil, "baseline-1", sorted(base, singles, caps[1:], capsRare, []string{"everything"}), nil},
		{"pair conflict frugal", pairConflict, StrategyFrugal, OutcomeFailed, allChecks(), "", sorted(base, singles, []string{"everything", "combination"}), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cl := &fakeCloner{}
			reg := prometheus.NewRegistry()
			p, err := New(testConfig(tt.strategy), cl, fakeRecorder{b: tt.b}, NewMetrics(reg))
			require.NoError(t, err)
			res, err := p.Run(t.Context(), Source{Namespace: "ns", Kind: "Deployment", Name: "web"}, template(), nil)
			require.NoError(t, err)
			assert.Equal(t, tt.outcome, res.Outcome, res.Reason)
			assert.Equal(t, tt.passed, res.Passed)
			if tt.verifiedBy == "baseline-1" {
				assert.Contains(t, []string{"baseline-1", "baseline-2"}, res.VerifiedBy)
			} else {
				assert.Equal(t, tt.verifiedBy, res.VerifiedBy)
			}
			assert.Equal(t, tt.trials, trialNames(res))
			assert.Equal(t, tt.addBack, res.AddBack)
			assert.Equal(t, len(cl.created), cl.deleted, "every clone is deleted")
			assert.Equal(t, 0, cl.alive)
			if tt.strategy == StrategySequential {
				assert.Equal(t, 1, cl.peak)
			}
			assert.Equal(t, 0.0, testutil.ToFloat64(p.metrics.clonesAlive))
			if tt.outcome == OutcomeVerified {
				assert.NotEmpty(t, res.Level)
				// The recommendation is what the verifying trial ran.
				applied := res.Recommendation.Apply(template())
				assert.Equal(t, works, tt.b(applied))
			}
		})
	}
}

// TestCapabilitySearchGoesFirst: once "everything" failed, the
// drop-all-capabilities trial runs first of the single trials, and the
// capability search its failure starts, the longest chain of rounds, runs
// before the single trials still waiting (one clone at a time here).
func TestCapabilitySearchGoesFirst(t *testing.T) {
	cl := &fakeCloner{}
	p, err := New(testConfig(StrategySequential), cl, fakeRecorder{b: bind80}, nil)
	require.NoError(t, err)
	res, err := p.Run(t.Context(), Source{Namespace: "ns", Kind: "Deployment", Name: "web"}, template(), nil)
	require.NoError(t, err)
	require.Equal(t, OutcomeVerified, res.Outcome, res.Reason)
	i := slices.Index(cl.created, hardening.TrialNameEverything)
	require.GreaterOrEqual(t, i, 0, "%v", cl.created)
	require.Less(t, i+1, len(cl.created))
	assert.Equal(t, "drop-caps", cl.created[i+1], "%v", cl.created)
	require.Less(t, i+2, len(cl.created))
	assert.True(t, strings.HasPrefix(cl.created[i+2], groupCapabilities+"-"), "%v", cl.created)
}

// TestStrategiesDecideAlike: when "everything" passes it is the
// recommendation under every strategy, even where a single drop-all trial
// failed and its add-back search ran (parallel runs the singles anyway).
func TestStrategiesDecideAlike(t *testing.T) {
	for _, st := range Strategies() {
		t.Run(string(st), func(t *testing.T) {
			p, err := New(testConfig(st), &fakeCloner{}, fakeRecorder{b: switchesUser}, nil)
			require.NoError(t, err)
			res, err := p.Run(t.Context(), Source{Namespace: "ns", Kind: "Deployment", Name: "web"}, template(), nil)
			require.NoError(t, err)
			assert.Equal(t, OutcomeVerified, res.Outcome, res.Reason)
			assert.Equal(t, allChecks(), res.Passed)
			assert.Empty(t, res.AddBack)
			assert.Equal(t, hardening.TrialNameEverything, res.VerifiedBy)
			assert.Equal(t, works, switchesUser(res.Recommendation.Apply(template())))
		})
	}
}

func capSlug(c corev1.Capability) string {
	b := []byte(string(c))
	for i, ch := range b {
		switch {
		case ch == '_':
			b[i] = '-'
		case ch >= 'A' && ch <= 'Z':
			b[i] = ch + 'a' - 'A'
		}
	}
	return string(b)
}

func TestRunNothingPlanned(t *testing.T) {
	tmpl := template()
	tmpl.Spec = *hardening.Variant(tmpl, hardening.AllChecks(), hardening.DefaultOptions(), nil).Spec.DeepCopy()
	cl := &fakeCloner{}
	p, err := New(testConfig(StrategyFrugal), cl, fakeRecorder{b: toleratesAll}, nil)
	require.NoError(t, err)
	res, err := p.Run(t.Context(), Source{Namespace: "ns", Kind: "Deployment", Name: "web"}, tmpl, nil)
	require.NoError(t, err)
	assert.Equal(t, OutcomeVerified, res.Outcome)
	assert.Empty(t, cl.created)
	assert.Equal(t, hardening.LevelRestricted, res.Level)
}

func TestRunErrorsCleanUp(t *testing.T) {
	tests := []struct {
		name        string
		failOn      string
		cancel      time.Duration
		deleteFails int
	}{
		{name: "create fails", failOn: "everything"},
		{name: "cancelled", cancel: 20 * time.Millisecond},
		{name: "cancelled, the API server down for three deletes", cancel: 20 * time.Millisecond, deleteFails: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cl := &fakeCloner{failOn: tt.failOn, deleteFails: tt.deleteFails}
			cfg := testConfig(StrategyFrugal)
			cfg.Duration = time.Second
			p, err := New(cfg, cl, fakeRecorder{b: toleratesAll}, nil)
			require.NoError(t, err)
			ctx := t.Context()
			if tt.cancel > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.cancel)
				defer cancel()
			}
			_, err = p.Run(ctx, Source{Namespace: "ns", Kind: "Deployment", Name: "web"}, template(), nil)
			require.Error(t, err)
			if tt.cancel > 0 {
				assert.ErrorIs(t, err, context.DeadlineExceeded)
			}
			assert.Equal(t, len(cl.created), cl.deleted)
			assert.Equal(t, 0, cl.alive)
		})
	}
}

type recordingObserver struct{ failed []string }

func (o *recordingObserver) TrialFinished(_ context.Context, r TrialResult) {
	if !r.Verdict.Pass {
		o.failed = append(o.failed, r.Trial.Name)
	}
}

func TestRunMetricsAndObserver(t *testing.T) {
	reg := prometheus.NewRegistry()
	p, err := New(testConfig(StrategyFrugal), &fakeCloner{}, fakeRecorder{b: needRoot}, NewMetrics(reg))
	require.NoError(t, err)
	obs := &recordingObserver{}
	res, err := p.Run(t.Context(), Source{Namespace: "ns", Kind: "Deployment", Name: "web"}, template(), obs)
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{"everything", "non-root"}, obs.failed)
	assert.Equal(t, 1.0, testutil.ToFloat64(p.metrics.trialOutcomes.WithLabelValues("run-as-non-root", "Single", "early_fail")))
	assert.Equal(t, 1.0, testutil.ToFloat64(p.metrics.trialOutcomes.WithLabelValues("read-only-root-filesystem", "Single", "pass")))
	checks := res.Checks()
	require.NoError(t, func() error { _, err := hardening.EncodeChecks(checks); return err }())
	i := slices.IndexFunc(checks, func(c hardening.CheckResult) bool { return c.Trial == "non-root" })
	require.GreaterOrEqual(t, i, 0)
	assert.Equal(t, hardening.CheckRunAsNonRoot, checks[i].ID)
	assert.False(t, checks[i].Pass)
	assert.Contains(t, string(checks[i].Evidence), "CrashLoopBackOff")
	assert.Greater(t, res.PodSeconds, 0.0)
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(*Config)
		wantErr string
	}{
		{"default", func(*Config) {}, ""},
		{"zero duration", func(c *Config) { c.Duration = 0 }, "recording duration"},
		{"bad strategy", func(c *Config) { c.Strategy = "greedy" }, "unknown strategy"},
		{"stagger too long", func(c *Config) { c.Stagger = time.Hour }, "stagger"},
		{"negative clones", func(c *Config) { c.MaxClones = -1 }, "max clones"},
		{"negative pods", func(c *Config) { c.MaxPods = -1 }, "max pods"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			tt.mutate(&c)
			err := c.Validate()
			if tt.wantErr == "" {
				assert.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, ErrInvalidConfig)
			assert.Contains(t, err.Error(), tt.wantErr)
		})
	}
}

func dep(name string) Ref { return Ref{Kind: "Deployment", Name: name} }

// alone hardens each named workload on its own, as the reference.
func alone(t *testing.T, rec fakeRecorder, names ...string) map[string]Result {
	t.Helper()
	out := map[string]Result{}
	for _, n := range names {
		p, err := New(testConfig(StrategyFrugal), &fakeCloner{}, fakeRecorder{b: rec.behaviourOf(n)}, nil)
		require.NoError(t, err)
		res, err := p.Run(t.Context(), Source{Namespace: "ns", Kind: "Deployment", Name: n}, template(), nil)
		require.NoError(t, err)
		out[n] = res
	}
	return out
}

func namespaceOf(names ...string) []Workload {
	out := make([]Workload, len(names))
	for i, n := range names {
		out[i] = Workload{Ref: dep(n), Template: template(), DependsOn: []Ref{}}
	}
	return out
}

// TestRunNamespaceSameAsAlone: six workloads hardened together get exactly
// what each gets alone, in shared clones whose number does not grow with
// the namespace: baselines, everything, the singles, the capability
// rounds and one combination clone serve them all.
func TestRunNamespaceSameAsAlone(t *testing.T) {
	rec := fakeRecorder{per: map[string]behaviour{
		"tolerant": toleratesAll, "need-root": needRoot, "write-root": writeRoot,
		"bind-80": bind80, "switches-user": switchesUser, "fails-any-change": failsAnyChange,
		"pair-conflict": pairConflict,
	}}
	names := []string{"tolerant", "need-root", "write-root", "bind-80", "switches-user", "fails-any-change", "pair-conflict"}
	want := alone(t, rec, names...)
	cl := &fakeCloner{}
	reg := prometheus.NewRegistry()
	p, err := New(testConfig(StrategyFrugal), cl, rec, NewMetrics(reg))
	require.NoError(t, err)
	nr, err := p.RunNamespace(t.Context(), "ns", namespaceOf(names...), nil)
	require.NoError(t, err)
	require.Len(t, nr.Workloads, len(names))
	for i, r := range nr.Workloads {
		w := want[names[i]]
		assert.Equal(t, dep(names[i]), r.Workload)
		assert.Equal(t, w.Outcome, r.Outcome, "%s: %s", names[i], r.Reason)
		assert.Equal(t, w.Passed, r.Passed, names[i])
		assert.Equal(t, w.AddBack, r.AddBack, names[i])
		assert.Equal(t, w.Recommendation, r.Recommendation, names[i])
		assert.Equal(t, w.Level, r.Level, names[i])
		if w.VerifiedBy == hardening.TrialNameCombination {
			// No clone of its own: the namespace-wide verification runs
			// the combination, and alone when it fails there.
			want := map[Outcome]string{OutcomeVerified: TrialNameVerifyNamespace, OutcomeFailed: ""}[w.Outcome]
			assert.Equal(t, want, r.VerifiedBy, names[i])
		}
	}
	assert.NotContains(t, cl.created, hardening.TrialNameCombination)
	assert.Contains(t, nr.Workloads[6].Reason, "it failed again alone", "pair-conflict's combination fails alone too")
	// The largest single-workload run (the capability search) bounds the
	// clones, give or take a combination clone per decision time, the
	// namespace-wide verification and a capability round that one search
	// needs where another's ends (fails-any-change tests its rarely needed
	// capabilities one by one while bind-80 checks its necessary set);
	// hardened alone they take many more.
	most, sum := 0, 0
	for _, w := range want {
		most = max(most, len(uniqueClones(w)))
		sum += len(uniqueClones(w))
	}
	assert.LessOrEqual(t, nr.Clones, most+4, "clones: %v", cl.created)
	assert.Less(t, 2*nr.Clones, sum, "clones: %v", cl.created)
	assert.Equal(t, len(cl.created), cl.deleted)
	assert.Equal(t, 0, cl.alive)
	assert.InDelta(t, nr.PodSeconds, testutil.ToFloat64(p.metrics.podSeconds), 1e-9)
	shares := 0.0
	for _, r := range nr.Workloads {
		shares += r.PodSeconds
	}
	assert.InDelta(t, nr.PodSeconds, shares, 1e-6, "the workloads' shares add up to the namespace's cost")
	assert.GreaterOrEqual(t, nr.PeakPods, nr.PeakClones)

	// A pod budget of two clones of the whole namespace: never more pods
	// at once, same results; clones of a few workloads (the capability
	// rounds) run side by side within it.
	cfg := testConfig(StrategyFrugal)
	cfg.MaxPods = 2 * len(names)
	cl = &fakeCloner{}
	p, err = New(cfg, cl, rec, nil)
	require.NoError(t, err)
	bounded, err := p.RunNamespace(t.Context(), "ns", namespaceOf(names...), nil)
	require.NoError(t, err)
	assert.LessOrEqual(t, bounded.PeakPods, cfg.MaxPods)
	assert.Greater(t, cl.peak, 2, "small clones share the budget")
	for i, r := range bounded.Workloads {
		assert.Equal(t, want[names[i]].Passed, r.Passed, names[i])
		assert.Equal(t, want[names[i]].AddBack, r.AddBack, names[i])
	}
}

func uniqueClones(r Result) map[string]bool {
	out := map[string]bool{}
	for _, t := range r.Trials {
		out[t.Clone] = true
	}
	return out
}

// TestRunNamespaceAttribution: a frontend fails wherever its backend
// breaks. Where both fail in one clone, the frontend is re-tested with the
// backend unmodified and keeps nothing it does not need.
func TestRunNamespaceAttribution(t *testing.T) {
	rec := fakeRecorder{
		per:   map[string]behaviour{"backend": needRoot, "frontend": toleratesAll},
		needs: map[string]need{"frontend": {on: "backend", working: true}},
	}
	cl := &fakeCloner{}
	// A backend released while the frontend is recorded breaks it.
	rec.cloner = cl
	p, err := New(testConfig(StrategyFrugal), cl, rec, nil)
	require.NoError(t, err)
	wls := namespaceOf("frontend", "backend")
	wls[0].DependsOn = []Ref{dep("backend")}
	nr, err := p.RunNamespace(t.Context(), "ns", wls, nil)
	require.NoError(t, err)
	assert.Equal(t, map[Ref][]Ref{dep("frontend"): {dep("backend")}, dep("backend"): {}}, cl.startAfter,
		"every clone starts the backend before the frontend")
	// A clone runs what its workloads depend on, nothing else: the
	// frontend's non-root trial alone runs the backend unmodified; the
	// backend's own clones need nothing beside it.
	assert.Contains(t, cl.copies["alone-non-root"], map[Ref]bool{dep("backend"): true}, "%v", cl.copies)
	assert.NotContains(t, cl.created, hardening.TrialNameCombination, "the backend's combination is left to the namespace-wide verification")
	front, back := nr.Workloads[0], nr.Workloads[1]
	assert.Equal(t, OutcomeVerified, front.Outcome, front.Reason)
	assert.Equal(t, allChecks(), front.Passed, "the backend's failure is not the frontend's")
	assert.Equal(t, OutcomeVerified, back.Outcome, back.Reason)
	assert.Equal(t, without(allChecks(), hardening.CheckRunAsNonRoot), back.Passed)

	var frontNonRoot, backNonRoot TrialResult
	for _, r := range front.Trials {
		if r.Trial.Name == "non-root" {
			frontNonRoot = r
		}
	}
	for _, r := range back.Trials {
		if r.Trial.Name == "non-root" {
			backNonRoot = r
		}
	}
	assert.True(t, frontNonRoot.Verdict.Pass)
	assert.Equal(t, 1, frontNonRoot.Shared, "re-tested alone")
	assert.Contains(t, frontNonRoot.Attribution, "passed with Deployment/backend unmodified")
	assert.False(t, backNonRoot.Verdict.Pass)
	assert.Equal(t, 2, backNonRoot.Shared)
	assert.Contains(t, backNonRoot.Attribution, "its own: it depends on none of the other workloads modified in its clone (Deployment/frontend)",
		"judged as soon as its own recording ended")
	// With nothing known about dependencies, both are re-tested alone and
	// the verdicts stay the same; no workload leaves a clone before the
	// others are recorded.
	cl.released = nil
	nr, err = p.RunNamespace(t.Context(), "ns", []Workload{{Ref: dep("frontend"), Template: template()}, {Ref: dep("backend"), Template: template()}}, nil)
	require.NoError(t, err)
	assert.Equal(t, allChecks(), nr.Workloads[0].Passed)
	assert.Equal(t, without(allChecks(), hardening.CheckRunAsNonRoot), nr.Workloads[1].Passed)
	for _, r := range nr.Workloads[1].Trials {
		if r.Trial.Name == "non-root" {
			assert.Contains(t, r.Attribution, "its own: it failed again with Deployment/frontend unmodified")
		}
	}
	assert.Empty(t, cl.released)
	assert.NotEmpty(t, front.NamespaceVerifiedBy)
	assert.Equal(t, front.NamespaceVerifiedBy, back.NamespaceVerifiedBy)
}

// TestRunNamespaceVerification: x breaks only when y runs as non-root while
// x has a read-only root filesystem, a pair no earlier clone ran. The
// namespace-wide verification catches it; x passes alone, so it fails only
// together and is rejected, and y is verified again without it.
func TestRunNamespaceVerification(t *testing.T) {
	conflict := func(own, other *corev1.PodTemplateSpec) bool {
		return isTrue(ctr(own).ReadOnlyRootFilesystem) && isTrue(ctr(other).RunAsNonRoot) && !isTrue(ctr(other).ReadOnlyRootFilesystem)
	}
	rec := fakeRecorder{
		per:   map[string]behaviour{"x": toleratesAll, "y": writeRoot},
		needs: map[string]need{"x": {on: "y", conflict: conflict}},
	}
	cl := &fakeCloner{}
	p, err := New(testConfig(StrategyFrugal), cl, rec, nil)
	require.NoError(t, err)
	nr, err := p.RunNamespace(t.Context(), "ns", namespaceOf("x", "y"), nil)
	require.NoError(t, err)
	x, y := nr.Workloads[0], nr.Workloads[1]
	assert.Equal(t, OutcomeFailed, x.Outcome)
	assert.Contains(t, x.Reason, "fails only together")
	assert.Empty(t, x.Recommendation.Containers)
	assert.Equal(t, OutcomeVerified, y.Outcome, y.Reason)
	assert.Equal(t, without(allChecks(), hardening.CheckReadOnlyRootFilesystem), y.Passed)
	assert.NotEmpty(t, y.NamespaceVerifiedBy)
	assert.Contains(t, cl.created, TrialNameVerifyNamespace)
	assert.Contains(t, cl.created, "verify-alone")
}

// TestRunNamespaceNeverReady: a workload whose unmodified pods never become
// Ready ends Failed at once; the others go on.
func TestRunNamespaceNeverReady(t *testing.T) {
	never := func(*corev1.PodTemplateSpec) outcome { return crashes }
	rec := fakeRecorder{per: map[string]behaviour{"broken": never, "fine": toleratesAll}}
	cl := &fakeCloner{}
	p, err := New(testConfig(StrategyFrugal), cl, rec, nil)
	require.NoError(t, err)
	nr, err := p.RunNamespace(t.Context(), "ns", namespaceOf("broken", "fine"), nil)
	require.NoError(t, err)
	assert.Equal(t, OutcomeFailed, nr.Workloads[0].Outcome)
	assert.Contains(t, nr.Workloads[0].Reason, "never became Ready in baseline baseline-1")
	assert.Len(t, nr.Workloads[0].Trials, 2, "only the baselines ran for it")
	assert.Equal(t, OutcomeVerified, nr.Workloads[1].Outcome)
	assert.Equal(t, allChecks(), nr.Workloads[1].Passed)
	assert.Equal(t, 3, nr.Clones, "baselines and everything")
}

// fullNode makes the first `full` recordings of each trial name see pods the
// scheduler cannot place (a node at its pod limit).
type fullNode struct {
	fakeRecorder
	mu   sync.Mutex
	full map[string]int
}

func (f *fullNode) Record(ctx context.Context, c Clone, w Workload, d time.Duration, early func(oracle.Recording) bool) (oracle.Recording, error) {
	f.mu.Lock()
	left := f.full[c.Namespace[:strings.LastIndex(c.Namespace, "-")]]
	f.full[c.Namespace[:strings.LastIndex(c.Namespace, "-")]] = left - 1
	f.mu.Unlock()
	if left > 0 {
		return oracle.Recording{Duration: d, Pods: []oracle.PodObservation{{Name: "p", Phase: "Pending",
			Unschedulable: "0/1 nodes are available: 1 Too many pods."}}}, nil
	}
	return f.fakeRecorder.Record(ctx, c, w, d, early)
}

// TestRunCapacityIsNoVerdict: clones whose pods cannot be scheduled run
// again later and the verdicts are those of a roomy node; when room never
// comes the run ends with ErrNoCapacity and records no check as failed.
func TestRunCapacityIsNoVerdict(t *testing.T) {
	rec := &fullNode{fakeRecorder: fakeRecorder{b: needRoot}, full: map[string]int{"ns-baseline-1": 2, "ns-non-root": 3, "ns-everything": 1}}
	p, err := New(testConfig(StrategyFrugal), &fakeCloner{}, rec, nil)
	require.NoError(t, err)
	res, err := p.Run(t.Context(), Source{Namespace: "ns", Kind: "Deployment", Name: "web"}, template(), nil)
	require.NoError(t, err)
	assert.Equal(t, OutcomeVerified, res.Outcome, res.Reason)
	assert.Equal(t, without(allChecks(), hardening.CheckRunAsNonRoot), res.Passed)

	rec = &fullNode{fakeRecorder: fakeRecorder{b: toleratesAll}, full: map[string]int{"ns-everything": 100}}
	cl := &fakeCloner{}
	p, err = New(testConfig(StrategyFrugal), cl, rec, nil)
	require.NoError(t, err)
	res, err = p.Run(t.Context(), Source{Namespace: "ns", Kind: "Deployment", Name: "web"}, template(), nil)
	require.ErrorIs(t, err, ErrNoCapacity)
	for _, tr := range res.Trials {
		assert.True(t, tr.Verdict.Pass, "nothing judged failed: %s", tr.Trial.Name)
	}
	assert.Equal(t, len(cl.created), cl.deleted)
}

// TestSharedCloneReleasesDecidedWorkloads: in a shared clone, a workload
// whose trial failed early is released while the others are still
// recorded (TestLifetime: its pods stop counting then), and is judged
// then, so it moves on; the last one recorded is not released (the clone
// goes). The result is the same as alone.
func TestSharedCloneReleasesDecidedWorkloads(t *testing.T) {
	rec := fakeRecorder{per: map[string]behaviour{"tolerant": toleratesAll, "fails-any-change": failsAnyChange}}
	want := alone(t, rec, "tolerant", "fails-any-change")
	rec.longer = map[string]time.Duration{"tolerant": 400 * time.Millisecond}
	cfg := testConfig(StrategyFrugal)
	cfg.Duration = 300 * time.Millisecond
	cl := &fakeCloner{}
	p, err := New(cfg, cl, rec, nil)
	require.NoError(t, err)
	nr, err := p.RunNamespace(t.Context(), "ns", namespaceOf("tolerant", "fails-any-change"), nil)
	require.NoError(t, err)
	for i, name := range []string{"tolerant", "fails-any-change"} {
		assert.Equal(t, want[name].Passed, nr.Workloads[i].Passed, name)
		assert.Equal(t, want[name].Outcome, nr.Workloads[i].Outcome, name)
	}
	var everything TrialResult
	for _, r := range nr.Workloads[1].Trials {
		if r.Trial.Name == hardening.TrialNameEverything {
			everything = r
		}
	}
	require.True(t, everything.Early, "fails-any-change fails everything early")
	assert.Equal(t, []Ref{dep("fails-any-change")}, cl.released[everything.Clone],
		"the workload recorded last leaves with its clone")
	assert.Contains(t, everything.Attribution, "its own: it depends on none of the other workloads modified in its clone (Deployment/tolerant)")
	// Judged as soon as its own recording ended, it moved on to its single
	// trials while "everything" still ran for tolerant.
	var tolerantEverything TrialResult
	for _, r := range nr.Workloads[0].Trials {
		if r.Trial.Name == hardening.TrialNameEverything {
			tolerantEverything = r
		}
	}
	require.Equal(t, everything.Clone, tolerantEverything.Clone, "one clone")
	started := false
	for _, r := range nr.Workloads[1].Trials {
		if r.Trial.Kind == hardening.TrialSingle && r.Started.Before(tolerantEverything.Ended) {
			started = true
		}
	}
	assert.True(t, started, "a single trial started before the shared clone ended")
	assert.Equal(t, len(cl.created), cl.deleted)
}

// TestLifetime: a slot's workload leaves the clone when no running slot
// may need it; pod-seconds count each pod until it left.
func TestLifetime(t *testing.T) {
	a, b, c, x := &member{ref: dep("a"), deps: map[Ref]bool{}}, &member{ref: dep("b"), deps: map[Ref]bool{dep("x"): true}},
		&member{ref: dep("c"), deps: nil}, dep("x")
	sel := map[Ref]labels.Selector{a.ref: labels.Everything(), b.ref: labels.Everything(), x: labels.Everything()}
	l := newLifetime([]slot{{m: a}, {m: b}}, Clone{Selectors: sel, Pods: 4})
	assert.Equal(t, []Ref{a.ref}, l.finish(0), "b does not need a")
	assert.Empty(t, l.finish(1), "the last slot: the clone goes as a whole")

	l = newLifetime([]slot{{m: b}, {m: a}}, Clone{Selectors: sel, Pods: 4})
	assert.Equal(t, []Ref{b.ref, x}, l.finish(0), "x, b's dependency, stays only while b runs")
	assert.Empty(t, l.finish(1))

	sel[c.ref] = labels.Everything()
	l = newLifetime([]slot{{m: a}, {m: c}}, Clone{Selectors: sel, Pods: 4})
	assert.Empty(t, l.finish(0), "c's dependencies are unknown: it may need every workload")

	start := time.Unix(1000, 0)
	l = newLifetime([]slot{{m: a}, {m: b}}, Clone{Selectors: sel, Pods: 4})
	assert.Equal(t, 1, l.release(1, start.Add(2*time.Second)))
	assert.Equal(t, 3, l.release(5, start.Add(4*time.Second)), "never more than the clone ran")
	assert.Zero(t, l.release(1, start.Add(5*time.Second)))
	assert.Zero(t, l.remaining())
	// 1 pod for 2 s, 3 pods for 4 s (the clone lived 10 s).
	assert.InDelta(t, 1*2+3*4, l.podSeconds(start, start.Add(10*time.Second)), 1e-9)
}

// TestDropJudged: a clone that runs again keeps only its slots not judged
// yet.
func TestDropJudged(t *testing.T) {
	a, b, c := &member{ref: dep("a")}, &member{ref: dep("b")}, &member{ref: dep("c")}
	j := &cloneJob{slots: []slot{{m: a}, {m: b}, {m: c}}, ahead: map[int]bool{0: true, 2: false}}
	j.dropJudged()
	require.Len(t, j.slots, 1)
	assert.Equal(t, b, j.slots[0].m)
	assert.Nil(t, j.ahead)
}

// metricsRecorder notes the endpoints every recording is told of.
type metricsRecorder struct {
	fakeRecorder
	mu   sync.Mutex
	seen map[string][][]MetricsEndpoint
}

func (f *metricsRecorder) Record(ctx context.Context, c Clone, w Workload, d time.Duration, early func(oracle.Recording) bool) (oracle.Recording, error) {
	f.mu.Lock()
	f.seen[w.Name] = append(f.seen[w.Name], w.Metrics)
	f.mu.Unlock()
	return f.fakeRecorder.Record(ctx, c, w, d, early)
}

// TestRunNamespaceTellsTheRecorderItsMetrics: every recording of a
// workload, baselines and trials, is told the endpoints declared for it
// outside its template, and only those.
func TestRunNamespaceTellsTheRecorderItsMetrics(t *testing.T) {
	rec := &metricsRecorder{fakeRecorder: fakeRecorder{b: toleratesAll}, seen: map[string][][]MetricsEndpoint{}}
	p, err := New(testConfig(StrategyFrugal), &fakeCloner{}, rec, nil)
	require.NoError(t, err)
	wls := namespaceOf("web", "db")
	web := []MetricsEndpoint{{Port: "metrics", Path: "/m", Scheme: "https", Source: "PodMonitor web"}}
	wls[0].Metrics = web
	_, err = p.RunNamespace(t.Context(), "ns", wls, nil)
	require.NoError(t, err)
	require.Len(t, rec.seen["web"], 3, "baselines and everything")
	for _, m := range rec.seen["web"] {
		assert.Equal(t, web, m)
	}
	require.Len(t, rec.seen["db"], 3)
	for _, m := range rec.seen["db"] {
		assert.Empty(t, m)
	}
}
