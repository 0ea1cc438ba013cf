//go:build e2e

package e2e

import (
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/testr"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/cinch-dev/cinch/internal/clone"
	"github.com/cinch-dev/cinch/internal/kubetest"
	"github.com/cinch-dev/cinch/internal/monitors"
	"github.com/cinch-dev/cinch/internal/pipeline"
	"github.com/cinch-dev/cinch/internal/pipeline/kube"
	"github.com/cinch-dev/cinch/internal/results"
	"github.com/cinch-dev/cinch/internal/worker"
	"github.com/cinch-dev/cinch/pkg/hardening"
	"github.com/cinch-dev/cinch/pkg/oracle"
	"github.com/cinch-dev/cinch/pkg/signals"
)

func recordingDuration(t *testing.T) time.Duration {
	if s := os.Getenv("CINCH_E2E_R"); s != "" {
		d, err := time.ParseDuration(s)
		require.NoError(t, err)
		return d
	}
	return 15 * time.Second
}

// newHandler builds a one-shot worker with its own API client (and so its own
// client-side rate limit), as every worker process has, reading the metrics
// endpoints monitors declare as the worker does.
func newHandler(t *testing.T, st pipeline.Strategy) *worker.Handler {
	cs := KubeClient(t)
	cfg := pipeline.DefaultConfig()
	cfg.Duration, cfg.Strategy = recordingDuration(t), st
	p, err := pipeline.New(cfg, kube.Cloner{C: clone.New(cs, clone.DefaultOptions())},
		kube.Recorder{CS: cs, R: signals.NewRecorder(cs, signals.Options{})}, pipeline.NewMetrics(prometheus.NewRegistry()))
	require.NoError(t, err)
	return worker.NewHandler(cs, p, results.NewWriter(cs, "cinch-worker-e2e"),
		worker.WithMetricsDiscovery(monitors.NewReader(kubetest.Dynamic(t, kubetest.EnvE2E), cs)))
}

// groundTruth is test/workloads/README.md's table: the checks each scenario
// workload cannot tolerate, and the capabilities the add-back search must
// find when drop-all-capabilities alone breaks it (sorted).
type groundTruthRow struct {
	// manifest is "NAME" for test/workloads/manifests/NAME.yaml and its
	// one workload, or "NAME/WORKLOAD" for one of several.
	manifest string
	mustFail []hardening.CheckID
	addBack  []corev1.Capability
}

var groundTruth = []groundTruthRow{
	{"scenario-fine", nil, nil},
	{"scenario-tmp-writer", nil, nil},
	{"scenario-need-root", []hardening.CheckID{hardening.CheckRunAsNonRoot}, nil},
	{"scenario-write-root", []hardening.CheckID{hardening.CheckRunAsNonRoot, hardening.CheckReadOnlyRootFilesystem}, nil},
	{"scenario-bind-80", []hardening.CheckID{hardening.CheckRunAsNonRoot}, []corev1.Capability{"NET_BIND_SERVICE"}},
	{"scenario-chown", []hardening.CheckID{hardening.CheckRunAsNonRoot}, []corev1.Capability{"CHOWN"}},
	// A harmless warning once at start-up (chown of its PID file) keeps
	// CHOWN and root, only because of that log line; declared harmless in
	// cinch.dev/ignore-logs, both are dropped.
	{"scenario-startup-warn", []hardening.CheckID{hardening.CheckRunAsNonRoot}, []corev1.Capability{"CHOWN"}},
	{"scenario-startup-warn-ignored", nil, nil},
	{"scenario-setuid", []hardening.CheckID{hardening.CheckNoPrivilegeEscalation}, nil},
	{"scenario-conn-spool", []hardening.CheckID{hardening.CheckRunAsNonRoot, hardening.CheckReadOnlyRootFilesystem}, nil},
	{"scenario-http-500", []hardening.CheckID{hardening.CheckRunAsNonRoot, hardening.CheckReadOnlyRootFilesystem}, nil},
	// Under a read-only root filesystem these answer their clients
	// differently and nothing else shows it: 200 with the same headers and
	// an empty body; SERVFAIL on the DNS port and ICMP port unreachable on
	// the UDP sink (TC-05 only).
	{"scenario-empty-body", []hardening.CheckID{hardening.CheckReadOnlyRootFilesystem}, nil},
	{"scenario-udp-dns", []hardening.CheckID{hardening.CheckReadOnlyRootFilesystem}, nil},
	// Under a read-only root filesystem it answers, logs and stays Ready as
	// before, but counts cache write errors in its own /metrics (TC-06 only).
	{"scenario-metrics-errors", []hardening.CheckID{hardening.CheckReadOnlyRootFilesystem}, nil},
	// The same, its endpoint declared only by a PodMonitor, or by a
	// ServiceMonitor through its Service (no prometheus.io annotations).
	{"scenario-metrics-podmonitor", []hardening.CheckID{hardening.CheckReadOnlyRootFilesystem}, nil},
	{"scenario-metrics-servicemonitor", []hardening.CheckID{hardening.CheckReadOnlyRootFilesystem}, nil},
	{"nginx-stock", []hardening.CheckID{hardening.CheckRunAsNonRoot, hardening.CheckReadOnlyRootFilesystem}, []corev1.Capability{"CHOWN", "NET_BIND_SERVICE", "SETGID", "SETUID"}},
	// Every planned check fails at start-up: the verified recommendation is
	// the workload's own settings (it already drops ALL).
	{"scenario-fragile", []hardening.CheckID{hardening.CheckRunAsNonRoot, hardening.CheckRunAsGroup, hardening.CheckReadOnlyRootFilesystem,
		hardening.CheckNoPrivilegeEscalation, hardening.CheckSeccompRuntimeDefault}, nil},
	{"nginx-unprivileged", []hardening.CheckID{hardening.CheckReadOnlyRootFilesystem}, nil},
	{"nginx-unprivileged-tmp", nil, nil},
	{"redis", nil, nil},
	// drop-all alone breaks memcached (-u memcache needs SETUID/SETGID as
	// root), but not together with run-as-non-root: a non-root memcached
	// ignores -u, so the "everything" trial passes and nothing is added back.
	{"memcached", nil, nil},
	// Workloads that need the cluster's add-ons. redis-persistent writes its
	// append-only file to a volume of the default StorageClass, which only
	// root may write (hostPath: 0750 root:root, fsGroup not applied).
	{"redis-persistent", []hardening.CheckID{hardening.CheckRunAsNonRoot}, nil},
	// The frontend calls the backend by DNS name; each is hardened in a
	// clone of the whole namespace.
	{"two-tier/frontend", nil, nil},
	{"two-tier/backend", nil, nil},
	// Lists nodes with its ServiceAccount's ClusterRoleBinding, which the
	// clones copy.
	{"api-reader", nil, nil},
	// Run-to-completion workloads, judged by how their Job ends.
	{"batch-fine", nil, nil},
	{"batch-write-root", []hardening.CheckID{hardening.CheckRunAsNonRoot, hardening.CheckReadOnlyRootFilesystem}, nil},
	{"batch-chown", []hardening.CheckID{hardening.CheckRunAsNonRoot}, []corev1.Capability{"CHOWN"}},
	// Exits with code 3 under a read-only root and prints nothing.
	{"batch-silent", []hardening.CheckID{hardening.CheckReadOnlyRootFilesystem}, nil},
	{"cron-write-root", []hardening.CheckID{hardening.CheckRunAsNonRoot, hardening.CheckReadOnlyRootFilesystem}, nil},
}

// caughtAlone names, for the rows whose failing checks only one oracle test
// sees, that test: the single trial of each check in the row's mustFail
// fails it and passes every other hard test.
var caughtAlone = map[string]string{
	"scenario-metrics-errors":         oracle.TestMetrics,
	"scenario-metrics-podmonitor":     oracle.TestMetrics,
	"scenario-metrics-servicemonitor": oracle.TestMetrics,
}

// tolerantTruth holds the rows whose ground truth differs in a namespace
// whose cinch.dev/log-novelty policy tolerates start-up-only novelty: the
// harmless start-up warning keeps neither root nor CHOWN there.
var tolerantTruth = map[string]groundTruthRow{
	"scenario-startup-warn": {manifest: "scenario-startup-warn"},
}

// strategies returns the scheduling strategies the one-shot test runs, from
// CINCH_E2E_STRATEGIES (comma separated; default frugal).
func strategies(t *testing.T) []pipeline.Strategy {
	v := os.Getenv("CINCH_E2E_STRATEGIES")
	if v == "" {
		return []pipeline.Strategy{pipeline.StrategyFrugal}
	}
	var out []pipeline.Strategy
	for _, f := range strings.Split(v, ",") {
		st, err := pipeline.ParseStrategy(strings.TrimSpace(f))
		require.NoError(t, err)
		out = append(out, st)
	}
	return out
}

// TestWorkerOneShot hardens every scenario workload end to end (real clones,
// containers, recordings, service probes and oracle) under each strategy of
// CINCH_E2E_STRATEGIES and checks the verdict of every planned check against
// the ground truth, the add-back set, the annotations and Events written to
// the original workload, that no clone is left, and that every strategy
// recommends exactly the same settings. Select workloads with -run
// TestWorkerOneShot/NAME; run several at once with -parallel. With
// CINCH_E2E_LOG_NOVELTY=tolerate-start-up every row runs in a namespace with
// that log-novelty policy and is held to its tolerant ground truth: the
// measurement of which verdicts the policy changes.
func TestWorkerOneShot(t *testing.T) {
	cs := KubeClient(t)
	sts := strategies(t)
	policy := os.Getenv("CINCH_E2E_LOG_NOVELTY")
	for _, tt := range groundTruth {
		t.Run(tt.manifest, func(t *testing.T) {
			t.Parallel()
			var first string
			for _, st := range sts {
				ann := hardenOnce(t, cs, tt, st, policy)
				if first == "" {
					first = ann[hardening.AnnotationRecommendation]
					continue
				}
				assert.JSONEq(t, first, ann[hardening.AnnotationRecommendation], "strategy %s recommends what %s does", st, sts[0])
			}
		})
	}
}

// hardenOnce runs the one-shot worker with strategy st on a fresh copy of
// the manifest, checks the result against the ground truth and returns the
// annotations it wrote.
func hardenOnce(t *testing.T, cs kubernetes.Interface, tt groundTruthRow, st pipeline.Strategy, policy string) map[string]string {
	t.Helper()
	tolerant, err := hardening.ParseLogNovelty(policy)
	require.NoError(t, err, "CINCH_E2E_LOG_NOVELTY")
	mustFail, addBack := tt.mustFail, tt.addBack
	tr, differs := tolerantTruth[tt.manifest]
	if tolerant && differs {
		mustFail, addBack = tr.mustFail, tr.addBack
	}
	// Not opted in: the one-shot mode needs no opt-in, and an opted-in
	// namespace would also be hardened by any Cinch installed in the cluster.
	ns := Namespace(t, cs, "e2e-worker", nil)
	if policy != "" {
		n, err := cs.CoreV1().Namespaces().Get(t.Context(), ns, metav1.GetOptions{})
		require.NoError(t, err)
		n.Annotations = map[string]string{hardening.AnnotationLogNovelty: policy}
		_, err = cs.CoreV1().Namespaces().Update(t.Context(), n, metav1.UpdateOptions{})
		require.NoError(t, err)
	}
	ref := applyRow(t, cs, ns, tt).Ref
	h := newHandler(t, st)
	ctx := logr.NewContext(t.Context(), testr.NewWithOptions(t, testr.Options{Verbosity: 0}))
	res, ann, err := h.Once(ctx, ref, true)
	require.NoError(t, err)
	var sb strings.Builder
	require.NoError(t, worker.Print(&sb, "table", ref, res, ann))
	t.Logf("strategy %s:\n%s", st, sb.String())

	// Every workload tolerates some check (seccomp at least).
	assert.Equal(t, pipeline.OutcomeVerified, res.Outcome, res.Reason)
	for _, id := range res.Planned {
		if id == hardening.CheckDropAllCapabilities && addBack != nil {
			assert.NotContains(t, res.Passed, id, "drop-all-capabilities alone must fail")
			continue
		}
		assert.Equal(t, !slices.Contains(mustFail, id), slices.Contains(res.Passed, id), "check %s", id)
	}
	if id, ok := caughtAlone[tt.manifest]; ok {
		assertCaughtAlone(t, res, mustFail, id)
	}
	var found []corev1.Capability
	for _, caps := range res.AddBack {
		found = append(found, caps...)
	}
	slices.Sort(found)
	if addBack == nil {
		assert.Empty(t, found, "no add-back expected")
	} else {
		assert.Equal(t, addBack, found, "add-back set")
	}

	cur, err := results.Get(t.Context(), cs, ref)
	require.NoError(t, err)
	assert.Equal(t, ann, pick(cur.Annotations, hardening.AnnotationPrefix))
	assert.Equal(t, string(res.Outcome), cur.Annotations[hardening.AnnotationStatus])
	evs, err := cs.CoreV1().Events(ns).List(t.Context(), metav1.ListOptions{FieldSelector: "involvedObject.name=" + ref.Name})
	require.NoError(t, err)
	reasons := map[string]bool{}
	var verified string
	for _, e := range evs.Items {
		reasons[e.Reason] = true
		if e.Reason == results.ReasonVerified {
			verified = e.Message
		}
	}
	assert.True(t, reasons[results.ReasonStarted], "started event")
	assert.True(t, reasons[results.ReasonVerified], "verified event")
	if len(mustFail) > 0 || addBack != nil {
		assert.True(t, reasons[results.ReasonTrialFail], "trial failed event")
	}
	if tolerant && differs {
		assert.Contains(t, verified, "new log lines tolerated by the namespace's cinch.dev/log-novelty policy", "the Event says what the policy let through")
	}
	if len(mustFail) == 0 && addBack == nil && st == pipeline.StrategyFrugal {
		assert.Equal(t, hardening.TrialNameEverything, res.VerifiedBy)
		assert.Len(t, res.Trials, 3, "a workload that tolerates everything costs three clones")
	}
	assertNoClones(t, cs, ns)
	assertNoCopiesLeft(t, cs, ns)
	if ref.Kind == hardening.KindCronJob {
		jobs, err := cs.BatchV1().Jobs(ns).List(t.Context(), metav1.ListOptions{})
		require.NoError(t, err)
		assert.Empty(t, jobs.Items, "the CronJob never ran: its trials ran as Jobs in the clones only")
	}
	return ann
}

// assertCaughtAlone checks that the single trial of each check of mustFail
// failed oracle test id and no other hard test.
func assertCaughtAlone(t *testing.T, res pipeline.Result, mustFail []hardening.CheckID, id string) {
	t.Helper()
	seen := 0
	for _, tr := range res.Trials {
		if tr.Trial.Kind != hardening.TrialSingle || !slices.Contains(mustFail, tr.Trial.Checks[0]) {
			continue
		}
		seen++
		r := spResult(tr.Verdict, id)
		assert.Equal(t, id, r.ID, "trial %s was judged on %s", tr.Trial.Name, id)
		assert.False(t, r.Pass, "trial %s fails %s", tr.Trial.Name, id)
		assert.True(t, passWithout(tr.Verdict, id), "trial %s fails %s alone: %+v", tr.Trial.Name, id, tr.Verdict.Tests)
		for _, e := range r.Evidence {
			t.Logf("trial %s: %s %s: %s", tr.Trial.Name, id, r.Reason, e.Message)
		}
	}
	assert.Equal(t, len(mustFail), seen, "a single trial of every check that must fail")
}

// applyRow creates the objects of the row's manifest in ns and returns the
// workload to harden, as the API server stored it.
func applyRow(t *testing.T, cs kubernetes.Interface, ns string, tt groundTruthRow) results.Workload {
	t.Helper()
	file, name, _ := strings.Cut(tt.manifest, "/")
	m := ReadManifest(t, file)
	m.Apply(t, cs, ns)
	return rowWorkload(t, cs, ns, m, file, name)
}

// rowWorkload reads the workload name of manifest m (its only one when name
// is empty) from namespace ns.
func rowWorkload(t *testing.T, cs kubernetes.Interface, ns string, m Manifest, file, name string) results.Workload {
	t.Helper()
	ref := results.Ref{Namespace: ns}
	for _, d := range m.Deployments {
		if name == "" || d.Name == name {
			ref.Kind, ref.Name = hardening.KindDeployment, d.Name
		}
	}
	for _, s := range m.StatefulSets {
		if name == "" || s.Name == name {
			ref.Kind, ref.Name = hardening.KindStatefulSet, s.Name
		}
	}
	for _, j := range m.Jobs {
		if name == "" || j.Name == name {
			ref.Kind, ref.Name = hardening.KindJob, j.Name
		}
	}
	for _, c := range m.CronJobs {
		if name == "" || c.Name == name {
			ref.Kind, ref.Name = hardening.KindCronJob, c.Name
		}
	}
	require.NotEmpty(t, ref.Name, "no workload %q in %s.yaml", name, file)
	wl, err := results.Get(t.Context(), cs, ref)
	require.NoError(t, err)
	return wl
}

func pick(m map[string]string, prefix string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		if strings.HasPrefix(k, prefix) && k != hardening.LabelHarden {
			out[k] = v
		}
	}
	return out
}

// TestWorkerLogNoveltyPolicy: in a namespace whose cinch.dev/log-novelty
// policy tolerates start-up-only novelty, the harmless start-up warning no
// longer keeps root and CHOWN, and the Event says why.
func TestWorkerLogNoveltyPolicy(t *testing.T) {
	i := slices.IndexFunc(groundTruth, func(r groundTruthRow) bool { return r.manifest == "scenario-startup-warn" })
	require.GreaterOrEqual(t, i, 0)
	hardenOnce(t, KubeClient(t), groundTruth[i], pipeline.StrategyFrugal, hardening.LogNoveltyTolerateStartup)
}
