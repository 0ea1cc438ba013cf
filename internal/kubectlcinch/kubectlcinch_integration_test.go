//go:build integration

package kubectlcinch

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes"

	"github.com/cinch-dev/cinch/internal/kubetest"
	"github.com/cinch-dev/cinch/pkg/hardening"
)

// TestPluginIntegration runs kubectl-cinch's commands against the real API
// server on an opted-in namespace with a workload without a result, a
// Failed one, a Verified one and one whose template changed after it was
// verified (apply refuses it), and applies a recommendation for real.
func TestPluginIntegration(t *testing.T) {
	p := newPlugin(t, "kcinch-it")
	cs, kubeconfig, ns, run := p.cs, p.kubeconfig, p.ns, p.run
	ctx := t.Context()

	createDeployment(t, cs, ns, "fresh")
	broken := createDeployment(t, cs, ns, "broken")
	good := createDeployment(t, cs, ns, "good")
	changed := createDeployment(t, cs, ns, "changed")
	createDaemonSet(t, cs, ns, "agent")

	checks := checksWithEvidence(t)
	annotate(t, cs, ns, "broken", failed(t, broken, checks[:3]))
	rec := fullRecommendation(t, good)
	annotate(t, cs, ns, "good", verified(t, good, rec, checks))
	annotate(t, cs, ns, "changed", verified(t, changed, fullRecommendation(t, changed), checks))
	_, err := cs.AppsV1().Deployments(ns).Patch(ctx, "changed", types.StrategicMergePatchType,
		[]byte(`{"spec":{"template":{"spec":{"containers":[{"name":"app","image":"docker.io/local/scenario:2"}]}}}}`), metav1.PatchOptions{})
	require.NoError(t, err)
	_, err = cs.CoreV1().Events(ns).Create(ctx, &corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{GenerateName: "broken."},
		InvolvedObject: corev1.ObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Namespace: ns, Name: "broken", UID: broken.UID},
		Reason:         "HardeningFailed", Message: "baselines never became Ready", Type: corev1.EventTypeWarning,
		FirstTimestamp: metav1.Now(), LastTimestamp: metav1.Now(), Count: 1,
		ReportingController: "cinch.dev/worker", ReportingInstance: "worker", Source: corev1.EventSource{Component: "worker"},
	}, metav1.CreateOptions{})
	require.NoError(t, err)

	t.Run("status", func(t *testing.T) {
		got := p.status(t)
		require.Len(t, got, 5)
		assert.Equal(t, StatusNone, got["Deployment/fresh"].Status)
		assert.Equal(t, StatusNone, got["DaemonSet/agent"].Status)
		assert.Equal(t, "Failed", got["Deployment/broken"].Status)
		assert.Equal(t, "Verified", got["Deployment/good"].Status, "the hash of the template as read matches the typed client's")
		assert.False(t, got["Deployment/good"].Hardened)
		assert.Equal(t, hardening.LevelBaseline, got["Deployment/good"].Level)
		assert.Equal(t, []string{"read-only-root-filesystem", "drop-all-capabilities"}, got["Deployment/good"].FailedChecks)
		assert.Equal(t, StatusOutdated, got["Deployment/changed"].Status)
		assert.Equal(t, "Verified", got["Deployment/changed"].ResultStatus)

		code, out, _ := run("status")
		require.Equal(t, ExitOK, code)
		t.Log("\n" + out)
		assert.Contains(t, out, "DaemonSet    agent")

		code, _, errOut := run("status", "--fail-below", "restricted")
		assert.Equal(t, ExitNotMet, code)
		assert.Contains(t, errOut, "Deployment/"+ns+"/broken (Failed, template baseline)")
		assert.Contains(t, errOut, "Deployment/"+ns+"/good (verified baseline)")
	})

	t.Run("status -A", func(t *testing.T) {
		var out, errOut bytes.Buffer
		app := &App{Streams: genericiooptions.IOStreams{In: &bytes.Buffer{}, Out: &out, ErrOut: &errOut}}
		code := app.Main(ctx, []string{"status", "-A", "-o", "json", "--kubeconfig", kubeconfig})
		require.Equal(t, ExitOK, code, errOut.String())
		var l StatusList
		require.NoError(t, json.Unmarshal(out.Bytes(), &l))
		var mine []string
		for _, r := range l.Workloads {
			if r.Namespace == ns {
				mine = append(mine, r.Kind+"/"+r.Name)
			}
		}
		// Other tests' opted-in namespaces may be listed too.
		assert.Equal(t, []string{"Deployment/broken", "Deployment/changed", "Deployment/fresh", "Deployment/good", "DaemonSet/agent"}, mine)
	})

	t.Run("explain", func(t *testing.T) {
		code, out, errOut := run("explain", "deploy/broken")
		require.Equal(t, ExitOK, code, errOut)
		t.Log("\n" + out)
		assert.Contains(t, out, "Failed: Cinch could not finish for the current template")
		assert.Contains(t, out, `example: 2026/12/04 08:00:01 [emerg] 1#1: open() "/var/cache/nginx/client_temp" failed (30: Read-only file system)`)
		assert.Contains(t, out, "HardeningFailed: baselines never became Ready")

		code, out, _ = run("explain", "deployment", "good")
		require.Equal(t, ExitOK, code)
		assert.Contains(t, out, "CHOWN: needed: without it the workload failed")
	})

	t.Run("diff", func(t *testing.T) {
		code, out, _ := run("diff", "deploy/good")
		assert.Equal(t, ExitNotMet, code)
		assert.Contains(t, out, "+    allowPrivilegeEscalation: false")
		code, _, errOut := run("diff", "deploy/fresh")
		assert.Equal(t, ExitError, code)
		assert.Contains(t, errOut, "has no Cinch result yet")
	})

	t.Run("apply refuses", func(t *testing.T) {
		before, err := cs.AppsV1().Deployments(ns).Get(ctx, "changed", metav1.GetOptions{})
		require.NoError(t, err)
		code, _, errOut := run("apply", "deploy/changed")
		assert.Equal(t, ExitNotMet, code)
		assert.Contains(t, errOut, "changed after Cinch's result")
		code, _, errOut = run("apply", "deploy/fresh")
		assert.Equal(t, ExitNotMet, code)
		assert.Contains(t, errOut, "has no Cinch result yet")
		code, _, errOut = run("apply", "deploy/broken")
		assert.Equal(t, ExitNotMet, code)
		assert.Contains(t, errOut, "could not verify a recommendation")
		after, err := cs.AppsV1().Deployments(ns).Get(ctx, "changed", metav1.GetOptions{})
		require.NoError(t, err)
		assert.Equal(t, before.ResourceVersion, after.ResourceVersion, "nothing sent")
	})

	t.Run("apply", func(t *testing.T) {
		before, err := cs.AppsV1().Deployments(ns).Get(ctx, "good", metav1.GetOptions{})
		require.NoError(t, err)
		code, out, errOut := run("apply", "deploy/good", "--dry-run=server")
		require.Equal(t, ExitOK, code, errOut)
		assert.Contains(t, out, "deployment.apps/good patched (server dry run)")
		assert.Contains(t, out, "+    allowPrivilegeEscalation: false")
		cur, err := cs.AppsV1().Deployments(ns).Get(ctx, "good", metav1.GetOptions{})
		require.NoError(t, err)
		assert.Equal(t, before.ResourceVersion, cur.ResourceVersion, "a server dry run stores nothing")

		code, out, errOut = run("apply", "deploy/good")
		require.Equal(t, ExitOK, code, errOut)
		assert.Equal(t, "deployment.apps/good patched\n", out)
		cur, err = cs.AppsV1().Deployments(ns).Get(ctx, "good", metav1.GetOptions{})
		require.NoError(t, err)
		assert.Empty(t, hardening.Weaker(rec, &cur.Spec.Template), "runs with the recommendation")
		assert.Equal(t, before.Spec.Template.Spec.Containers[0].Image, cur.Spec.Template.Spec.Containers[0].Image)
		// The template changed, so the result describes the old one until
		// Cinch verifies the new one.
		code, out, _ = run("status", "-o", "json")
		require.Equal(t, ExitOK, code)
		assert.Contains(t, out, `"name": "good",`+"\n"+`      "status": "Outdated"`)
	})

	t.Run("apply guarded by resourceVersion", func(t *testing.T) {
		cl, err := NewClient(kubetest.Config(t, kubetest.EnvIntegration))
		require.NoError(t, err)
		d := createDeployment(t, cs, ns, "raced")
		annotate(t, cs, ns, "raced", verified(t, d, fullRecommendation(t, d), checks))
		w, err := cl.Get(ctx, ns, Target{Kind: hardening.KindDeployment, Name: "raced"})
		require.NoError(t, err)
		plan, err := PlanApply(w)
		require.NoError(t, err)
		_, err = cs.AppsV1().Deployments(ns).Patch(ctx, "raced", types.StrategicMergePatchType,
			[]byte(`{"spec":{"template":{"spec":{"containers":[{"name":"app","image":"docker.io/local/scenario:3"}]}}}}`), metav1.PatchOptions{})
		require.NoError(t, err)
		_, err = cl.Patch(ctx, w, plan.Patch, false)
		assert.True(t, apierrors.IsConflict(err), "a template changed after the read is never patched: %v", err)
	})
}

// plugin is an opted-in namespace of the integration API server and
// kubectl-cinch run against it.
type plugin struct {
	cs         kubernetes.Interface
	kubeconfig string
	ns         string
	// run runs kubectl-cinch with args in ns and returns its exit code,
	// stdout and stderr.
	run func(args ...string) (int, string, string)
}

// newPlugin makes an opted-in namespace named after prefix.
func newPlugin(t *testing.T, prefix string) plugin {
	t.Helper()
	cs := kubetest.Client(t, kubetest.EnvIntegration)
	p := plugin{
		cs:         cs,
		kubeconfig: kubetest.Kubeconfig(t, kubetest.EnvIntegration),
		ns:         kubetest.Namespace(t, cs, prefix, map[string]string{hardening.LabelHarden: hardening.HardenEnabled}),
	}
	p.run = func(args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		app := &App{Streams: genericiooptions.IOStreams{In: &bytes.Buffer{}, Out: &out, ErrOut: &errOut}}
		code := app.Main(t.Context(), append(args, "--kubeconfig", p.kubeconfig, "-n", p.ns))
		return code, out.String(), errOut.String()
	}
	return p
}

// status runs status -o json and returns its rows by KIND/NAME.
func (p plugin) status(t *testing.T) map[string]Row {
	t.Helper()
	code, out, errOut := p.run("status", "-o", "json")
	require.Equal(t, ExitOK, code, errOut)
	var l StatusList
	require.NoError(t, json.Unmarshal([]byte(out), &l))
	got := map[string]Row{}
	for _, r := range l.Workloads {
		got[r.Kind+"/"+r.Name] = r
	}
	return got
}

func createDeployment(t *testing.T, cs kubernetes.Interface, ns, name string) *appsv1.Deployment {
	t.Helper()
	d := deployment(nil)
	d.ResourceVersion, d.UID, d.Namespace, d.Name = "", "", ns, name
	d.Spec.Replicas = new(int32)
	d.Spec.Selector.MatchLabels = map[string]string{"app": name}
	d.Spec.Template.Labels = map[string]string{"app": name}
	d.Spec.Template.Spec.Containers[0].Image = "docker.io/local/scenario:1"
	out, err := cs.AppsV1().Deployments(ns).Create(t.Context(), d, metav1.CreateOptions{})
	require.NoError(t, err)
	return out
}

func createDaemonSet(t *testing.T, cs kubernetes.Interface, ns, name string) {
	t.Helper()
	labels := map[string]string{"app": name}
	_, err := cs.AppsV1().DaemonSets(ns).Create(t.Context(), &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DaemonSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					NodeSelector: map[string]string{"cinch.dev/no-such-node": "true"}, // no pods
					Containers:   []corev1.Container{{Name: "agent", Image: "docker.io/local/scenario:1"}},
				},
			},
		},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
}

// annotate writes a result the way the worker does: a merge patch of
// annotations only.
func annotate(t *testing.T, cs kubernetes.Interface, ns, name string, ann map[string]string) {
	t.Helper()
	body, err := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": ann}})
	require.NoError(t, err)
	_, err = cs.AppsV1().Deployments(ns).Patch(t.Context(), name, types.MergePatchType, body, metav1.PatchOptions{})
	require.NoError(t, err)
}
