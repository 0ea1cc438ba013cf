package clone

import (
	"fmt"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/utils/ptr"

	"github.com/cinch-dev/cinch/pkg/hardening"
)

// MaxTrialRetries caps the backoff limit of a trial Job: a run that needs
// more retries than its baselines fails anyway, and a failing trial should
// not hold its clone through a long backoff.
const MaxTrialRetries = 2

// jobNameLabel is set by the Job controller on the pods of a Job.
const jobNameLabel = "batch.kubernetes.io/job-name"

// batchTarget makes the Job a batch target (a Job or CronJob read by
// getTarget) runs as. A clone never runs the source itself: it runs one Job
// made of its pod template (for a CronJob, of its jobTemplate, as `kubectl
// create job --from=cronjob/...` does), so no CronJob in a clone ever
// schedules anything.
func batchTarget(t *target) error {
	switch o := t.obj.(type) {
	case *batchv1.Job:
		t.job = &batchv1.Job{ObjectMeta: o.ObjectMeta, Spec: *o.Spec.DeepCopy()}
	case *batchv1.CronJob:
		t.job = &batchv1.Job{ObjectMeta: o.ObjectMeta, Spec: *o.Spec.JobTemplate.Spec.DeepCopy()}
		t.job.Labels = o.Spec.JobTemplate.Labels
		t.job.Annotations = o.Spec.JobTemplate.Annotations
	default:
		return fmt.Errorf("%w: %q", ErrUnsupportedKind, t.ref.Kind)
	}
	t.sel = labels.SelectorFromSet(labels.Set{jobNameLabel: t.ref.Name})
	return nil
}

// trialJob is the Job a clone runs for a batch target: the trial's pod
// template, one pod at a time to one completion, at most MaxTrialRetries
// retries, with the Job controller's own selector.
func trialJob(src *batchv1.Job, ref Ref, ns string, tmpl *corev1.PodTemplateSpec) *batchv1.Job {
	meta := cleanMeta(src.ObjectMeta, ns)
	meta.Name = ref.Name
	spec := batchv1.JobSpec{
		Parallelism:      ptr.To[int32](1),
		Completions:      ptr.To[int32](1),
		BackoffLimit:     ptr.To(min(ptr.Deref(src.Spec.BackoffLimit, 6), MaxTrialRetries)),
		PodFailurePolicy: src.Spec.PodFailurePolicy.DeepCopy(),
		Template:         *tmpl.DeepCopy(),
	}
	if spec.Template.Spec.RestartPolicy == "" {
		spec.Template.Spec.RestartPolicy = corev1.RestartPolicyNever
	}
	// The API server adds the controller's selector labels; labels the
	// source's own controller added (a stale controller-uid) must go.
	for _, k := range hardening.JobControllerLabels() {
		delete(spec.Template.Labels, k)
	}
	return &batchv1.Job{ObjectMeta: meta, Spec: spec}
}
