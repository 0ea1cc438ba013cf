package worker

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"

	"github.com/cinch-dev/cinch/internal/results"
	"github.com/cinch-dev/cinch/pkg/hardening"
)

// seriesOf returns the series of the gauge name in reg by
// "namespace/kind/name" (WithLabelValues would create the series it asks for).
func seriesOf(t *testing.T, reg prometheus.Gatherer, name string) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	out := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			l := map[string]string{}
			for _, p := range m.GetLabel() {
				l[p.GetName()] = p.GetValue()
			}
			out[l["namespace"]+"/"+l["kind"]+"/"+l["name"]] = m.GetGauge().GetValue()
		}
	}
	return out
}

func gapTemplate() *corev1.PodTemplateSpec {
	return &corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "app:1"}}}}
}

// verifiedWorkload is a workload whose annotations hold rec, verified for
// the template verifiedFor; its current template is current.
func verifiedWorkload(t *testing.T, name string, rec hardening.Recommendation, verifiedFor, current *corev1.PodTemplateSpec) results.Workload {
	t.Helper()
	s, err := hardening.EncodeRecommendation(rec)
	require.NoError(t, err)
	ann := map[string]string{
		hardening.AnnotationStatus:         string(hardening.StatusVerified),
		hardening.AnnotationTemplateHash:   hardening.TemplateHash(verifiedFor),
		hardening.AnnotationRecommendation: s,
	}
	if h := hardening.TemplateHash(current); h != ann[hardening.AnnotationTemplateHash] {
		ann[hardening.AnnotationEnforcedTemplateHash] = h
	}
	return results.Workload{
		Ref:         results.Ref{Namespace: "team", Kind: hardening.KindDeployment, Name: name},
		Annotations: ann, Template: current, Hash: hardening.TemplateHash(current),
	}
}

func TestGapOf(t *testing.T) {
	base := gapTemplate()
	passed := []hardening.CheckID{hardening.CheckNoPrivilegeEscalation, hardening.CheckSeccompRuntimeDefault}
	rec := hardening.Combine(base, passed, hardening.DefaultOptions(), nil)
	applied := rec.Apply(base)
	// Only the seccomp profile adopted by hand: one check still missing.
	partial := base.DeepCopy()
	partial.Spec.SecurityContext = &corev1.PodSecurityContext{SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}}
	changed := base.DeepCopy()
	changed.Spec.Containers[0].Image = "app:2"

	unreadable := verifiedWorkload(t, "garbled", rec, base, base)
	unreadable.Annotations[hardening.AnnotationRecommendation] = "{not json"
	failed := verifiedWorkload(t, "failed", rec, base, base)
	failed.Annotations[hardening.AnnotationStatus] = string(hardening.StatusFailed)
	delete(failed.Annotations, hardening.AnnotationRecommendation)

	for _, tc := range []struct {
		name string
		wl   results.Workload
		want Gap
	}{
		{"no result", results.Workload{Annotations: map[string]string{}, Template: base, Hash: hardening.TemplateHash(base)}, Gap{}},
		{"failed", failed, Gap{}},
		{"verified, not applied", verifiedWorkload(t, "todo", rec, base, base),
			Gap{Verified: true, Missing: passed, MissingKnown: true}},
		{"verified, partly applied", verifiedWorkload(t, "partial", rec, partial, partial),
			Gap{Verified: true, Missing: []hardening.CheckID{hardening.CheckNoPrivilegeEscalation}, MissingKnown: true}},
		{"enforced form of the verified template", verifiedWorkload(t, "enforced", rec, base, applied),
			Gap{Verified: true, Hardened: true, MissingKnown: true}},
		{"template changed after verification", func() results.Workload {
			wl := verifiedWorkload(t, "changed", rec, base, base)
			wl.Template, wl.Hash = changed, hardening.TemplateHash(changed)
			return wl
		}(), Gap{}},
		{"unreadable recommendation", unreadable, Gap{Verified: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, GapOf(tc.wl))
		})
	}
}

// TestWorkloadGapSeries: one series per gauge and opted-in workload; a
// workload a pass no longer sees loses its series, unless its namespace
// could not be listed; without a verified recommendation there is no
// missing-checks series.
func TestWorkloadGapSeries(t *testing.T) {
	ref := func(ns, name string) results.Ref {
		return results.Ref{Namespace: ns, Kind: hardening.KindDeployment, Name: name}
	}
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	r := NewResyncer(nil, nil, nil, 0, m)
	hardened := func() map[string]float64 { return seriesOf(t, reg, "cinch_workload_hardened") }
	missing := func() map[string]float64 { return seriesOf(t, reg, "cinch_workload_missing_checks") }
	two := []hardening.CheckID{hardening.CheckNoPrivilegeEscalation, hardening.CheckSeccompRuntimeDefault}

	r.setWorkloadGaps(map[results.Ref]Gap{
		ref("a", "todo"):     {},
		ref("a", "verified"): {Verified: true, Missing: two, MissingKnown: true},
		ref("a", "hardened"): {Verified: true, Hardened: true, MissingKnown: true},
		ref("b", "web"):      {Verified: true, Missing: two[:1], MissingKnown: true},
	}, nil)
	assert.Equal(t, map[string]float64{
		"a/Deployment/todo": 0, "a/Deployment/verified": 0, "a/Deployment/hardened": 1, "b/Deployment/web": 0,
	}, hardened())
	assert.Equal(t, map[string]float64{
		"a/Deployment/verified": 2, "a/Deployment/hardened": 0, "b/Deployment/web": 1,
	}, missing())

	// "verified" was deleted or opted out, "hardened" lost its result, b
	// could not be listed.
	r.setWorkloadGaps(map[results.Ref]Gap{
		ref("a", "todo"):     {Verified: true, Hardened: true, MissingKnown: true},
		ref("a", "hardened"): {},
	}, map[string]bool{"b": true})
	assert.Equal(t, map[string]float64{
		"a/Deployment/todo": 1, "a/Deployment/hardened": 0, "b/Deployment/web": 0,
	}, hardened())
	assert.Equal(t, map[string]float64{"a/Deployment/todo": 0, "b/Deployment/web": 1}, missing())

	// b listed again and gone (namespace no longer opted in): no stale series.
	r.setWorkloadGaps(map[results.Ref]Gap{ref("a", "todo"): {}}, nil)
	assert.Equal(t, map[string]float64{"a/Deployment/todo": 0}, hardened())
	assert.Empty(t, missing())

	// Turned off: no per-workload series at all.
	offReg := prometheus.NewRegistry()
	NewResyncer(nil, nil, nil, 0, NewMetrics(offReg), WithWorkloadMetrics(false)).
		setWorkloadGaps(map[results.Ref]Gap{ref("a", "todo"): {Verified: true, MissingKnown: true}}, nil)
	assert.Empty(t, seriesOf(t, offReg, "cinch_workload_hardened"))
	assert.Empty(t, seriesOf(t, offReg, "cinch_workload_missing_checks"))
}
