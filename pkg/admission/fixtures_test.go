package admission

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	admissionv1 "k8s.io/api/admission/v1"
	appsv1 "k8s.io/api/apps/v1"
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

// recommendationFor returns the recommendation that passes every check for t.
func recommendationFor(t *testing.T, tmpl corev1.PodTemplateSpec) hardening.Recommendation {
	t.Helper()
	return hardening.Combine(&tmpl, hardening.AllChecks(), hardening.DefaultOptions(), nil)
}

// withVerified annotates d as verified for its current template.
func withVerified(t *testing.T, d *appsv1.Deployment) *appsv1.Deployment {
	t.Helper()
	rec := recommendationFor(t, d.Spec.Template)
	enc, err := hardening.EncodeRecommendation(rec)
	require.NoError(t, err)
	d = d.DeepCopy()
	if d.Annotations == nil {
		d.Annotations = map[string]string{}
	}
	d.Annotations[hardening.AnnotationStatus] = string(hardening.StatusVerified)
	d.Annotations[hardening.AnnotationTemplateHash] = hardening.TemplateHash(&d.Spec.Template)
	d.Annotations[hardening.AnnotationRecommendation] = enc
	return d
}

func toWorkload(t *testing.T, obj any) *Workload {
	t.Helper()
	if obj == nil {
		return nil
	}
	b, err := json.Marshal(obj)
	require.NoError(t, err)
	var w Workload
	require.NoError(t, json.Unmarshal(b, &w))
	return &w
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
