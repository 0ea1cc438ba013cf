package oracle

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
)

// Waiting reasons that are part of a normal start.
var benignWaiting = map[string]bool{"ContainerCreating": true, "PodInitializing": true, "": true}

// Waiting reasons that do not resolve by themselves: a trial showing one the
// baselines never showed has failed, even while it still runs.
var unresolvableWaiting = map[string]bool{
	"CrashLoopBackOff":           true,
	"CreateContainerConfigError": true,
	"CreateContainerError":       true,
	"RunContainerError":          true,
	"InvalidImageName":           true,
	"ErrImageNeverPull":          true,
	"ImageInspectError":          true,
	"PreStartHookError":          true,
	"PostStartHookError":         true,
}

// containerKey identifies a container across pods and clones.
type containerKey struct {
	name string
	init bool
}

func (k containerKey) String() string {
	if k.init {
		return "init:" + k.name
	}
	return k.name
}

// containerSummary aggregates one container over the pods of a run.
type containerSummary struct {
	restarts    int32
	waiting     map[string]string // reason -> pod
	terminated  map[string]string // reason -> pod
	exitCodes   map[int32]string  // code -> pod
	message     string
	restartsPod string
}

func summariseContainers(r Recording) map[containerKey]*containerSummary {
	out := map[containerKey]*containerSummary{}
	for _, p := range r.Pods {
		for _, c := range p.Containers {
			k := containerKey{c.Name, c.Init}
			s := out[k]
			if s == nil {
				s = &containerSummary{waiting: map[string]string{}, terminated: map[string]string{}, exitCodes: map[int32]string{}}
				out[k] = s
			}
			s.restarts += c.RestartCount
			if c.RestartCount > 0 && s.restartsPod == "" {
				s.restartsPod = p.Name
			}
			for _, w := range c.WaitingReasons {
				if _, ok := s.waiting[w]; !ok {
					s.waiting[w] = p.Name
				}
			}
			for _, t := range c.TerminationReasons {
				if _, ok := s.terminated[t]; !ok {
					s.terminated[t] = p.Name
				}
			}
			for _, e := range c.ExitCodes {
				if _, ok := s.exitCodes[e]; !ok && e != 0 {
					s.exitCodes[e] = p.Name
				}
			}
			if c.Message != "" && s.message == "" {
				s.message = c.Message
			}
		}
	}
	return out
}

// baselineTolerance is what the baselines show for one container: the most
// restarts of either run and every reason and exit code seen in any.
type baselineTolerance struct {
	restarts   int32
	waiting    map[string]bool
	terminated map[string]bool
	exitCodes  map[int32]bool
}

func tolerances(baselines [2]Recording) map[containerKey]*baselineTolerance {
	out := map[containerKey]*baselineTolerance{}
	for _, b := range baselines {
		for k, s := range summariseContainers(b) {
			t := out[k]
			if t == nil {
				t = &baselineTolerance{waiting: map[string]bool{}, terminated: map[string]bool{}, exitCodes: map[int32]bool{}}
				out[k] = t
			}
			t.restarts = max(t.restarts, s.restarts)
			for w := range s.waiting {
				t.waiting[w] = true
			}
			for r := range s.terminated {
				t.terminated[r] = true
			}
			for e := range s.exitCodes {
				t.exitCodes[e] = true
			}
		}
	}
	return out
}

// judgeStability is TC-01. With early, only failures that cannot resolve
// while the trial keeps running count.
func judgeStability(baselines [2]Recording, trial Recording, early bool) TestResult {
	res := TestResult{ID: TestStability, Name: NameStability, Hard: true, Pass: true}
	tol := tolerances(baselines)
	empty := &baselineTolerance{waiting: map[string]bool{}, terminated: map[string]bool{}, exitCodes: map[int32]bool{}}
	trialSum := summariseContainers(trial)
	keys := make([]containerKey, 0, len(trialSum))
	for k := range trialSum {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
	for _, k := range keys {
		s := trialSum[k]
		t := tol[k]
		if t == nil {
			t = empty
		}
		if s.restarts > t.restarts {
			res.Evidence = append(res.Evidence, Evidence{Pod: s.restartsPod, Container: k.String(), Reason: "Restarts",
				Message: fmt.Sprintf("restarted %d times, baselines at most %d", s.restarts, t.restarts)})
		}
		for _, w := range sortedKeys(s.waiting) {
			if t.waiting[w] || benignWaiting[w] || (early && !unresolvableWaiting[w]) {
				continue
			}
			res.Evidence = append(res.Evidence, Evidence{Pod: s.waiting[w], Container: k.String(), Reason: w, Message: s.message})
		}
		for _, r := range sortedKeys(s.terminated) {
			if t.terminated[r] || r == "Completed" {
				continue
			}
			res.Evidence = append(res.Evidence, Evidence{Pod: s.terminated[r], Container: k.String(), Reason: r, Message: s.message})
		}
		codes := make([]int32, 0, len(s.exitCodes))
		for c := range s.exitCodes {
			codes = append(codes, c)
		}
		slices.Sort(codes)
		for _, c := range codes {
			if t.exitCodes[c] {
				continue
			}
			res.Evidence = append(res.Evidence, Evidence{Pod: s.exitCodes[c], Container: k.String(), Reason: "ExitCode",
				Message: fmt.Sprintf("exited with code %d", c)})
		}
	}
	if !early {
		if ev, ok := missingPods(baselines, trial); !ok {
			res.Evidence = append(res.Evidence, ev...)
		}
		for _, p := range trial.Pods {
			if p.Phase == "Failed" && !anyPodPhase(baselines, "Failed") {
				res.Evidence = append(res.Evidence, Evidence{Pod: p.Name, Reason: "PodFailed", Message: "pod phase Failed"})
			}
		}
	}
	if len(res.Evidence) == 0 {
		res.Reason = "no restarts, waiting or termination reasons beyond the baselines"
		if baselinesUnknown(baselines) {
			res.Reason = "no restarts and no bad waiting or termination reason"
		}
		return res
	}
	e := res.Evidence[0]
	subject := e.Container
	if subject == "" {
		subject = e.Pod
	}
	return failed(res, subject+": ")
}

// failed marks res failed, its reason the first evidence (after prefix)
// and how many more there are.
func failed(res TestResult, prefix string) TestResult {
	res.Pass = false
	e := res.Evidence[0]
	res.Reason = prefix + strings.TrimSpace(e.Reason+" "+parenthesise(e.Message))
	if n := len(res.Evidence); n > 1 {
		res.Reason += fmt.Sprintf(" (and %d more)", n-1)
	}
	return res
}

// missingPods fails a trial that has fewer pods than both baselines, e.g.
// because pod creation was rejected; the run's warning events are evidence.
func missingPods(baselines [2]Recording, trial Recording) ([]Evidence, bool) {
	want := min(len(baselines[0].Pods), len(baselines[1].Pods))
	if baselinesUnknown(baselines) || len(trial.Pods) >= want {
		return nil, true
	}
	ev := []Evidence{{Reason: "MissingPods", Message: fmt.Sprintf("%d pods, baselines at least %d", len(trial.Pods), want)}}
	for _, e := range trial.Events {
		if e.Type == "Warning" && len(ev) < 4 {
			ev = append(ev, Evidence{Reason: e.Reason, Message: e.Object + ": " + e.Message})
		}
	}
	return ev, false
}

func baselinesUnknown(b [2]Recording) bool {
	return len(b[0].Pods) == 0 && len(b[1].Pods) == 0
}

func anyPodPhase(rs [2]Recording, phase string) bool {
	for _, r := range rs {
		for _, p := range r.Pods {
			if p.Phase == phase {
				return true
			}
		}
	}
	return false
}

// readiness summarises the pods of one run.
type readiness struct {
	everReady   int
	readyAtEnd  int
	slowest     time.Duration
	slowestPod  string
	transitions int
}

func summariseReadiness(r Recording) readiness {
	var s readiness
	for _, p := range r.Pods {
		if p.ReadyAfter > 0 || p.Ready {
			s.everReady++
		}
		if p.Ready {
			s.readyAtEnd++
		}
		if p.ReadyAfter > s.slowest {
			s.slowest, s.slowestPod = p.ReadyAfter, p.Name
		}
		s.transitions += p.ReadyTransitions
	}
	return s
}

// judgeReadiness is TC-02: the trial's pods become Ready as the baselines'
// did, within a generous delay, and stay Ready.
func judgeReadiness(cfg Config, baselines [2]Recording, trial Recording) TestResult {
	res := TestResult{ID: TestReadiness, Name: NameReadiness, Hard: true, Pass: true}
	a, b := summariseReadiness(baselines[0]), summariseReadiness(baselines[1])
	t := summariseReadiness(trial)
	// A trial passes only when it was seen Ready: baselines that did not get
	// Ready in time (a busy node) never lower the bar to zero pods.
	wantEver := max(1, min(a.everReady, b.everReady))
	wantEnd := max(1, min(a.readyAtEnd, b.readyAtEnd))
	if t.everReady < wantEver {
		for _, p := range trial.Pods {
			if p.ReadyAfter == 0 && !p.Ready {
				res.Evidence = append(res.Evidence, Evidence{Pod: p.Name, Reason: "NeverReady", Message: "never became Ready"})
			}
		}
		if len(res.Evidence) == 0 {
			res.Evidence = append(res.Evidence, Evidence{Reason: "NeverReady"})
		}
		res.Evidence[0].Message = fmt.Sprintf("%d pods became Ready, baselines at least %d", t.everReady, wantEver)
	}
	if t.readyAtEnd < wantEnd && t.everReady >= wantEver {
		res.Evidence = append(res.Evidence, Evidence{Reason: "NotReady",
			Message: fmt.Sprintf("%d pods Ready at the end, baselines at least %d", t.readyAtEnd, wantEnd)})
	}
	slowest := max(a.slowest, b.slowest)
	if slowest > 0 {
		limit := time.Duration(float64(slowest)*cfg.ReadyFactor) + cfg.ReadySlack
		if t.slowest > limit {
			res.Evidence = append(res.Evidence, Evidence{Pod: t.slowestPod, Reason: "SlowReady",
				Message: fmt.Sprintf("Ready after %s, baselines %s (limit %s)", t.slowest.Round(time.Millisecond), slowest.Round(time.Millisecond), limit.Round(time.Millisecond))})
		}
	}
	if maxT := max(a.transitions, b.transitions); t.transitions > maxT {
		res.Evidence = append(res.Evidence, Evidence{Reason: "ReadinessFlapping",
			Message: fmt.Sprintf("%d Ready→NotReady transitions, baselines at most %d", t.transitions, maxT)})
	}
	if len(res.Evidence) == 0 {
		res.Reason = fmt.Sprintf("%d of %d pods Ready, as in the baselines", t.readyAtEnd, len(trial.Pods))
		return res
	}
	return failed(res, "")
}

func parenthesise(s string) string {
	if s == "" {
		return ""
	}
	const maxLen = 200
	if len(s) > maxLen {
		s = s[:maxLen] + "…"
	}
	return "(" + s + ")"
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
