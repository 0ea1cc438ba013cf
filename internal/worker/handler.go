package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/cinch-dev/cinch/internal/jobs"
	"github.com/cinch-dev/cinch/internal/pipeline"
	"github.com/cinch-dev/cinch/internal/results"
	"github.com/cinch-dev/cinch/pkg/hardening"
)

// Outcome is how a job ended (the outcome label of cinch_jobs_total).
type Outcome string

const (
	OutcomeVerified   Outcome = "verified"
	OutcomeFailed     Outcome = "failed"
	OutcomeSuperseded Outcome = "superseded"
	OutcomeGone       Outcome = "gone"
	OutcomeSkipped    Outcome = "skipped"
	OutcomeRetry      Outcome = "retry"
	OutcomePoison     Outcome = "poison"
	OutcomeGaveUp     Outcome = "gave_up"
	OutcomeShutdown   Outcome = "shutdown"
)

// ErrPoison marks a job that can never be processed; the consumer
// terminates it. jobs.ErrPoison (decode errors) is matched too.
var ErrPoison = errors.New("poison job")

// Runner runs the trial pipeline for one workload; *pipeline.Pipeline is one.
type Runner interface {
	Run(ctx context.Context, src pipeline.Source, tmpl *corev1.PodTemplateSpec, obs pipeline.Observer) (pipeline.Result, error)
}

var _ Runner = (*pipeline.Pipeline)(nil)

// Handler processes hardening jobs against the API server.
type Handler struct {
	cs     kubernetes.Interface
	runner Runner
	writer *results.Writer
	now    func() time.Time
	gate   *ReadinessGate
	// watchEvery is the interval at which a running job re-reads its
	// workload and stops early when it was deleted or its template changed
	// (0 = never).
	watchEvery time.Duration
	// settle is how long after it was enqueued a job's workload may still be
	// missing or show an older template (see WithSettle).
	settle time.Duration
}

// HandlerOption configures a Handler.
type HandlerOption func(*Handler)

// WithReadinessGate makes the handler end a job Failed when a baseline's
// pods never became Ready; g must be the Recorder of the handler's runner.
func WithReadinessGate(g *ReadinessGate) HandlerOption {
	return func(h *Handler) { h.gate = g }
}

// WithWatchInterval sets how often a running job re-reads its workload
// (DefaultWatchInterval; 0 = never).
func WithWatchInterval(d time.Duration) HandlerOption {
	return func(h *Handler) { h.watchEvery = d }
}

// DefaultWatchInterval is how often a running job re-reads its workload.
const DefaultWatchInterval = 5 * time.Second

// WithSettle sets how long a young job waits for its workload to be stored
// (DefaultSettle; 0 = not at all).
func WithSettle(d time.Duration) HandlerOption {
	return func(h *Handler) { h.settle = d }
}

// DefaultSettle bounds the wait for the API server to store what the
// webhook admitted. The webhook publishes during admission, before the
// object is stored: a worker that is fast enough reads the workload before
// it exists (create) or with its previous template (update). Within this
// time after the job was enqueued such a job waits instead of being
// dropped as gone or superseded.
const DefaultSettle = 20 * time.Second

// settlePoll is how often a settling job re-reads its workload.
const settlePoll = 250 * time.Millisecond

// NewHandler returns a handler.
func NewHandler(cs kubernetes.Interface, runner Runner, writer *results.Writer, opts ...HandlerOption) *Handler {
	h := &Handler{cs: cs, runner: runner, writer: writer, now: time.Now, watchEvery: DefaultWatchInterval, settle: DefaultSettle}
	for _, o := range opts {
		o(h)
	}
	return h
}

func refOf(j jobs.Job) results.Ref {
	return results.Ref{Namespace: j.Namespace, Kind: j.Kind, Name: j.Name}
}

// Process runs one job to its end. A nil error comes with the final
// outcome (the message is acknowledged); an error is transient (the
// message is redelivered) unless it wraps ErrPoison.
func (h *Handler) Process(ctx context.Context, j jobs.Job) (Outcome, error) {
	ref := refOf(j)
	if !hardening.KnownKind(j.Kind) {
		return OutcomePoison, fmt.Errorf("%w: kind %q", ErrPoison, j.Kind)
	}
	log := logr.FromContextOrDiscard(ctx).WithValues("workload", ref.String(), "hash", j.TemplateHash)
	ctx = logr.NewContext(ctx, log)
	wl, err := h.current(ctx, j)
	switch {
	case errors.Is(err, results.ErrGone):
		return OutcomeGone, nil
	case errors.Is(err, results.ErrSuperseded):
		return OutcomeSuperseded, nil // the newer template has its own job
	case err != nil:
		return OutcomeRetry, err
	}
	nsLabels, err := h.namespaceLabels(ctx, j.Namespace)
	if err != nil {
		return OutcomeRetry, err
	}
	if !hardening.OptedIn(nsLabels, wl.Annotations) || wl.Done() {
		return OutcomeSkipped, nil
	}
	out, _, _, err := h.harden(ctx, wl, true)
	return out, err
}

// current reads the job's workload; while the job is younger than the
// settle time, a missing workload or an older template is waited for (the
// API server has not stored the admitted change yet).
func (h *Handler) current(ctx context.Context, j jobs.Job) (results.Workload, error) {
	for {
		wl, err := h.writer.Current(ctx, refOf(j), types.UID(j.UID), j.TemplateHash)
		unsettled := errors.Is(err, results.ErrGone) || errors.Is(err, results.ErrSuperseded)
		if !unsettled || h.now().Sub(j.EnqueuedAt) >= h.settle {
			return wl, err
		}
		select {
		case <-ctx.Done():
			return wl, fmt.Errorf("waiting for the admitted workload: %w", ctx.Err())
		case <-time.After(settlePoll):
		}
	}
}

func (h *Handler) namespaceLabels(ctx context.Context, ns string) (map[string]string, error) {
	n, err := h.cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("get namespace %s: %w", ns, err)
	}
	return n.Labels, nil
}

// Once is the one-shot mode: it hardens the workload's current template
// whatever its annotations say and returns the result and its annotations.
// With write it also writes them and the Events, as the daemon does.
func (h *Handler) Once(ctx context.Context, ref results.Ref, write bool) (pipeline.Result, map[string]string, error) {
	if !hardening.KnownKind(ref.Kind) {
		return pipeline.Result{}, nil, fmt.Errorf("%w: kind %q", results.ErrUnknownKind, ref.Kind)
	}
	wl, err := h.writer.Current(ctx, ref, "", "")
	if err != nil {
		return pipeline.Result{}, nil, err
	}
	_, res, ann, err := h.harden(ctx, wl, write)
	return res, ann, err
}

// GiveUp marks a job that failed too often as Failed, with an Event.
func (h *Handler) GiveUp(ctx context.Context, j jobs.Job, cause error) error {
	ref := refOf(j)
	ann := map[string]string{
		hardening.AnnotationStatus:       string(hardening.StatusFailed),
		hardening.AnnotationTemplateHash: j.TemplateHash,
	}
	if _, err := h.writer.WriteResult(ctx, ref, types.UID(j.UID), j.TemplateHash, ann); err != nil {
		return err
	}
	return h.writer.Event(ctx, ref, types.UID(j.UID), corev1.EventTypeWarning, results.ReasonFailed,
		"hardening pipeline failed: "+cause.Error())
}

func (h *Handler) harden(ctx context.Context, wl results.Workload, write bool) (Outcome, pipeline.Result, map[string]string, error) {
	log := logr.FromContextOrDiscard(ctx)
	ev := func(typ, reason, msg string) {
		if !write {
			return
		}
		if err := h.writer.Event(ctx, wl.Ref, wl.UID, typ, reason, msg); err != nil {
			log.Error(err, "event", "reason", reason)
		}
	}
	if write {
		err := h.writer.SetStatus(ctx, wl.Ref, wl.UID, wl.Hash, hardening.StatusRunning)
		switch {
		case errors.Is(err, results.ErrGone):
			return OutcomeGone, pipeline.Result{}, nil, nil
		case errors.Is(err, results.ErrSuperseded):
			return OutcomeSuperseded, pipeline.Result{}, nil, nil
		case err != nil:
			return OutcomeRetry, pipeline.Result{}, nil, err
		}
	}
	planned := hardening.PlannedChecks(wl.Template, hardening.Options{})
	ev(corev1.EventTypeNormal, results.ReasonStarted, fmt.Sprintf("hardening pod template %s: %d checks planned (%s)",
		wl.Hash, len(planned), joinIDs(planned)))
	var baselines []baselineReadiness
	obs := observerFunc(func(ctx context.Context, r pipeline.TrialResult) {
		if h.gate != nil {
			if ready, known := h.gate.take(r.Clone); known && r.Trial.Kind == hardening.TrialBaseline {
				baselines = append(baselines, baselineReadiness{trial: r.Trial.Name, ready: ready})
			}
		}
		if r.Verdict.Pass {
			return
		}
		cr := pipeline.CheckResultOf(r)
		ev(corev1.EventTypeWarning, results.ReasonTrialFail, fmt.Sprintf("trial %s failed: %s; evidence: %s", r.Trial.Name, cr.Reason, compactJSON(cr.Evidence)))
	})
	src := pipeline.Source{Namespace: wl.Namespace, Kind: wl.Kind, Name: wl.Name}
	runCtx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	if h.watchEvery > 0 {
		go h.watch(runCtx, stop, wl)
	}
	res, err := h.runner.Run(runCtx, src, wl.Template, obs)
	if err != nil {
		return h.runFailed(ctx, runCtx, wl, write, res, err)
	}
	if notReady := neverReady(baselines); notReady != "" {
		res.Outcome, res.Recommendation, res.Level, res.VerifiedBy = pipeline.OutcomeFailed, hardening.Recommendation{}, "", ""
		res.Reason = fmt.Sprintf("the unmodified workload never became Ready in baseline %s (recorded %s): "+
			"there is no working reference to judge trials against; fix its readiness first", notReady, res.Ended.Sub(res.Started).Round(time.Second))
	}
	ann, err := results.Annotations(res, wl.Hash, h.now())
	if err != nil {
		return OutcomeRetry, res, nil, err
	}
	out := OutcomeVerified
	if res.Outcome != pipeline.OutcomeVerified {
		out = OutcomeFailed
	}
	if !write {
		return out, res, ann, nil
	}
	status, err := h.writer.WriteResult(ctx, wl.Ref, wl.UID, wl.Hash, ann)
	switch {
	case errors.Is(err, results.ErrGone):
		return OutcomeGone, res, ann, nil
	case err != nil:
		return OutcomeRetry, res, ann, err
	case status == hardening.StatusSuperseded:
		ev(corev1.EventTypeNormal, results.ReasonSuperseded, fmt.Sprintf("pod template %s changed while it was hardened; result discarded", wl.Hash))
		return OutcomeSuperseded, res, ann, nil
	case out == OutcomeVerified:
		ev(corev1.EventTypeNormal, results.ReasonVerified, fmt.Sprintf("recommendation verified (PodSecurity %s, %s): %s", res.Level, res.Reason, ann[hardening.AnnotationRecommendation]))
	default:
		ev(corev1.EventTypeWarning, results.ReasonFailed, res.Reason)
	}
	return out, res, ann, nil
}

// runFailed ends a job whose pipeline returned err: a workload deleted or
// changed meanwhile ends it (acknowledged), anything else is transient and
// the status goes back to Pending.
func (h *Handler) runFailed(ctx, runCtx context.Context, wl results.Workload, write bool, res pipeline.Result, err error) (Outcome, pipeline.Result, map[string]string, error) {
	log := logr.FromContextOrDiscard(ctx)
	cause := context.Cause(runCtx)
	if ctx.Err() == nil && !errors.Is(cause, results.ErrGone) && !errors.Is(cause, results.ErrSuperseded) {
		// A clone may have failed because its source just went away.
		_, cause = h.writer.Current(ctx, wl.Ref, wl.UID, wl.Hash)
	}
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	switch {
	case errors.Is(cause, results.ErrGone):
		log.Info("workload gone during the job; nothing written", "err", err.Error())
		return OutcomeGone, res, nil, nil
	case errors.Is(cause, results.ErrSuperseded):
		log.Info("pod template changed during the job; stopped", "err", err.Error())
		if write {
			// Superseded when the template is still another one; should it
			// be the job's again, the job is only pending once more.
			pending := map[string]string{hardening.AnnotationStatus: string(hardening.StatusPending), hardening.AnnotationTemplateHash: wl.Hash}
			if _, werr := h.writer.WriteResult(wctx, wl.Ref, wl.UID, wl.Hash, pending); werr != nil && !errors.Is(werr, results.ErrGone) {
				log.Error(werr, "mark superseded")
			}
		}
		return OutcomeSuperseded, res, nil, nil
	}
	if write {
		// Interrupted (shutdown) or failed: the job goes back to the queue.
		if serr := h.writer.SetStatus(wctx, wl.Ref, wl.UID, wl.Hash, hardening.StatusPending); serr != nil {
			log.Error(serr, "reset status to Pending")
		}
	}
	return OutcomeRetry, res, nil, fmt.Errorf("pipeline: %w", err)
}

// watch re-reads the workload every watchEvery and cancels the run when it
// was deleted, re-created or its template changed.
func (h *Handler) watch(ctx context.Context, stop context.CancelCauseFunc, wl results.Workload) {
	t := time.NewTicker(h.watchEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		_, err := h.writer.Current(ctx, wl.Ref, wl.UID, wl.Hash)
		if errors.Is(err, results.ErrGone) || errors.Is(err, results.ErrSuperseded) {
			stop(err)
			return
		}
	}
}

type baselineReadiness struct {
	trial string
	ready bool
}

// neverReady names the first baseline whose pods never became Ready, or "".
func neverReady(bs []baselineReadiness) string {
	for _, b := range bs {
		if !b.ready {
			return b.trial
		}
	}
	return ""
}

type observerFunc func(ctx context.Context, r pipeline.TrialResult)

func (f observerFunc) TrialFinished(ctx context.Context, r pipeline.TrialResult) { f(ctx, r) }

var _ pipeline.Observer = observerFunc(nil)

func joinIDs(ids []hardening.CheckID) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = string(id)
	}
	return strings.Join(s, ", ")
}

func compactJSON(b []byte) string {
	if len(b) == 0 {
		return "none"
	}
	var v any
	if json.Unmarshal(b, &v) != nil {
		return string(b)
	}
	out, _ := json.Marshal(v)
	return string(out)
}
