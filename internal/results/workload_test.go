package results

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/cinch-dev/cinch/pkg/hardening"
)

func podTemplate(image string) corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: image}}}}
}

func meta(ns, name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Namespace: ns, Name: name, UID: types.UID("uid-" + name)}
}

// batchObjects is a namespace with a Deployment, a plain Job, a CronJob and
// a Job the CronJob made.
func batchObjects(ns string) []runtime.Object {
	controller := true
	owned := meta(ns, "nightly-29000000")
	owned.OwnerReferences = []metav1.OwnerReference{{APIVersion: "batch/v1", Kind: hardening.KindCronJob, Name: "nightly", UID: "uid-nightly", Controller: &controller}}
	return []runtime.Object{
		&appsv1.Deployment{ObjectMeta: meta(ns, "web"), Spec: appsv1.DeploymentSpec{Template: podTemplate("web:1")}},
		&batchv1.Job{ObjectMeta: meta(ns, "migrate"), Spec: batchv1.JobSpec{Template: podTemplate("migrate:1")}},
		&batchv1.CronJob{ObjectMeta: meta(ns, "nightly"), Spec: batchv1.CronJobSpec{Schedule: "@daily",
			JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: podTemplate("report:1")}}}},
		&batchv1.Job{ObjectMeta: owned, Spec: batchv1.JobSpec{Template: podTemplate("report:1")}},
	}
}

func TestListLeavesOutJobsOfCronJobs(t *testing.T) {
	cs := fake.NewClientset(append(batchObjects("team"), batchObjects("other")...)...)
	wls, err := List(t.Context(), cs, "team")
	require.NoError(t, err)
	var refs []Ref
	images := map[string]string{}
	for _, wl := range wls {
		refs = append(refs, wl.Ref)
		require.NotNil(t, wl.Template, wl.String())
		images[wl.Name] = wl.Template.Spec.Containers[0].Image
		assert.Equal(t, hardening.TemplateHash(wl.Template), wl.Hash)
	}
	assert.Equal(t, []Ref{
		{Namespace: "team", Kind: hardening.KindDeployment, Name: "web"},
		{Namespace: "team", Kind: hardening.KindJob, Name: "migrate"},
		{Namespace: "team", Kind: hardening.KindCronJob, Name: "nightly"},
	}, refs, "the Job the CronJob made is hardened through the CronJob")
	assert.Equal(t, map[string]string{"web": "web:1", "migrate": "migrate:1", "nightly": "report:1"}, images,
		"a CronJob's template is its jobTemplate's")

	cj, err := Get(t.Context(), cs, Ref{Namespace: "team", Kind: hardening.KindCronJob, Name: "nightly"})
	require.NoError(t, err)
	assert.Equal(t, "report:1", cj.Template.Spec.Containers[0].Image)
	_, err = Get(t.Context(), cs, Ref{Namespace: "team", Kind: "ReplicaSet", Name: "web"})
	require.ErrorIs(t, err, ErrUnknownKind)
}

func TestEventNamesTheKindsAPIVersion(t *testing.T) {
	cs := fake.NewClientset()
	w := NewWriter(cs, "cinch-worker")
	for kind, apiVersion := range map[string]string{
		hardening.KindDeployment: "apps/v1", hardening.KindJob: "batch/v1", hardening.KindCronJob: "batch/v1",
	} {
		ref := Ref{Namespace: "team", Kind: kind, Name: "w-" + kind}
		require.NoError(t, w.Event(t.Context(), ref, "uid-1", corev1.EventTypeNormal, ReasonStarted, "started"))
		evs, err := cs.CoreV1().Events("team").List(t.Context(), metav1.ListOptions{})
		require.NoError(t, err)
		var found bool
		for _, ev := range evs.Items {
			if ev.InvolvedObject.Name == ref.Name {
				found = true
				assert.Equal(t, apiVersion, ev.InvolvedObject.APIVersion, kind)
				assert.Equal(t, kind, ev.InvolvedObject.Kind)
			}
		}
		assert.True(t, found, kind)
	}
	err := w.Event(t.Context(), Ref{Namespace: "team", Kind: "Pod", Name: "p"}, "", corev1.EventTypeNormal, ReasonStarted, "x")
	require.ErrorIs(t, err, ErrUnknownKind)
}
