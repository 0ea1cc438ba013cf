package clone

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// DefaultStartWait bounds how long a clone waits for a workload's
// dependencies to become Ready before it starts the workload anyway.
const DefaultStartWait = 60 * time.Second

// startWaves orders targets for a dependency-first start: each wave holds
// the targets whose dependencies (after, restricted to workloads the clone
// runs) are all started before it. Dependencies that are not targets (the
// unmodified copies) start before every wave. Targets on a dependency cycle
// start together in the last wave.
func startWaves(targets []target, after map[Ref][]Ref) [][]target {
	isTarget := map[Ref]bool{}
	for _, t := range targets {
		isTarget[t.ref] = true
	}
	started := map[Ref]bool{}
	var waves [][]target
	pending := targets
	for len(pending) > 0 {
		var wave, rest []target
		for _, t := range pending {
			ok := true
			for _, d := range after[t.ref] {
				if d != t.ref && isTarget[d] && !started[d] {
					ok = false
					break
				}
			}
			if ok {
				wave = append(wave, t)
			} else {
				rest = append(rest, t)
			}
		}
		if len(wave) == 0 { // a cycle: start what is left together
			wave, rest = rest, nil
		}
		for _, t := range wave {
			started[t.ref] = true
		}
		waves = append(waves, wave)
		pending = rest
	}
	return waves
}

// awaited is what a wave waits for before it starts: the dependencies of
// its targets that the clone runs, except the targets themselves.
func awaited(wave []target, after map[Ref][]Ref, cl *Clone) []Ref {
	seen := map[Ref]bool{}
	for _, t := range wave {
		seen[t.ref] = true
	}
	var out []Ref
	for _, t := range wave {
		for _, d := range after[t.ref] {
			if _, runs := cl.Workloads[d]; runs && !seen[d] {
				seen[d] = true
				out = append(out, d)
			}
		}
	}
	return out
}

// waitReady waits until every workload of refs has as many Ready pods as
// the clone asked of it (want), or until deadline; it never fails on the
// deadline (a dependency that does not become Ready is for the trial to
// judge), only on ctx or on the API server.
func (c *Cloner) waitReady(ctx context.Context, ns string, refs []Ref, want map[Ref]int, sels map[Ref]labels.Selector, deadline time.Time) error {
	if len(refs) == 0 {
		return nil
	}
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		pods, err := c.cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return fmt.Errorf("list pods: %w", err)
		}
		if allReady(pods.Items, refs, want, sels) || !c.opts.Now().Before(deadline) {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

func allReady(pods []corev1.Pod, refs []Ref, want map[Ref]int, sels map[Ref]labels.Selector) bool {
	for _, r := range refs {
		n := 0
		for i := range pods {
			if sels[r].Matches(labels.Set(pods[i].Labels)) && podReady(&pods[i]) {
				n++
			}
		}
		if n < max(want[r], 1) {
			return false
		}
	}
	return true
}

func podReady(p *corev1.Pod) bool {
	if p.DeletionTimestamp != nil {
		return false
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
