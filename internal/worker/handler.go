package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/cinch-dev/cinch/internal/jobs"
	"github.com/cinch-dev/cinch/internal/monitors"
	"github.com/cinch-dev/cinch/internal/pipeline"
	"github.com/cinch-dev/cinch/internal/results"
	"github.com/cinch-dev/cinch/pkg/hardening"
)

// Disposition is what the handler did with one delivery of a job: a final
// end (the consumer acks the message), a retry (nak), poison (term) or a
// deferral. It is the outcome label of cinch_jobs_total.
type Disposition string

const (
	DispositionVerified   Disposition = "verified"
	DispositionFailed     Disposition = "failed"
	DispositionSuperseded Disposition = "superseded"
	DispositionGone       Disposition = "gone"
	DispositionSkipped    Disposition = "skipped"
	DispositionRetry      Disposition = "retry"
	DispositionPoison     Disposition = "poison"
	DispositionGaveUp     Disposition = "gave_up"
	DispositionShutdown   Disposition = "shutdown"
	// DispositionDeferred: another worker runs the job's namespace; the job
	// waits in the queue and is looked at after that run.
	DispositionDeferred Disposition = "deferred"
)

// Runner runs the trial pipeline for the workloads of a namespace;
// *pipeline.Pipeline is one.
type Runner interface {
	RunNamespace(ctx context.Context, ns string, wls []pipeline.Workload, obs pipeline.Observer) (pipeline.NamespaceResult, error)
}

var _ Runner = (*pipeline.Pipeline)(nil)

// Handler processes hardening jobs against the API server.
type Handler struct {
	cs     kubernetes.Interface
	runner Runner
	writer *results.Writer
	now    func() time.Time
	leases *Leases
	// watchEvery is the interval at which a running job re-reads its
	// workload and stops early when it was deleted or its template changed
	// (0 = never).
	watchEvery time.Duration
	// storeWait is how long after it was enqueued a job's workload may still
	// be missing or show an older template (see WithStoreWait).
	storeWait time.Duration
	// metrics finds the metrics endpoints declared outside the templates
	// (nil: none).
	metrics MetricsDiscovery
}

// MetricsDiscovery finds the Prometheus endpoints declared for the pods of
// workloads of namespace ns outside their pod templates, by workload;
// *monitors.Reader (PodMonitors, ServiceMonitors) is one.
type MetricsDiscovery interface {
	Endpoints(ctx context.Context, ns string, tmpls map[pipeline.Ref]*corev1.PodTemplateSpec) (map[pipeline.Ref][]pipeline.MetricsEndpoint, error)
}

var _ MetricsDiscovery = (*monitors.Reader)(nil)

// HandlerOption configures a Handler.
type HandlerOption func(*Handler)

// WithLeases makes every run claim its namespace first, so that two
// workers never run the same namespace at once (see Leases).
func WithLeases(l *Leases) HandlerOption {
	return func(h *Handler) { h.leases = l }
}

// WithMetricsDiscovery makes every run look for the metrics endpoints
// declared for its workloads outside their pod templates (TC-06 scrapes
// them with those of the pods' annotations).
func WithMetricsDiscovery(d MetricsDiscovery) HandlerOption {
	return func(h *Handler) { h.metrics = d }
}

// WithWatchInterval sets how often a running job re-reads its workload
// (DefaultWatchInterval; 0 = never).
func WithWatchInterval(d time.Duration) HandlerOption {
	return func(h *Handler) { h.watchEvery = d }
}

// DefaultWatchInterval is how often a running job re-reads its workload.
const DefaultWatchInterval = 5 * time.Second

// WithStoreWait sets how long a young job waits for its workload to be
// stored (DefaultStoreWait; 0 = not at all).
func WithStoreWait(d time.Duration) HandlerOption {
	return func(h *Handler) { h.storeWait = d }
}

// DefaultStoreWait bounds the wait for the API server to store what the
// webhook admitted. The webhook publishes during admission, before the
// object is stored: a worker that is fast enough reads the workload before
// it exists (create) or with its previous template (update). Within this
// time after the job was enqueued such a job waits instead of being
// dropped as gone or superseded.
const DefaultStoreWait = 20 * time.Second

// storePoll is how often a job waiting for its workload re-reads it.
const storePoll = 250 * time.Millisecond

// NewHandler returns a handler.
func NewHandler(cs kubernetes.Interface, runner Runner, writer *results.Writer, opts ...HandlerOption) *Handler {
	h := &Handler{cs: cs, runner: runner, writer: writer, now: time.Now, watchEvery: DefaultWatchInterval, storeWait: DefaultStoreWait}
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
// message is redelivered) unless it wraps jobs.ErrPoison.
func (h *Handler) Process(ctx context.Context, j jobs.Job) (Disposition, error) {
	ref := refOf(j)
	if !hardening.KnownKind(j.Kind) {
		return DispositionPoison, fmt.Errorf("%w: kind %q", jobs.ErrPoison, j.Kind)
	}
	log := logr.FromContextOrDiscard(ctx).WithValues("workload", ref.String(), "hash", j.TemplateHash)
	ctx = logr.NewContext(ctx, log)
	wl, err := h.current(ctx, j)
	switch {
	case errors.Is(err, results.ErrGone):
		return DispositionGone, nil
	case errors.Is(err, results.ErrSuperseded):
		return DispositionSuperseded, nil // the newer template has its own job
	case err != nil:
		return DispositionRetry, err
	}
	nsLabels, err := h.namespaceLabels(ctx, j.Namespace)
	if err != nil {
		return DispositionRetry, err
	}
	if !hardening.OptedIn(nsLabels, wl.Annotations) || wl.Done() {
		return DispositionSkipped, nil
	}
	if h.leases != nil {
		lease, err := h.leases.Claim(ctx, j.Namespace)
		if errors.Is(err, ErrLeaseHeld) {
			return DispositionDeferred, err
		}
		if err != nil {
			return DispositionRetry, err
		}
		defer lease.Release(context.WithoutCancel(ctx))
		ctx = lease.Context(ctx)
		// A run that just ended may have described the workload.
		if wl, err = results.Current(ctx, h.cs, ref, types.UID(j.UID), j.TemplateHash); err != nil || wl.Done() {
			return afterRun(err)
		}
	}
	wls, err := h.gather(ctx, wl, nsLabels)
	if err != nil {
		return DispositionRetry, err
	}
	outs, _, err := h.harden(ctx, j.Namespace, wls, true)
	return outs[wl.Ref], err
}

// afterRun is the disposition of a job whose workload was re-read after
// another run of its namespace: skipped when that run described it.
func afterRun(err error) (Disposition, error) {
	switch {
	case err == nil:
		return DispositionSkipped, nil
	case errors.Is(err, results.ErrGone):
		return DispositionGone, nil
	case errors.Is(err, results.ErrSuperseded):
		return DispositionSuperseded, nil
	}
	return DispositionRetry, err
}

// gather returns the job's workload and every other opted-in workload of
// its namespace whose annotations do not describe its current template:
// the namespace is the unit of a run.
func (h *Handler) gather(ctx context.Context, job results.Workload, nsLabels map[string]string) ([]results.Workload, error) {
	all, err := results.List(ctx, h.cs, job.Namespace)
	if err != nil {
		return nil, err
	}
	out := []results.Workload{job}
	for _, wl := range all {
		if wl.Ref != job.Ref && hardening.OptedIn(nsLabels, wl.Annotations) && !wl.Done() {
			out = append(out, wl)
		}
	}
	return out, nil
}

// current reads the job's workload; while the job is younger than the
// store wait, a missing workload or an older template is waited for (the
// API server has not stored the admitted change yet).
func (h *Handler) current(ctx context.Context, j jobs.Job) (results.Workload, error) {
	for {
		wl, err := results.Current(ctx, h.cs, refOf(j), types.UID(j.UID), j.TemplateHash)
		unstored := errors.Is(err, results.ErrGone) || errors.Is(err, results.ErrSuperseded)
		if !unstored || h.now().Sub(j.EnqueuedAt) >= h.storeWait {
			return wl, err
		}
		select {
		case <-ctx.Done():
			return wl, fmt.Errorf("waiting for the admitted workload: %w", ctx.Err())
		case <-time.After(storePoll):
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

// logNovelty reads namespace ns's log-novelty policy
// (hardening.AnnotationLogNovelty): whether it tolerates start-up-only log
// novelty, and what the HardeningStarted Event says of it (empty for the
// default). A value that does not parse leaves the default, strict.
func (h *Handler) logNovelty(ctx context.Context, ns string) (bool, string, error) {
	n, err := h.cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return false, "", nil // its workloads are going too; the run finds out
	}
	if err != nil {
		return false, "", fmt.Errorf("get namespace %s: %w", ns, err)
	}
	v, ok := n.Annotations[hardening.AnnotationLogNovelty]
	if !ok {
		return false, "", nil
	}
	tolerate, err := hardening.ParseLogNovelty(v)
	switch {
	case err != nil:
		return false, fmt.Sprintf("namespace %v; every new log template fails a trial", err), nil
	case tolerate:
		return true, fmt.Sprintf("namespace policy %s=%s: new log lines that each appear once at start-up fail no trial whose other tests pass", hardening.AnnotationLogNovelty, v), nil
	}
	return false, "", nil
}

// Once is the one-shot mode: it hardens the workload's current template
// whatever its annotations say and returns the result and its annotations.
// With write it also writes them and the Events, as the daemon does.
func (h *Handler) Once(ctx context.Context, ref results.Ref, write bool) (pipeline.Result, map[string]string, error) {
	if !hardening.KnownKind(ref.Kind) {
		return pipeline.Result{}, nil, fmt.Errorf("%w: kind %q", results.ErrUnknownKind, ref.Kind)
	}
	wl, err := results.Current(ctx, h.cs, ref, "", "")
	if err != nil {
		return pipeline.Result{}, nil, err
	}
	_, nr, err := h.harden(ctx, ref.Namespace, []results.Workload{wl}, write)
	if len(nr) == 0 {
		return pipeline.Result{}, nil, err
	}
	return nr[0].Result, nr[0].Annotations, err
}

// OnceNamespace is the one-shot mode for a whole namespace: it hardens the
// current template of every workload that does not opt out, together,
// whatever their annotations say.
func (h *Handler) OnceNamespace(ctx context.Context, ns string, write bool) ([]WorkloadResult, error) {
	all, err := results.List(ctx, h.cs, ns)
	if err != nil {
		return nil, err
	}
	var wls []results.Workload
	for _, wl := range all {
		if !hardening.WorkloadOptedOut(wl.Annotations) {
			wls = append(wls, wl)
		}
	}
	if len(wls) == 0 {
		return nil, fmt.Errorf("namespace %s has no workload to harden", ns)
	}
	_, out, err := h.harden(ctx, ns, wls, write)
	return out, err
}

// WorkloadResult is one workload's result of a run and its annotations.
type WorkloadResult struct {
	Ref         results.Ref
	Result      pipeline.Result
	Annotations map[string]string
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

// harden runs the workloads of namespace ns together and, with write,
// writes each one's result and Events. It returns each workload's outcome
// and its result (those that went away before the run are left out).
func (h *Handler) harden(ctx context.Context, ns string, wls []results.Workload, write bool) (map[results.Ref]Disposition, []WorkloadResult, error) {
	log := logr.FromContextOrDiscard(ctx)
	outs := map[results.Ref]Disposition{}
	ev := func(wl results.Workload, typ, reason, msg string) {
		if !write {
			return
		}
		if err := h.writer.Event(ctx, wl.Ref, wl.UID, typ, reason, msg); err != nil {
			log.Error(err, "event", "reason", reason, "workload", wl.String())
		}
	}
	var run []results.Workload
	for _, wl := range wls {
		if write {
			err := h.writer.SetStatus(ctx, wl.Ref, wl.UID, wl.Hash, hardening.StatusRunning)
			switch {
			case errors.Is(err, results.ErrGone):
				outs[wl.Ref] = DispositionGone
				continue
			case errors.Is(err, results.ErrSuperseded):
				outs[wl.Ref] = DispositionSuperseded
				continue
			case err != nil:
				h.resetPending(ctx, run)
				outs[wl.Ref] = DispositionRetry
				return outs, nil, err
			}
		}
		run = append(run, wl)
	}
	if len(run) == 0 {
		return outs, nil, nil
	}
	deps, err := Dependencies(ctx, h.cs, ns, run)
	var declared map[pipeline.Ref][]pipeline.MetricsEndpoint
	if err == nil {
		declared, err = h.declaredMetrics(ctx, ns, run)
	}
	var tolerate bool
	var policy string
	if err == nil {
		tolerate, policy, err = h.logNovelty(ctx, ns)
	}
	if err != nil {
		if write { // only then were they marked Running
			h.resetPending(ctx, run)
		}
		return retryAll(outs, run), nil, err
	}
	byRef := map[pipeline.Ref]results.Workload{}
	pwls := make([]pipeline.Workload, len(run))
	for i, wl := range run {
		pr := pipeline.Ref{Kind: wl.Kind, Name: wl.Name}
		byRef[pr] = wl
		pwls[i] = pipeline.Workload{Ref: pr, Template: wl.Template, DependsOn: deps[pr], Metrics: declared[pr], TolerateStartupNovelty: tolerate}
		planned := hardening.PlannedChecks(wl.Template, hardening.Options{})
		msg := fmt.Sprintf("hardening pod template %s: %d checks planned (%s)", wl.Hash, len(planned), joinIDs(planned))
		if len(run) > 1 {
			msg += fmt.Sprintf(", together with %d other workloads of the namespace", len(run)-1)
		}
		if policy != "" {
			msg += "; " + policy
		}
		ev(wl, corev1.EventTypeNormal, results.ReasonStarted, msg)
	}
	obs := observerFunc(func(ctx context.Context, r pipeline.TrialResult) {
		if r.Verdict.Pass {
			return
		}
		cr := pipeline.CheckResultOf(r)
		ev(byRef[r.Workload], corev1.EventTypeWarning, results.ReasonTrialFail, fmt.Sprintf("trial %s failed: %s; evidence: %s", r.Trial.Name, cr.Reason, compactJSON(cr.Evidence)))
	})
	runCtx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	if h.watchEvery > 0 {
		go h.watch(runCtx, stop, run)
	}
	nr, err := h.runner.RunNamespace(runCtx, ns, pwls, obs)
	if err != nil {
		return h.runFailed(ctx, run, write, outs, err)
	}
	var out []WorkloadResult
	for _, res := range nr.Workloads {
		wl := byRef[res.Workload]
		ann, err := results.Annotations(res, wl.Hash, h.now())
		if err != nil {
			outs[wl.Ref] = DispositionRetry
			return outs, out, err
		}
		out = append(out, WorkloadResult{Ref: wl.Ref, Result: res, Annotations: ann})
		o := DispositionVerified
		if res.Outcome != pipeline.OutcomeVerified {
			o = DispositionFailed
		}
		if !write {
			outs[wl.Ref] = o
			continue
		}
		status, err := h.writer.WriteResult(ctx, wl.Ref, wl.UID, wl.Hash, ann)
		switch {
		case errors.Is(err, results.ErrGone):
			o = DispositionGone
		case err != nil:
			outs[wl.Ref] = DispositionRetry
			return outs, out, err
		case status == hardening.StatusSuperseded:
			ev(wl, corev1.EventTypeNormal, results.ReasonSuperseded, fmt.Sprintf("pod template %s changed while it was hardened; result discarded", wl.Hash))
			o = DispositionSuperseded
		case o == DispositionVerified:
			msg := fmt.Sprintf("recommendation verified (PodSecurity %s, %s)", res.Level, res.Reason)
			// Before the recommendation: the message is cut at 1 KiB.
			if why := joinNonEmpty("; ", res.KeptForLogs(), res.ToleratedLogs()); why != "" {
				msg += "; " + why + "; recommendation"
			}
			msg += ": " + ann[hardening.AnnotationRecommendation]
			if res.NamespaceVerifiedBy != "" {
				msg += "; verified together with the namespace's other recommendations in " + res.NamespaceVerifiedBy
			}
			ev(wl, corev1.EventTypeNormal, results.ReasonVerified, msg)
		default:
			ev(wl, corev1.EventTypeWarning, results.ReasonFailed, res.Reason)
		}
		outs[wl.Ref] = o
	}
	return outs, out, nil
}

// declaredMetrics finds the metrics endpoints declared for the run's
// long-running workloads outside their pod templates (none without a
// MetricsDiscovery; app metrics do not apply to batch workloads).
func (h *Handler) declaredMetrics(ctx context.Context, ns string, run []results.Workload) (map[pipeline.Ref][]pipeline.MetricsEndpoint, error) {
	if h.metrics == nil {
		return nil, nil
	}
	tmpls := map[pipeline.Ref]*corev1.PodTemplateSpec{}
	for _, wl := range run {
		if !hardening.IsBatch(wl.Kind) {
			tmpls[pipeline.Ref{Kind: wl.Kind, Name: wl.Name}] = wl.Template
		}
	}
	if len(tmpls) == 0 {
		return nil, nil
	}
	eps, err := h.metrics.Endpoints(ctx, ns, tmpls)
	if err != nil {
		return nil, fmt.Errorf("metrics endpoints declared by monitors: %w", err)
	}
	return eps, nil
}

func joinNonEmpty(sep string, parts ...string) string {
	return strings.Join(slices.DeleteFunc(parts, func(p string) bool { return p == "" }), sep)
}

func retryAll(outs map[results.Ref]Disposition, run []results.Workload) map[results.Ref]Disposition {
	for _, wl := range run {
		outs[wl.Ref] = DispositionRetry
	}
	return outs
}

// resetPending puts the status of workloads marked Running back to Pending.
func (h *Handler) resetPending(ctx context.Context, run []results.Workload) {
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	for _, wl := range run {
		if err := h.writer.SetStatus(wctx, wl.Ref, wl.UID, wl.Hash, hardening.StatusPending); err != nil &&
			!errors.Is(err, results.ErrGone) && !errors.Is(err, results.ErrSuperseded) {
			logr.FromContextOrDiscard(ctx).Error(err, "reset status to Pending", "workload", wl.String())
		}
	}
}

// runFailed ends a run whose pipeline returned err. Each workload deleted
// or changed meanwhile ends gone or superseded (acknowledged); for the
// others the failure is transient and their status goes back to Pending.
func (h *Handler) runFailed(ctx context.Context, run []results.Workload, write bool, outs map[results.Ref]Disposition, err error) (map[results.Ref]Disposition, []WorkloadResult, error) {
	log := logr.FromContextOrDiscard(ctx)
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	var pending []results.Workload
	for _, wl := range run {
		_, cause := results.Current(wctx, h.cs, wl.Ref, wl.UID, wl.Hash)
		switch {
		case errors.Is(cause, results.ErrGone):
			log.Info("workload gone during the run; nothing written", "workload", wl.String(), "err", err.Error())
			outs[wl.Ref] = DispositionGone
		case errors.Is(cause, results.ErrSuperseded):
			log.Info("pod template changed during the run", "workload", wl.String(), "err", err.Error())
			outs[wl.Ref] = DispositionSuperseded
			if write {
				// Superseded when the template is still another one; should
				// it be the job's again, the job is only pending once more.
				p := map[string]string{hardening.AnnotationStatus: string(hardening.StatusPending), hardening.AnnotationTemplateHash: wl.Hash}
				if _, werr := h.writer.WriteResult(wctx, wl.Ref, wl.UID, wl.Hash, p); werr != nil && !errors.Is(werr, results.ErrGone) {
					log.Error(werr, "mark superseded")
				}
			}
		default:
			outs[wl.Ref] = DispositionRetry
			pending = append(pending, wl)
		}
	}
	if write {
		// Interrupted (shutdown) or failed: the jobs go back to the queue.
		h.resetPending(ctx, pending)
	}
	if len(pending) == 0 {
		return outs, nil, nil
	}
	return outs, nil, fmt.Errorf("pipeline: %w", err)
}

// watch re-reads the run's workloads every watchEvery and cancels the run
// once every one of them was deleted, re-created or changed.
func (h *Handler) watch(ctx context.Context, stop context.CancelCauseFunc, run []results.Workload) {
	t := time.NewTicker(h.watchEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		var last error
		live := false
		for _, wl := range run {
			_, err := results.Current(ctx, h.cs, wl.Ref, wl.UID, wl.Hash)
			if errors.Is(err, results.ErrGone) || errors.Is(err, results.ErrSuperseded) {
				last = err
				continue
			}
			live = true
			break
		}
		if !live && last != nil {
			stop(last)
			return
		}
	}
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
