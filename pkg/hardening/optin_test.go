package hardening

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"k8s.io/apimachinery/pkg/labels"
)

func TestOptIn(t *testing.T) {
	tests := []struct {
		name     string
		ns       map[string]string
		ann      map[string]string
		clone    bool
		nsIn     bool
		enforces bool
		optedIn  bool
	}{
		{name: "no labels"},
		{name: "enabled", ns: map[string]string{LabelHarden: HardenEnabled}, nsIn: true, optedIn: true},
		{name: "enforce", ns: map[string]string{LabelHarden: HardenEnforce}, nsIn: true, enforces: true, optedIn: true},
		{name: "other value", ns: map[string]string{LabelHarden: "yes"}},
		{name: "disabled on the namespace", ns: map[string]string{LabelHarden: HardenDisabled}},
		{name: "workload opted out", ns: map[string]string{LabelHarden: HardenEnabled}, ann: map[string]string{LabelHarden: HardenDisabled}, nsIn: true},
		{name: "workload annotation other value", ns: map[string]string{LabelHarden: HardenEnabled}, ann: map[string]string{LabelHarden: "enabled"}, nsIn: true, optedIn: true},
		{name: "clone", ns: map[string]string{LabelCloneOf: "shop"}, clone: true},
		{name: "clone with the opt-in label", ns: map[string]string{LabelHarden: HardenEnforce, LabelCloneOf: "shop"}, clone: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.clone, IsClone(tt.ns), "IsClone")
			assert.Equal(t, tt.nsIn, NamespaceOptedIn(tt.ns), "NamespaceOptedIn")
			assert.Equal(t, tt.enforces, NamespaceEnforces(tt.ns), "NamespaceEnforces")
			assert.Equal(t, tt.optedIn, OptedIn(tt.ns, tt.ann), "OptedIn")
		})
	}
}

func TestOptInSelectorMatchesTheRule(t *testing.T) {
	sel, err := labels.Parse(OptInSelector)
	assert.NoError(t, err)
	for _, v := range []string{"", HardenEnabled, HardenEnforce, HardenDisabled, "yes"} {
		ns := map[string]string{}
		if v != "" {
			ns[LabelHarden] = v
		}
		assert.Equal(t, NamespaceOptedIn(ns), sel.Matches(labels.Set(ns)), v)
	}
}
