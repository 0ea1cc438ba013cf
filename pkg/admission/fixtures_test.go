package admission

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	admissionv1 "k8s.io/api/admission/v1"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/cinch-dev/cinch/pkg/hardening"
)

var testNow = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

func template(image string) corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name:  "web",
			Image: image,
			Ports: []corev1.ContainerPort{{ContainerPort: 8080}},
		}}},
	}
}

func deployment(image string) *appsv1.Deployment {
	replicas := int32(2)
	return &appsv1.Deployment{
		TypeMeta: metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: metav1.ObjectMeta{
			Name: "web", Namespace: "shop", UID: types.UID("uid-web"),
			Labels: map[string]string{"app": "web"},
		},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: template(image),
		},
	}
}

func job(image string) *batchv1.Job {
	return &batchv1.Job{
		TypeMeta: metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
		ObjectMeta: metav1.ObjectMeta{
			Name: "migrate", Namespace: "shop", UID: types.UID("uid-migrate"),
		},
		Spec: batchv1.JobSpec{Template: batchTemplate(image)},
	}
}

func cronJob(image string) *batchv1.CronJob {
	return &batchv1.CronJob{
		TypeMeta: metav1.TypeMeta{APIVersion: "batch/v1", Kind: "CronJob"},
		ObjectMeta: metav1.ObjectMeta{
			Name: "nightly", Namespace: "shop", UID: types.UID("uid-nightly"),
		},
		Spec: batchv1.CronJobSpec{
			Schedule:    "0 3 * * *",
			JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: batchTemplate(image)}},
		},
	}
}

// ownedBy makes j a Job that cj created (its controller).
func ownedBy(j *batchv1.Job, cj *batchv1.CronJob) *batchv1.Job {
	j = j.DeepCopy()
	controller := true
	j.Name = cj.Name + "-29000000"
	j.OwnerReferences = []metav1.OwnerReference{{APIVersion: "batch/v1", Kind: "CronJob", Name: cj.Name, UID: cj.UID, Controller: &controller}}
	j.Spec.Template = *cj.Spec.JobTemplate.Spec.Template.DeepCopy()
	return j
}

func batchTemplate(image string) corev1.PodTemplateSpec {
	t := template(image)
	t.Labels = map[string]string{"app": "batch"}
	t.Spec.Containers[0].Ports = nil
	t.Spec.RestartPolicy = corev1.RestartPolicyNever
	return t
}

// verifiedAnnotations annotates meta as verified for tmpl with the
// recommendation that passes every check, and returns the recommendation.
func verifiedAnnotations(t *testing.T, meta *metav1.ObjectMeta, tmpl corev1.PodTemplateSpec) hardening.Recommendation {
	t.Helper()
	rec := recommendationFor(t, tmpl)
	enc, err := hardening.EncodeRecommendation(rec)
	require.NoError(t, err)
	if meta.Annotations == nil {
		meta.Annotations = map[string]string{}
	}
	meta.Annotations[hardening.AnnotationStatus] = string(hardening.StatusVerified)
	meta.Annotations[hardening.AnnotationTemplateHash] = hardening.TemplateHash(&tmpl)
	meta.Annotations[hardening.AnnotationRecommendation] = enc
	return rec
}

// recommendationFor returns the recommendation that passes every check for t.
func recommendationFor(t *testing.T, tmpl corev1.PodTemplateSpec) hardening.Recommendation {
	t.Helper()
	return hardening.Combine(&tmpl, hardening.AllChecks(), hardening.DefaultOptions(), nil)
}

// withVerified annotates d as verified for its current template.
func withVerified(t *testing.T, d *appsv1.Deployment) *appsv1.Deployment {
	t.Helper()
	d = d.DeepCopy()
	verifiedAnnotations(t, &d.ObjectMeta, d.Spec.Template)
	return d
}

// toWorkload decodes obj as the handlers do (DecodeWorkload). A nil obj is
// a nil workload.
func toWorkload(t *testing.T, obj any) *Workload {
	t.Helper()
	var kind string
	switch o := obj.(type) {
	case *appsv1.Deployment:
		if o == nil {
			return nil
		}
		kind = hardening.KindDeployment
	case *batchv1.Job:
		if o == nil {
			return nil
		}
		kind = hardening.KindJob
	case *batchv1.CronJob:
		if o == nil {
			return nil
		}
		kind = hardening.KindCronJob
	case nil:
		return nil
	default:
		t.Fatalf("toWorkload: %T", obj)
	}
	b, err := json.Marshal(obj)
	require.NoError(t, err)
	w, err := DecodeWorkload(kind, b)
	require.NoError(t, err)
	return w
}

func raw(t testing.TB, obj any) runtime.RawExtension {
	t.Helper()
	if obj == nil {
		return runtime.RawExtension{}
	}
	b, err := json.Marshal(obj)
	require.NoError(t, err)
	return runtime.RawExtension{Raw: b}
}

type reqOpt func(*admission.Request)

func dryRun(r *admission.Request) { v := true; r.DryRun = &v }

func request(t testing.TB, op admissionv1.Operation, obj, old any, opts ...reqOpt) admission.Request {
	t.Helper()
	r := admission.Request{AdmissionRequest: admissionv1.AdmissionRequest{
		UID:       types.UID("req-1"),
		Kind:      metav1.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"},
		Resource:  metav1.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"},
		Name:      "web",
		Namespace: "shop",
		Operation: op,
		Object:    raw(t, obj),
		OldObject: raw(t, old),
	}}
	for _, o := range opts {
		o(&r)
	}
	return r
}

// batchKind makes a request one of a batch/v1 kind.
func batchKind(kind, resource string) reqOpt {
	return func(r *admission.Request) {
		r.Kind = metav1.GroupVersionKind{Group: "batch", Version: "v1", Kind: kind}
		r.Resource = metav1.GroupVersionResource{Group: "batch", Version: "v1", Resource: resource}
	}
}

var (
	jobKind     = batchKind(hardening.KindJob, "jobs")
	cronJobKind = batchKind(hardening.KindCronJob, "cronjobs")
)
