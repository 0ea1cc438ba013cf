package hardening

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
)

func TestTemplatePath(t *testing.T) {
	for _, kind := range []string{KindDeployment, KindStatefulSet, KindDaemonSet, KindJob} {
		p, ok := TemplatePath(kind)
		require.True(t, ok, kind)
		assert.Equal(t, []string{"spec", "template"}, p, kind)
	}
	p, ok := TemplatePath("CronJob")
	require.True(t, ok)
	assert.Equal(t, []string{"spec", "jobTemplate", "spec", "template"}, p)
	p[0] = "changed"
	p, _ = TemplatePath("CronJob")
	assert.Equal(t, "spec", p[0], "a copy")
	_, ok = TemplatePath("Pod")
	assert.False(t, ok)
}

// TestParseCapabilityTrialPlanned reads back the names CapabilityPlan makes.
func TestParseCapabilityTrialPlanned(t *testing.T) {
	tmpl := &corev1.PodTemplateSpec{Spec: corev1.PodSpec{
		InitContainers: []corev1.Container{{Name: "setup", Image: "x"}},
		Containers:     []corev1.Container{{Name: "app", Image: "x"}},
	}}
	round := CapabilityPlan(tmpl, DefaultOptions(), nil)
	require.NotEmpty(t, round.Trials)
	for _, tr := range round.Trials {
		info, ok := ParseCapabilityTrial(tmpl, tr.Name)
		require.True(t, ok, tr.Name)
		assert.Equal(t, CapabilityAttribution, info.Step, tr.Name)
		require.Len(t, tr.AddBack, 1)
		for name := range tr.AddBack {
			assert.Equal(t, name, info.Container, tr.Name)
			assert.Equal(t, name == "setup", info.Init, tr.Name)
		}
	}
	// Every attribution trial failed: the necessity round follows.
	results := map[string]bool{}
	for _, tr := range round.Trials {
		results[tr.Name] = false
	}
	round = CapabilityPlan(tmpl, DefaultOptions(), results)
	require.NotEmpty(t, round.Trials)
	for _, tr := range round.Trials {
		info, ok := ParseCapabilityTrial(tmpl, tr.Name)
		require.True(t, ok, tr.Name)
		if info.Step == CapabilityNecessityRare {
			assert.Equal(t, RarelyNeededCapabilities, info.Group, tr.Name)
			assert.Len(t, tr.AddBack[info.Container], len(RuntimeDefaultCapabilities)-len(RarelyNeededCapabilities), tr.Name)
			for _, c := range info.Group {
				assert.NotContains(t, tr.AddBack[info.Container], c, tr.Name)
			}
			continue
		}
		assert.Equal(t, CapabilityNecessity, info.Step, tr.Name)
		assert.NotContains(t, tr.AddBack[info.Container], info.Capability, tr.Name)
		assert.Len(t, tr.AddBack[info.Container], len(RuntimeDefaultCapabilities)-1, tr.Name)
	}
}

func TestParseCapabilityTrial(t *testing.T) {
	tmpl := &corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "web"}, {Name: "sidecar",
		SecurityContext: &corev1.SecurityContext{Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"NET_RAW"}}}}}}}
	rareButNetRaw := slices.DeleteFunc(slices.Clone(RarelyNeededCapabilities), func(c corev1.Capability) bool { return c == "NET_RAW" })
	tests := []struct {
		name string
		want CapabilityTrialInfo
		ok   bool
	}{
		{"caps-c0-none", CapabilityTrialInfo{Container: "web", Step: CapabilityAttribution}, true},
		{"caps-c1-no-net-bind-service", CapabilityTrialInfo{Container: "sidecar", Step: CapabilityNecessity, Capability: "NET_BIND_SERVICE"}, true},
		{"caps-c0-need", CapabilityTrialInfo{Container: "web", Step: CapabilityNeeded}, true},
		{"caps-c0-no-rare", CapabilityTrialInfo{Container: "web", Step: CapabilityNecessityRare, Group: RarelyNeededCapabilities}, true},
		{"caps-c1-no-rare", CapabilityTrialInfo{Container: "sidecar", Step: CapabilityNecessityRare, Group: rareButNetRaw}, true},
		{"caps-c7-no-rare", CapabilityTrialInfo{Step: CapabilityNecessityRare, Group: RarelyNeededCapabilities}, true},
		{"caps-c0-need-kill", CapabilityTrialInfo{Container: "web", Step: CapabilityExtension, Capability: "KILL"}, true},
		{"caps-c0-try-dac-override", CapabilityTrialInfo{Container: "web", Step: CapabilityElimination, Capability: "DAC_OVERRIDE"}, true},
		{"caps-c7-need", CapabilityTrialInfo{Step: CapabilityNeeded}, true},
		{"caps-i0-need", CapabilityTrialInfo{Init: true, Step: CapabilityNeeded}, true},
		{"caps-c0-no-sys-admin", CapabilityTrialInfo{}, false},
		{"caps-c0-whatever", CapabilityTrialInfo{}, false},
		{"caps-x0-need", CapabilityTrialInfo{}, false},
		{"drop-caps", CapabilityTrialInfo{}, false},
		{"baseline-1", CapabilityTrialInfo{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := ParseCapabilityTrial(tmpl, tt.name)
			assert.Equal(t, tt.ok, ok)
			assert.Equal(t, tt.want, got)
		})
	}
}
