// Package kube binds the pipeline's small Cloner and Recorder interfaces to
// the Kubernetes-facing packages: internal/clone for throw-away namespaces
// and pkg/signals for recording a trial, including the TC-05 service prober
// and the TC-06 metrics scraper.
// The worker, the e2e tests and the trial benchmark share these bindings.
package kube

import (
	"context"
	"fmt"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"

	"github.com/cinch-dev/cinch/internal/clone"
	"github.com/cinch-dev/cinch/internal/pipeline"
	"github.com/cinch-dev/cinch/pkg/hardening"
	"github.com/cinch-dev/cinch/pkg/oracle"
	"github.com/cinch-dev/cinch/pkg/signals"
)

// Cloner runs every trial in a clone of the workload's namespace.
type Cloner struct{ C *clone.Cloner }

var _ pipeline.Cloner = Cloner{}

// Create clones namespace ns with the given pod templates.
func (a Cloner) Create(ctx context.Context, ns, trial string, spec pipeline.CloneSpec) (pipeline.Clone, error) {
	cs := clone.Spec{
		Templates:  make(map[clone.Ref]*corev1.PodTemplateSpec, len(spec.Templates)),
		StartAfter: make(map[clone.Ref][]clone.Ref, len(spec.StartAfter)),
	}
	for r, t := range spec.Templates {
		cs.Templates[clone.Ref(r)] = t
	}
	for r, deps := range spec.StartAfter {
		for _, d := range deps {
			cs.StartAfter[clone.Ref(r)] = append(cs.StartAfter[clone.Ref(r)], clone.Ref(d))
		}
	}
	if spec.Copies != nil {
		cs.Copies = make(map[clone.Ref]bool, len(spec.Copies))
		for r := range spec.Copies {
			cs.Copies[clone.Ref(r)] = true
		}
	}
	cl, err := a.C.CreateWith(ctx, ns, trial, cs)
	if cl == nil {
		return pipeline.Clone{}, err
	}
	sel := make(map[pipeline.Ref]labels.Selector, len(cl.Workloads))
	for r, s := range cl.Workloads {
		sel[pipeline.Ref{Kind: r.Kind, Name: r.Name}] = s
	}
	return pipeline.Clone{Namespace: cl.Namespace, Selectors: sel, Pods: cl.Pods, CreatedAt: cl.CreatedAt, Ref: cl}, err
}

// Delete deletes the clone; a clone that was never created is no error.
func (a Cloner) Delete(ctx context.Context, c pipeline.Clone) error {
	cl := handle(c)
	if cl == nil {
		return nil
	}
	return a.C.Delete(ctx, cl)
}

// Release stops workload w of the clone (clone.Cloner.Release).
func (a Cloner) Release(ctx context.Context, c pipeline.Clone, w pipeline.Ref) (int, error) {
	cl := handle(c)
	if cl == nil {
		return 0, nil
	}
	return a.C.Release(ctx, cl, clone.Ref(w))
}

// handle is the clone a Create returned; nil for one never created.
func handle(c pipeline.Clone) *clone.Clone {
	cl, _ := c.Ref.(*clone.Clone)
	return cl
}

// DefaultReadyTimeout bounds the wait for a trial's first Ready pod.
const DefaultReadyTimeout = 90 * time.Second

// Recorder records a trial with pkg/signals and acts as a minimal client of
// the trial's own pods (TC-05) through a ServiceProber per recording, and
// scrapes their declared Prometheus endpoints (TC-06) through a
// MetricsScraper per recording. Every
// run is recorded for its duration from its first Ready pod, so a slowly
// starting clone (a busy node) is judged on the same Ready time as the
// baselines; a run with no Ready pod ends after ReadyTimeout.
type Recorder struct {
	CS kubernetes.Interface
	R  *signals.Recorder
	// Probe configures the service prober; the zero value takes its defaults.
	Probe signals.ProbeOptions
	// Metrics configures the metrics scraper; the zero value takes its
	// defaults.
	Metrics signals.MetricsOptions
	// ReadyTimeout bounds the wait for the first Ready pod (default
	// DefaultReadyTimeout).
	ReadyTimeout time.Duration
}

var _ pipeline.Recorder = Recorder{}

// Record records workload w's pods in the clone for d; the metrics
// scraper is told the endpoints declared for them outside their template
// (w.Metrics).
func (a Recorder) Record(ctx context.Context, c pipeline.Clone, w pipeline.Workload, d time.Duration, early func(oracle.Recording) bool) (oracle.Recording, error) {
	sel, ok := c.Selectors[w.Ref]
	if !ok {
		return oracle.Recording{}, fmt.Errorf("record: clone %s does not run %s", c.Namespace, w.Ref)
	}
	if hardening.IsBatch(w.Kind) {
		// Until the trial Job ends (at most d), from the clone's start;
		// readiness, service answers and app metrics do not apply.
		return a.R.Record(ctx, signals.Target{
			Namespace: c.Namespace, Selector: sel, Duration: d, Start: c.CreatedAt, Finished: a.jobState(c.Namespace, w.Name),
		}, early)
	}
	svcs, err := a.CS.CoreV1().Services(c.Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return oracle.Recording{}, fmt.Errorf("list services: %w", err)
	}
	p := signals.Probers{signals.NewServiceProber(a.Probe, d, svcs.Items), signals.NewMetricsScraper(a.Metrics, d, metricsEntries(w.Metrics))}
	rt := a.ReadyTimeout
	if rt <= 0 {
		rt = DefaultReadyTimeout
	}
	return a.R.Record(ctx, signals.Target{
		Namespace: c.Namespace, Selector: sel, Duration: d, ReadyTimeout: rt, Start: c.CreatedAt, Prober: p,
	}, early)
}

// metricsEntries are the scraper's terms for endpoints declared outside a
// pod template.
func metricsEntries(eps []pipeline.MetricsEndpoint) []signals.MetricsEntry {
	out := make([]signals.MetricsEntry, len(eps))
	for i, e := range eps {
		out[i] = signals.MetricsEntry(e)
	}
	return out
}

// jobState reads how the trial Job name in namespace ns stands.
func (a Recorder) jobState(ns, name string) func(context.Context) (oracle.BatchRun, bool, error) {
	return func(ctx context.Context) (oracle.BatchRun, bool, error) {
		j, err := a.CS.BatchV1().Jobs(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return oracle.BatchRun{}, false, fmt.Errorf("get job %s/%s: %w", ns, name, err)
		}
		run, over := JobRun(j, time.Now())
		return run, over, nil
	}
}

// JobRun is how Job j stands at now: Succeeded or Failed once the Job
// controller says so (its Complete or Failed condition), else Unfinished.
func JobRun(j *batchv1.Job, now time.Time) (oracle.BatchRun, bool) {
	run := oracle.BatchRun{Outcome: oracle.BatchUnfinished, Failed: j.Status.Failed}
	end := now
	for _, c := range j.Status.Conditions {
		if c.Status != corev1.ConditionTrue {
			continue
		}
		switch c.Type {
		case batchv1.JobComplete:
			run.Outcome, end = oracle.BatchSucceeded, c.LastTransitionTime.Time
		case batchv1.JobFailed:
			run.Outcome, run.Reason, end = oracle.BatchFailed, c.Reason, c.LastTransitionTime.Time
		}
	}
	if j.Status.CompletionTime != nil {
		end = j.Status.CompletionTime.Time
	}
	if j.Status.StartTime != nil && end.After(j.Status.StartTime.Time) {
		run.Duration = end.Sub(j.Status.StartTime.Time)
	}
	return run, run.Outcome != oracle.BatchUnfinished
}
