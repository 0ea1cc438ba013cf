package clone

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/utils/ptr"

	"github.com/cinch-dev/cinch/pkg/hardening"
)

// TestCreateBatchTargets: a Job and a CronJob under trial each run as one
// Job of the trial's template in the clone (the CronJob's from its
// jobTemplate); no CronJob and no other Job of the namespace is copied.
func TestCreateBatchTargets(t *testing.T) {
	podSpec := corev1.PodSpec{RestartPolicy: corev1.RestartPolicyOnFailure, Containers: []corev1.Container{{Name: "job", Image: "i"}}}
	cron := &batchv1.CronJob{
		ObjectMeta: metav1.ObjectMeta{Name: "nightly", Namespace: "shop", Annotations: map[string]string{hardening.AnnotationStatus: "Pending"}},
		Spec: batchv1.CronJobSpec{Schedule: "* * * * *", JobTemplate: batchv1.JobTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"team": "data"}},
			Spec: batchv1.JobSpec{BackoffLimit: ptr.To[int32](5), Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "nightly"}}, Spec: podSpec,
			}},
		}},
	}
	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "migrate", Namespace: "shop"},
		Spec: batchv1.JobSpec{Completions: ptr.To[int32](3), BackoffLimit: ptr.To[int32](0), Template: corev1.PodTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "migrate", "batch.kubernetes.io/controller-uid": "old", "job-name": "migrate"}},
			Spec:       podSpec,
		}},
	}
	other := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "other", Namespace: "shop"}, Spec: job.Spec}
	cs := fake.NewClientset(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop"}}, cron, job, other)
	opts := DefaultOptions()
	opts.DenyEgress = false
	c := New(cs, opts)

	trial := cron.Spec.JobTemplate.Spec.Template.DeepCopy()
	trial.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{ReadOnlyRootFilesystem: ptr.To(true)}
	jt := job.Spec.Template.DeepCopy()
	cr, jr := Ref{hardening.KindCronJob, "nightly"}, Ref{hardening.KindJob, "migrate"}
	cl, err := c.CreateWith(t.Context(), "shop", "ro", Spec{Templates: map[Ref]*corev1.PodTemplateSpec{cr: trial, jr: jt}})
	require.NoError(t, err)
	assert.Equal(t, 2, cl.Pods, "one pod per batch target")

	jobs, err := cs.BatchV1().Jobs(cl.Namespace).List(t.Context(), metav1.ListOptions{})
	require.NoError(t, err)
	require.Len(t, jobs.Items, 2, "the targets only")
	crons, err := cs.BatchV1().CronJobs(cl.Namespace).List(t.Context(), metav1.ListOptions{})
	require.NoError(t, err)
	assert.Empty(t, crons.Items, "no CronJob in a clone")

	byName := map[string]batchv1.Job{}
	for _, j := range jobs.Items {
		byName[j.Name] = j
	}
	n := byName["nightly"]
	assert.Equal(t, map[string]string{"team": "data"}, n.Labels)
	assert.Equal(t, int32(MaxTrialRetries), *n.Spec.BackoffLimit, "capped")
	assert.Equal(t, trial.Spec, n.Spec.Template.Spec, "the trial's template")
	m := byName["migrate"]
	assert.Equal(t, int32(1), *m.Spec.Completions)
	assert.Equal(t, int32(0), *m.Spec.BackoffLimit, "a lower limit is kept")
	assert.Equal(t, map[string]string{"app": "migrate"}, m.Spec.Template.Labels, "the source controller's labels are dropped")
	assert.Nil(t, m.Spec.Selector)

	for r, name := range map[Ref]string{cr: "nightly", jr: "migrate"} {
		assert.True(t, cl.Workloads[r].Matches(labels.Set{"batch.kubernetes.io/job-name": name}), r)
		assert.False(t, cl.Workloads[r].Matches(labels.Set{"batch.kubernetes.io/job-name": "other"}), r)
	}
}
