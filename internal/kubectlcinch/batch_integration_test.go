//go:build integration

package kubectlcinch

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/cinch-dev/cinch/pkg/hardening"
)

// TestPluginBatchIntegration: status lists a CronJob and a Job, not the Jobs
// a CronJob made; apply patches a CronJob's job template and refuses a Job
// (its template cannot change).
func TestPluginBatchIntegration(t *testing.T) {
	p := newPlugin(t, "kcinch-batch-it")
	cs, ns, run := p.cs, p.ns, p.run
	ctx := t.Context()
	suspend := true
	tmpl := deployment(nil).Spec.Template
	tmpl.Spec.RestartPolicy = "Never"
	tmpl.Spec.Containers[0].Image = "docker.io/local/scenario:1"

	cj, err := cs.BatchV1().CronJobs(ns).Create(ctx, &batchv1.CronJob{
		ObjectMeta: metav1.ObjectMeta{Name: "nightly"},
		Spec: batchv1.CronJobSpec{Schedule: "0 3 * * *", Suspend: &suspend,
			JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: tmpl}}},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	job, err := cs.BatchV1().Jobs(ns).Create(ctx, &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "migrate"},
		Spec:       batchv1.JobSpec{Suspend: &suspend, Template: tmpl},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = cs.BatchV1().Jobs(ns).Create(ctx, &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "nightly-manual", OwnerReferences: []metav1.OwnerReference{{
			APIVersion: "batch/v1", Kind: "CronJob", Name: cj.Name, UID: cj.UID, Controller: &suspend}}},
		Spec: batchv1.JobSpec{Suspend: &suspend, Template: tmpl},
	}, metav1.CreateOptions{})
	require.NoError(t, err)

	// Verified results as the worker writes them, each for the template
	// as stored.
	checks := checksWithEvidence(t)
	for _, o := range []struct {
		resource string
		name     string
		tmpl     *appsv1.Deployment
		patch    func(body []byte) error
	}{
		{"cronjobs", "nightly", &appsv1.Deployment{Spec: appsv1.DeploymentSpec{Template: cj.Spec.JobTemplate.Spec.Template}}, func(body []byte) error {
			_, err := cs.BatchV1().CronJobs(ns).Patch(ctx, "nightly", types.MergePatchType, body, metav1.PatchOptions{})
			return err
		}},
		{"jobs", "migrate", &appsv1.Deployment{Spec: appsv1.DeploymentSpec{Template: job.Spec.Template}}, func(body []byte) error {
			_, err := cs.BatchV1().Jobs(ns).Patch(ctx, "migrate", types.MergePatchType, body, metav1.PatchOptions{})
			return err
		}},
	} {
		body, err := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": verified(t, o.tmpl, fullRecommendation(t, o.tmpl), checks)}})
		require.NoError(t, err)
		require.NoError(t, o.patch(body), o.resource)
	}

	got := p.status(t)
	require.Len(t, got, 2, "the Job the CronJob made is not listed")
	assert.Equal(t, "Verified", got["CronJob/nightly"].Status, "the hash of the job template as read matches the worker's")
	assert.Equal(t, "Verified", got["Job/migrate"].Status, "the labels the API server added to the Job's template do not count")
	assert.False(t, got["CronJob/nightly"].Hardened)

	code, _, errOut := run("apply", "job/migrate")
	assert.Equal(t, ExitNotMet, code)
	assert.Contains(t, errOut, "the pod template of a Job cannot change once it exists")

	code, _, errOut = run("apply", "cj/nightly")
	require.Equal(t, ExitOK, code, errOut)
	cj, err = cs.BatchV1().CronJobs(ns).Get(ctx, "nightly", metav1.GetOptions{})
	require.NoError(t, err)
	rec := fullRecommendation(t, &appsv1.Deployment{Spec: appsv1.DeploymentSpec{Template: tmpl}})
	assert.Empty(t, hardening.Weaker(rec, &cj.Spec.JobTemplate.Spec.Template), "the job template runs with the recommendation")
	assert.Equal(t, StatusOutdated, p.status(t)["CronJob/nightly"].Status, "until Cinch verifies the new template")
}
