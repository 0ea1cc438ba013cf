package hardening

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func BenchmarkTemplateHash(b *testing.B) {
	p := multi()
	for b.Loop() {
		_ = TemplateHash(p)
	}
}

func BenchmarkPlanTrials(b *testing.B) {
	p := multi()
	opts := DefaultOptions()
	for b.Loop() {
		_ = PlanTrials(p, opts)
	}
}

func BenchmarkCombine(b *testing.B) {
	p := multi()
	opts := DefaultOptions()
	checks := PlannedChecks(p, opts)
	for b.Loop() {
		_ = Combine(p, checks, opts, nil)
	}
}

func BenchmarkPodSecurityLevel(b *testing.B) {
	p := Variant(multi(), AllChecks(), DefaultOptions(), nil)
	for b.Loop() {
		if _, err := PodSecurityLevel(p); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCapabilityPlanReplay(b *testing.B) {
	// Replaying a finished two-round search, as a restarted worker does.
	p := nginxStock()
	n := needs{"nginx": one("CHOWN", "SETGID", "SETUID")}
	results := map[string]bool{}
	for {
		r := CapabilityPlan(p, DefaultOptions(), results)
		if r.Done {
			break
		}
		for _, tr := range r.Trials {
			results[tr.Name] = n.works(tr.Template)
		}
	}
	for b.Loop() {
		_ = CapabilityPlan(p, DefaultOptions(), results)
	}
}

func BenchmarkDecodeRecommendation(b *testing.B) {
	s, err := EncodeRecommendation(Combine(multi(), AllChecks(), DefaultOptions(), map[string][]corev1.Capability{}))
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := DecodeRecommendation(s); err != nil {
			b.Fatal(err)
		}
	}
}
