//go:build integration

package worker

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"

	"github.com/cinch-dev/cinch/internal/jobs"
	"github.com/cinch-dev/cinch/internal/kubetest"
	"github.com/cinch-dev/cinch/internal/pipeline"
	"github.com/cinch-dev/cinch/internal/results"
	"github.com/cinch-dev/cinch/pkg/hardening"
)

// batchTemplate is a pod template of a batch workload that names address
// (a Service it talks to).
func batchTemplate(name, address string) corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": name}},
		Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever, Containers: []corev1.Container{{
			Name: "task", Image: "docker.io/local/scenario:1", Args: []string{"batch-fine", "--peer=" + address},
		}}},
	}
}

// TestBatchIntegration: resync and the handler gather Jobs and CronJobs of
// an opted-in namespace like the other kinds, except a Job a CronJob made
// and one that opts out; a run's dependencies point from batch workloads to
// the Services they name, never to them; results and Events land on the
// Job and the CronJob.
func TestBatchIntegration(t *testing.T) {
	cs := kubetest.Client(t, kubetest.EnvIntegration)
	ctx := t.Context()
	run := fmt.Sprintf("batch-%d", time.Now().UnixNano())
	ns := kubetest.Namespace(t, cs, "worker-batch-it", map[string]string{hardening.LabelHarden: hardening.HardenEnabled, "test.cinch.dev/run": run})
	writer := results.NewWriter(cs, "cinch-worker-test")
	suspend := true

	api := deployment("api")
	api.Spec.Template.Spec.Containers[0].Args = []string{"fine", "--report=http://nightly"}
	_, err := cs.AppsV1().Deployments(ns).Create(ctx, api, metav1.CreateOptions{})
	require.NoError(t, err)
	for _, app := range []string{"api", "nightly"} {
		_, err = cs.CoreV1().Services(ns).Create(ctx, &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: app},
			Spec:       corev1.ServiceSpec{Selector: map[string]string{"app": app}, Ports: []corev1.ServicePort{{Port: 80}}},
		}, metav1.CreateOptions{})
		require.NoError(t, err)
	}
	migrate, err := cs.BatchV1().Jobs(ns).Create(ctx, &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "migrate"},
		Spec:       batchv1.JobSpec{Suspend: &suspend, Template: batchTemplate("migrate", "http://api")},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	nightly, err := cs.BatchV1().CronJobs(ns).Create(ctx, &batchv1.CronJob{
		ObjectMeta: metav1.ObjectMeta{Name: "nightly"},
		Spec: batchv1.CronJobSpec{Schedule: "0 3 * * *", Suspend: &suspend, JobTemplate: batchv1.JobTemplateSpec{
			Spec: batchv1.JobSpec{Template: batchTemplate("nightly", "https://reports.example.org")}}},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = cs.BatchV1().Jobs(ns).Create(ctx, &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "nightly-manual", OwnerReferences: []metav1.OwnerReference{{
			APIVersion: "batch/v1", Kind: "CronJob", Name: nightly.Name, UID: nightly.UID, Controller: &suspend}}},
		Spec: batchv1.JobSpec{Suspend: &suspend, Template: nightly.Spec.JobTemplate.Spec.Template},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = cs.BatchV1().Jobs(ns).Create(ctx, &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "legacy", Annotations: map[string]string{hardening.LabelHarden: hardening.HardenDisabled}},
		Spec:       batchv1.JobSpec{Suspend: &suspend, Template: batchTemplate("legacy", "")},
	}, metav1.CreateOptions{})
	require.NoError(t, err)

	// Resync queues the Deployment, the Job and the CronJob, nothing else.
	pub := &capturePublisher{seen: map[string]bool{}}
	m := NewMetrics(prometheusRegistry())
	r := NewResyncer(cs, pub, writer, time.Minute, m, WithNamespaceSelector("test.cinch.dev/run="+run))
	_, err = r.Pass(ctx)
	require.NoError(t, err)
	queued := map[string]jobs.Job{}
	for _, j := range pub.jobs {
		queued[j.Kind+"/"+j.Name] = j
	}
	require.ElementsMatch(t, []string{"Deployment/api", "Job/migrate", "CronJob/nightly"}, keys(queued))
	assert.Equal(t, hardening.TemplateHash(&nightly.Spec.JobTemplate.Spec.Template), queued["CronJob/nightly"].TemplateHash)
	assert.Equal(t, string(migrate.UID), queued["Job/migrate"].UID)
	assert.Equal(t, 3.0, gaugeValue(t, m.optedIn, ns))
	for _, ref := range []results.Ref{{Namespace: ns, Kind: "Job", Name: "migrate"}, {Namespace: ns, Kind: "CronJob", Name: "nightly"}} {
		wl, err := results.Get(ctx, cs, ref)
		require.NoError(t, err)
		assert.Equal(t, hardening.StatusPending, wl.Status(), ref.String())
	}

	// The CronJob's job runs the namespace: the three of them, with their
	// dependencies.
	runner := &cannedRunner{res: verifiedResult(&nightly.Spec.JobTemplate.Spec.Template)}
	h := NewHandler(cs, runner, writer)
	out, err := h.Process(ctx, queued["CronJob/nightly"])
	require.NoError(t, err)
	assert.Equal(t, DispositionVerified, out)
	require.Len(t, runner.runs, 1)
	deps := map[string][]pipeline.Ref{}
	for _, w := range runner.runs[0] {
		deps[w.Kind+"/"+w.Name] = w.DependsOn
		if w.Kind == hardening.KindCronJob {
			assert.Equal(t, nightly.Spec.JobTemplate.Spec.Template.Spec.Containers, w.Template.Spec.Containers, "the job template")
		}
	}
	require.ElementsMatch(t, []string{"Deployment/api", "Job/migrate", "CronJob/nightly"}, keys(deps))
	assert.Empty(t, deps["Deployment/api"], "never on the CronJob its Service selects")
	assert.Equal(t, []pipeline.Ref{{Kind: "Deployment", Name: "api"}}, deps["Job/migrate"])
	assert.Empty(t, deps["CronJob/nightly"], "an external address is no dependency")

	for _, ref := range []results.Ref{{Namespace: ns, Kind: "Job", Name: "migrate"}, {Namespace: ns, Kind: "CronJob", Name: "nightly"}} {
		wl, err := results.Get(ctx, cs, ref)
		require.NoError(t, err)
		assert.Equal(t, hardening.StatusVerified, wl.Status(), ref.String())
		assert.True(t, wl.Done(), ref.String())
		evs, err := cs.CoreV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: fields.AndSelectors(
			fields.OneTermEqualSelector("involvedObject.name", ref.Name), fields.OneTermEqualSelector("reason", results.ReasonVerified)).String()})
		require.NoError(t, err)
		require.Len(t, evs.Items, 1, ref.String())
		assert.Equal(t, "batch/v1", evs.Items[0].InvolvedObject.APIVersion)
		assert.Equal(t, ref.Kind, evs.Items[0].InvolvedObject.Kind)
	}
	owned, err := cs.BatchV1().Jobs(ns).Get(ctx, "nightly-manual", metav1.GetOptions{})
	require.NoError(t, err)
	assert.NotContains(t, owned.Annotations, hardening.AnnotationStatus, "the CronJob's Job is hardened through it")

	// Everything is described now: the next pass queues nothing.
	before := len(pub.jobs)
	_, err = r.Pass(ctx)
	require.NoError(t, err)
	assert.Equal(t, before, len(pub.jobs))
	assert.Equal(t, 3.0, gaugeValue(t, m.verified, ns))
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
