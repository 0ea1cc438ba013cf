package worker

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/cinch-dev/cinch/internal/jobs"
	"github.com/cinch-dev/cinch/internal/results"
	"github.com/cinch-dev/cinch/pkg/hardening"
)

// Publisher publishes a job; *jobs.JetStreamPublisher is one.
type Publisher interface {
	Publish(ctx context.Context, j jobs.Job) (jobs.Ack, error)
}

var _ Publisher = (*jobs.JetStreamPublisher)(nil)

// Resyncer enqueues every opted-in workload whose annotations do not hold a
// final result for its current pod template, and keeps the coverage
// metrics. Jobs carry jobs.MsgID, so a job already in the queue (admission
// raced us, or a previous pass) is not stored twice.
type Resyncer struct {
	cs       kubernetes.Interface
	pub      Publisher
	writer   *results.Writer
	interval time.Duration
	metrics  *Metrics
	now      func() time.Time
	selector string

	// workloadMetrics turns the per-workload gauges on; mu guards series,
	// the workloads that have them (deleted when a pass no longer sees them).
	workloadMetrics bool
	mu              sync.Mutex
	series          map[results.Ref]bool
}

// ResyncOption configures a Resyncer.
type ResyncOption func(*Resyncer)

// WithNamespaceSelector limits the passes to the opted-in namespaces that
// also match sel (a label selector; "" = all): a worker group, or a test,
// sharing a cluster resyncs only its own namespaces.
func WithNamespaceSelector(sel string) ResyncOption {
	return func(r *Resyncer) {
		if sel != "" {
			r.selector = hardening.OptInSelector + "," + sel
		}
	}
}

// WithWorkloadMetrics turns the per-workload gauges (cinch_workload_hardened,
// cinch_workload_missing_checks: one series per opted-in workload each) on or
// off; they are on by default. Off, no such series is ever set.
func WithWorkloadMetrics(on bool) ResyncOption {
	return func(r *Resyncer) { r.workloadMetrics = on }
}

// NewResyncer returns a resyncer running a pass every interval. pub may be
// nil (coverage metrics only); writer sets Pending on enqueued workloads.
func NewResyncer(cs kubernetes.Interface, pub Publisher, writer *results.Writer, interval time.Duration, m *Metrics, opts ...ResyncOption) *Resyncer {
	r := &Resyncer{
		cs: cs, pub: pub, writer: writer, interval: interval, metrics: m, now: time.Now, selector: hardening.OptInSelector,
		workloadMetrics: true, series: map[results.Ref]bool{},
	}
	for _, o := range opts {
		o(r)
	}
	return r
}

// Start runs a pass at once and then every interval until ctx ends.
func (r *Resyncer) Start(ctx context.Context) error {
	log := logr.FromContextOrDiscard(ctx).WithName("resync")
	t := time.NewTicker(r.interval)
	defer t.Stop()
	for {
		if n, err := r.Pass(ctx); err != nil {
			log.Error(err, "resync pass")
		} else {
			log.V(1).Info("resync pass", "published", n)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Coverage counts one namespace's workloads.
type Coverage struct {
	OptedIn  int
	Verified int
	Hardened int
}

// Pass enqueues what needs work and returns how many jobs were stored.
func (r *Resyncer) Pass(ctx context.Context) (int, error) {
	nss, err := r.cs.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: r.selector})
	if err != nil {
		return 0, fmt.Errorf("list opted-in namespaces: %w", err)
	}
	var errs []error
	published := 0
	cov := map[string]Coverage{}
	gaps := map[results.Ref]Gap{}
	unlisted := map[string]bool{} // namespaces whose workloads are unknown this pass
	for _, ns := range nss.Items {
		if !hardening.NamespaceOptedIn(ns.Labels) {
			continue // a clone
		}
		wls, err := results.List(ctx, r.cs, ns.Name)
		if err != nil {
			errs = append(errs, err)
			unlisted[ns.Name] = true
			continue
		}
		c := Coverage{}
		for _, wl := range wls {
			if hardening.WorkloadOptedOut(wl.Annotations) {
				continue
			}
			c.OptedIn++
			g := GapOf(wl)
			gaps[wl.Ref] = g
			if g.Verified {
				c.Verified++
				if g.Hardened {
					c.Hardened++
				}
			}
			if wl.Done() || r.pub == nil {
				continue
			}
			stored, err := r.enqueue(ctx, wl)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if stored {
				published++
			}
		}
		cov[ns.Name] = c
	}
	r.setCoverage(cov)
	r.setWorkloadGaps(gaps, unlisted)
	return published, errors.Join(errs...)
}

// Gap is how far one opted-in workload is from its verified recommendation.
type Gap struct {
	// Verified: the annotations hold a verified recommendation for the
	// current pod template (or its enforced form).
	Verified bool
	// Hardened: verified, and the template has no setting weaker than the
	// recommendation. That includes the enforced form of the verified
	// template (results.Workload.Done accepts it, see hardening.Describes).
	Hardened bool
	// Missing lists the checks the template lacks although the recommendation
	// has them (the checks planned for the template but no longer for the
	// template with the recommendation applied), in catalogue order; nil when
	// not verified or the recommendation is unreadable (MissingKnown false).
	Missing      []hardening.CheckID
	MissingKnown bool
}

// GapOf computes the gap of wl from its annotations and current template.
func GapOf(wl results.Workload) Gap {
	if !wl.Done() || wl.Status() != hardening.StatusVerified {
		return Gap{}
	}
	g := Gap{Verified: true}
	rec, ok := recommendation(wl)
	if !ok {
		return g
	}
	g.Hardened = len(hardening.Weaker(rec, wl.Template)) == 0
	g.Missing, g.MissingKnown = missingChecks(rec, wl.Template), true
	return g
}

// missingChecks returns the checks t lacks that rec has: planned for t (all
// checks enabled) but not for t with rec applied.
func missingChecks(rec hardening.Recommendation, t *corev1.PodTemplateSpec) []hardening.CheckID {
	var opts hardening.Options // every check of the catalogue
	with := hardening.PlannedChecks(rec.Apply(t), opts)
	var out []hardening.CheckID
	for _, c := range hardening.PlannedChecks(t, opts) {
		if !slices.Contains(with, c) {
			out = append(out, c)
		}
	}
	return out
}

func (r *Resyncer) enqueue(ctx context.Context, wl results.Workload) (bool, error) {
	ack, err := r.pub.Publish(ctx, jobs.Job{
		Namespace: wl.Namespace, Kind: wl.Kind, Name: wl.Name, UID: string(wl.UID),
		TemplateHash: wl.Hash, Reason: jobs.ReasonResync, EnqueuedAt: r.now().UTC(),
	})
	if err != nil {
		r.countResync("error")
		return false, fmt.Errorf("publish resync job for %s: %w", wl.Ref, err)
	}
	if ack.Duplicate {
		r.countResync("duplicate")
		return false, nil
	}
	r.countResync("published")
	running := wl.Status() == hardening.StatusRunning && wl.Annotations[hardening.AnnotationTemplateHash] == wl.Hash
	if r.writer != nil && !running {
		if err := r.writer.SetStatus(ctx, wl.Ref, types.UID(wl.UID), wl.Hash, hardening.StatusPending); err != nil {
			logr.FromContextOrDiscard(ctx).V(1).Info("set Pending", "workload", wl.String(), "err", err.Error())
		}
	}
	return true, nil
}

// recommendation decodes the workload's cinch.dev/recommendation annotation.
func recommendation(wl results.Workload) (hardening.Recommendation, bool) {
	s, ok := wl.Annotations[hardening.AnnotationRecommendation]
	if !ok {
		return hardening.Recommendation{}, false
	}
	rec, err := hardening.DecodeRecommendation(s)
	if err != nil {
		return hardening.Recommendation{}, false
	}
	return rec, true
}

func (r *Resyncer) setCoverage(cov map[string]Coverage) {
	if r.metrics == nil {
		return
	}
	r.metrics.optedIn.Reset()
	r.metrics.verified.Reset()
	r.metrics.hardened.Reset()
	for ns, c := range cov {
		r.metrics.optedIn.WithLabelValues(ns).Set(float64(c.OptedIn))
		r.metrics.verified.WithLabelValues(ns).Set(float64(c.Verified))
		r.metrics.hardened.WithLabelValues(ns).Set(float64(c.Hardened))
	}
}

// setWorkloadGaps sets the per-workload gauges of this pass and deletes the
// series of the workloads it did not see (deleted, opted out, namespace no
// longer opted in or selected), except in namespaces it could not list: their
// series keep their last values until a pass lists them again.
func (r *Resyncer) setWorkloadGaps(gaps map[results.Ref]Gap, unlisted map[string]bool) {
	if r.metrics == nil || !r.workloadMetrics {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for ref := range r.series {
		if _, ok := gaps[ref]; ok || unlisted[ref.Namespace] {
			continue
		}
		r.metrics.wlHardened.DeleteLabelValues(ref.Namespace, ref.Kind, ref.Name)
		r.metrics.wlMissing.DeleteLabelValues(ref.Namespace, ref.Kind, ref.Name)
		delete(r.series, ref)
	}
	for ref, g := range gaps {
		hardened := 0.0
		if g.Hardened {
			hardened = 1
		}
		r.metrics.wlHardened.WithLabelValues(ref.Namespace, ref.Kind, ref.Name).Set(hardened)
		if g.MissingKnown {
			r.metrics.wlMissing.WithLabelValues(ref.Namespace, ref.Kind, ref.Name).Set(float64(len(g.Missing)))
		} else {
			r.metrics.wlMissing.DeleteLabelValues(ref.Namespace, ref.Kind, ref.Name)
		}
		r.series[ref] = true
	}
}

func (r *Resyncer) countResync(result string) {
	if r.metrics != nil {
		r.metrics.resync.WithLabelValues(result).Inc()
	}
}
