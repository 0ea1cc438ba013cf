//go:build e2e

package e2e

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/cinch-dev/cinch/internal/clone"
	"github.com/cinch-dev/cinch/internal/pipeline"
	"github.com/cinch-dev/cinch/internal/pipeline/kube"
	"github.com/cinch-dev/cinch/internal/results"
	"github.com/cinch-dev/cinch/internal/worker"
	"github.com/cinch-dev/cinch/pkg/hardening"
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

func newHandler(t *testing.T, cs kubernetes.Interface, st pipeline.Strategy) *worker.Handler {
	cfg := pipeline.DefaultConfig()
	cfg.Duration, cfg.Strategy = recordingDuration(t), st
	p, err := pipeline.New(cfg, kube.Cloner{C: clone.New(cs, clone.DefaultOptions())},
		kube.Recorder{CS: cs, R: signals.NewRecorder(cs, signals.Options{})}, pipeline.NewMetrics(prometheus.NewRegistry()))
	require.NoError(t, err)
	return worker.NewHandler(cs, p, results.NewWriter(cs, "cinch-worker-e2e"))
}

// TestWorkerOneShot hardens scenario workloads end to end (real clones,
// containers, recordings and oracle) and checks the verdict of every check
// against the scenario's ground truth, and the annotations and Events
// written to the original workload. Select workloads with -run.
func TestWorkerOneShot(t *testing.T) {
	cs := KubeClient(t)
	tests := []struct {
		manifest string
		// mustFail are the checks the scenario cannot tolerate; every
		// other planned check must pass.
		mustFail []hardening.CheckID
	}{
		{"scenario-fine", nil},
		{"scenario-need-root", []hardening.CheckID{hardening.CheckRunAsNonRoot}},
		// The scenario image runs as root: a non-root uid cannot write
		// /var/lib or bind :80 either.
		{"scenario-write-root", []hardening.CheckID{hardening.CheckRunAsNonRoot, hardening.CheckReadOnlyRootFilesystem}},
		{"scenario-bind-80", []hardening.CheckID{hardening.CheckRunAsNonRoot}}, // drop-caps passes via the NET_BIND_SERVICE add-back
	}
	for _, tt := range tests {
		t.Run(tt.manifest, func(t *testing.T) {
			t.Parallel()
			ns := Namespace(t, cs, "e2e-worker", map[string]string{hardening.LabelHarden: hardening.HardenEnabled})
			d := CreateDeployment(t, cs, ns, WorkloadManifest(t, tt.manifest))
			h := newHandler(t, cs, pipeline.StrategyFrugal)
			ref := results.Ref{Namespace: ns, Kind: "Deployment", Name: d.Name}
			res, ann, err := h.Once(t.Context(), ref, true)
			require.NoError(t, err)
			var sb strings.Builder
			require.NoError(t, worker.Print(&sb, "table", ref, res, ann))
			t.Log("\n" + sb.String())

			for _, id := range res.Planned {
				want := true
				for _, f := range tt.mustFail {
					if f == id {
						want = false
					}
				}
				got := false
				for _, p := range res.Passed {
					if p == id {
						got = true
					}
				}
				if id == hardening.CheckDropAllCapabilities && len(res.AddBack) > 0 {
					got = true
				}
				if id == hardening.CheckRunAsGroup {
					continue // depends on the image user; reported, not asserted
				}
				assert.Equal(t, want, got, "check %s", id)
			}
			cur, err := cs.AppsV1().Deployments(ns).Get(t.Context(), d.Name, metav1.GetOptions{})
			require.NoError(t, err)
			assert.Equal(t, ann, pick(cur.Annotations, hardening.AnnotationPrefix))
			assert.Equal(t, string(res.Outcome), cur.Annotations[hardening.AnnotationStatus])
			evs, err := cs.CoreV1().Events(ns).List(t.Context(), metav1.ListOptions{FieldSelector: "involvedObject.name=" + d.Name})
			require.NoError(t, err)
			reasons := map[string]bool{}
			for _, e := range evs.Items {
				reasons[e.Reason] = true
			}
			assert.True(t, reasons[results.ReasonStarted], "started event")
			if tt.manifest == "scenario-fine" {
				assert.Equal(t, pipeline.OutcomeVerified, res.Outcome)
				assert.Equal(t, hardening.TrialNameEverything, res.VerifiedBy)
				assert.Len(t, res.Trials, 3, "a workload that tolerates everything costs three clones")
			}
			if res.Outcome == pipeline.OutcomeVerified {
				assert.True(t, reasons[results.ReasonVerified], "verified event")
			}
			if len(tt.mustFail) > 0 {
				assert.True(t, reasons[results.ReasonTrialFail], "trial failed event")
			}
			// Every clone is gone or going.
			nss, err := cs.CoreV1().Namespaces().List(t.Context(), metav1.ListOptions{LabelSelector: hardening.LabelCloneOf + "=" + ns})
			require.NoError(t, err)
			for _, n := range nss.Items {
				assert.NotNil(t, n.DeletionTimestamp, "clone %s not deleted", n.Name)
			}
		})
	}
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
