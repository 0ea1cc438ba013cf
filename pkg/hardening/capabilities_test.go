package hardening

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"
)

// capsOf returns the capabilities a container runs with under runc.
func capsOf(c *corev1.Container) []corev1.Capability {
	sc := c.SecurityContext
	if sc == nil || sc.Capabilities == nil {
		return slices.Clone(RuntimeDefaultCapabilities)
	}
	drop, add := normCaps(sc.Capabilities.Drop), normCaps(sc.Capabilities.Add)
	var out []corev1.Capability
	if !slices.Contains(drop, "ALL") {
		for _, d := range RuntimeDefaultCapabilities {
			if !slices.Contains(drop, d) {
				out = append(out, d)
			}
		}
	}
	for _, a := range add {
		if !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out
}

// needs is a monotone oracle: a container works when its capabilities
// satisfy every clause (a clause is satisfied by any one of its members).
type needs map[string][][]corev1.Capability

func (n needs) works(p *corev1.PodTemplateSpec) bool {
	for _, r := range containersOf(&p.Spec) {
		have := capsOf(r.c)
		for _, clause := range n[r.c.Name] {
			if !slices.ContainsFunc(clause, func(c corev1.Capability) bool { return slices.Contains(have, c) }) {
				return false
			}
		}
	}
	return true
}

func one(cs ...corev1.Capability) [][]corev1.Capability {
	out := make([][]corev1.Capability, len(cs))
	for i, c := range cs {
		out[i] = []corev1.Capability{c}
	}
	return out
}

// runSearch drives CapabilityPlan to the end with the oracle.
func runSearch(t *testing.T, p *corev1.PodTemplateSpec, n needs) (map[string][]corev1.Capability, int, int) {
	t.Helper()
	results := map[string]bool{}
	rounds, trials := 0, 0
	for {
		r := CapabilityPlan(p, DefaultOptions(), results)
		if r.Done {
			require.Empty(t, r.Trials)
			return r.AddBack, rounds, trials
		}
		require.NotEmpty(t, r.Trials)
		rounds++
		require.LessOrEqual(t, rounds, 40, "search does not terminate")
		for _, tr := range r.Trials {
			assert.Empty(t, validation.IsDNS1123Label(tr.Name), tr.Name)
			_, seen := results[tr.Name]
			require.False(t, seen, "trial %s repeated", tr.Name)
			assert.Equal(t, TrialCapabilityAddBack, tr.Kind)
			assertNotLoosened(t, p, tr.Template, tr.Name)
			results[tr.Name] = n.works(tr.Template)
			trials++
		}
	}
}

func TestCapabilityPlan(t *testing.T) {
	twoContainers := func() *corev1.PodTemplateSpec {
		p := nginxStock()
		p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: "sidecar", Image: "busybox"})
		return p
	}
	tests := []struct {
		name       string
		t          *corev1.PodTemplateSpec
		needs      needs
		want       map[string][]corev1.Capability
		wantRounds int
		wantTrials int
	}{
		{"nginx: necessary capabilities found in 2 rounds", nginxStock(),
			needs{"nginx": one("CHOWN", "SETGID", "SETUID", "NET_BIND_SERVICE")},
			map[string][]corev1.Capability{"nginx": {"CHOWN", "SETGID", "SETUID", "NET_BIND_SERVICE"}}, 2, 15},
		{"one alternative: extension round", nginxStock(),
			needs{"nginx": {{"CHOWN"}, {"DAC_OVERRIDE", "FOWNER"}}},
			map[string][]corev1.Capability{"nginx": {"CHOWN", "DAC_OVERRIDE"}}, 3, 14 + 1 + 13},
		{"two alternatives: greedy elimination", nginxStock(),
			needs{"nginx": {{"DAC_OVERRIDE", "FOWNER"}, {"SETGID", "SETUID"}}},
			map[string][]corev1.Capability{"nginx": {"FOWNER", "SETUID"}}, 2 + 13, 14 + 14 + 13},
		{"every capability needed: one round, known to work", nginxStock(),
			needs{"nginx": one(RuntimeDefaultCapabilities...)},
			map[string][]corev1.Capability{"nginx": RuntimeDefaultCapabilities}, 1, 14},
		{"a container that drops NET_RAW: 13 candidates", func() *corev1.PodTemplateSpec {
			p := nginxStock()
			p.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"NET_RAW"}}}
			return p
		}(), needs{"nginx": one("KILL")}, map[string][]corev1.Capability{"nginx": {"KILL"}}, 2, 14},
		{"two containers: attribution first", twoContainers(),
			needs{"nginx": one("NET_BIND_SERVICE")},
			map[string][]corev1.Capability{"nginx": {"NET_BIND_SERVICE"}, "sidecar": {}}, 3, 2 + 14 + 1},
		{"init container searched too", func() *corev1.PodTemplateSpec {
			p := multi()
			for _, r := range containersOf(&p.Spec) {
				r.c.SecurityContext.Capabilities = nil
			}
			return p
		}(), needs{"migrate": one("CHOWN"), "proxy": one("SETUID", "SETGID")},
			map[string][]corev1.Capability{"migrate": {"CHOWN"}, "app": {}, "proxy": {"SETGID", "SETUID"}}, 3, 3 + 2*14 + 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, rounds, trials := runSearch(t, tt.t, tt.needs)
			assert.Equal(t, tt.want, got)
			assert.Equal(t, tt.wantRounds, rounds, "rounds")
			assert.Equal(t, tt.wantTrials, trials, "trials")
			// The result works, and removing any one capability breaks it.
			final := Variant(tt.t, nil, DefaultOptions(), got)
			assert.True(t, tt.needs.works(final))
			for name, caps := range got {
				for _, c := range caps {
					less := map[string][]corev1.Capability{}
					for k, v := range got {
						less[k] = v
					}
					less[name] = without(caps, c)
					assert.False(t, tt.needs.works(Variant(tt.t, nil, DefaultOptions(), less)), "%s: %s is not needed", name, c)
				}
			}
		})
	}
}

func TestCapabilityPlanBound(t *testing.T) {
	// Worst case per container: no single capability is necessary and pairs
	// of stand-ins are needed; the documented bound is 16 rounds, 42 trials.
	n := needs{"nginx": {{"CHOWN", "DAC_OVERRIDE"}, {"FOWNER", "FSETID"}, {"KILL", "SETGID"}, {"SETUID", "SETPCAP"}}}
	got, rounds, trials := runSearch(t, nginxStock(), n)
	assert.LessOrEqual(t, rounds, 16)
	assert.LessOrEqual(t, trials, 42)
	assert.Len(t, got["nginx"], 4)
}

func TestCapabilityPlanNothingToSearch(t *testing.T) {
	r := CapabilityPlan(restricted(), DefaultOptions(), nil)
	assert.True(t, r.Done)
	assert.Empty(t, r.Trials)
	assert.Empty(t, r.AddBack)
}
