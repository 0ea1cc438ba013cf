package hardening

import (
	"maps"
	"math/rand/v2"
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
			map[string][]corev1.Capability{"nginx": {"CHOWN", "SETGID", "SETUID", "NET_BIND_SERVICE"}}, 2, 8 + 1},
		{"one alternative: extension round", nginxStock(),
			needs{"nginx": {{"CHOWN"}, {"DAC_OVERRIDE", "FOWNER"}}},
			map[string][]corev1.Capability{"nginx": {"CHOWN", "DAC_OVERRIDE"}}, 3, 8 + 1 + 13},
		{"two alternatives: greedy elimination", nginxStock(),
			needs{"nginx": {{"DAC_OVERRIDE", "FOWNER"}, {"SETGID", "SETUID"}}},
			map[string][]corev1.Capability{"nginx": {"FOWNER", "SETUID"}}, 2 + 13, 8 + 14 + 13},
		{"every capability needed: rare ones one by one, then known to work", nginxStock(),
			needs{"nginx": one(RuntimeDefaultCapabilities...)},
			map[string][]corev1.Capability{"nginx": RuntimeDefaultCapabilities}, 2, 8 + 7},
		{"a rarely needed capability: its group fails, then each alone", nginxStock(),
			needs{"nginx": one("CHOWN", "NET_RAW")},
			map[string][]corev1.Capability{"nginx": {"CHOWN", "NET_RAW"}}, 3, 8 + 7 + 1},
		{"one rare candidate left: tested alone, no group", func() *corev1.PodTemplateSpec {
			p := nginxStock()
			p.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{Capabilities: &corev1.Capabilities{
				Drop: []corev1.Capability{"FSETID", "SETPCAP", "SYS_CHROOT", "MKNOD", "AUDIT_WRITE", "SETFCAP"}}}
			return p
		}(), needs{"nginx": one("NET_RAW")}, map[string][]corev1.Capability{"nginx": {"NET_RAW"}}, 2, 8 + 1},
		{"a container that drops NET_RAW: 13 candidates", func() *corev1.PodTemplateSpec {
			p := nginxStock()
			p.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"NET_RAW"}}}
			return p
		}(), needs{"nginx": one("KILL")}, map[string][]corev1.Capability{"nginx": {"KILL"}}, 2, 8 + 1},
		{"two containers: attribution first", twoContainers(),
			needs{"nginx": one("NET_BIND_SERVICE")},
			map[string][]corev1.Capability{"nginx": {"NET_BIND_SERVICE"}, "sidecar": {}}, 3, 2 + 8 + 1},
		{"init container searched too", func() *corev1.PodTemplateSpec {
			p := multi()
			for _, r := range containersOf(&p.Spec) {
				r.c.SecurityContext.Capabilities = nil
			}
			return p
		}(), needs{"migrate": one("CHOWN"), "proxy": one("SETUID", "SETGID")},
			map[string][]corev1.Capability{"migrate": {"CHOWN"}, "app": {}, "proxy": {"SETGID", "SETUID"}}, 3, 3 + 2*8 + 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, rounds, trials := runSearch(t, tt.t, tt.needs)
			assert.Equal(t, tt.want, got)
			assert.Equal(t, tt.wantRounds, rounds, "rounds")
			assert.Equal(t, tt.wantTrials, trials, "trials")
			assertIrreducible(t, tt.t, tt.needs, got)
		})
	}
}

// assertIrreducible checks that the add-back sets got work, and that removing
// any one capability breaks them.
func assertIrreducible(t *testing.T, p *corev1.PodTemplateSpec, n needs, got map[string][]corev1.Capability) {
	t.Helper()
	assert.True(t, n.works(Variant(p, nil, DefaultOptions(), got)), "the result works")
	for name, caps := range got {
		for _, c := range caps {
			less := maps.Clone(got)
			less[name] = without(caps, c)
			assert.False(t, n.works(Variant(p, nil, DefaultOptions(), less)), "%s: %s is not needed", name, c)
		}
	}
}

// TestCapabilityPlanRandomNeeds runs the search against random monotone
// oracles: one to four clauses of one to three capabilities, drawn from the common and
// the rarely needed ones alike. Every result must work, be irreducible and
// stay within the documented bound.
func TestCapabilityPlanRandomNeeds(t *testing.T) {
	rng := rand.New(rand.NewPCG(16, 14))
	for i := range 300 {
		var clauses [][]corev1.Capability
		for range 1 + rng.IntN(4) { // at least one clause: drop ALL fails
			clause := make([]corev1.Capability, 1+rng.IntN(3))
			for j := range clause {
				clause[j] = RuntimeDefaultCapabilities[rng.IntN(len(RuntimeDefaultCapabilities))]
			}
			clauses = append(clauses, clause)
		}
		n := needs{"nginx": clauses}
		got, rounds, trials := runSearch(t, nginxStock(), n)
		assert.LessOrEqual(t, rounds, 16, "case %d: %v", i, clauses)
		assert.LessOrEqual(t, trials, 42, "case %d: %v", i, clauses)
		if assert.Contains(t, got, "nginx", "case %d: %v", i, clauses) {
			assertIrreducible(t, nginxStock(), n, got)
		}
	}
}

func TestCapabilityPlanBound(t *testing.T) {
	// Worst case per container: no single capability is necessary and pairs
	// of stand-ins are needed; the documented bound without attribution is
	// 16 rounds, 42 trials.
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
