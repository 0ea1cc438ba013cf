//go:build integration

package worker

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"

	"github.com/cinch-dev/cinch/internal/jobs"
	"github.com/cinch-dev/cinch/internal/kubetest"
	"github.com/cinch-dev/cinch/internal/pipeline"
	"github.com/cinch-dev/cinch/internal/results"
	"github.com/cinch-dev/cinch/pkg/hardening"
)

func optedInNamespace(t *testing.T, cs kubernetes.Interface) string {
	return kubetest.Namespace(t, cs, "worker-it", map[string]string{hardening.LabelHarden: hardening.HardenEnabled})
}

func deployment(name string) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DeploymentSpec{
			Replicas: new(int32),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "docker.io/local/scenario:1", Args: []string{"fine"}}}},
			},
		},
	}
}

// cannedRunner returns a fixed result, after running during() (which may
// change the workload under the job's feet).
type cannedRunner struct {
	res    pipeline.Result
	during func(ctx context.Context)
	calls  int
	runs   [][]pipeline.Workload
}

func (r *cannedRunner) RunNamespace(ctx context.Context, ns string, wls []pipeline.Workload, obs pipeline.Observer) (pipeline.NamespaceResult, error) {
	r.calls++
	r.runs = append(r.runs, wls)
	if r.during != nil {
		r.during(ctx)
	}
	nr := pipeline.NamespaceResult{Namespace: ns}
	for _, w := range wls {
		res := r.res
		res.Workload = w.Ref
		for _, t := range res.Trials {
			t.Workload = w.Ref
			obs.TrialFinished(ctx, t)
		}
		nr.Workloads = append(nr.Workloads, res)
	}
	return nr, nil
}

func verifiedResult(tmpl *corev1.PodTemplateSpec) pipeline.Result {
	passed := []hardening.CheckID{hardening.CheckNoPrivilegeEscalation, hardening.CheckSeccompRuntimeDefault}
	rec := hardening.Combine(tmpl, passed, hardening.DefaultOptions(), nil)
	now := time.Now()
	return pipeline.Result{
		Outcome: pipeline.OutcomeVerified, Reason: "verified by trial combination", Recommendation: rec,
		Level: hardening.LevelBaseline, Passed: passed, VerifiedBy: "combination", Started: now, Ended: now,
		Trials: []pipeline.TrialResult{{Trial: hardening.Trial{Name: "non-root", Kind: hardening.TrialSingle,
			Checks: []hardening.CheckID{hardening.CheckRunAsNonRoot}}, Early: true, Started: now, Ended: now}},
	}
}

func TestHandlerIntegration(t *testing.T) {
	cs := kubetest.Client(t, kubetest.EnvIntegration)
	ns := optedInNamespace(t, cs)
	writer := results.NewWriter(cs, "cinch-worker-test")

	newJob := func(t *testing.T, name string) (jobs.Job, *appsv1.Deployment) {
		d, err := cs.AppsV1().Deployments(ns).Create(t.Context(), deployment(name), metav1.CreateOptions{})
		require.NoError(t, err)
		return jobs.Job{Version: 1, Namespace: ns, Kind: hardening.KindDeployment, Name: name, UID: string(d.UID),
			TemplateHash: hardening.TemplateHash(&d.Spec.Template), Reason: jobs.ReasonAdmission, EnqueuedAt: time.Now()}, d
	}
	get := func(t *testing.T, name string) *appsv1.Deployment {
		d, err := cs.AppsV1().Deployments(ns).Get(t.Context(), name, metav1.GetOptions{})
		require.NoError(t, err)
		return d
	}
	// setArgs changes the pod template (the deployment controller may write
	// the status in between: retry on conflicts).
	setArgs := func(ctx context.Context, name string, args ...string) (*appsv1.Deployment, error) {
		var d *appsv1.Deployment
		err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			cur, err := cs.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			cur.Spec.Template.Spec.Containers[0].Args = args
			d, err = cs.AppsV1().Deployments(ns).Update(ctx, cur, metav1.UpdateOptions{})
			return err
		})
		return d, err
	}

	t.Run("verified result is written with events", func(t *testing.T) {
		j, d := newJob(t, "verified")
		runner := &cannedRunner{res: verifiedResult(&d.Spec.Template)}
		var statusDuring string
		runner.during = func(ctx context.Context) {
			statusDuring = get(t, "verified").Annotations[hardening.AnnotationStatus]
		}
		h := NewHandler(cs, runner, writer)
		out, err := h.Process(t.Context(), j)
		require.NoError(t, err)
		assert.Equal(t, DispositionVerified, out)
		assert.Equal(t, string(hardening.StatusRunning), statusDuring)
		ann := get(t, "verified").Annotations
		assert.Equal(t, string(hardening.StatusVerified), ann[hardening.AnnotationStatus])
		assert.Equal(t, j.TemplateHash, ann[hardening.AnnotationTemplateHash])
		assert.Equal(t, hardening.LevelBaseline, ann[hardening.AnnotationPodSecurityLevel])
		rec, err := hardening.DecodeRecommendation(ann[hardening.AnnotationRecommendation])
		require.NoError(t, err)
		assert.Equal(t, runner.res.Recommendation, rec)
		checks, err := hardening.DecodeChecks(ann[hardening.AnnotationChecks])
		require.NoError(t, err)
		require.Len(t, checks, 1)
		assert.Equal(t, "non-root", checks[0].Trial)

		evs, err := cs.CoreV1().Events(ns).List(t.Context(), metav1.ListOptions{
			FieldSelector: fields.OneTermEqualSelector("involvedObject.name", "verified").String()})
		require.NoError(t, err)
		var reasons []string
		for _, e := range evs.Items {
			reasons = append(reasons, e.Reason)
		}
		assert.ElementsMatch(t, []string{results.ReasonStarted, results.ReasonTrialFail, results.ReasonVerified}, reasons)

		// The same job again is skipped: the annotations already hold it.
		out, err = h.Process(t.Context(), j)
		require.NoError(t, err)
		assert.Equal(t, DispositionSkipped, out)
		assert.Equal(t, 1, runner.calls)
	})

	t.Run("template changed during the run: superseded", func(t *testing.T) {
		j, d := newJob(t, "superseded")
		runner := &cannedRunner{res: verifiedResult(&d.Spec.Template), during: func(ctx context.Context) {
			_, err := setArgs(ctx, "superseded", "tmp-writer")
			require.NoError(t, err)
		}}
		out, err := NewHandler(cs, runner, writer).Process(t.Context(), j)
		require.NoError(t, err)
		assert.Equal(t, DispositionSuperseded, out)
		ann := get(t, "superseded").Annotations
		assert.Equal(t, string(hardening.StatusSuperseded), ann[hardening.AnnotationStatus])
		assert.NotContains(t, ann, hardening.AnnotationRecommendation)
	})

	t.Run("stale job for an older template is dropped", func(t *testing.T) {
		j, _ := newJob(t, "stale")
		j.TemplateHash = "0123456789abcdef"
		j.EnqueuedAt = time.Now().Add(-DefaultStoreWait) // past the store wait: no wait
		runner := &cannedRunner{}
		out, err := NewHandler(cs, runner, writer).Process(t.Context(), j)
		require.NoError(t, err)
		assert.Equal(t, DispositionSuperseded, out)
		assert.Equal(t, 0, runner.calls)
		assert.NotContains(t, get(t, "stale").Annotations, hardening.AnnotationStatus)
	})

	t.Run("workload gone or re-created", func(t *testing.T) {
		j, _ := newJob(t, "gone")
		j.EnqueuedAt = time.Now().Add(-DefaultStoreWait)
		require.NoError(t, cs.AppsV1().Deployments(ns).Delete(t.Context(), "gone", metav1.DeleteOptions{}))
		out, err := NewHandler(cs, &cannedRunner{}, writer).Process(t.Context(), j)
		require.NoError(t, err)
		assert.Equal(t, DispositionGone, out)

		_, err = cs.AppsV1().Deployments(ns).Create(t.Context(), deployment("gone"), metav1.CreateOptions{})
		require.NoError(t, err)
		out, err = NewHandler(cs, &cannedRunner{}, writer).Process(t.Context(), j)
		require.NoError(t, err)
		assert.Equal(t, DispositionGone, out, "a job for the old uid does not apply to the new object")
	})

	t.Run("job published before the API server stored the update", func(t *testing.T) {
		_, d := newJob(t, "early")
		next := d.DeepCopy()
		next.Spec.Template.Spec.Containers[0].Args = []string{"tmp-writer"}
		// The webhook's job for the update, read before the update is stored.
		j := jobs.Job{Version: 1, Namespace: ns, Kind: hardening.KindDeployment, Name: "early", UID: string(d.UID),
			TemplateHash: hardening.TemplateHash(&next.Spec.Template), Reason: jobs.ReasonAdmission, EnqueuedAt: time.Now()}
		go func() {
			time.Sleep(time.Second)
			_, err := setArgs(context.Background(), "early", "tmp-writer")
			assert.NoError(t, err)
		}()
		runner := &cannedRunner{res: verifiedResult(&next.Spec.Template)}
		out, err := NewHandler(cs, runner, writer).Process(t.Context(), j)
		require.NoError(t, err)
		assert.Equal(t, DispositionVerified, out, "the job waited for its template instead of being dropped as superseded")
		assert.Equal(t, 1, runner.calls)
		assert.Equal(t, j.TemplateHash, get(t, "early").Annotations[hardening.AnnotationTemplateHash])
	})

	t.Run("opted-out workload is skipped", func(t *testing.T) {
		j, _ := newJob(t, "optout")
		_, err := cs.AppsV1().Deployments(ns).Patch(t.Context(), "optout", types.MergePatchType,
			[]byte(`{"metadata":{"annotations":{"cinch.dev/harden":"disabled"}}}`), metav1.PatchOptions{})
		require.NoError(t, err)
		runner := &cannedRunner{}
		out, err := NewHandler(cs, runner, writer).Process(t.Context(), j)
		require.NoError(t, err)
		assert.Equal(t, DispositionSkipped, out)
		assert.Equal(t, 0, runner.calls)
	})

	t.Run("failed result removes an older recommendation", func(t *testing.T) {
		j, d := newJob(t, "failed")
		require.NoError(t, func() error {
			_, err := NewHandler(cs, &cannedRunner{res: verifiedResult(&d.Spec.Template)}, writer).Process(t.Context(), j)
			return err
		}())
		cur, err := setArgs(t.Context(), "failed", "write-root")
		require.NoError(t, err)
		j.TemplateHash = hardening.TemplateHash(&cur.Spec.Template)
		out, err := NewHandler(cs, &cannedRunner{res: pipeline.Result{Outcome: pipeline.OutcomeFailed, Reason: "combination failed"}}, writer).Process(t.Context(), j)
		require.NoError(t, err)
		assert.Equal(t, DispositionFailed, out)
		ann := get(t, "failed").Annotations
		assert.Equal(t, string(hardening.StatusFailed), ann[hardening.AnnotationStatus])
		assert.Equal(t, j.TemplateHash, ann[hardening.AnnotationTemplateHash])
		assert.NotContains(t, ann, hardening.AnnotationRecommendation)
		assert.NotContains(t, ann, hardening.AnnotationVerifiedAt)
	})
}

// capturePublisher records published jobs and deduplicates by message id
// like the stream does.
type capturePublisher struct {
	seen map[string]bool
	jobs []jobs.Job
}

func (p *capturePublisher) Publish(_ context.Context, j jobs.Job) (jobs.Ack, error) {
	id := jobs.MsgID(j.UID, j.TemplateHash)
	if p.seen[id] {
		return jobs.Ack{Duplicate: true}, nil
	}
	p.seen[id] = true
	p.jobs = append(p.jobs, j)
	return jobs.Ack{Sequence: uint64(len(p.jobs))}, nil
}

func TestResyncIntegration(t *testing.T) {
	cs := kubetest.Client(t, kubetest.EnvIntegration)
	// Other packages' tests share the API server and have opted-in
	// namespaces too: this resyncer touches only the namespace it made.
	run := fmt.Sprintf("resync-%d", time.Now().UnixNano())
	ns := kubetest.Namespace(t, cs, "worker-it", map[string]string{hardening.LabelHarden: hardening.HardenEnabled, "test.cinch.dev/run": run})
	other := optedInNamespace(t, cs)
	_, err := cs.AppsV1().Deployments(other).Create(t.Context(), deployment("untouched"), metav1.CreateOptions{})
	require.NoError(t, err)
	writer := results.NewWriter(cs, "cinch-worker-test")
	for _, name := range []string{"todo", "done", "optout"} {
		d := deployment(name)
		if name == "optout" {
			d.Annotations = map[string]string{hardening.LabelHarden: hardening.HardenDisabled}
		}
		_, err := cs.AppsV1().Deployments(ns).Create(t.Context(), d, metav1.CreateOptions{})
		require.NoError(t, err)
	}
	done, err := results.Get(t.Context(), cs, results.Ref{Namespace: ns, Kind: hardening.KindDeployment, Name: "done"})
	require.NoError(t, err)
	ann, err := results.Annotations(verifiedResult(done.Template), done.Hash, time.Now())
	require.NoError(t, err)
	_, err = writer.WriteResult(t.Context(), done.Ref, done.UID, done.Hash, ann)
	require.NoError(t, err)

	// An enforced workload (enforce mode): its template is the verified
	// recommendation applied, its annotations keep the verified hash and
	// name the enforced one. It is described, not re-queued.
	pre, err := cs.AppsV1().Deployments(ns).Create(t.Context(), deployment("enforced"), metav1.CreateOptions{})
	require.NoError(t, err)
	preHash := hardening.TemplateHash(&pre.Spec.Template)
	res := verifiedResult(&pre.Spec.Template)
	pre.Spec.Template = *res.Recommendation.Apply(&pre.Spec.Template)
	enf, err := cs.AppsV1().Deployments(ns).Update(t.Context(), pre, metav1.UpdateOptions{})
	require.NoError(t, err)
	enfAnn, err := results.Annotations(res, preHash, time.Now())
	require.NoError(t, err)
	enfAnn[hardening.AnnotationEnforcedTemplateHash] = hardening.TemplateHash(&enf.Spec.Template)
	require.NotEqual(t, preHash, enfAnn[hardening.AnnotationEnforcedTemplateHash])
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": enfAnn}})
	require.NoError(t, err)
	_, err = cs.AppsV1().Deployments(ns).Patch(t.Context(), "enforced", types.MergePatchType, patch, metav1.PatchOptions{})
	require.NoError(t, err)

	pub := &capturePublisher{seen: map[string]bool{}}
	m := NewMetrics(prometheusRegistry())
	r := NewResyncer(cs, pub, writer, time.Minute, m, WithNamespaceSelector("test.cinch.dev/run="+run))
	_, err = r.Pass(t.Context())
	require.NoError(t, err)
	for _, j := range pub.jobs {
		assert.Equal(t, ns, j.Namespace, "only the selected namespace is resynced")
	}
	untouched, err := cs.AppsV1().Deployments(other).Get(t.Context(), "untouched", metav1.GetOptions{})
	require.NoError(t, err)
	assert.NotContains(t, untouched.Annotations, hardening.AnnotationStatus, "an opted-in namespace outside the selector")
	var names []string
	for _, j := range pub.jobs {
		if j.Namespace == ns {
			names = append(names, j.Name)
			assert.Equal(t, jobs.ReasonResync, j.Reason)
		}
	}
	assert.Equal(t, []string{"todo"}, names)
	todo, err := results.Get(t.Context(), cs, results.Ref{Namespace: ns, Kind: hardening.KindDeployment, Name: "todo"})
	require.NoError(t, err)
	assert.Equal(t, hardening.StatusPending, todo.Status())
	assert.Equal(t, 3.0, gaugeValue(t, m.optedIn, ns))
	assert.Equal(t, 2.0, gaugeValue(t, m.verified, ns))
	assert.Equal(t, 1.0, gaugeValue(t, m.hardened, ns), "the enforced workload runs with its recommendation")

	// A second pass stores nothing new: the job id is the same.
	before := len(pub.jobs)
	_, err = r.Pass(t.Context())
	require.NoError(t, err)
	assert.Equal(t, before, len(pub.jobs))
}
