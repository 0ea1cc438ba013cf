package kinds

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/cinch-dev/cinch/pkg/hardening"
)

func TestAllIsTheTableOfKinds(t *testing.T) {
	var names []string
	for _, a := range All() {
		names = append(names, a.Kind().Name)
		want, ok := hardening.LookupKind(a.Kind().Name)
		require.True(t, ok)
		assert.Equal(t, want, a.Kind())
	}
	assert.Equal(t, hardening.Kinds(), names, "one accessor per kind of pkg/hardening's table, in its order")
	_, err := For("ReplicaSet")
	require.ErrorIs(t, err, ErrUnknownKind)
}

func sampleTemplate() corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "x"}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "docker.io/local/scenario:1"}}},
	}
}

// TestTemplateAtTemplatePath: the template each accessor hands out is the
// one at its kind's hardening.TemplatePath of the object's JSON (what the
// webhook and kubectl-cinch read, and what patches address).
func TestTemplateAtTemplatePath(t *testing.T) {
	for _, a := range All() {
		t.Run(a.Kind().Name, func(t *testing.T) {
			obj := a.New()
			tmpl, ok := a.Template(obj)
			require.True(t, ok)
			*tmpl = sampleTemplate()
			b, err := json.Marshal(obj)
			require.NoError(t, err)
			var raw any
			require.NoError(t, json.Unmarshal(b, &raw))
			for _, f := range a.Kind().TemplatePath {
				m, ok := raw.(map[string]any)
				require.True(t, ok, "no object at %s", f)
				raw = m[f]
			}
			at, err := json.Marshal(raw)
			require.NoError(t, err)
			var got corev1.PodTemplateSpec
			require.NoError(t, json.Unmarshal(at, &got))
			assert.Equal(t, sampleTemplate(), got)

			for _, other := range All() {
				if other.Kind().Name != a.Kind().Name {
					_, ok := other.Template(obj)
					assert.False(t, ok, "%s reads no %s", other.Kind().Name, a.Kind().Name)
				}
			}
		})
	}
}

func TestGetListPatchDelete(t *testing.T) {
	var objs []runtime.Object
	for _, a := range All() {
		for _, ns := range []string{"team", "other"} {
			o := a.New()
			o.SetNamespace(ns)
			o.SetName("w")
			tmpl, _ := a.Template(o)
			*tmpl = sampleTemplate()
			objs = append(objs, o)
		}
	}
	cs := fake.NewClientset(objs...)
	for _, a := range All() {
		t.Run(a.Kind().Name, func(t *testing.T) {
			ctx := t.Context()
			got, err := a.Get(ctx, cs, "team", "w")
			require.NoError(t, err)
			assert.Equal(t, "w", got.GetName())
			tmpl, ok := a.Template(got)
			require.True(t, ok)
			assert.Equal(t, sampleTemplate(), *tmpl)

			_, err = a.Get(ctx, cs, "team", "missing")
			assert.True(t, apierrors.IsNotFound(err), "%v", err)

			l, err := a.List(ctx, cs, "team")
			require.NoError(t, err)
			require.Len(t, l, 1, "one object of the kind in the namespace")
			assert.Equal(t, "team", l[0].GetNamespace())

			require.NoError(t, a.Patch(ctx, cs, "team", "w", types.MergePatchType,
				[]byte(`{"metadata":{"annotations":{"cinch.dev/status":"Running"}}}`), metav1.PatchOptions{}))
			got, err = a.Get(ctx, cs, "team", "w")
			require.NoError(t, err)
			assert.Equal(t, "Running", got.GetAnnotations()["cinch.dev/status"])

			require.NoError(t, a.Delete(ctx, cs, "team", "w"))
			_, err = a.Get(ctx, cs, "team", "w")
			assert.True(t, apierrors.IsNotFound(err), "deleted: %v", err)
			_, err = a.Get(ctx, cs, "other", "w")
			assert.NoError(t, err, "only the namespace's object is deleted")
			assert.True(t, apierrors.IsNotFound(a.Delete(ctx, cs, "team", "w")), "deleting a missing object is NotFound")

			require.NoError(t, a.Create(ctx, cs, "team", a.New()), "create")
			assert.Error(t, a.Create(ctx, cs, "team", &corev1.Pod{}), "an object of another kind")
		})
	}
}

// TestSelectorReplicas: the kinds that find their pods through their own
// selector and those that count replicas.
func TestSelectorReplicas(t *testing.T) {
	sel := &metav1.LabelSelector{MatchLabels: map[string]string{"app": "w"}}
	for _, tt := range []struct {
		kind                 string
		selector, replicated bool
	}{
		{hardening.KindDeployment, true, true},
		{hardening.KindStatefulSet, true, true},
		{hardening.KindDaemonSet, true, false},
		{hardening.KindJob, false, false},
		{hardening.KindCronJob, false, false},
	} {
		t.Run(tt.kind, func(t *testing.T) {
			a, err := For(tt.kind)
			require.NoError(t, err)
			o := a.New()
			raw, err := json.Marshal(map[string]any{"spec": map[string]any{"selector": sel}})
			require.NoError(t, err)
			require.NoError(t, json.Unmarshal(raw, o))
			if tt.selector {
				assert.Equal(t, sel, a.Selector(o))
			} else {
				assert.Nil(t, a.Selector(o))
			}
			assert.Nil(t, a.Selector(&corev1.Pod{}), "an object of another kind")
			assert.Equal(t, tt.replicated, a.Replicated())
			assert.Equal(t, tt.replicated, a.SetReplicas(o, 3))
			if tt.replicated {
				raw, err := json.Marshal(o)
				require.NoError(t, err)
				assert.Contains(t, string(raw), `"replicas":3`)
			}
			assert.False(t, a.SetReplicas(&corev1.Pod{}, 3), "an object of another kind")
		})
	}
}
