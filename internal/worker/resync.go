package worker

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/go-logr/logr"
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

// NewResyncer returns a resyncer running a pass every interval. pub may be
// nil (coverage metrics only); writer sets Pending on enqueued workloads.
func NewResyncer(cs kubernetes.Interface, pub Publisher, writer *results.Writer, interval time.Duration, m *Metrics, opts ...ResyncOption) *Resyncer {
	r := &Resyncer{cs: cs, pub: pub, writer: writer, interval: interval, metrics: m, now: time.Now, selector: hardening.OptInSelector}
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
	for _, ns := range nss.Items {
		if !hardening.NamespaceOptedIn(ns.Labels) {
			continue // a clone
		}
		wls, err := results.List(ctx, r.cs, ns.Name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		c := Coverage{}
		for _, wl := range wls {
			if hardening.WorkloadOptedOut(wl.Annotations) {
				continue
			}
			c.OptedIn++
			if wl.Done() && wl.Status() == hardening.StatusVerified {
				c.Verified++
				if runsWithRecommendation(wl) {
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
	return published, errors.Join(errs...)
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

// runsWithRecommendation reports whether the workload's template has no
// setting weaker than its recommendation. Callers check first that the
// recommendation is verified for the current template, which includes the
// enforced form of the verified one (results.Describes).
func runsWithRecommendation(wl results.Workload) bool {
	s, ok := wl.Annotations[hardening.AnnotationRecommendation]
	if !ok {
		return false
	}
	rec, err := hardening.DecodeRecommendation(s)
	if err != nil {
		return false
	}
	return len(hardening.Weaker(rec, wl.Template)) == 0
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

func (r *Resyncer) countResync(result string) {
	if r.metrics != nil {
		r.metrics.resync.WithLabelValues(result).Inc()
	}
}
