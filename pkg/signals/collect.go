package signals

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/cinch-dev/cinch/pkg/oracle"
)

// The kubelet keeps only the newest dead instance of a container: the log of
// an instance that crashed is gone after the next crash, and its "previous"
// log often with it. So the recorder fetches the log of every terminated
// instance as soon as a poll shows it (up to maxCapturedInstances per
// container), and the logs of the final instances at the end.
const (
	maxCapturedInstances = 4
	maxLogAttempts       = 3
)

// errLogUnavailable: the kubelet answered with its placeholder instead of a
// log (the container instance is gone).
var errLogUnavailable = errors.New("container log unavailable")

// kubeletLogPlaceholders start the single line the kubelet streams, with
// status 200, when it cannot read an instance's log.
var kubeletLogPlaceholders = []string{
	"unable to retrieve container logs for ",
	"failed to try resolving symlinks in path ",
}

// logFetch is one container instance's log to fetch.
type logFetch struct {
	pod, container string
	init           bool
	// id is the instance's container ID.
	id string
	// previous selects the instance in lastState.terminated.
	previous bool
}

// instanceFetches lists the instances of p's containers whose logs are not
// fetched yet (done reports the fetched ones): terminated instances always
// (their log is complete and may vanish at the next restart), running ones
// only when final.
func instanceFetches(p corev1.Pod, done func(id string) bool, final bool) []logFetch {
	var out []logFetch
	add := func(statuses []corev1.ContainerStatus, init bool) {
		for _, st := range statuses {
			if t := st.LastTerminationState.Terminated; t != nil && t.ContainerID != "" && !done(t.ContainerID) {
				out = append(out, logFetch{pod: p.Name, container: st.Name, init: init, id: t.ContainerID, previous: true})
			}
			if t := st.State.Terminated; t != nil && t.ContainerID != "" && !done(t.ContainerID) {
				out = append(out, logFetch{pod: p.Name, container: st.Name, init: init, id: t.ContainerID})
			}
			if r := st.State.Running; final && r != nil && st.ContainerID != "" && !done(st.ContainerID) {
				out = append(out, logFetch{pod: p.Name, container: st.Name, init: init, id: st.ContainerID})
			}
		}
	}
	add(p.Status.InitContainerStatuses, true)
	add(p.Status.ContainerStatuses, false)
	return out
}

// latestInstance is the container ID of a container's current instance
// (running or terminated); "" while it waits (e.g. CrashLoopBackOff), when
// every instance seen is a previous one.
func latestInstance(st corev1.ContainerStatus) string {
	switch {
	case st.State.Running != nil:
		return st.ContainerID
	case st.State.Terminated != nil:
		return st.State.Terminated.ContainerID
	}
	return ""
}

type containerRef struct {
	pod, container string
	init           bool
}

// logCollector gathers the logs of one run's container instances.
type logCollector struct {
	ru       *run
	done     map[string]bool
	attempts map[string]int
	captured map[containerRef]int
	streams  []capturedLog
	// unreached lists the final fetches (pod/container) that failed because
	// the API server could not be reached: the recording is incomplete.
	unreached []string
}

type capturedLog struct {
	ref containerRef
	id  string
	s   oracle.LogStream
}

func newLogCollector(ru *run) *logCollector {
	return &logCollector{ru: ru, done: map[string]bool{}, attempts: map[string]int{}, captured: map[containerRef]int{}}
}

// capture fetches the logs of the instances of pods worth fetching now. Only
// a cancelled ctx is an error; an unreadable log is given up after a few
// attempts.
func (lc *logCollector) capture(ctx context.Context, pods []corev1.Pod, final bool) error {
	isDone := func(id string) bool { return lc.done[id] }
	for _, p := range pods {
		for _, f := range instanceFetches(p, isDone, final) {
			ref := containerRef{f.pod, f.container, f.init}
			if !final && lc.captured[ref] >= maxCapturedInstances {
				continue
			}
			s, err := lc.ru.log(ctx, f)
			if err != nil {
				if ctx.Err() != nil {
					return fmt.Errorf("get logs: %w", ctx.Err())
				}
				lc.attempts[f.id]++
				if final && unreachable(err) {
					lc.unreached = append(lc.unreached, f.pod+"/"+f.container)
				}
				if errors.Is(err, errLogUnavailable) || apierrors.IsNotFound(err) || apierrors.IsBadRequest(err) || lc.attempts[f.id] >= maxLogAttempts {
					lc.done[f.id] = true
				}
				logr.FromContextOrDiscard(ctx).V(1).Info("Log unavailable", "pod", f.pod, "container", f.container, "containerID", f.id, "err", err)
				continue
			}
			lc.done[f.id] = true
			lc.captured[ref]++
			lc.streams = append(lc.streams, capturedLog{ref: ref, id: f.id, s: s})
		}
	}
	return nil
}

// unreachable reports whether err means the API server (or the kubelet
// behind it) could not answer: a transport error, a timeout, 429 or 5xx.
// Any other answer (404, 400 for a container that never started, the
// kubelet's placeholder) is a fact about the container.
func unreachable(err error) bool {
	if errors.Is(err, errLogUnavailable) {
		return false
	}
	var st apierrors.APIStatus
	if !errors.As(err, &st) {
		return true
	}
	code := st.Status().Code
	return code == http.StatusTooManyRequests || code >= http.StatusInternalServerError || apierrors.IsTimeout(err) || apierrors.IsServerTimeout(err)
}

// result returns the captured logs, grouped by pod (in the order pods are
// given) and container, oldest instance first; an instance other than its
// container's current one is marked Previous.
func (lc *logCollector) result(pods []corev1.Pod) []oracle.LogStream {
	var out []oracle.LogStream
	emit := func(p corev1.Pod, statuses []corev1.ContainerStatus, init bool) {
		for _, st := range statuses {
			ref := containerRef{p.Name, st.Name, init}
			latest := latestInstance(st)
			for _, c := range lc.streams {
				if c.ref != ref {
					continue
				}
				s := c.s
				s.Previous = c.id != latest
				out = append(out, s)
			}
		}
	}
	for _, p := range pods {
		emit(p, p.Status.InitContainerStatuses, true)
		emit(p, p.Status.ContainerStatuses, false)
	}
	return out
}

// log fetches one instance's log, bounded by the Options.
func (ru *run) log(ctx context.Context, f logFetch) (oracle.LogStream, error) {
	o := ru.r.opts
	s := oracle.LogStream{Pod: f.pod, Container: f.container, Previous: f.previous}
	b, capped, err := ru.readLog(ctx, f, &corev1.PodLogOptions{
		Container:  f.container,
		Previous:   f.previous,
		LimitBytes: &o.LogBytesPerContainer,
	}, o.LogLinesPerContainer)
	if err != nil {
		return s, err
	}
	headN := (o.LogLinesPerContainer + 1) / 2
	tailN := int64(o.LogLinesPerContainer - headN)
	if capped && b.Read > headN && tailN > 0 {
		// The log is longer than the byte cap: what was read ends somewhere
		// in the middle. Keep the head and fetch the true last lines.
		t, _, err := ru.readLog(ctx, f, &corev1.PodLogOptions{
			Container:  f.container,
			Previous:   f.previous,
			TailLines:  &tailN,
			LimitBytes: &o.LogBytesPerContainer,
		}, int(tailN))
		if err != nil {
			return s, err
		}
		head := b.Lines[:min(headN, len(b.Lines))]
		s.Lines = append(append([]string(nil), head...), t.Lines...)
		s.Dropped = b.Read - len(head)
		return s, nil
	}
	s.Lines = b.Lines
	s.Dropped = b.Dropped
	return s, nil
}

// readLog reads one log request bounded to maxLines; capped reports that the
// byte limit was reached.
func (ru *run) readLog(ctx context.Context, f logFetch, opts *corev1.PodLogOptions, maxLines int) (boundedLog, bool, error) {
	ctx, cancel := context.WithTimeout(ctx, ru.r.opts.RequestTimeout)
	defer cancel()
	rc, err := ru.r.src.Logs(ctx, ru.t.Namespace, f.pod, opts)
	if err != nil {
		return boundedLog{}, false, err
	}
	defer func() { _ = rc.Close() }()
	cr := &countingReader{r: rc}
	b, err := readBounded(cr, maxLines, ru.r.opts.LogBytesPerLine)
	if err != nil {
		return b, false, fmt.Errorf("read logs of %s/%s: %w", f.pod, f.container, err)
	}
	if b.Read == 1 {
		for _, p := range kubeletLogPlaceholders {
			if strings.HasPrefix(b.Lines[0], p) {
				return boundedLog{}, false, fmt.Errorf("%s/%s: %w: %s", f.pod, f.container, errLogUnavailable, b.Lines[0])
			}
		}
	}
	return b, opts.LimitBytes != nil && cr.n >= *opts.LimitBytes, nil
}
