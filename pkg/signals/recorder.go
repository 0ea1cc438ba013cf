package signals

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"

	"github.com/cinch-dev/cinch/pkg/oracle"
)

// Defaults of Options.
const (
	DefaultLogLinesPerContainer = 5000
	DefaultLogBytesPerLine      = 2048
	DefaultLogBytesPerContainer = 16 << 20
	DefaultPollInterval         = time.Second
	DefaultStatsInterval        = 5 * time.Second
	DefaultRequestTimeout       = 15 * time.Second
	DefaultMaxBlind             = 10 * time.Second
)

// Named errors of Record.
var (
	// ErrNoSelector: the Target has no Selector.
	ErrNoSelector = errors.New("target has no pod selector")
	// ErrIncomplete: the API server could not be reached for part of the
	// run (no successful poll for longer than MaxBlind, or a final log
	// that could not be fetched). Such a recording must not be judged: a
	// trial that looks healthy may only have been unobserved. Record it
	// again once the API server answers.
	ErrIncomplete = errors.New("recording incomplete: the API server was unreachable")
)

// Options configures a Recorder. Zero fields take their defaults.
type Options struct {
	// LogLinesPerContainer caps the lines kept per container instance: the
	// first and the last half are kept, the middle is counted as Dropped.
	LogLinesPerContainer int
	// LogBytesPerLine caps each kept line (longer lines are cut).
	LogBytesPerLine int
	// LogBytesPerContainer caps the bytes read of one container instance's
	// log (the request's limitBytes). When a log is longer, its true last
	// lines are fetched separately and Dropped is a lower bound.
	LogBytesPerContainer int64
	// PollInterval is the time between pod polls (and early callbacks).
	PollInterval time.Duration
	// StatsInterval is the time between CPU/memory samples.
	StatsInterval time.Duration
	// Node, when set, is the node whose stats summary is read; otherwise the
	// nodes the target's pods run on.
	Node string
	// RequestTimeout bounds each API request, so a stuck proxy cannot hold a
	// recording past its duration.
	RequestTimeout time.Duration
	// MaxBlind is the longest stretch without a successful pod poll that a
	// recording may contain; beyond it Record returns ErrIncomplete.
	MaxBlind time.Duration
}

func (o Options) withDefaults() Options {
	if o.LogLinesPerContainer <= 0 {
		o.LogLinesPerContainer = DefaultLogLinesPerContainer
	}
	if o.LogBytesPerLine <= 0 {
		o.LogBytesPerLine = DefaultLogBytesPerLine
	}
	if o.LogBytesPerContainer <= 0 {
		o.LogBytesPerContainer = DefaultLogBytesPerContainer
	}
	if o.PollInterval <= 0 {
		o.PollInterval = DefaultPollInterval
	}
	if o.StatsInterval <= 0 {
		o.StatsInterval = DefaultStatsInterval
	}
	if o.RequestTimeout <= 0 {
		o.RequestTimeout = DefaultRequestTimeout
	}
	if o.MaxBlind <= 0 {
		o.MaxBlind = DefaultMaxBlind
	}
	return o
}

// Target is the run to record.
type Target struct {
	Namespace string
	// Selector selects the workload's pods in Namespace.
	Selector labels.Selector
	// Duration is how long to record, counted from Start, or from the first
	// Ready pod when ReadyTimeout is set.
	Duration time.Duration
	// ReadyTimeout, when set, makes every run observe the same Ready time
	// however slowly its pods start (a loaded node, image unpacking): the
	// recording lasts Duration from the moment the first pod became Ready,
	// and ends at Start+ReadyTimeout when no pod has become Ready by then.
	ReadyTimeout time.Duration
	// Start is when the run started (e.g. the clone's creation); resource
	// sample offsets count from it. Zero means when Record is called.
	Start time.Time
	// Prober, when set, actively checks the pods during the run (the
	// extension point for service-answer probes). Use one Prober per Record.
	Prober Prober
	// Finished, when set, says how a run-to-completion workload's run
	// stands (a Job: succeeded, failed or still running); it is asked after
	// every poll, the recording ends as soon as it reports the run over,
	// and its last answer is the recording's Batch.
	Finished func(ctx context.Context) (run oracle.BatchRun, over bool, err error)
}

// Prober is the extension point for active checks of a run's pods (TC-05:
// do the declared ports still answer as in the baselines). Probe is called
// after every poll with the pods currently matching the selector; Fill is
// called once at the end to add what was found to the recording.
type Prober interface {
	Probe(ctx context.Context, pods []corev1.Pod, offset time.Duration)
	Fill(rec *oracle.Recording)
}

// Recorder records runs of workloads. It is safe for concurrent use: each
// Record call keeps its own state.
type Recorder struct {
	src  source
	opts Options
	now  func() time.Time
}

// NewRecorder returns a Recorder that reads from cs.
func NewRecorder(cs kubernetes.Interface, opts Options) *Recorder {
	opts = opts.withDefaults()
	// A summary half a sampling interval old is as fresh as the kubelet's
	// own figures (its CPU stats are averaged over seconds).
	src := newSummaryCache(kubeSource{cs: cs}, opts.StatsInterval/2, time.Now)
	return &Recorder{src: src, opts: opts, now: time.Now}
}

// run is the state of one Record call.
type run struct {
	r       *Recorder
	t       Target
	start   time.Time
	tracker *podTracker
	samples []oracle.ResourceSample
	logs    *logCollector
}

// Record observes the pods of t for t.Duration and returns what it saw. After
// every poll it calls early (if not nil) with the recording so far (pods,
// resources, duration; no logs or events yet); when early returns true it
// stops at once and returns what it has, with Duration the time actually
// recorded. Logs and Events are collected at the end. A cancelled ctx stops
// it promptly with the partial recording and an error wrapping ctx.Err().
func (r *Recorder) Record(ctx context.Context, t Target, early func(partial oracle.Recording) bool) (oracle.Recording, error) {
	if t.Selector == nil {
		return oracle.Recording{}, ErrNoSelector
	}
	log := logr.FromContextOrDiscard(ctx).WithValues("namespace", t.Namespace, "selector", t.Selector.String())
	ctx = logr.NewContext(ctx, log)
	start := t.Start
	if start.IsZero() {
		start = r.now()
	}
	ru := &run{r: r, t: t, start: start, tracker: newPodTracker()}
	ru.logs = newLogCollector(ru)
	end := start.Add(t.Duration)
	if t.ReadyTimeout > 0 {
		end = start.Add(t.ReadyTimeout)
	}

	var (
		polled    bool
		lastErr   error
		last      = start
		blind     time.Duration // the longest stretch without a successful poll
		nextStats time.Time
		batch     *oracle.BatchRun
		timer     = time.NewTimer(time.Hour)
	)
	timer.Stop()
	defer timer.Stop()
	for {
		now := r.now()
		pods, err := ru.poll(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return ru.recording(last), fmt.Errorf("record %s: %w", t.Namespace, ctx.Err())
			}
			lastErr = err
			blind = max(blind, now.Sub(last))
			log.V(1).Info("Poll failed", "err", err)
		} else {
			polled = true
			last = now
			ru.tracker.observe(pods, now)
			if fr := ru.tracker.firstReady(); t.ReadyTimeout > 0 && !fr.IsZero() {
				end = fr.Add(t.Duration)
			}
			if err := ru.logs.capture(ctx, pods, false); err != nil {
				return ru.recording(last), fmt.Errorf("record %s: %w", t.Namespace, err)
			}
			if !now.Before(nextStats) {
				ru.sample(ctx, now)
				nextStats = now.Add(r.opts.StatsInterval)
			}
			if t.Prober != nil {
				t.Prober.Probe(ctx, ru.tracker.currentPods(), now.Sub(start))
			}
			if early != nil {
				partial := ru.recording(now)
				if t.Prober != nil {
					// Lets a refused port end the trial early (TC-05); waits
					// for a probe round in flight, at most a few seconds.
					t.Prober.Fill(&partial)
				}
				if early(partial) {
					log.V(1).Info("Recording stopped early", "after", now.Sub(start))
					break
				}
			}
			if t.Finished != nil {
				br, over, err := t.Finished(ctx)
				if err != nil {
					log.V(1).Info("Run state unavailable", "err", err)
				} else {
					batch = &br
					if over {
						break
					}
				}
			}
		}
		if !now.Before(end) {
			break
		}
		timer.Reset(min(r.opts.PollInterval, end.Sub(now)))
		select {
		case <-ctx.Done():
			return ru.recording(last), fmt.Errorf("record %s: %w", t.Namespace, ctx.Err())
		case <-timer.C:
		}
	}
	if !polled && lastErr != nil {
		return ru.recording(last), fmt.Errorf("record %s: %w", t.Namespace, lastErr)
	}
	if blind > r.opts.MaxBlind {
		return ru.recording(last), fmt.Errorf("record %s: %w: no pod poll for %s (last error: %w)", t.Namespace, ErrIncomplete, blind.Round(time.Second), lastErr)
	}

	rec := ru.recording(last)
	if t.Finished != nil {
		if batch == nil {
			batch = &oracle.BatchRun{Outcome: oracle.BatchUnfinished, Duration: rec.Duration}
		}
		rec.Batch = batch
	}
	err := ru.logs.capture(ctx, ru.tracker.currentPods(), true)
	rec.Logs = ru.logs.result(ru.tracker.allPods())
	if err != nil {
		return rec, fmt.Errorf("record %s: %w", t.Namespace, err)
	}
	if len(ru.logs.unreached) > 0 {
		return rec, fmt.Errorf("record %s: %w: logs of %s", t.Namespace, ErrIncomplete, strings.Join(ru.logs.unreached, ", "))
	}
	evs, err := ru.events(ctx)
	rec.Events = evs
	if err != nil {
		return rec, fmt.Errorf("record %s: %w", t.Namespace, err)
	}
	if t.Prober != nil {
		t.Prober.Fill(&rec)
	}
	return rec, nil
}

// recording is the recording so far, up to the poll at time at.
func (ru *run) recording(at time.Time) oracle.Recording {
	d := at.Sub(ru.start)
	if d < 0 {
		d = 0
	}
	return oracle.Recording{
		Duration:  d,
		Pods:      ru.tracker.observations(),
		Resources: append([]oracle.ResourceSample(nil), ru.samples...),
	}
}

func (ru *run) poll(ctx context.Context) ([]corev1.Pod, error) {
	ctx, cancel := context.WithTimeout(ctx, ru.r.opts.RequestTimeout)
	defer cancel()
	return ru.r.src.Pods(ctx, ru.t.Namespace, ru.t.Selector.String())
}

// sample reads the stats summary of the pods' nodes and appends one sample
// summed over the current pods. Stats are advisory: failures are logged.
func (ru *run) sample(ctx context.Context, now time.Time) {
	pods := ru.tracker.currentPods()
	names := map[string]bool{}
	nodes := map[string]bool{}
	for _, p := range pods {
		names[p.Name] = true
		if p.Spec.NodeName != "" {
			nodes[p.Spec.NodeName] = true
		}
	}
	if ru.r.opts.Node != "" {
		nodes = map[string]bool{ru.r.opts.Node: true}
	}
	if len(names) == 0 || len(nodes) == 0 {
		return
	}
	var total usage
	for _, node := range sortedKeys(nodes) {
		rctx, cancel := context.WithTimeout(ctx, ru.r.opts.RequestTimeout)
		raw, err := ru.r.src.Summary(rctx, node)
		cancel()
		if err != nil {
			logr.FromContextOrDiscard(ctx).V(1).Info("Stats summary failed", "node", node, "err", err)
			continue
		}
		u, err := sumUsage(raw, ru.t.Namespace, names)
		if err != nil {
			logr.FromContextOrDiscard(ctx).V(1).Info("Stats summary unreadable", "node", node, "err", err)
			continue
		}
		total.CPUNanoCores += u.CPUNanoCores
		total.MemoryWorkingSet += u.MemoryWorkingSet
		total.Pods += u.Pods
	}
	if total.Pods == 0 {
		return
	}
	ru.samples = append(ru.samples, oracle.ResourceSample{
		Offset:           now.Sub(ru.start),
		CPUNanoCores:     total.CPUNanoCores,
		MemoryWorkingSet: total.MemoryWorkingSet,
	})
}

func (ru *run) events(ctx context.Context) ([]oracle.Event, error) {
	rctx, cancel := context.WithTimeout(ctx, ru.r.opts.RequestTimeout)
	defer cancel()
	evs, err := ru.r.src.Events(rctx, ru.t.Namespace)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("list events: %w", ctx.Err())
		}
		// Events are evidence, not the verdict: a recording without them
		// is still a recording.
		logr.FromContextOrDiscard(ctx).V(1).Info("Events unavailable", "err", err)
		return nil, nil
	}
	return convertEvents(evs), nil
}

type countingReader struct {
	r interface{ Read([]byte) (int, error) }
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
