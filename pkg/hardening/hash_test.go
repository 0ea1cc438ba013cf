package hardening

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestTemplateHashStableAcrossKeyOrder(t *testing.T) {
	a := `{"metadata":{"labels":{"app":"web","tier":"front"},"annotations":{"x":"1","y":"2"}},
	  "spec":{"containers":[{"name":"web","image":"nginx:1.27","env":[{"name":"A","value":"1"}],
	  "securityContext":{"runAsUser":1000,"readOnlyRootFilesystem":true}}],"nodeSelector":{"a":"1","b":"2"}}}`
	b := `{"spec":{"nodeSelector":{"b":"2","a":"1"},"containers":[{"securityContext":{"readOnlyRootFilesystem":true,"runAsUser":1000},
	  "env":[{"value":"1","name":"A"}],"image":"nginx:1.27","name":"web"}]},
	  "metadata":{"annotations":{"y":"2","x":"1"},"labels":{"tier":"front","app":"web"}}}`
	var ta, tb corev1.PodTemplateSpec
	require.NoError(t, json.Unmarshal([]byte(a), &ta))
	require.NoError(t, json.Unmarshal([]byte(b), &tb))
	assert.Equal(t, TemplateHash(&ta), TemplateHash(&tb))
	assert.Len(t, TemplateHash(&ta), 32)
}

func TestTemplateHash(t *testing.T) {
	base := multi()
	base.Annotations = map[string]string{"prometheus.io/scrape": "true"}
	h := TemplateHash(base)
	tests := []struct {
		name   string
		mutate func(*corev1.PodTemplateSpec)
		same   bool
	}{
		{"deep copy", func(*corev1.PodTemplateSpec) {}, true},
		{"cinch annotations ignored", func(p *corev1.PodTemplateSpec) {
			p.Annotations[AnnotationStatus] = "Verified"
			p.Annotations[AnnotationRecommendation] = "{}"
		}, true},
		{"other cinch annotations ignored", func(p *corev1.PodTemplateSpec) {
			p.Annotations[AnnotationTemplateHash] = "0123"
			p.Annotations[AnnotationPrefix+"note"] = "x"
		}, true},
		{"probe paths added", func(p *corev1.PodTemplateSpec) { p.Annotations[AnnotationProbePaths] = "8080:/ready" }, false},
		{"ignore-logs added", func(p *corev1.PodTemplateSpec) { p.Annotations[AnnotationIgnoreLogs] = "chown /run/app.pid" }, false},
		{"metrics added", func(p *corev1.PodTemplateSpec) { p.Annotations[AnnotationMetrics] = "9090/metrics" }, false},
		{"kubectl rollout restart ignored", func(p *corev1.PodTemplateSpec) {
			p.Annotations["kubectl.kubernetes.io/restartedAt"] = "2026-01-01T00:00:00Z"
		}, true},
		{"object bookkeeping ignored", func(p *corev1.PodTemplateSpec) {
			p.Name = "x"
			p.Namespace = "y"
			p.UID = "123"
			p.ResourceVersion = "42"
			p.CreationTimestamp = metav1.Now()
			p.ManagedFields = []metav1.ManagedFieldsEntry{{Manager: "kubectl"}}
		}, true},
		{"labels removed", func(p *corev1.PodTemplateSpec) { p.Labels = nil }, false},
		{"image changes", func(p *corev1.PodTemplateSpec) { p.Spec.Containers[0].Image = "example.com/app:1.5" }, false},
		{"init container image changes", func(p *corev1.PodTemplateSpec) { p.Spec.InitContainers[0].Image = "example.com/migrate:3" }, false},
		{"container securityContext changes", func(p *corev1.PodTemplateSpec) {
			p.Spec.Containers[1].SecurityContext.ReadOnlyRootFilesystem = ptr(true)
		}, false},
		{"pod securityContext changes", func(p *corev1.PodTemplateSpec) { p.Spec.SecurityContext.RunAsUser = ptr(int64(1001)) }, false},
		{"env changes", func(p *corev1.PodTemplateSpec) {
			p.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "DEBUG", Value: "1"}}
		}, false},
		{"other annotation changes", func(p *corev1.PodTemplateSpec) { p.Annotations["sidecar.istio.io/inject"] = "true" }, false},
		{"label changes", func(p *corev1.PodTemplateSpec) { p.Labels["version"] = "v2" }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := base.DeepCopy()
			tt.mutate(c)
			if tt.same {
				assert.Equal(t, h, TemplateHash(c))
			} else {
				assert.NotEqual(t, h, TemplateHash(c))
			}
		})
	}
	assert.Equal(t, h, TemplateHash(base), "hashing must not modify the template")
	assert.NotEmpty(t, TemplateHash(nil))
}

// TestTemplateHashProbePaths: cinch.dev/probe-paths changes what a trial
// asks, so every edit of it changes the hash; Cinch's other annotations do
// not.
func TestTemplateHashProbePaths(t *testing.T) {
	with := func(paths string) *corev1.PodTemplateSpec {
		p := multi()
		p.Annotations = map[string]string{AnnotationStatus: "Verified"}
		if paths != "" {
			p.Annotations[AnnotationProbePaths] = paths
		}
		return p
	}
	hashes := map[string]string{}
	for _, paths := range []string{"", "8080:/ready", "8080:/ready,http:/page", "8081:/ready"} {
		h := TemplateHash(with(paths))
		if prev, dup := hashes[h]; dup {
			t.Errorf("probe paths %q and %q hash alike", prev, paths)
		}
		hashes[h] = paths
	}
	a, b := with("8080:/ready"), with("8080:/ready")
	b.Annotations[AnnotationStatus] = "Running"
	b.Annotations[AnnotationTemplateHash] = "0123"
	assert.Equal(t, TemplateHash(a), TemplateHash(b), "other cinch.dev annotations stay ignored")
}

// TestTemplateHashUnchangedWithoutTrialAnnotations: a template without
// trial annotations keeps the hash earlier versions gave it, so upgrading
// Cinch does not re-harden every workload.
func TestTemplateHashUnchangedWithoutTrialAnnotations(t *testing.T) {
	p := &corev1.PodTemplateSpec{}
	p.Labels = map[string]string{"app": "web"}
	p.Annotations = map[string]string{"prometheus.io/scrape": "true", AnnotationStatus: "Verified"}
	p.Spec.Containers = []corev1.Container{{Name: "web", Image: "nginx:1.27"}}
	assert.Equal(t, "f65aebdb184d4a1fc1f2b3645686c68c", TemplateHash(p))
}

// TestTemplateHashIgnoreLogs: cinch.dev/ignore-logs changes how a trial is
// judged, so every edit of it changes the hash (the next run may drop what
// was kept only because of those lines); a template without it keeps its
// hash (TestTemplateHashUnchangedWithoutTrialAnnotations).
func TestTemplateHashIgnoreLogs(t *testing.T) {
	with := func(ann map[string]string) *corev1.PodTemplateSpec {
		p := multi()
		p.Annotations = map[string]string{AnnotationStatus: "Verified"}
		for k, v := range ann {
			p.Annotations[k] = v
		}
		return p
	}
	hashes := map[string]string{}
	for _, v := range []string{"chown /run/app.pid", "chown /run/app.pid\nsetgid", `^WARN .*$`, ""} {
		h := TemplateHash(with(map[string]string{AnnotationIgnoreLogs: v}))
		if prev, dup := hashes[h]; dup {
			t.Errorf("ignore-logs %q and %q hash alike", prev, v)
		}
		hashes[h] = v
	}
	assert.NotEqual(t, TemplateHash(with(nil)), TemplateHash(with(map[string]string{AnnotationIgnoreLogs: ""})),
		"adding the annotation, even empty, is a change")
	assert.NotEqual(t,
		TemplateHash(with(map[string]string{AnnotationProbePaths: "8080:/x"})),
		TemplateHash(with(map[string]string{AnnotationIgnoreLogs: "8080:/x"})),
		"the key is part of the hash")
	assert.Equal(t, TemplateHash(with(nil)), TemplateHash(with(map[string]string{AnnotationTemplateHash: "0123"})),
		"other cinch.dev annotations stay ignored")
}

// TestTemplateHashMetrics: cinch.dev/metrics changes what a trial scrapes
// and judges (TC-06), so every edit of it changes the hash; a template
// without it keeps its hash (TestTemplateHashUnchangedWithoutTrialAnnotations).
func TestTemplateHashMetrics(t *testing.T) {
	with := func(v *string) *corev1.PodTemplateSpec {
		p := multi()
		p.Annotations = map[string]string{AnnotationStatus: "Verified"}
		if v != nil {
			p.Annotations[AnnotationMetrics] = *v
		}
		return p
	}
	hashes := map[string]string{TemplateHash(with(nil)): "(none)"}
	for _, v := range []string{"", "9090", "9090/metrics", ":9090/stats", "http/metrics"} {
		h := TemplateHash(with(&v))
		if prev, dup := hashes[h]; dup {
			t.Errorf("metrics %q and %q hash alike", prev, v)
		}
		hashes[h] = v
	}
	v := "9090"
	a, b := with(&v), with(&v)
	b.Annotations[AnnotationTemplateHash] = "0123"
	assert.Equal(t, TemplateHash(a), TemplateHash(b), "other cinch.dev annotations stay ignored")
}

// TestTemplateHashJobLabels: the labels the API server adds to a Job's
// template (its name and uid) do not count, so a Job hashes like the
// manifest it was created from (what the mutating webhook sees) and like
// the CronJob job template it was made from; the unprefixed legacy labels
// count unless they come with their batch.kubernetes.io/ form.
func TestTemplateHashJobLabels(t *testing.T) {
	manifest := multi()
	manifest.Labels = map[string]string{"app": "report"}
	h := TemplateHash(manifest)
	created := manifest.DeepCopy()
	for k, v := range map[string]string{
		"batch.kubernetes.io/job-name": "nightly-29000000", "job-name": "nightly-29000000",
		"batch.kubernetes.io/controller-uid": "0e78787a", "controller-uid": "0e78787a",
	} {
		created.Labels[k] = v
	}
	assert.Equal(t, h, TemplateHash(created))
	assert.Len(t, created.Labels, 5, "hashing must not modify the template")

	own := manifest.DeepCopy()
	own.Labels["job-name"] = "nightly"
	assert.NotEqual(t, h, TemplateHash(own), "a job-name label of the workload's own counts")
	mismatch := created.DeepCopy()
	mismatch.Labels["job-name"] = "other"
	assert.NotEqual(t, h, TemplateHash(mismatch), "a legacy label that is not the API server's counts")
	onlyJob := manifest.DeepCopy()
	onlyJob.Labels = map[string]string{"batch.kubernetes.io/controller-uid": "0e78787a"}
	noLabels := manifest.DeepCopy()
	noLabels.Labels = nil
	assert.Equal(t, TemplateHash(noLabels), TemplateHash(onlyJob))
}
