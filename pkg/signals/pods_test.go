package signals

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/cinch-dev/cinch/pkg/oracle"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func at(sec int) metav1.Time { return metav1.NewTime(t0.Add(time.Duration(sec) * time.Second)) }

// pod builds a realistic pod of a Deployment with one app container and an
// optional init container.
func pod(name string, mutate ...func(*corev1.Pod)) corev1.Pod {
	p := corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: "cinch-web-run-as-non-root-x7k2p", UID: types.UID("uid-" + name[len(name)-5:]),
			CreationTimestamp: at(0),
			Labels:            map[string]string{"app": "web", "pod-template-hash": "6d4cf56db6"},
		},
		Spec: corev1.PodSpec{
			NodeName:   "cinch-node",
			Containers: []corev1.Container{{Name: "app", Image: "docker.io/local/scenario:1"}},
		},
		Status: corev1.PodStatus{Phase: corev1.PodPending},
	}
	for _, m := range mutate {
		m(&p)
	}
	return p
}

func readyCond(status corev1.ConditionStatus, sec int) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		p.Status.Phase = corev1.PodRunning
		p.Status.Conditions = []corev1.PodCondition{
			{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: at(0)},
			{Type: corev1.PodReady, Status: status, LastTransitionTime: at(sec)},
		}
	}
}

func app(st corev1.ContainerStatus) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		st.Name = "app"
		if st.State.Running != nil && st.ContainerID == "" {
			st.ContainerID = "containerd://running"
		}
		p.Status.ContainerStatuses = []corev1.ContainerStatus{st}
	}
}

func running(sec int) corev1.ContainerState {
	return corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: at(sec)}}
}

func crashed(code int32, reason, msg string) *corev1.ContainerStateTerminated {
	return &corev1.ContainerStateTerminated{ExitCode: code, Reason: reason, Message: msg, ContainerID: "containerd://0a1b2c"}
}

func TestPodTrackerObservations(t *testing.T) {
	tests := []struct {
		name  string
		polls [][]corev1.Pod
		want  []oracle.PodObservation
	}{
		{
			// Timed from the container's start (1 s after the pod's
			// creation), not from the pod's creation: a slow container
			// start is the node's, not the application's.
			name: "ready one second after its container started",
			polls: [][]corev1.Pod{
				{pod("web-6d4cf56db6-abcde", func(p *corev1.Pod) {
					p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}}}}
				})},
				{pod("web-6d4cf56db6-abcde", readyCond(corev1.ConditionTrue, 2), app(corev1.ContainerStatus{Ready: true, State: running(1)}))},
			},
			want: []oracle.PodObservation{{
				Name: "web-6d4cf56db6-abcde", Phase: "Running", Ready: true, ReadyAfter: time.Second,
				Containers: []oracle.ContainerObservation{{Name: "app", Ready: true, WaitingReasons: []string{"ContainerCreating"}}},
			}},
		},
		{
			name: "never ready, no statuses yet",
			polls: [][]corev1.Pod{
				{pod("web-6d4cf56db6-abcde")},
				{pod("web-6d4cf56db6-abcde", readyCond(corev1.ConditionFalse, 0))},
			},
			want: []oracle.PodObservation{{
				Name: "web-6d4cf56db6-abcde", Phase: "Running",
				Containers: []oracle.ContainerObservation{{Name: "app"}},
			}},
		},
		{
			name: "crash loop: restarts, error exit, back-off",
			polls: [][]corev1.Pod{
				{pod("web-6d4cf56db6-abcde", readyCond(corev1.ConditionFalse, 0), app(corev1.ContainerStatus{
					State:        corev1.ContainerState{Terminated: crashed(1, "Error", "")},
					RestartCount: 0,
				}))},
				{pod("web-6d4cf56db6-abcde", readyCond(corev1.ConditionFalse, 0), app(corev1.ContainerStatus{
					State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{
						Reason: "CrashLoopBackOff", Message: "back-off 10s restarting failed container=app pod=web-6d4cf56db6-abcde_ns(uid)",
					}},
					LastTerminationState: corev1.ContainerState{Terminated: crashed(1, "Error", "")},
					RestartCount:         2,
				}))},
			},
			want: []oracle.PodObservation{{
				Name: "web-6d4cf56db6-abcde", Phase: "Running",
				Containers: []oracle.ContainerObservation{{
					Name: "app", RestartCount: 2,
					WaitingReasons: []string{"CrashLoopBackOff"}, TerminationReasons: []string{"Error"}, ExitCodes: []int32{1},
					Message: "back-off 10s restarting failed container=app pod=web-6d4cf56db6-abcde_ns(uid)",
				}},
			}},
		},
		{
			name: "oom kill message wins over back-off message",
			polls: [][]corev1.Pod{
				{pod("web-6d4cf56db6-abcde", readyCond(corev1.ConditionFalse, 0), app(corev1.ContainerStatus{
					State:                corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff", Message: "back-off 20s"}},
					LastTerminationState: corev1.ContainerState{Terminated: crashed(137, "OOMKilled", "memory limit reached")},
					RestartCount:         3,
				}))},
			},
			want: []oracle.PodObservation{{
				Name: "web-6d4cf56db6-abcde", Phase: "Running",
				Containers: []oracle.ContainerObservation{{
					Name: "app", RestartCount: 3,
					WaitingReasons: []string{"CrashLoopBackOff"}, TerminationReasons: []string{"OOMKilled"}, ExitCodes: []int32{137},
					Message: "memory limit reached",
				}},
			}},
		},
		{
			name: "runAsNonRoot with a root image",
			polls: [][]corev1.Pod{
				{pod("web-6d4cf56db6-abcde", readyCond(corev1.ConditionFalse, 0), app(corev1.ContainerStatus{
					State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{
						Reason: "CreateContainerConfigError", Message: "container has runAsNonRoot and image will run as root (pod: \"web\", container: app)",
					}},
				}))},
			},
			want: []oracle.PodObservation{{
				Name: "web-6d4cf56db6-abcde", Phase: "Running",
				Containers: []oracle.ContainerObservation{{
					Name: "app", WaitingReasons: []string{"CreateContainerConfigError"},
					Message: "container has runAsNonRoot and image will run as root (pod: \"web\", container: app)",
				}},
			}},
		},
		{
			name: "ready, not ready, ready again: one transition",
			polls: [][]corev1.Pod{
				{pod("web-6d4cf56db6-abcde", readyCond(corev1.ConditionTrue, 1))},
				{pod("web-6d4cf56db6-abcde", readyCond(corev1.ConditionFalse, 5))},
				{pod("web-6d4cf56db6-abcde", readyCond(corev1.ConditionTrue, 7))},
			},
			want: []oracle.PodObservation{{Name: "web-6d4cf56db6-abcde", Phase: "Running", Ready: true, ReadyAfter: time.Second, ReadyTransitions: 1,
				Containers: []oracle.ContainerObservation{{Name: "app"}}}},
		},
		{
			name: "a flap between two polls is seen in the condition's transition time",
			polls: [][]corev1.Pod{
				{pod("web-6d4cf56db6-abcde", readyCond(corev1.ConditionTrue, 1))},
				{pod("web-6d4cf56db6-abcde", readyCond(corev1.ConditionTrue, 1))},
				{pod("web-6d4cf56db6-abcde", readyCond(corev1.ConditionTrue, 9))},
			},
			want: []oracle.PodObservation{{Name: "web-6d4cf56db6-abcde", Phase: "Running", Ready: true, ReadyAfter: time.Second, ReadyTransitions: 1,
				Containers: []oracle.ContainerObservation{{Name: "app"}}}},
		},
		{
			name: "ready within the creation second still reads as ready",
			polls: [][]corev1.Pod{
				{pod("web-6d4cf56db6-abcde", readyCond(corev1.ConditionTrue, 0))},
			},
			want: []oracle.PodObservation{{Name: "web-6d4cf56db6-abcde", Phase: "Running", Ready: true, ReadyAfter: time.Nanosecond,
				Containers: []oracle.ContainerObservation{{Name: "app"}}}},
		},
		{
			name: "init container completed, then app; replaced pod kept, oldest first",
			polls: [][]corev1.Pod{
				{pod("web-6d4cf56db6-aaaaa", readyCond(corev1.ConditionFalse, 0), func(p *corev1.Pod) {
					p.Status.Phase = corev1.PodFailed
				})},
				{pod("web-6d4cf56db6-bbbbb", readyCond(corev1.ConditionTrue, 4), func(p *corev1.Pod) {
					p.CreationTimestamp = at(2)
					p.Spec.InitContainers = []corev1.Container{{Name: "setup"}}
					p.Status.InitContainerStatuses = []corev1.ContainerStatus{{Name: "setup", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "Completed", ContainerID: "containerd://1"}}}}
					p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", Ready: true, State: running(3)}}
				})},
			},
			want: []oracle.PodObservation{
				{Name: "web-6d4cf56db6-aaaaa", Phase: "Failed", Containers: []oracle.ContainerObservation{{Name: "app"}}},
				{Name: "web-6d4cf56db6-bbbbb", Phase: "Running", Ready: true, ReadyAfter: time.Second, Containers: []oracle.ContainerObservation{
					{Name: "setup", Init: true, TerminationReasons: []string{"Completed"}},
					{Name: "app", Ready: true},
				}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := newPodTracker()
			for i, pods := range tt.polls {
				tr.observe(pods, t0.Add(time.Duration(i)*time.Second))
			}
			assert.Equal(t, tt.want, tr.observations())
		})
	}
}

func TestPodTrackerCurrentPods(t *testing.T) {
	tr := newPodTracker()
	tr.observe([]corev1.Pod{pod("web-6d4cf56db6-aaaaa"), pod("web-6d4cf56db6-bbbbb")}, t0)
	tr.observe([]corev1.Pod{pod("web-6d4cf56db6-bbbbb")}, t0.Add(time.Second))
	cur := tr.currentPods()
	require.Len(t, cur, 1)
	assert.Equal(t, "web-6d4cf56db6-bbbbb", cur[0].Name)
	assert.Len(t, tr.observations(), 2, "a pod that disappeared stays observed")
}

// TestPodTrackerUnschedulable: a pod waiting for a node carries the
// scheduler's message, also once it is scheduled (room was made moments
// before the run ended), and loses it once it is Ready.
func TestPodTrackerUnschedulable(t *testing.T) {
	tr := newPodTracker()
	waiting := pod("web-6d4cf56db6-aaaaa", func(p *corev1.Pod) {
		p.Spec.NodeName = ""
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse,
			Reason: corev1.PodReasonUnschedulable, Message: "0/1 nodes are available: 1 Too many pods."}}
	})
	tr.observe([]corev1.Pod{waiting}, t0.Add(time.Second))
	obs := tr.observations()
	require.Len(t, obs, 1)
	assert.Equal(t, "0/1 nodes are available: 1 Too many pods.", obs[0].Unschedulable)

	tr.observe([]corev1.Pod{pod("web-6d4cf56db6-aaaaa", readyCond(corev1.ConditionFalse, 2))}, t0.Add(3*time.Second))
	assert.Equal(t, "0/1 nodes are available: 1 Too many pods.", tr.observations()[0].Unschedulable,
		"scheduled but never Ready: still short of room")

	tr.observe([]corev1.Pod{pod("web-6d4cf56db6-aaaaa", readyCond(corev1.ConditionTrue, 3))}, t0.Add(5*time.Second))
	assert.Empty(t, tr.observations()[0].Unschedulable)
}
