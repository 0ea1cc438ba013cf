package worker

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/cinch-dev/cinch/internal/jobs"
	"github.com/cinch-dev/cinch/internal/pipeline"
	"github.com/cinch-dev/cinch/internal/results"
	"github.com/cinch-dev/cinch/pkg/hardening"
)

// nopRunner fails the test when a trial pipeline is started.
type nopRunner struct{ t *testing.T }

func (r nopRunner) RunNamespace(context.Context, string, []pipeline.Workload, pipeline.Observer) (pipeline.NamespaceResult, error) {
	r.t.Fatal("no pipeline expected")
	return pipeline.NamespaceResult{}, nil
}

// TestProcessStoreWait: the webhook publishes during admission, before the
// API server stores the object, so a fast worker may read a job's workload
// before it exists. A young job waits for it; an old one is gone.
func TestProcessStoreWait(t *testing.T) {
	tmpl := corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "app:1"}}}}
	dep := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "web", UID: types.UID("uid-1")},
		Spec:       appsv1.DeploymentSpec{Template: tmpl},
	}
	job := func(age time.Duration) jobs.Job {
		return jobs.Job{Version: 1, Namespace: "team", Kind: hardening.KindDeployment, Name: "web", UID: "uid-1",
			TemplateHash: hardening.TemplateHash(&tmpl), Reason: jobs.ReasonAdmission, EnqueuedAt: time.Now().Add(-age)}
	}
	// The namespace is not opted in: a found workload ends Skipped, a
	// missing one Gone.
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team"}}
	newHandler := func(t *testing.T, opts ...HandlerOption) (*fake.Clientset, *Handler) {
		cs := fake.NewClientset(ns)
		return cs, NewHandler(cs, nopRunner{t}, results.NewWriter(cs, "test"), opts...)
	}

	t.Run("young job waits for its workload", func(t *testing.T) {
		cs, h := newHandler(t)
		go func() {
			time.Sleep(500 * time.Millisecond)
			_, err := cs.AppsV1().Deployments("team").Create(context.Background(), dep.DeepCopy(), metav1.CreateOptions{})
			assert.NoError(t, err)
		}()
		out, err := h.Process(t.Context(), job(0))
		require.NoError(t, err)
		assert.Equal(t, DispositionSkipped, out, "found once stored")
	})
	t.Run("old job whose workload is missing is gone", func(t *testing.T) {
		_, h := newHandler(t)
		out, err := h.Process(t.Context(), job(DefaultStoreWait))
		require.NoError(t, err)
		assert.Equal(t, DispositionGone, out)
	})
	t.Run("young job never stored is gone after the store wait", func(t *testing.T) {
		_, h := newHandler(t, WithStoreWait(time.Second))
		out, err := h.Process(t.Context(), job(0))
		require.NoError(t, err)
		assert.Equal(t, DispositionGone, out, "a request denied after the webhook never stores the object")
	})
	t.Run("shutdown while waiting", func(t *testing.T) {
		_, h := newHandler(t)
		ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
		defer cancel()
		out, err := h.Process(ctx, job(0))
		require.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Equal(t, DispositionRetry, out, "handed back to the queue")
	})
}

// capturingRunner keeps the workloads of every run and decides each one
// Failed.
type capturingRunner struct{ runs [][]pipeline.Workload }

func (r *capturingRunner) RunNamespace(_ context.Context, ns string, wls []pipeline.Workload, _ pipeline.Observer) (pipeline.NamespaceResult, error) {
	r.runs = append(r.runs, wls)
	nr := pipeline.NamespaceResult{Namespace: ns}
	for _, w := range wls {
		nr.Workloads = append(nr.Workloads, pipeline.Result{Workload: w.Ref, Outcome: pipeline.OutcomeFailed, Reason: "test"})
	}
	return nr, nil
}

// fakeDiscovery declares endpoints for workloads by name, or fails.
type fakeDiscovery struct {
	eps map[string][]pipeline.MetricsEndpoint
	err error
	ns  []string
}

func (f *fakeDiscovery) Endpoints(_ context.Context, ns string, tmpls map[pipeline.Ref]*corev1.PodTemplateSpec) (map[pipeline.Ref][]pipeline.MetricsEndpoint, error) {
	f.ns = append(f.ns, ns)
	if f.err != nil {
		return nil, f.err
	}
	out := map[pipeline.Ref][]pipeline.MetricsEndpoint{}
	for ref := range tmpls {
		out[ref] = f.eps[ref.Name]
	}
	return out, nil
}

// TestOnceDeclaredMetrics: the endpoints a MetricsDiscovery finds reach
// the pipeline on each workload; a discovery that fails fails the run
// (it is retried), rather than judging TC-06 without them.
func TestOnceDeclaredMetrics(t *testing.T) {
	tmpl := corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "app:1"}}},
	}
	dep := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "web", UID: "uid-1"}, Spec: appsv1.DeploymentSpec{Template: tmpl}}
	ref := results.Ref{Namespace: "team", Kind: hardening.KindDeployment, Name: "web"}
	eps := []pipeline.MetricsEndpoint{{Port: "metrics", Scheme: "https", Source: "PodMonitor web"}}

	cs := fake.NewClientset(dep)
	runner := &capturingRunner{}
	d := &fakeDiscovery{eps: map[string][]pipeline.MetricsEndpoint{"web": eps}}
	h := NewHandler(cs, runner, results.NewWriter(cs, "test"), WithMetricsDiscovery(d))
	res, _, err := h.Once(t.Context(), ref, false)
	require.NoError(t, err)
	assert.Equal(t, pipeline.OutcomeFailed, res.Outcome)
	require.Len(t, runner.runs, 1)
	require.Len(t, runner.runs[0], 1)
	assert.Equal(t, eps, runner.runs[0][0].Metrics)
	assert.Equal(t, []string{"team"}, d.ns)

	runner = &capturingRunner{}
	h = NewHandler(cs, runner, results.NewWriter(cs, "test"), WithMetricsDiscovery(&fakeDiscovery{err: errors.New("api down")}))
	_, _, err = h.Once(t.Context(), ref, false)
	require.ErrorContains(t, err, "metrics endpoints declared by monitors: api down")
	assert.Empty(t, runner.runs)
	cur, err := results.Get(t.Context(), cs, ref)
	require.NoError(t, err)
	assert.NotContains(t, cur.Annotations, hardening.AnnotationStatus, "a run that writes nothing leaves the status alone")
}

// TestHardenLogNoveltyPolicy: the namespace's cinch.dev/log-novelty reaches
// every workload of the run, and the HardeningStarted Event says which
// policy applies; a value that does not parse leaves the strict default.
func TestHardenLogNoveltyPolicy(t *testing.T) {
	tests := []struct {
		name     string
		ann      map[string]string
		tolerate bool
		event    string
	}{
		{name: "no annotation"},
		{name: "strict", ann: map[string]string{hardening.AnnotationLogNovelty: "strict"}},
		{name: "tolerate start-up", ann: map[string]string{hardening.AnnotationLogNovelty: "tolerate-start-up"}, tolerate: true,
			event: "namespace policy cinch.dev/log-novelty=tolerate-start-up: new log lines that each appear once at start-up fail no trial whose other tests pass"},
		{name: "invalid", ann: map[string]string{hardening.AnnotationLogNovelty: "lenient"},
			event: `namespace annotation cinch.dev/log-novelty: "lenient" is neither "strict" nor "tolerate-start-up"; every new log template fails a trial`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team", Annotations: tt.ann}}
			dep := &appsv1.Deployment{
				ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "web", UID: types.UID("uid-1")},
				Spec:       appsv1.DeploymentSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "app:1"}}}}},
			}
			cs := fake.NewClientset(ns, dep)
			r := &capturingRunner{}
			h := NewHandler(cs, r, results.NewWriter(cs, "test"))
			_, _, err := h.Once(t.Context(), results.Ref{Namespace: "team", Kind: hardening.KindDeployment, Name: "web"}, true)
			require.NoError(t, err)
			require.Len(t, r.runs, 1)
			require.Len(t, r.runs[0], 1)
			assert.Equal(t, tt.tolerate, r.runs[0][0].TolerateStartupNovelty)
			evs, err := cs.CoreV1().Events("team").List(t.Context(), metav1.ListOptions{})
			require.NoError(t, err)
			var started string
			for _, e := range evs.Items {
				if e.Reason == results.ReasonStarted {
					started = e.Message
				}
			}
			require.NotEmpty(t, started)
			if tt.event == "" {
				assert.NotContains(t, started, hardening.AnnotationLogNovelty)
			} else {
				assert.Contains(t, started, "; "+tt.event)
			}
		})
	}
}
