package hardening

import (
	"fmt"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/pod-security-admission/api"
	"k8s.io/pod-security-admission/policy"
)

// PodSecurity levels, as in the pod-security.kubernetes.io labels.
const (
	LevelPrivileged = string(api.LevelPrivileged)
	LevelBaseline   = string(api.LevelBaseline)
	LevelRestricted = string(api.LevelRestricted)
)

var evaluator = sync.OnceValues(func() (policy.Evaluator, error) {
	return policy.NewEvaluator(policy.DefaultChecks(), nil)
})

// PodSecurityLevel returns the highest PodSecurity level ("restricted",
// "baseline" or "privileged") that pods of t are admitted at, judged by the
// upstream policy checks of k8s.io/pod-security-admission at the latest
// policy version — the code the API server runs.
func PodSecurityLevel(t *corev1.PodTemplateSpec) (string, error) {
	e, err := evaluator()
	if err != nil {
		return "", fmt.Errorf("pod security evaluator: %w", err)
	}
	for _, level := range []api.Level{api.LevelRestricted, api.LevelBaseline} {
		lv := api.LevelVersion{Level: level, Version: api.LatestVersion()}
		res := policy.AggregateCheckResults(e.EvaluatePod(lv, &t.ObjectMeta, &t.Spec))
		if res.Allowed {
			return string(level), nil
		}
	}
	return LevelPrivileged, nil
}

// PodSecurityViolations returns why t is not admitted at level ("baseline" or
// "restricted"), one "reason: detail" line per failed policy check; empty
// when it is.
func PodSecurityViolations(t *corev1.PodTemplateSpec, level string) ([]string, error) {
	l, err := api.ParseLevel(level)
	if err != nil {
		return nil, fmt.Errorf("parse level: %w", err)
	}
	e, err := evaluator()
	if err != nil {
		return nil, fmt.Errorf("pod security evaluator: %w", err)
	}
	var out []string
	for _, r := range e.EvaluatePod(api.LevelVersion{Level: l, Version: api.LatestVersion()}, &t.ObjectMeta, &t.Spec) {
		if !r.Allowed {
			out = append(out, fmt.Sprintf("%s: %s", r.ForbiddenReason, r.ForbiddenDetail))
		}
	}
	return out, nil
}
