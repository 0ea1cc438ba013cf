package worker

import (
	"context"
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
