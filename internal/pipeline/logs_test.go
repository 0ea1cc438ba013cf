package pipeline

import (
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"

	"github.com/cinch-dev/cinch/pkg/hardening"
	"github.com/cinch-dev/cinch/pkg/oracle"
)

// needsChownForLogs: without CHOWN (drop ALL) it keeps serving and logs one
// line the baselines never show (the fake's "read-only file system" line
// stands for a harmless permission warning at start-up).
var needsChownForLogs behaviour = func(t *corev1.PodTemplateSpec) outcome {
	c := ctr(t).Capabilities
	if c != nil && slices.Contains(c.Drop, "ALL") && !slices.Contains(c.Add, "CHOWN") {
		return logsError
	}
	return works
}

// TestRunIgnoreLogs: a capability kept only because of a log line is said
// so; declaring the line harmless in cinch.dev/ignore-logs drops it; an
// annotation that does not parse is ignored and the reason says so.
func TestRunIgnoreLogs(t *testing.T) {
	tests := []struct {
		name    string
		ignore  *string
		addBack map[string][]corev1.Capability
		kept    []string
		reason  string
	}{
		{name: "without the annotation CHOWN is kept, and the result says why", addBack: map[string][]corev1.Capability{"app": {"CHOWN"}},
			kept: []string{"kept only because of new log lines: capability CHOWN of container app (trial caps-c0-no-chown: ",
				`"fatal: open /var/lib/state: read-only file system" (container app, once at start-up, 1 line)`, hardening.AnnotationIgnoreLogs}},
		{name: "with the line declared harmless CHOWN is dropped", ignore: ptrTo("open /var/lib/state: read-only file system")},
		{name: "an anchored pattern works alike", ignore: ptrTo(`^fatal: open \S+: read-only file system$`)},
		{name: "an annotation that does not parse is ignored", ignore: ptrTo("^(fatal$"), addBack: map[string][]corev1.Capability{"app": {"CHOWN"}},
			kept: []string{"capability CHOWN of container app"}, reason: "annotation cinch.dev/ignore-logs ignored: invalid ignore-logs pattern: line 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmpl := template()
			if tt.ignore != nil {
				tmpl.Annotations = map[string]string{hardening.AnnotationIgnoreLogs: *tt.ignore}
			}
			p, err := New(testConfig(StrategyFrugal), &fakeCloner{}, fakeRecorder{b: needsChownForLogs}, nil)
			require.NoError(t, err)
			res, err := p.Run(t.Context(), Source{Namespace: "ns", Kind: "Deployment", Name: "web"}, tmpl, nil)
			require.NoError(t, err)
			require.Equal(t, OutcomeVerified, res.Outcome, res.Reason)
			assert.Equal(t, tt.addBack, res.AddBack)
			kept := res.KeptForLogs()
			if len(tt.kept) == 0 {
				assert.Empty(t, kept)
			}
			for _, s := range tt.kept {
				assert.Contains(t, kept, s)
			}
			if tt.reason != "" {
				assert.Contains(t, res.Reason, tt.reason)
			} else {
				assert.NotContains(t, res.Reason, "ignored")
			}
		})
	}
}

func ptrTo[T any](v T) *T { return &v }

// TestCheckResultLogsOnly: a check whose trial failed only on new log lines
// says so in its cinch.dev/checks entry; other failures keep their reasons.
func TestCheckResultLogsOnly(t *testing.T) {
	p, err := New(testConfig(StrategyFrugal), &fakeCloner{}, fakeRecorder{b: writeRoot}, nil)
	require.NoError(t, err)
	res, err := p.Run(t.Context(), Source{Namespace: "ns", Kind: "Deployment", Name: "web"}, template(), nil)
	require.NoError(t, err)
	byTrial := map[string]hardening.CheckResult{}
	for _, cr := range res.Checks() {
		byTrial[cr.Trial] = cr
	}
	ro := byTrial["ro-rootfs"]
	assert.False(t, ro.Pass)
	assert.True(t, strings.HasPrefix(ro.Reason, `kept only because of new log lines: "fatal: open /var/lib/state: read-only file system" (container app, once at start-up, 1 line); `+
		"stability, readiness, service answers and app metrics matched the baselines"), ro.Reason)
	assert.Contains(t, byTrial["everything"].Reason, "failed only because of new log lines: ")
	assert.Contains(t, res.KeptForLogs(), "read-only-root-filesystem (trial ro-rootfs: ")

	p, err = New(testConfig(StrategyFrugal), &fakeCloner{}, fakeRecorder{b: needRoot}, nil)
	require.NoError(t, err)
	res, err = p.Run(t.Context(), Source{Namespace: "ns", Kind: "Deployment", Name: "web"}, template(), nil)
	require.NoError(t, err)
	for _, cr := range res.Checks() {
		assert.NotContains(t, cr.Reason, "new log lines", cr.Trial)
	}
	assert.Empty(t, res.KeptForLogs())
}

func TestLogsOnly(t *testing.T) {
	pass := func(id string) oracle.TestResult { return oracle.TestResult{ID: id, Hard: true, Pass: true} }
	fail := func(id string) oracle.TestResult { return oracle.TestResult{ID: id, Hard: true} }
	soft := oracle.TestResult{ID: oracle.TestResources, Pass: false}
	tests := []struct {
		name  string
		tests []oracle.TestResult
		want  bool
	}{
		{"only logs failed", []oracle.TestResult{pass(oracle.TestStability), pass(oracle.TestReadiness), fail(oracle.TestLogs), soft, pass(oracle.TestServices)}, true},
		{"logs and stability failed", []oracle.TestResult{fail(oracle.TestStability), pass(oracle.TestReadiness), fail(oracle.TestLogs), pass(oracle.TestServices)}, false},
		{"logs and service answers failed", []oracle.TestResult{pass(oracle.TestStability), pass(oracle.TestReadiness), fail(oracle.TestLogs), fail(oracle.TestServices)}, false},
		{"logs passed", []oracle.TestResult{pass(oracle.TestStability), fail(oracle.TestReadiness), pass(oracle.TestLogs)}, false},
		{"early failure", []oracle.TestResult{fail(oracle.TestStability)}, false},
		{"logs alone, nothing else judged", []oracle.TestResult{fail(oracle.TestLogs)}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, ok := logsOnly(oracle.Verdict{Tests: tt.tests})
			assert.Equal(t, tt.want, ok)
		})
	}
}

func TestDescribeNewLines(t *testing.T) {
	ev := []oracle.Evidence{
		{Container: "app", Reason: "NewTemplate", Template: "WARN chown <*> operation not permitted", Count: 2, Occurrence: oracle.OccurrenceStartup, FirstLine: 3},
		{Container: "app", Reason: "NewTemplate", Template: "ERROR write <*> denied", Count: 40, Occurrence: oracle.OccurrenceRecurring, FirstLine: 9},
		{Container: "side", Reason: "NewTemplate", Template: "note " + strings.Repeat("x", 200), Count: 1, Occurrence: oracle.OccurrenceOnce, FirstLine: 120},
		{Container: "app", Reason: "NewLinesNotClustered", Count: 7},
	}
	got := describeNewLines(oracle.TestResult{Evidence: ev}, 2)
	assert.Equal(t, `"WARN chown <*> operation not permitted" (container app, once at start-up, 2 lines), `+
		`"ERROR write <*> denied" (container app, recurring, 40 lines), 1 more template, 7 more new lines not grouped`, got)
	got = describeNewLines(oracle.TestResult{Evidence: ev[2:3]}, 2)
	assert.Equal(t, `"note `+strings.Repeat("x", 155)+`…" (container side, once, at line 120, 1 line)`, got)
	assert.Equal(t, "why", describeNewLines(oracle.TestResult{Reason: "why"}, 2))
}

// TestRunToleratesStartupNovelty: under the namespace's log-novelty policy a
// line once at start-up no longer keeps CHOWN, and the result says which
// trial passed only thanks to the policy; without it, CHOWN is kept.
func TestRunToleratesStartupNovelty(t *testing.T) {
	for _, tolerate := range []bool{false, true} {
		p, err := New(testConfig(StrategyFrugal), &fakeCloner{}, fakeRecorder{b: needsChownForLogs}, nil)
		require.NoError(t, err)
		nr, err := p.RunNamespace(t.Context(), "ns", []Workload{{Ref: Ref{Kind: "Deployment", Name: "web"}, Template: template(), DependsOn: []Ref{}, TolerateStartupNovelty: tolerate}}, nil)
		require.NoError(t, err)
		require.Len(t, nr.Workloads, 1)
		res := nr.Workloads[0]
		require.Equal(t, OutcomeVerified, res.Outcome, res.Reason)
		if !tolerate {
			assert.Equal(t, map[string][]corev1.Capability{"app": {"CHOWN"}}, res.AddBack)
			assert.Empty(t, res.ToleratedLogs())
			assert.Contains(t, res.KeptForLogs(), "capability CHOWN")
			continue
		}
		assert.Empty(t, res.AddBack)
		assert.Equal(t, hardening.TrialNameEverything, res.VerifiedBy)
		assert.Empty(t, res.KeptForLogs())
		assert.Contains(t, res.ToleratedLogs(), `trial everything ("fatal: open /var/lib/state: read-only file system" (container app, once at start-up, 1 line))`)
		for _, cr := range res.Checks() {
			if cr.Trial == hardening.TrialNameEverything {
				assert.True(t, cr.Pass)
				assert.Contains(t, cr.Reason, "new log lines tolerated by the namespace's cinch.dev/log-novelty policy")
				assert.Contains(t, string(cr.Evidence), `"tolerated":true`)
			}
		}
	}
}
