package signals

import (
	"context"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/cinch-dev/cinch/pkg/oracle"
)

// fakeSource is a hand-written source: pods returns the next poll's pods
// (the last one repeats), logs are keyed by container and previous.
type fakeSource struct {
	polls   [][]corev1.Pod
	polled  int
	podsErr error
	// pollErr, when set, is asked before every poll whether it fails.
	pollErr  func() error
	logErr   error
	summary  string
	nodes    []string
	logs     map[string]string
	logFn    func(*corev1.PodLogOptions) (string, bool)
	logOpts  []corev1.PodLogOptions
	events   []corev1.Event
	selector string
}

var _ source = (*fakeSource)(nil)

func (f *fakeSource) Pods(_ context.Context, _, selector string) ([]corev1.Pod, error) {
	f.selector = selector
	if f.podsErr != nil {
		return nil, f.podsErr
	}
	if f.pollErr != nil {
		if err := f.pollErr(); err != nil {
			return nil, err
		}
	}
	i := min(f.polled, len(f.polls)-1)
	f.polled++
	return f.polls[i], nil
}

func (f *fakeSource) Summary(_ context.Context, node string) ([]byte, error) {
	f.nodes = append(f.nodes, node)
	return []byte(f.summary), nil
}

func logKey(container string, previous bool) string {
	if previous {
		return container + "/previous"
	}
	return container
}

func (f *fakeSource) Logs(_ context.Context, _, _ string, opts *corev1.PodLogOptions) (io.ReadCloser, error) {
	f.logOpts = append(f.logOpts, *opts)
	if f.logErr != nil {
		return nil, f.logErr
	}
	s, ok := f.logs[logKey(opts.Container, opts.Previous)]
	if f.logFn != nil {
		s, ok = f.logFn(opts)
	}
	if !ok {
		// What the API server answers for a container that never started
		// or a previous instance that is gone.
		return nil, apierrors.NewBadRequest("container is waiting to start")
	}
	if opts.TailLines != nil {
		lines := strings.SplitAfter(s, "\n")
		if lines[len(lines)-1] == "" {
			lines = lines[:len(lines)-1]
		}
		s = strings.Join(lines[max(0, len(lines)-int(*opts.TailLines)):], "")
	}
	if opts.LimitBytes != nil && int64(len(s)) > *opts.LimitBytes {
		s = s[:*opts.LimitBytes]
	}
	return io.NopCloser(strings.NewReader(s)), nil
}

func (f *fakeSource) Events(context.Context, string) ([]corev1.Event, error) {
	return f.events, nil
}

func testRecorder(src source, opts Options) *Recorder {
	if opts.PollInterval == 0 {
		opts.PollInterval = time.Millisecond
	}
	return &Recorder{src: src, opts: opts.withDefaults(), now: time.Now}
}

func target(d time.Duration) Target {
	return Target{Namespace: "cinch-web-fine-x7k2p", Selector: labels.SelectorFromSet(labels.Set{"app": "web"}), Duration: d}
}

func runningPod() corev1.Pod {
	return pod("web-6d4cf56db6-abcde", readyCond(corev1.ConditionTrue, 1), app(corev1.ContainerStatus{Ready: true, State: running(1)}))
}

func TestRecordStopsEarlyAndCollects(t *testing.T) {
	src := &fakeSource{
		polls:   [][]corev1.Pod{{pod("web-6d4cf56db6-abcde", func(p *corev1.Pod) { p.Spec.NodeName = "" })}, {runningPod()}},
		summary: `{"pods":[{"podRef":{"name":"web-6d4cf56db6-abcde","namespace":"cinch-web-fine-x7k2p"},"cpu":{"usageNanoCores":5},"memory":{"workingSetBytes":7}}]}`,
		logs:    map[string]string{"app": "started\nheartbeat n=1\n"},
		events:  []corev1.Event{{Type: "Normal", Reason: "Started", InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: "web-6d4cf56db6-abcde"}}},
	}
	calls := 0
	rec, err := testRecorder(src, Options{StatsInterval: time.Nanosecond}).Record(t.Context(), target(time.Hour), func(p oracle.Recording) bool {
		calls++
		return len(p.Pods) == 1 && p.Pods[0].Ready
	})
	require.NoError(t, err)
	assert.Equal(t, 2, calls)
	assert.Less(t, rec.Duration, time.Minute)
	require.Len(t, rec.Pods, 1)
	assert.True(t, rec.Pods[0].Ready)
	assert.Equal(t, "app=web", src.selector)
	assert.Equal(t, []oracle.LogStream{{Pod: "web-6d4cf56db6-abcde", Container: "app", Lines: []string{"started", "heartbeat n=1"}}}, rec.Logs)
	assert.Equal(t, []oracle.Event{{Type: "Normal", Reason: "Started", Object: "Pod/web-6d4cf56db6-abcde", Count: 1}}, rec.Events)
	require.Len(t, rec.Resources, 1, "the first poll has no pods on a node, the second is sampled")
	assert.Equal(t, uint64(5), rec.Resources[0].CPUNanoCores)
	assert.Equal(t, uint64(7), rec.Resources[0].MemoryWorkingSet)
	assert.Equal(t, []string{"cinch-node"}, src.nodes)
}

func TestRecordNeverReadyRunsItsDuration(t *testing.T) {
	src := &fakeSource{polls: [][]corev1.Pod{{pod("web-6d4cf56db6-abcde", readyCond(corev1.ConditionFalse, 0), app(corev1.ContainerStatus{
		State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CreateContainerConfigError"}},
	}))}}}
	rec, err := testRecorder(src, Options{PollInterval: 5 * time.Millisecond}).Record(t.Context(), target(40*time.Millisecond), nil)
	require.NoError(t, err)
	require.Len(t, rec.Pods, 1)
	assert.False(t, rec.Pods[0].Ready)
	assert.Equal(t, time.Duration(0), rec.Pods[0].ReadyAfter)
	assert.Equal(t, []string{"CreateContainerConfigError"}, rec.Pods[0].Containers[0].WaitingReasons)
	assert.GreaterOrEqual(t, rec.Duration, 40*time.Millisecond)
	assert.Empty(t, rec.Logs, "a container that never started has no log")
	assert.Empty(t, src.logOpts)
	assert.Greater(t, src.polled, 2)
}

func TestRecordCancelled(t *testing.T) {
	src := &fakeSource{polls: [][]corev1.Pod{{runningPod()}}}
	ctx, cancel := context.WithCancel(t.Context())
	rec, err := testRecorder(src, Options{}).Record(ctx, target(time.Hour), func(oracle.Recording) bool {
		if src.polled == 3 {
			cancel()
		}
		return false
	})
	require.ErrorIs(t, err, context.Canceled)
	assert.Len(t, rec.Pods, 1, "the partial recording is returned")
	assert.Equal(t, 3, src.polled)
}

func TestRecordErrors(t *testing.T) {
	tests := []struct {
		name   string
		target Target
		src    *fakeSource
		want   error
	}{
		{name: "no selector", target: Target{Namespace: "ns", Duration: time.Second}, src: &fakeSource{}, want: ErrNoSelector},
		{name: "every poll failed", target: target(10 * time.Millisecond), src: &fakeSource{podsErr: errForbidden}, want: errForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := testRecorder(tt.src, Options{}).Record(t.Context(), tt.target, nil)
			assert.ErrorIs(t, err, tt.want)
		})
	}
}

var errForbidden = errors.New(`pods is forbidden: User "system:serviceaccount:cinch:worker" cannot list resource "pods"`)

func TestRecordLogs(t *testing.T) {
	restarted := pod("web-6d4cf56db6-abcde", app(corev1.ContainerStatus{
		State: running(9), RestartCount: 1,
		LastTerminationState: corev1.ContainerState{Terminated: crashed(1, "Error", "")},
	}))
	tests := []struct {
		name string
		opts Options
		logs map[string]string
		want []oracle.LogStream
	}{
		{
			name: "current and previous",
			logs: map[string]string{"app": "started\n", "app/previous": "started\nfatal: open /var/lib/scenario/state: read-only file system\n"},
			want: []oracle.LogStream{
				{Pod: "web-6d4cf56db6-abcde", Container: "app", Previous: true, Lines: []string{"started", "fatal: open /var/lib/scenario/state: read-only file system"}},
				{Pod: "web-6d4cf56db6-abcde", Container: "app", Lines: []string{"started"}},
			},
		},
		{
			name: "kubelet placeholder instead of a log: skipped",
			logs: map[string]string{"app": "started\n", "app/previous": "unable to retrieve container logs for containerd://0a1b2c\n"},
			want: []oracle.LogStream{{Pod: "web-6d4cf56db6-abcde", Container: "app", Lines: []string{"started"}}},
		},
		{
			name: "previous log gone: skipped",
			logs: map[string]string{"app": "started\n"},
			want: []oracle.LogStream{{Pod: "web-6d4cf56db6-abcde", Container: "app", Lines: []string{"started"}}},
		},
		{
			name: "line cap keeps head and tail",
			opts: Options{LogLinesPerContainer: 4},
			logs: map[string]string{"app": "1\n2\n3\n4\n5\n6\n", "app/previous": "x\n"},
			want: []oracle.LogStream{
				{Pod: "web-6d4cf56db6-abcde", Container: "app", Previous: true, Lines: []string{"x"}},
				{Pod: "web-6d4cf56db6-abcde", Container: "app", Lines: []string{"1", "2", "5", "6"}, Dropped: 2},
			},
		},
		{
			name: "byte cap: head from the start, true tail fetched separately",
			opts: Options{LogLinesPerContainer: 4, LogBytesPerContainer: 8},
			logs: map[string]string{"app": "1\n2\n3\n4\n5\n6\n7\n8\n9\n", "app/previous": "x\n"},
			want: []oracle.LogStream{
				{Pod: "web-6d4cf56db6-abcde", Container: "app", Previous: true, Lines: []string{"x"}},
				{Pod: "web-6d4cf56db6-abcde", Container: "app", Lines: []string{"1", "2", "8", "9"}, Dropped: 2},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := &fakeSource{polls: [][]corev1.Pod{{restarted}}, logs: tt.logs}
			rec, err := testRecorder(src, tt.opts).Record(t.Context(), target(0), nil)
			require.NoError(t, err)
			assert.Equal(t, tt.want, rec.Logs)
			for _, o := range src.logOpts {
				require.NotNil(t, o.LimitBytes, "every log request is bounded")
			}
		})
	}
}

// countingProber is a Prober that counts its calls.
type countingProber struct {
	probes int
	pods   int
}

func (p *countingProber) Probe(_ context.Context, pods []corev1.Pod, _ time.Duration) {
	p.probes++
	p.pods = len(pods)
}

func (p *countingProber) Fill(rec *oracle.Recording) {
	rec.Events = append(rec.Events, oracle.Event{Reason: "Probed", Count: int32(p.probes)})
}

// TestRecordIncomplete: a run the recorder could not watch (the API server
// was unreachable for longer than MaxBlind, or its final logs could not be
// fetched) is an error, never a recording that looks healthy.
func TestRecordIncomplete(t *testing.T) {
	refused := errors.New("dial tcp 198.18.255.1:6443: connect: connection refused")
	t.Run("blind longer than MaxBlind", func(t *testing.T) {
		begin := time.Now()
		src := &fakeSource{polls: [][]corev1.Pod{{runningPod()}}, logs: map[string]string{"app": "ok\n"}, pollErr: func() error {
			if d := time.Since(begin); d > 20*time.Millisecond && d < 150*time.Millisecond {
				return refused
			}
			return nil
		}}
		_, err := testRecorder(src, Options{MaxBlind: 30 * time.Millisecond}).Record(t.Context(), target(250*time.Millisecond), nil)
		require.ErrorIs(t, err, ErrIncomplete)
		assert.ErrorContains(t, err, "connection refused")
	})
	t.Run("a short outage is tolerated", func(t *testing.T) {
		n := 0
		src := &fakeSource{polls: [][]corev1.Pod{{runningPod()}}, logs: map[string]string{"app": "ok\n"}, pollErr: func() error {
			if n++; n == 2 {
				return refused
			}
			return nil
		}}
		rec, err := testRecorder(src, Options{}).Record(t.Context(), target(50*time.Millisecond), nil)
		require.NoError(t, err)
		assert.NotEmpty(t, rec.Logs)
	})
	t.Run("final log unreachable", func(t *testing.T) {
		src := &fakeSource{polls: [][]corev1.Pod{{runningPod()}}, logErr: refused}
		rec, err := testRecorder(src, Options{}).Record(t.Context(), target(20*time.Millisecond), nil)
		require.ErrorIs(t, err, ErrIncomplete)
		assert.ErrorContains(t, err, "web-6d4cf56db6-abcde/app")
		assert.Empty(t, rec.Logs)
	})
	t.Run("final log answered 503", func(t *testing.T) {
		src := &fakeSource{polls: [][]corev1.Pod{{runningPod()}}, logErr: apierrors.NewServiceUnavailable("etcd leader changed")}
		_, err := testRecorder(src, Options{}).Record(t.Context(), target(20*time.Millisecond), nil)
		require.ErrorIs(t, err, ErrIncomplete)
	})
}

func TestUnreachable(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{errors.New("connection refused"), true},
		{apierrors.NewServiceUnavailable("x"), true},
		{apierrors.NewInternalError(errors.New("x")), true},
		{apierrors.NewTooManyRequests("x", 1), true},
		{apierrors.NewTimeoutError("x", 1), true},
		{apierrors.NewBadRequest("container is waiting to start"), false},
		{apierrors.NewNotFound(corev1.Resource("pods"), "web"), false},
		{apierrors.NewForbidden(corev1.Resource("pods"), "web", errors.New("x")), false},
		{errLogUnavailable, false},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, unreachable(tt.err), "%v", tt.err)
	}
}

func TestRecordCallsProber(t *testing.T) {
	src := &fakeSource{polls: [][]corev1.Pod{{runningPod()}}}
	p := &countingProber{}
	tg := target(time.Hour)
	tg.Prober = p
	rec, err := testRecorder(src, Options{}).Record(t.Context(), tg, func(oracle.Recording) bool { return src.polled == 3 })
	require.NoError(t, err)
	assert.Equal(t, 3, p.probes)
	assert.Equal(t, 1, p.pods)
	assert.Equal(t, []oracle.Event{{Reason: "Probed", Count: 3}}, rec.Events)
}

// TestRecordCapturesEveryCrash follows a crash loop: the kubelet keeps only
// the newest dead instance, so each crashed instance's log is fetched when a
// poll first shows it, and all of them end up in the recording.
func TestRecordCapturesEveryCrash(t *testing.T) {
	crash := func(id string) *corev1.ContainerStateTerminated {
		return &corev1.ContainerStateTerminated{ExitCode: 1, Reason: "Error", ContainerID: id}
	}
	polls := [][]corev1.Pod{
		// First instance crashed.
		{pod("web-6d4cf56db6-abcde", app(corev1.ContainerStatus{State: corev1.ContainerState{Terminated: crash("c1")}}))},
		// Restarted and crashed again: c1 is now lastState, c2 current.
		{pod("web-6d4cf56db6-abcde", app(corev1.ContainerStatus{RestartCount: 1,
			State: corev1.ContainerState{Terminated: crash("c2")}, LastTerminationState: corev1.ContainerState{Terminated: crash("c1")}}))},
		// Back-off: waiting, c2 in lastState; c1 gone from the node.
		{pod("web-6d4cf56db6-abcde", app(corev1.ContainerStatus{RestartCount: 2,
			State:                corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}},
			LastTerminationState: corev1.ContainerState{Terminated: crash("c2")}}))},
	}
	src := &fakeSource{polls: polls}
	// The log served depends on which instance the kubelet would pick.
	src.logFn = func(opts *corev1.PodLogOptions) (string, bool) {
		switch i := src.polled - 1; {
		case i == 0 && !opts.Previous:
			return "instance 1\nfatal: read-only file system\n", true
		case i == 1 && !opts.Previous:
			return "instance 2\nfatal: read-only file system\n", true
		case i >= 2:
			return "instance 2\nfatal: read-only file system\n", true
		}
		return "unable to retrieve container logs for containerd://c1\n", true
	}
	rec, err := testRecorder(src, Options{}).Record(t.Context(), target(time.Hour), func(oracle.Recording) bool { return src.polled == 3 })
	require.NoError(t, err)
	assert.Equal(t, []oracle.LogStream{
		{Pod: "web-6d4cf56db6-abcde", Container: "app", Previous: true, Lines: []string{"instance 1", "fatal: read-only file system"}},
		{Pod: "web-6d4cf56db6-abcde", Container: "app", Previous: true, Lines: []string{"instance 2", "fatal: read-only file system"}},
	}, rec.Logs)
	assert.Len(t, src.logOpts, 2, "each instance is fetched once")
}

func TestInstanceFetches(t *testing.T) {
	p := pod("web-6d4cf56db6-abcde", app(corev1.ContainerStatus{
		State: running(9), ContainerID: "c3", RestartCount: 2,
		LastTerminationState: corev1.ContainerState{Terminated: crashed(1, "Error", "")},
	}), func(p *corev1.Pod) {
		p.Status.InitContainerStatuses = []corev1.ContainerStatus{{Name: "setup", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "Completed", ContainerID: "i1"}}}}
	})
	none := func(string) bool { return false }
	tests := []struct {
		name  string
		done  func(string) bool
		final bool
		want  []logFetch
	}{
		{name: "during the run: terminated instances only", done: none, want: []logFetch{
			{pod: p.Name, container: "setup", init: true, id: "i1"},
			{pod: p.Name, container: "app", id: "containerd://0a1b2c", previous: true},
		}},
		{name: "at the end: running too", done: none, final: true, want: []logFetch{
			{pod: p.Name, container: "setup", init: true, id: "i1"},
			{pod: p.Name, container: "app", id: "containerd://0a1b2c", previous: true},
			{pod: p.Name, container: "app", id: "c3"},
		}},
		{name: "fetched ones are skipped", done: func(id string) bool { return id != "c3" }, final: true, want: []logFetch{
			{pod: p.Name, container: "app", id: "c3"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, instanceFetches(p, tt.done, tt.final))
		})
	}
}

// readyNow marks the pod Ready with no transition time, so the recorder
// takes the poll's time as the moment it became Ready.
func readyNow(p *corev1.Pod) {
	readyCond(corev1.ConditionTrue, 0)(p)
	p.Status.Conditions[1].LastTransitionTime = metav1.Time{}
}

func TestRecordReadyTimeout(t *testing.T) {
	notReady := pod("web-6d4cf56db6-abcde", readyCond(corev1.ConditionFalse, 0))
	ready := pod("web-6d4cf56db6-abcde", readyNow)
	const d = 60 * time.Millisecond
	tests := []struct {
		name         string
		polls        [][]corev1.Pod
		readyTimeout time.Duration
		// min and max bound the recorded duration.
		min, max time.Duration
	}{
		{
			name: "slow start: Duration counts from the first Ready pod",
			// 20 polls of 5 ms not Ready (≈100 ms), then Ready for d.
			polls:        append(slices.Repeat([][]corev1.Pod{{notReady}}, 20), []corev1.Pod{ready}),
			readyTimeout: time.Minute,
			min:          100*time.Millisecond + d, max: 30 * time.Second,
		},
		{
			name:         "never Ready: ends at ReadyTimeout",
			polls:        [][]corev1.Pod{{notReady}},
			readyTimeout: 300 * time.Millisecond,
			min:          300 * time.Millisecond, max: 30 * time.Second,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tg := target(d)
			tg.ReadyTimeout = tt.readyTimeout
			rec, err := testRecorder(&fakeSource{polls: tt.polls}, Options{PollInterval: 5 * time.Millisecond}).Record(t.Context(), tg, nil)
			require.NoError(t, err)
			assert.GreaterOrEqual(t, rec.Duration, tt.min)
			assert.Less(t, rec.Duration, tt.max)
		})
	}
}

// TestRecordUntilFinished: a run-to-completion workload is recorded until
// Finished reports it over, not for its whole duration, and its last answer
// is the recording's Batch; one that never finishes is Unfinished.
func TestRecordUntilFinished(t *testing.T) {
	src := &fakeSource{polls: [][]corev1.Pod{{runningPod()}}, logs: map[string]string{"app": "done\n"}}
	asked := 0
	tg := target(time.Hour)
	tg.Finished = func(context.Context) (oracle.BatchRun, bool, error) {
		asked++
		switch asked {
		case 1:
			return oracle.BatchRun{}, false, errors.New("connection refused")
		case 2:
			return oracle.BatchRun{Outcome: oracle.BatchUnfinished, Duration: time.Second}, false, nil
		}
		return oracle.BatchRun{Outcome: oracle.BatchSucceeded, Duration: 2 * time.Second}, true, nil
	}
	rec, err := testRecorder(src, Options{}).Record(t.Context(), tg, nil)
	require.NoError(t, err)
	assert.Equal(t, 3, asked)
	assert.Equal(t, &oracle.BatchRun{Outcome: oracle.BatchSucceeded, Duration: 2 * time.Second}, rec.Batch)
	assert.Equal(t, []oracle.LogStream{{Pod: "web-6d4cf56db6-abcde", Container: "app", Lines: []string{"done"}}}, rec.Logs)

	tg = target(20 * time.Millisecond)
	tg.Finished = func(context.Context) (oracle.BatchRun, bool, error) {
		return oracle.BatchRun{}, false, errors.New("gone")
	}
	rec, err = testRecorder(src, Options{}).Record(t.Context(), tg, nil)
	require.NoError(t, err)
	require.NotNil(t, rec.Batch)
	assert.Equal(t, oracle.BatchUnfinished, rec.Batch.Outcome)

	rec, err = testRecorder(src, Options{}).Record(t.Context(), target(time.Millisecond), nil)
	require.NoError(t, err)
	assert.Nil(t, rec.Batch, "a service has no batch result")
}
