//go:build integration

package worker

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"

	"github.com/cinch-dev/cinch/internal/kubetest"
	"github.com/cinch-dev/cinch/internal/results"
	"github.com/cinch-dev/cinch/pkg/hardening"
)

// TestResyncWorkloadGapsIntegration: the resync pass sets one
// cinch_workload_hardened series per opted-in workload and a
// cinch_workload_missing_checks series per verified one, and deletes the
// series of workloads that are deleted or opted out and of namespaces that
// opt out; --workload-metrics=false sets none.
func TestResyncWorkloadGapsIntegration(t *testing.T) {
	cs := kubetest.Client(t, kubetest.EnvIntegration)
	run := fmt.Sprintf("gaps-%d", time.Now().UnixNano())
	ns := kubetest.Namespace(t, cs, "worker-it", map[string]string{hardening.LabelHarden: hardening.HardenEnabled, "test.cinch.dev/run": run})
	writer := results.NewWriter(cs, "cinch-worker-test")
	patchAnnotations := func(name string, ann map[string]string) {
		t.Helper()
		patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": ann}})
		require.NoError(t, err)
		_, err = cs.AppsV1().Deployments(ns).Patch(t.Context(), name, types.MergePatchType, patch, metav1.PatchOptions{})
		require.NoError(t, err)
	}

	for _, name := range []string{"todo", "verified", "optout"} {
		d := deployment(name)
		if name == "optout" {
			d.Annotations = map[string]string{hardening.LabelHarden: hardening.HardenDisabled}
		}
		_, err := cs.AppsV1().Deployments(ns).Create(t.Context(), d, metav1.CreateOptions{})
		require.NoError(t, err)
	}
	// verified: a verified recommendation (no-privilege-escalation, seccomp)
	// it does not run with yet.
	v, err := results.Get(t.Context(), cs, results.Ref{Namespace: ns, Kind: hardening.KindDeployment, Name: "verified"})
	require.NoError(t, err)
	ann, err := results.Annotations(verifiedResult(v.Template), v.Hash, time.Now())
	require.NoError(t, err)
	_, err = writer.WriteResult(t.Context(), v.Ref, v.UID, v.Hash, ann)
	require.NoError(t, err)
	// hardened: runs with it (the enforced form of the verified template).
	pre, err := cs.AppsV1().Deployments(ns).Create(t.Context(), deployment("hardened"), metav1.CreateOptions{})
	require.NoError(t, err)
	preHash := hardening.TemplateHash(&pre.Spec.Template)
	res := verifiedResult(&pre.Spec.Template)
	enforced := res.Recommendation.Apply(&pre.Spec.Template)
	var enf *appsv1.Deployment
	require.NoError(t, retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cur, err := cs.AppsV1().Deployments(ns).Get(t.Context(), "hardened", metav1.GetOptions{})
		if err != nil {
			return err
		}
		cur.Spec.Template = *enforced
		enf, err = cs.AppsV1().Deployments(ns).Update(t.Context(), cur, metav1.UpdateOptions{})
		return err
	}))
	enfAnn, err := results.Annotations(res, preHash, time.Now())
	require.NoError(t, err)
	enfAnn[hardening.AnnotationEnforcedTemplateHash] = hardening.TemplateHash(&enf.Spec.Template)
	patchAnnotations("hardened", enfAnn)

	reg := prometheusRegistry()
	m := NewMetrics(reg)
	r := NewResyncer(cs, nil, writer, time.Minute, m, WithNamespaceSelector("test.cinch.dev/run="+run))
	offReg := prometheusRegistry()
	off := NewResyncer(cs, nil, writer, time.Minute, NewMetrics(offReg), WithNamespaceSelector("test.cinch.dev/run="+run), WithWorkloadMetrics(false))
	pass := func() {
		t.Helper()
		_, err := r.Pass(t.Context())
		require.NoError(t, err)
	}
	key := func(name string) string { return ns + "/" + hardening.KindDeployment + "/" + name }

	pass()
	assert.Equal(t, map[string]float64{key("todo"): 0, key("verified"): 0, key("hardened"): 1},
		seriesOf(t, reg, "cinch_workload_hardened"), "one series per opted-in workload")
	assert.Equal(t, map[string]float64{key("verified"): 2, key("hardened"): 0},
		seriesOf(t, reg, "cinch_workload_missing_checks"), "only workloads with a verified recommendation")
	assert.Equal(t, 2.0, gaugeValue(t, m.verified, ns))
	assert.Equal(t, 1.0, gaugeValue(t, m.hardened, ns), "the namespace gauges agree")

	_, err = off.Pass(t.Context())
	require.NoError(t, err)
	assert.Empty(t, seriesOf(t, offReg, "cinch_workload_hardened"), "--workload-metrics=false")
	assert.Empty(t, seriesOf(t, offReg, "cinch_workload_missing_checks"))
	assert.Equal(t, 1.0, gaugeValue(t, off.metrics.hardened, ns), "the namespace gauges stay")

	// todo deleted, verified opted out: their series go.
	require.NoError(t, cs.AppsV1().Deployments(ns).Delete(t.Context(), "todo", metav1.DeleteOptions{}))
	patchAnnotations("verified", map[string]string{hardening.LabelHarden: hardening.HardenDisabled})
	pass()
	assert.Equal(t, map[string]float64{key("hardened"): 1}, seriesOf(t, reg, "cinch_workload_hardened"))
	assert.Equal(t, map[string]float64{key("hardened"): 0}, seriesOf(t, reg, "cinch_workload_missing_checks"))

	// The namespace opts out: no series of it is left.
	require.NoError(t, retry.RetryOnConflict(retry.DefaultRetry, func() error {
		nsObj, err := cs.CoreV1().Namespaces().Get(t.Context(), ns, metav1.GetOptions{})
		if err != nil {
			return err
		}
		delete(nsObj.Labels, hardening.LabelHarden)
		_, err = cs.CoreV1().Namespaces().Update(t.Context(), nsObj, metav1.UpdateOptions{})
		return err
	}))
	pass()
	assert.Empty(t, seriesOf(t, reg, "cinch_workload_hardened"))
	assert.Empty(t, seriesOf(t, reg, "cinch_workload_missing_checks"))
}
