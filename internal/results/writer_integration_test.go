//go:build integration

package results

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/cinch-dev/cinch/internal/kubetest"
	"github.com/cinch-dev/cinch/pkg/hardening"
)

// TestWriteResultConflictIntegration makes the result write race a real
// concurrent update: between the writer's read and its patch another client
// changes the workload (a label, or a label and the template). The API
// server refuses the stale patch (409), the writer reads again and writes;
// the concurrent change survives.
func TestWriteResultConflictIntegration(t *testing.T) {
	cs := kubetest.Client(t, kubetest.EnvIntegration)
	nsObj, err := cs.CoreV1().Namespaces().Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "results-it-"}}, metav1.CreateOptions{})
	require.NoError(t, err)
	ns := nsObj.Name
	t.Cleanup(func() { _ = cs.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })

	tests := []struct {
		name string
		// change is the concurrent update (a merge patch).
		change     string
		wantStatus hardening.Status
	}{
		{name: "label", change: `{"metadata":{"labels":{"concurrent":"yes"}}}`, wantStatus: hardening.StatusVerified},
		{name: "template", change: `{"metadata":{"labels":{"concurrent":"yes"}},"spec":{"template":{"spec":{"terminationGracePeriodSeconds":7}}}}`,
			wantStatus: hardening.StatusSuperseded},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := "web-" + string(rune('a'+i))
			labels := map[string]string{"app": name}
			d, err := cs.AppsV1().Deployments(ns).Create(t.Context(), &appsv1.Deployment{
				ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": name}},
				Spec: appsv1.DeploymentSpec{
					Replicas: new(int32),
					Selector: &metav1.LabelSelector{MatchLabels: labels},
					Template: corev1.PodTemplateSpec{
						ObjectMeta: metav1.ObjectMeta{Labels: labels},
						Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "docker.io/local/scenario:1", Args: []string{"fine"}}}},
					},
				},
			}, metav1.CreateOptions{})
			require.NoError(t, err)
			ref := Ref{Namespace: ns, Kind: hardening.KindDeployment, Name: name}
			hash := hardening.TemplateHash(&d.Spec.Template)
			w := NewWriter(cs, "cinch-results-test")
			require.NoError(t, w.SetStatus(t.Context(), ref, d.UID, hash, hardening.StatusRunning))
			calls := raceFirstPatch(t, w, tt.change)

			ann := map[string]string{
				hardening.AnnotationStatus:       string(hardening.StatusVerified),
				hardening.AnnotationTemplateHash: hash,
				hardening.AnnotationChecks:       `{"version":1,"checks":[]}`,
				hardening.AnnotationVerifiedAt:   time.Now().UTC().Format(time.RFC3339),
			}
			status, err := w.WriteResult(t.Context(), ref, d.UID, hash, ann)
			require.NoError(t, err)
			assert.Equal(t, tt.wantStatus, status)
			// The first patch is refused with a conflict and retried on a fresh
			// read; the deployment controller's status writes may cost one more.
			assert.GreaterOrEqual(t, calls.Load(), int32(2), "first patch refused with a conflict, retried on a fresh read")

			cur, err := cs.AppsV1().Deployments(ns).Get(t.Context(), name, metav1.GetOptions{})
			require.NoError(t, err)
			assert.Equal(t, "yes", cur.Labels["concurrent"], "the concurrent change survives")
			assert.Equal(t, string(tt.wantStatus), cur.Annotations[hardening.AnnotationStatus])
			if tt.wantStatus == hardening.StatusVerified {
				for k, v := range ann {
					assert.Equal(t, v, cur.Annotations[k], k)
				}
			}
		})
	}
}

// raceFirstPatch makes the writer's first patch race change: it is applied
// (as another client would) right after the writer read the object. It
// returns the number of patches attempted.
func raceFirstPatch(t *testing.T, w *Writer, change string) *atomic.Int32 {
	var calls atomic.Int32
	w.beforePatch = func(ctx context.Context, wl Workload) {
		if calls.Add(1) > 1 {
			return
		}
		d, err := w.cs.AppsV1().Deployments(wl.Namespace).Patch(ctx, wl.Name, types.MergePatchType, []byte(change), metav1.PatchOptions{})
		require.NoError(t, err)
		require.NotEqual(t, wl.ResourceVersion, d.ResourceVersion)
	}
	return &calls
}

// TestBatchWorkloadsIntegration: Jobs and CronJobs are read, listed and
// annotated like the other kinds, on a real API server: a CronJob's template
// is its jobTemplate's, a Job its CronJob made is left out of List, results
// are annotation patches guarded by the resourceVersion (a Job's immutable
// template is never touched), and Events name batch/v1.
func TestBatchWorkloadsIntegration(t *testing.T) {
	cs := kubetest.Client(t, kubetest.EnvIntegration)
	ns := kubetest.Namespace(t, cs, "results-batch-it", nil)
	ctx := t.Context()
	tmpl := corev1.PodTemplateSpec{Spec: corev1.PodSpec{
		RestartPolicy: corev1.RestartPolicyNever,
		Containers:    []corev1.Container{{Name: "app", Image: "docker.io/local/scenario:1", Args: []string{"batch-fine"}}},
	}}
	suspend := true
	job, err := cs.BatchV1().Jobs(ns).Create(ctx, &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "migrate"},
		Spec:       batchv1.JobSpec{Suspend: &suspend, Template: tmpl},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	cj, err := cs.BatchV1().CronJobs(ns).Create(ctx, &batchv1.CronJob{
		ObjectMeta: metav1.ObjectMeta{Name: "nightly"},
		Spec: batchv1.CronJobSpec{Schedule: "0 3 * * *", Suspend: &suspend,
			JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: tmpl}}},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	// A Job the CronJob made (as `kubectl create job --from=cronjob/nightly` does).
	_, err = cs.BatchV1().Jobs(ns).Create(ctx, &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "nightly-manual", OwnerReferences: []metav1.OwnerReference{{
			APIVersion: "batch/v1", Kind: "CronJob", Name: cj.Name, UID: cj.UID, Controller: &suspend}}},
		Spec: batchv1.JobSpec{Suspend: &suspend, Template: cj.Spec.JobTemplate.Spec.Template},
	}, metav1.CreateOptions{})
	require.NoError(t, err)

	wls, err := List(ctx, cs, ns)
	require.NoError(t, err)
	var refs []Ref
	for _, wl := range wls {
		refs = append(refs, wl.Ref)
	}
	jobRef := Ref{Namespace: ns, Kind: hardening.KindJob, Name: "migrate"}
	cjRef := Ref{Namespace: ns, Kind: hardening.KindCronJob, Name: "nightly"}
	assert.Equal(t, []Ref{jobRef, cjRef}, refs)

	w := NewWriter(cs, "cinch-results-test")
	for _, c := range []struct {
		ref  Ref
		uid  types.UID
		tmpl *corev1.PodTemplateSpec
	}{{jobRef, job.UID, &job.Spec.Template}, {cjRef, cj.UID, &cj.Spec.JobTemplate.Spec.Template}} {
		t.Run(c.ref.Kind, func(t *testing.T) {
			hash := hardening.TemplateHash(c.tmpl)
			wl, err := Current(ctx, cs, c.ref, c.uid, hash)
			require.NoError(t, err, "the stored template hashes as the created one")
			assert.Equal(t, hash, wl.Hash)
			require.NoError(t, w.SetStatus(ctx, c.ref, c.uid, hash, hardening.StatusRunning))
			ann := map[string]string{
				hardening.AnnotationStatus:       string(hardening.StatusFailed),
				hardening.AnnotationTemplateHash: hash,
				hardening.AnnotationChecks:       `{"version":1,"checks":[]}`,
			}
			status, err := w.WriteResult(ctx, c.ref, c.uid, hash, ann)
			require.NoError(t, err)
			assert.Equal(t, hardening.StatusFailed, status)
			wl, err = Get(ctx, cs, c.ref)
			require.NoError(t, err)
			for k, v := range ann {
				assert.Equal(t, v, wl.Annotations[k], k)
			}
			assert.True(t, wl.Done())

			require.NoError(t, w.Event(ctx, c.ref, c.uid, corev1.EventTypeWarning, ReasonFailed, "a batch result"))
			evs, err := cs.CoreV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=" + c.ref.Name + ",reason=" + ReasonFailed})
			require.NoError(t, err)
			require.Len(t, evs.Items, 1)
			assert.Equal(t, "batch/v1", evs.Items[0].InvolvedObject.APIVersion)
			assert.Equal(t, c.ref.Kind, evs.Items[0].InvolvedObject.Kind)
			assert.Equal(t, c.uid, evs.Items[0].InvolvedObject.UID)
		})
	}
}
