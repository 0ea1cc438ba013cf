package signals

import (
	"slices"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/cinch-dev/cinch/pkg/oracle"
)

// podTracker accumulates what was seen of the pods of one run across polls.
// It is pure: each observation is a pod object and the time it was read.
type podTracker struct {
	pods map[types.UID]*podState
	// current is the last successful poll's pods, by UID.
	current map[types.UID]bool
}

type podState struct {
	key     types.UID
	name    string
	created time.Time
	// started is when its first app container first ran: readiness is
	// timed from there, so a slow container start (a busy node, runc)
	// is not taken for a slow application.
	started    time.Time
	phase      string
	ready      bool
	seen       bool
	firstReady time.Time
	// readySince is the Ready condition's last transition time while Ready.
	readySince       time.Time
	readyTransitions int
	containers       []*containerState
	pod              corev1.Pod
	unschedulable    string
}

type containerState struct {
	obs oracle.ContainerObservation
	// termMessage is true once Message holds a termination message, which
	// is better evidence than a waiting message.
	termMessage bool
}

func newPodTracker() *podTracker {
	return &podTracker{pods: map[types.UID]*podState{}, current: map[types.UID]bool{}}
}

// observe records one poll: the pods that matched the selector at time now.
func (t *podTracker) observe(pods []corev1.Pod, now time.Time) {
	t.current = make(map[types.UID]bool, len(pods))
	for i := range pods {
		p := &pods[i]
		key := p.UID
		if key == "" {
			key = types.UID(p.Namespace + "/" + p.Name)
		}
		t.current[key] = true
		s := t.pods[key]
		if s == nil {
			s = &podState{key: key, name: p.Name, created: p.CreationTimestamp.Time}
			t.pods[key] = s
		}
		s.observe(p, now)
	}
}

// firstReady returns when the first pod of the run became Ready (as this
// recorder first saw it), or the zero time.
func (t *podTracker) firstReady() time.Time {
	var first time.Time
	for _, s := range t.pods {
		if !s.firstReady.IsZero() && (first.IsZero() || s.firstReady.Before(first)) {
			first = s.firstReady
		}
	}
	return first
}

// currentPods returns the pods of the last poll, oldest first.
func (t *podTracker) currentPods() []corev1.Pod {
	var out []corev1.Pod
	for _, s := range t.sorted() {
		if t.current[s.key] {
			out = append(out, s.pod)
		}
	}
	return out
}

// allPods returns the last state of every pod seen, oldest first.
func (t *podTracker) allPods() []corev1.Pod {
	var out []corev1.Pod
	for _, s := range t.sorted() {
		out = append(out, s.pod)
	}
	return out
}

func (t *podTracker) sorted() []*podState {
	out := make([]*podState, 0, len(t.pods))
	for _, s := range t.pods {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].created.Equal(out[j].created) {
			return out[i].created.Before(out[j].created)
		}
		return out[i].name < out[j].name
	})
	return out
}

// observations returns every pod seen during the run (including pods that
// have since disappeared), oldest first.
func (t *podTracker) observations() []oracle.PodObservation {
	var out []oracle.PodObservation
	for _, s := range t.sorted() {
		out = append(out, s.observation())
	}
	return out
}

func (s *podState) observe(p *corev1.Pod, now time.Time) {
	s.pod = *p
	s.phase = string(p.Status.Phase)
	for _, cs := range p.Status.ContainerStatuses {
		for _, st := range []corev1.ContainerState{cs.State, cs.LastTerminationState} {
			var at time.Time
			switch {
			case st.Running != nil:
				at = st.Running.StartedAt.Time
			case st.Terminated != nil:
				at = st.Terminated.StartedAt.Time
			}
			if !at.IsZero() && (s.started.IsZero() || at.Before(s.started)) {
				s.started = at
			}
		}
	}
	// The message stays once seen until the pod is Ready: a pod that
	// waited for a node until moments before its run ended was short of
	// room, not of readiness.
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable {
			s.unschedulable = c.Message
			if s.unschedulable == "" {
				s.unschedulable = c.Reason
			}
		}
	}

	var cond *corev1.PodCondition
	for i := range p.Status.Conditions {
		if p.Status.Conditions[i].Type == corev1.PodReady {
			cond = &p.Status.Conditions[i]
		}
	}
	ready := cond != nil && cond.Status == corev1.ConditionTrue
	switch {
	case ready:
		since := cond.LastTransitionTime.Time
		if since.IsZero() {
			since = now
		}
		switch {
		case s.firstReady.IsZero():
			s.firstReady = since
		case s.seen && s.ready && since.After(s.readySince):
			// Ready at both polls, but the condition changed in between:
			// it went NotReady and back.
			s.readyTransitions++
		}
		s.readySince = since
	case s.seen && s.ready:
		s.readyTransitions++
	}
	s.ready = ready
	s.seen = true

	s.observeContainers(p.Spec.InitContainers, p.Status.InitContainerStatuses, true)
	s.observeContainers(p.Spec.Containers, p.Status.ContainerStatuses, false)
}

func (s *podState) container(name string, init bool) *containerState {
	for _, c := range s.containers {
		if c.obs.Name == name && c.obs.Init == init {
			return c
		}
	}
	c := &containerState{obs: oracle.ContainerObservation{Name: name, Init: init}}
	s.containers = append(s.containers, c)
	return c
}

func (s *podState) observeContainers(spec []corev1.Container, statuses []corev1.ContainerStatus, init bool) {
	for _, c := range spec {
		s.container(c.Name, init)
	}
	for _, st := range statuses {
		s.container(st.Name, init).observe(st)
	}
}

func (c *containerState) observe(st corev1.ContainerStatus) {
	if st.RestartCount > c.obs.RestartCount {
		c.obs.RestartCount = st.RestartCount
	}
	c.obs.Ready = st.Ready
	if t := st.LastTerminationState.Terminated; t != nil {
		c.terminated(t)
	}
	if t := st.State.Terminated; t != nil {
		c.terminated(t)
	}
	if w := st.State.Waiting; w != nil {
		if w.Reason != "" && !slices.Contains(c.obs.WaitingReasons, w.Reason) {
			c.obs.WaitingReasons = append(c.obs.WaitingReasons, w.Reason)
		}
		if w.Message != "" && !c.termMessage {
			c.obs.Message = w.Message
		}
	}
}

func (c *containerState) terminated(t *corev1.ContainerStateTerminated) {
	if t.Reason != "" && !slices.Contains(c.obs.TerminationReasons, t.Reason) {
		c.obs.TerminationReasons = append(c.obs.TerminationReasons, t.Reason)
	}
	if t.ExitCode != 0 && !slices.Contains(c.obs.ExitCodes, t.ExitCode) {
		c.obs.ExitCodes = append(c.obs.ExitCodes, t.ExitCode)
	}
	if t.Message != "" {
		c.obs.Message = t.Message
		c.termMessage = true
	}
}

func (s *podState) observation() oracle.PodObservation {
	o := oracle.PodObservation{
		Name:             s.name,
		Phase:            s.phase,
		Ready:            s.ready,
		ReadyTransitions: s.readyTransitions,
	}
	if s.firstReady.IsZero() {
		o.Unschedulable = s.unschedulable
	}
	if !s.firstReady.IsZero() {
		from := s.created
		if s.started.After(from) {
			from = s.started
		}
		if d := s.firstReady.Sub(from); d > 0 {
			o.ReadyAfter = d
		} else {
			// Second-resolution timestamps can make a fast pod Ready "at"
			// its creation; keep ReadyAfter non-zero so it reads as Ready.
			o.ReadyAfter = time.Nanosecond
		}
	}
	// Init containers first, then the app containers, each in spec order.
	for _, init := range []bool{true, false} {
		for _, c := range s.containers {
			if c.obs.Init == init {
				cp := c.obs
				cp.WaitingReasons = slices.Clone(cp.WaitingReasons)
				cp.TerminationReasons = slices.Clone(cp.TerminationReasons)
				cp.ExitCodes = slices.Clone(cp.ExitCodes)
				o.Containers = append(o.Containers, cp)
			}
		}
	}
	return o
}
