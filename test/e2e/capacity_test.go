//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/cinch-dev/cinch/internal/pipeline"
	"github.com/cinch-dev/cinch/pkg/hardening"
)

// TestDisruptiveNodeAtPodLimit: capacity is not a verdict. The node is
// filled to its pod limit when a job starts (more filler pods than slots,
// so a slot that frees goes to a filler pod that was waiting first), and
// the trial pods cannot be scheduled ("Too many pods"). The run waits: the
// clones that found no room run again later, nothing is recorded as failed,
// and once room is made the workload gets exactly its ground truth. It
// fills the whole node, so it runs in the disruptive tier, alone.
func TestDisruptiveNodeAtPodLimit(t *testing.T) {
	cs := KubeClient(t)
	ctx := t.Context()
	nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	require.Len(t, nodes.Items, 1, "the local cluster has one node")
	node := nodes.Items[0]
	limit := node.Status.Allocatable.Pods().Value()

	ns := Namespace(t, cs, "e2e-podlimit", nil)
	fill := int32(limit) // whatever runs or terminates there already
	labels := map[string]string{"app": "filler"}
	_, err = cs.AppsV1().Deployments(ns).Create(ctx, &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "filler"},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(fill), Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					TerminationGracePeriodSeconds: ptr.To[int64](0),
					Containers:                    []corev1.Container{{Name: "pause", Image: "docker.io/local/pause:1", ImagePullPolicy: corev1.PullNever}},
				},
			},
		},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	filled := time.Now()
	WaitFor(t, 2*time.Second, 5*time.Minute, func(ctx context.Context) (bool, error) {
		return podsOnNode(t, cs, node.Name) >= limit, nil
	})
	t.Logf("node %s filled to its %d pods in %s", node.Name, limit, time.Since(filled).Round(time.Second))
	unfill := func() {
		_, err := cs.AppsV1().Deployments(ns).Patch(context.Background(), "filler", types.MergePatchType,
			[]byte(`{"spec":{"replicas":0}}`), metav1.PatchOptions{})
		assert.NoError(t, err)
	}
	defer unfill()

	var row groundTruthRow
	for _, r := range groundTruth {
		if r.manifest == "scenario-fine" {
			row = r
		}
	}
	ref := applyRow(t, cs, ns, row).Ref
	var requeued atomic.Int32
	log := funcr.New(func(prefix, args string) {
		if strings.Contains(args, "trial pods could not be scheduled") {
			requeued.Add(1)
			t.Logf("%s %s", prefix, args)
		}
	}, funcr.Options{})
	h := newHandler(t, pipeline.StrategyFrugal)
	type result struct {
		res pipeline.Result
		err error
	}
	done := make(chan result, 1)
	go func() {
		res, _, err := h.Once(logr.NewContext(ctx, log), ref, true)
		done <- result{res, err}
	}()

	// A trial pod waits for room, and its clone goes back to the queue.
	WaitFor(t, time.Second, 3*time.Minute, func(ctx context.Context) (bool, error) {
		return requeued.Load() > 0, nil
	})
	pending, err := cs.CoreV1().Pods("").List(ctx, metav1.ListOptions{FieldSelector: "status.phase=Pending"})
	require.NoError(t, err)
	var why []string
	for _, p := range pending.Items {
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse {
				why = append(why, fmt.Sprintf("%s/%s: %s", p.Namespace, p.Name, c.Message))
			}
		}
	}
	t.Logf("re-queued %d time(s); unschedulable now: %v", requeued.Load(), why)
	unfill()

	var r result
	select {
	case r = <-done:
	case <-time.After(8 * time.Minute):
		t.Fatal("the run did not end once room was made")
	}
	require.NoError(t, r.err)
	res := r.res
	assert.Equal(t, pipeline.OutcomeVerified, res.Outcome, res.Reason)
	assert.Equal(t, res.Planned, res.Passed, "no check was recorded as failed for want of room")
	for _, tr := range res.Trials {
		assert.True(t, tr.Verdict.Pass, "trial %s in %s: a clone without room is never judged", tr.Trial.Name, tr.Clone)
	}
	assert.Equal(t, hardening.TrialNameEverything, res.VerifiedBy)
	assertNoClones(t, cs, ns)
}

// podsOnNode counts the pods bound to node that hold a slot (not
// Succeeded or Failed).
func podsOnNode(t *testing.T, cs kubernetes.Interface, node string) int64 {
	t.Helper()
	pods, err := cs.CoreV1().Pods("").List(t.Context(), metav1.ListOptions{FieldSelector: "spec.nodeName=" + node})
	require.NoError(t, err)
	var n int64
	for _, p := range pods.Items {
		if p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed {
			n++
		}
	}
	return n
}
