package hardening

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
)

// TestStrategicMergePatchApplies applies the patch with the API server's own
// strategic-merge code and compares the result with Recommendation.Apply.
func TestStrategicMergePatchApplies(t *testing.T) {
	type workload struct {
		kind     string
		wrap     func(*corev1.PodTemplateSpec) any
		template func(obj []byte) *corev1.PodTemplateSpec
	}
	kinds := []workload{
		{"Deployment", func(p *corev1.PodTemplateSpec) any {
			return &appsv1.Deployment{Spec: appsv1.DeploymentSpec{Template: *p}}
		}, func(b []byte) *corev1.PodTemplateSpec {
			var d appsv1.Deployment
			require.NoError(t, json.Unmarshal(b, &d))
			return &d.Spec.Template
		}},
		{"StatefulSet", func(p *corev1.PodTemplateSpec) any {
			return &appsv1.StatefulSet{Spec: appsv1.StatefulSetSpec{Template: *p}}
		}, func(b []byte) *corev1.PodTemplateSpec {
			var d appsv1.StatefulSet
			require.NoError(t, json.Unmarshal(b, &d))
			return &d.Spec.Template
		}},
		{"DaemonSet", func(p *corev1.PodTemplateSpec) any {
			return &appsv1.DaemonSet{Spec: appsv1.DaemonSetSpec{Template: *p}}
		}, func(b []byte) *corev1.PodTemplateSpec {
			var d appsv1.DaemonSet
			require.NoError(t, json.Unmarshal(b, &d))
			return &d.Spec.Template
		}},
		{"CronJob", func(p *corev1.PodTemplateSpec) any {
			return &batchv1.CronJob{Spec: batchv1.CronJobSpec{JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: *p}}}}
		}, func(b []byte) *corev1.PodTemplateSpec {
			var d batchv1.CronJob
			require.NoError(t, json.Unmarshal(b, &d))
			return &d.Spec.JobTemplate.Spec.Template
		}},
	}
	for _, k := range kinds {
		for _, f := range fixtures {
			t.Run(k.kind+"/"+f.name, func(t *testing.T) {
				orig := f.t()
				rec := Combine(orig, PlannedChecks(orig, DefaultOptions()), DefaultOptions(),
					map[string][]corev1.Capability{"app": {"CHOWN"}})
				patch, err := StrategicMergePatch(k.kind, rec)
				require.NoError(t, err)
				obj := k.wrap(orig)
				raw, err := json.Marshal(obj)
				require.NoError(t, err)
				patched, err := strategicpatch.StrategicMergePatch(raw, patch, obj)
				require.NoError(t, err)
				got := k.template(patched)
				want := rec.Apply(orig)
				assert.True(t, SameSettings(want, got), "patched template differs from Apply")
				assert.Empty(t, Weaker(rec, got))
			})
		}
	}
}

func TestStrategicMergePatchShape(t *testing.T) {
	rec := Combine(nginxStock(), []CheckID{CheckReadOnlyRootFilesystem}, DefaultOptions(), nil)
	p, err := StrategicMergePatch("Deployment", rec)
	require.NoError(t, err)
	assert.JSONEq(t, `{"spec":{"template":{"spec":{"containers":[{"name":"nginx","securityContext":{"readOnlyRootFilesystem":true}}]}}}}`, string(p))

	_, err = StrategicMergePatch("Pod", rec)
	assert.ErrorIs(t, err, ErrUnsupportedKind)
}

func TestPatchCommand(t *testing.T) {
	rec := Combine(nginxStock(), []CheckID{CheckReadOnlyRootFilesystem}, DefaultOptions(), nil)
	cmd, err := PatchCommand("StatefulSet", "shop", "web", rec)
	require.NoError(t, err)
	assert.Equal(t, `kubectl patch statefulset/web -n shop --type strategic -p '{"spec":{"template":{"spec":{"containers":[{"name":"nginx","securityContext":{"readOnlyRootFilesystem":true}}]}}}}'`, cmd)

	tests := []struct{ name, kind, ns, n string }{
		{"bad namespace", "Deployment", "a;rm -rf /", "web"},
		{"bad name", "Deployment", "shop", "web'$(id)'"},
		{"bad kind", "Service", "shop", "web"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := PatchCommand(tt.kind, tt.ns, tt.n, rec)
			assert.Error(t, err)
		})
	}
	assert.Equal(t, `'it'\''s'`, shellQuote("it's"))
}
