package kubectlcinch

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cinch-dev/cinch/pkg/hardening"
)

func TestPlanApply(t *testing.T) {
	base := deployment(nil)
	rec := fullRecommendation(t, base)
	checks := checksWithEvidence(t)

	changed := deployment(verified(t, base, rec, checks))
	changed.Spec.Template.Spec.Containers[0].Image = "nginx:2"
	hardenedD := deployment(verified(t, base, rec, checks))
	hardenedD.Spec.Template = *rec.Apply(&base.Spec.Template)
	hardenedD.Annotations[hardening.AnnotationEnforcedTemplateHash] = hardening.TemplateHash(&hardenedD.Spec.Template)
	pending := deployment(map[string]string{hardening.AnnotationStatus: "Running", hardening.AnnotationTemplateHash: hardening.TemplateHash(&base.Spec.Template)})

	refused := []struct {
		name string
		w    Workload
		want string
	}{
		{"no result", load(t, deployment(nil)), "has no Cinch result yet"},
		{"failed", load(t, deployment(failed(t, base, checks))), "could not verify a recommendation"},
		{"running", load(t, pending), "no verified recommendation for its current template yet (status Running)"},
		{"template changed", load(t, changed), "the pod template of Deployment/web changed after Cinch's result"},
	}
	for _, tt := range refused {
		_, err := PlanApply(tt.w)
		require.ErrorIs(t, err, ErrRefused, tt.name)
		assert.ErrorContains(t, err, tt.want, tt.name)
	}

	p, err := PlanApply(load(t, hardenedD))
	require.NoError(t, err)
	assert.True(t, p.UpToDate)
	assert.Nil(t, p.Patch)

	p, err = PlanApply(load(t, deployment(verified(t, base, rec, checks))))
	require.NoError(t, err)
	assert.False(t, p.UpToDate)
	var doc struct {
		Metadata struct {
			ResourceVersion string `json:"resourceVersion"`
		} `json:"metadata"`
		Spec map[string]any `json:"spec"`
	}
	require.NoError(t, json.Unmarshal(p.Patch, &doc))
	assert.Equal(t, "42", doc.Metadata.ResourceVersion, "guarded by the resourceVersion read")
	assert.Contains(t, doc.Spec, "template")
}

// TestPlanApplyBatch: a CronJob's patch addresses its job template; a Job's
// template cannot change, so apply refuses it and says what to do instead.
func TestPlanApplyBatch(t *testing.T) {
	base := deployment(nil)
	rec := fullRecommendation(t, base)
	ann := verified(t, base, rec, checksWithEvidence(t))
	cj := &batchv1.CronJob{
		TypeMeta:   metav1.TypeMeta{APIVersion: "batch/v1", Kind: "CronJob"},
		ObjectMeta: metav1.ObjectMeta{Name: "nightly", Namespace: "shop", ResourceVersion: "7", Annotations: ann},
		Spec: batchv1.CronJobSpec{Schedule: "@daily", JobTemplate: batchv1.JobTemplateSpec{
			Spec: batchv1.JobSpec{Template: *base.Spec.Template.DeepCopy()}}},
	}
	p, err := PlanApply(load(t, cj))
	require.NoError(t, err)
	assert.Contains(t, string(p.Patch), `"spec":{"jobTemplate":{"spec":{"template":{"spec":`)

	job := &batchv1.Job{
		TypeMeta:   metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
		ObjectMeta: metav1.ObjectMeta{Name: "migrate", Namespace: "shop", ResourceVersion: "7", Annotations: ann},
		Spec:       batchv1.JobSpec{Template: *base.Spec.Template.DeepCopy()},
	}
	_, err = PlanApply(load(t, job))
	require.ErrorIs(t, err, ErrRefused)
	assert.ErrorContains(t, err, "the pod template of a Job cannot change once it exists")
	hardened := job.DeepCopy()
	hardened.Spec.Template = *rec.Apply(&base.Spec.Template)
	hardened.Annotations[hardening.AnnotationEnforcedTemplateHash] = hardening.TemplateHash(&hardened.Spec.Template)
	p, err = PlanApply(load(t, hardened))
	require.NoError(t, err)
	assert.True(t, p.UpToDate, "a Job created with the settings is up to date")
}
