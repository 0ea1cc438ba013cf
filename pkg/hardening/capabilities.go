package hardening

import (
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// RuntimeDefaultCapabilities is the capability set containerd and runc give a
// container that neither adds nor drops any. The capability search looks for
// a minimal subset of it.
var RuntimeDefaultCapabilities = []corev1.Capability{
	"CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID",
	"SETPCAP", "NET_BIND_SERVICE", "NET_RAW", "SYS_CHROOT", "MKNOD",
	"AUDIT_WRITE", "SETFCAP",
}

// RarelyNeededCapabilities are the runtime defaults that servers seldom
// need. The capability search tests whether a container can do without all
// of them in one trial, and tests them one by one only when it cannot.
var RarelyNeededCapabilities = []corev1.Capability{
	"FSETID", "SETPCAP", "NET_RAW", "SYS_CHROOT", "MKNOD", "AUDIT_WRITE", "SETFCAP",
}

// rareGroup is the trial-name suffix of the necessity trial that removes
// every rarely needed candidate at once.
const rareGroup = "rare"

// CapabilityRound is the next step of the capability add-back search.
type CapabilityRound struct {
	// Trials are the trials to run now, in parallel. Empty when Done.
	Trials []Trial
	// Done is true when every searched container has a result (or none can
	// be found).
	Done bool
	// AddBack holds, once Done, the capabilities each container must add
	// back after dropping ALL, by container name. A container for which no
	// working set was found is absent: it keeps its capabilities. Pass it to
	// Combine.
	AddBack map[string][]corev1.Capability
}

// CapabilityPlan drives the search for a minimal set of capabilities to add
// back when the drop-all-capabilities trial failed. It is stateless: given
// the verdicts of all capability trials judged so far (by trial name; nil at
// the start) it replays the search and returns the next round, so a worker
// that restarts only needs the verdicts it already recorded.
//
// Each trial varies one container only (it drops ALL and adds a set back;
// every other setting is t's own), because the oracle judges the workload as
// a whole and could not tell which container a failure came from. Searches
// of different containers run in the same rounds. For a container, with C its
// candidates (the runtime defaults it does not already drop or add) and the
// assumption that working is monotone in the capability set (more
// capabilities never break a working container):
//
//  1. Attribution (only when several containers lack drop ALL): drop ALL in
//     that container alone. Passing ends its search with nothing to add back.
//     With one container the failed drop-all trial already answered this.
//  2. Necessity: for each c, add back C\{c}. N is the set of c whose trial
//     failed: every working set contains N. The rarely needed candidates R
//     (RarelyNeededCapabilities, when C holds two or more of them) are
//     tested together first: add back C\R. When that works none of R is
//     necessary (by monotonicity), so the round has |C\R|+1 trials; when it
//     fails, one more round tests each of R alone.
//  3. Check N, 1 trial: add back N. If it works it is the minimum (every
//     working set contains N). Skipped when N is empty (drop ALL failed).
//  4. Extension, |C\N| trials: add back N∪{c} for each c outside N. The first
//     working one in catalogue order is a minimum-size working set.
//  5. Otherwise (capabilities that can stand in for each other, e.g. either
//     of DAC_OVERRIDE or FOWNER, in more than one pair) a greedy elimination,
//     one trial per round: start from C minus the first c whose necessity
//     trial passed and remove each further c outside N while it keeps
//     working. The result is irreducible: removing any one capability fails.
//
// Sets that are known without a trial are not run: the empty set fails (the
// drop-all verdict) and C itself works (it is the baseline).
//
// Bound per container, n = |C| ≤ 14 and k = |N|, counting the extra
// necessity round and the group trial: when k = 0 step 3 is skipped, so at
// most 1 + 2 + 1 + (n-1) ≤ 17 rounds and 1 + (n+1) + n + (n-1) ≤ 43 trials;
// when k ≥ 1 at most 5 + (n-k-1) ≤ 17 rounds and
// 1 + (n+1) + 1 + (n-k) + (n-k-1) ≤ 42 trials. Without the attribution round
// (one container) subtract one of each. The common case (a few
// individually necessary capabilities among the 7 common ones, e.g. CHOWN,
// SETUID, SETGID for nginx) takes 2 rounds and 7+1+1 = 9 trials.
func CapabilityPlan(t *corev1.PodTemplateSpec, opts Options, results map[string]bool) CapabilityRound {
	opts = opts.normalized()
	var subjects []ctrRef
	if !isWindows(&t.Spec) {
		for _, r := range containersOf(&t.Spec) {
			if ctrLacks(CheckDropAllCapabilities, t.Spec.SecurityContext, r.c) {
				subjects = append(subjects, r)
			}
		}
	}
	round := CapabilityRound{Done: true, AddBack: map[string][]corev1.Capability{}}
	for _, r := range subjects {
		s := capSearch{t: t, opts: opts, ref: r, results: results, multi: len(subjects) > 1}
		s.cand = candidates(r.c)
		found, result, pending := s.run()
		if len(pending) > 0 {
			round.Done = false
			round.Trials = append(round.Trials, pending...)
			continue
		}
		if found {
			round.AddBack[r.c.Name] = result
		}
	}
	if !round.Done {
		round.AddBack = nil
	}
	return round
}

// candidates returns the runtime defaults that c neither drops nor adds.
func candidates(c *corev1.Container) []corev1.Capability {
	var drop, add []corev1.Capability
	if c.SecurityContext != nil && c.SecurityContext.Capabilities != nil {
		drop = normCaps(c.SecurityContext.Capabilities.Drop)
		add = normCaps(c.SecurityContext.Capabilities.Add)
	}
	var out []corev1.Capability
	for _, d := range RuntimeDefaultCapabilities {
		if !slices.Contains(drop, d) && !slices.Contains(add, d) {
			out = append(out, d)
		}
	}
	return out
}

type capSearch struct {
	t       *corev1.PodTemplateSpec
	opts    Options
	ref     ctrRef
	results map[string]bool
	multi   bool
	// attributed is set once the attribution trial failed.
	attributed bool
	cand       []corev1.Capability
}

func capSlug(c corev1.Capability) string {
	return strings.ReplaceAll(strings.ToLower(string(c)), "_", "-")
}

func (s *capSearch) trial(suffix string, set []corev1.Capability) Trial {
	set = slices.Clone(set)
	if set == nil {
		set = []corev1.Capability{}
	}
	addBack := map[string][]corev1.Capability{s.ref.c.Name: set}
	return Trial{
		Name:     fmt.Sprintf("caps-%s-%s", s.ref.key, suffix),
		Kind:     TrialCapabilityAddBack,
		Checks:   []CheckID{CheckDropAllCapabilities},
		Template: Variant(s.t, nil, s.opts, addBack),
		AddBack:  addBack,
	}
}

// verdict returns the verdict for set, known without a trial or recorded in
// results; ok is false when the trial still has to run.
func (s *capSearch) verdict(tr Trial, set []corev1.Capability) (pass, ok bool) {
	if len(set) == 0 && (!s.multi || s.attributed) {
		return false, true
	}
	if len(set) == len(s.cand) {
		return true, true
	}
	pass, ok = s.results[tr.Name]
	return pass, ok
}

// phase evaluates sets; it returns their verdicts, or the trials still to run.
func (s *capSearch) phase(suffixes []string, sets [][]corev1.Capability) ([]bool, []Trial) {
	verdicts := make([]bool, len(sets))
	var pending []Trial
	for i, set := range sets {
		tr := s.trial(suffixes[i], set)
		pass, ok := s.verdict(tr, set)
		if !ok {
			pending = append(pending, tr)
		}
		verdicts[i] = pass
	}
	if len(pending) > 0 {
		return nil, pending
	}
	return verdicts, nil
}

func without(set []corev1.Capability, c corev1.Capability) []corev1.Capability {
	return slices.DeleteFunc(slices.Clone(set), func(x corev1.Capability) bool { return x == c })
}

// run replays the search of one container: found and result once finished,
// else the pending trials of the current round.
func (s *capSearch) run() (found bool, result []corev1.Capability, pending []Trial) {
	// 1. Attribution.
	if s.multi {
		v, p := s.phase([]string{"none"}, [][]corev1.Capability{nil})
		if p != nil {
			return false, nil, p
		}
		if v[0] {
			return true, []corev1.Capability{}, nil
		}
		s.attributed = true
	}
	if len(s.cand) == 0 {
		return false, nil, nil
	}
	// 2. Necessity.
	unneeded, p := s.necessity()
	if p != nil {
		return false, nil, p
	}
	var need, rest []corev1.Capability
	for _, c := range s.cand {
		if unneeded[c] {
			rest = append(rest, c)
		} else {
			need = append(need, c)
		}
	}
	// 3. Check N.
	if len(need) > 0 {
		v, p := s.phase([]string{"need"}, [][]corev1.Capability{need})
		if p != nil {
			return false, nil, p
		}
		if v[0] {
			return true, need, nil
		}
	}
	// 4. Extension.
	var suffixes []string
	var sets [][]corev1.Capability
	for _, c := range rest {
		suffixes = append(suffixes, "need-"+capSlug(c))
		sets = append(sets, s.ordered(append(slices.Clone(need), c)))
	}
	ext, p := s.phase(suffixes, sets)
	if p != nil {
		return false, nil, p
	}
	for i, ok := range ext {
		if ok {
			return true, sets[i], nil
		}
	}
	// 5. Greedy elimination, one trial per round.
	cur := without(s.cand, rest[0])
	for _, c := range rest[1:] {
		next := without(cur, c)
		v, p := s.phase([]string{"try-" + capSlug(c)}, [][]corev1.Capability{next})
		if p != nil {
			return false, nil, p
		}
		if v[0] {
			cur = next
		}
	}
	return true, cur, nil
}

// necessity runs step 2: it returns the candidates whose necessity trial
// passed (the container works without them), or the trials still to run.
func (s *capSearch) necessity() (map[corev1.Capability]bool, []Trial) {
	var common, rare []corev1.Capability
	for _, c := range s.cand {
		if slices.Contains(RarelyNeededCapabilities, c) {
			rare = append(rare, c)
		} else {
			common = append(common, c)
		}
	}
	// With fewer than two of them a group trial would save nothing.
	singles := s.cand
	var suffixes []string
	var sets [][]corev1.Capability
	if len(rare) >= 2 {
		singles = common
		suffixes, sets = []string{"no-" + rareGroup}, [][]corev1.Capability{common}
	}
	for _, c := range singles {
		suffixes = append(suffixes, "no-"+capSlug(c))
		sets = append(sets, without(s.cand, c))
	}
	v, p := s.phase(suffixes, sets)
	if p != nil {
		return nil, p
	}
	unneeded := map[corev1.Capability]bool{}
	for i, c := range singles {
		unneeded[c] = v[len(v)-len(singles)+i]
	}
	if len(rare) < 2 {
		return unneeded, nil
	}
	if v[0] {
		for _, c := range rare {
			unneeded[c] = true
		}
		return unneeded, nil
	}
	suffixes, sets = suffixes[:0], sets[:0]
	for _, c := range rare {
		suffixes = append(suffixes, "no-"+capSlug(c))
		sets = append(sets, without(s.cand, c))
	}
	v, p = s.phase(suffixes, sets)
	if p != nil {
		return nil, p
	}
	for i, c := range rare {
		unneeded[c] = v[i]
	}
	return unneeded, nil
}

// ordered returns set in candidate order.
func (s *capSearch) ordered(set []corev1.Capability) []corev1.Capability {
	var out []corev1.Capability
	for _, c := range s.cand {
		if slices.Contains(set, c) {
			out = append(out, c)
		}
	}
	return out
}
