// Command namespace measures what hardening a whole namespace costs on the
// local cluster, with the real cloner (every clone copies the namespace),
// recorder and oracle: for namespaces of N = 1, 3, 6, 12 scenario
// workloads (a mix of tolerant, failing and capability-searching ones) it
// prints the wall time in units of R, the clone pod-seconds per workload
// in units of R, the peak pods, the clones and the CPU-seconds the machine
// spent during the run, with the least wall time (in R) that CPU allows on
// its cores. At the end it prints the targets for the largest N.
//
//	go run ./test/bench/namespace -r 15s -sizes 1,3,6,12
//
// -alone also hardens each workload type of the mix alone (the reference
// the targets compare with); -before N hardens a namespace of N workloads
// one workload at a time, two at once, as Cinch did before namespace runs
// (every trial clone still copies the whole namespace).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/client-go/kubernetes"

	"github.com/cinch-dev/cinch/internal/clone"
	"github.com/cinch-dev/cinch/internal/pipeline"
	"github.com/cinch-dev/cinch/internal/pipeline/kube"
	"github.com/cinch-dev/cinch/pkg/hardening"
	"github.com/cinch-dev/cinch/pkg/signals"
	"github.com/cinch-dev/cinch/test/bench/internal/benchkit"
)

// Config is the benchmark's configuration.
type Config struct {
	Kubeconfig string
	R          time.Duration
	Manifests  string
	Mix        []string
	Sizes      []int
	Alone      bool
	Before     int
	MaxPods    int
	Trace      bool
}

func main() { benchkit.Main(parse, run) }

func parse(args []string) (Config, error) {
	var c Config
	var mix, sizes string
	fs := flag.NewFlagSet("namespace", flag.ContinueOnError)
	fs.StringVar(&c.Kubeconfig, "kubeconfig", os.Getenv("KUBECONFIG"), "kubeconfig of the local cluster")
	fs.DurationVar(&c.R, "r", 15*time.Second, "recording duration R")
	fs.StringVar(&c.Manifests, "manifests", "test/workloads/manifests", "directory of the workload manifests")
	fs.StringVar(&mix, "mix", "scenario-fine,scenario-write-root,scenario-bind-80,scenario-need-root,scenario-tmp-writer,scenario-chown", "workload types, cycled to fill a namespace")
	fs.StringVar(&sizes, "sizes", "1,3,6,12", "namespace sizes")
	fs.BoolVar(&c.Alone, "alone", false, "also harden each workload type alone")
	fs.IntVar(&c.Before, "before", 0, "also harden a namespace of this size one workload at a time (0: no)")
	fs.BoolVar(&c.Trace, "trace", false, "print every finished trial (to stderr)")
	fs.IntVar(&c.MaxPods, "max-pods", pipeline.DefaultConfig().MaxPods, "pods of the clones alive at once")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	c.Mix = strings.Split(mix, ",")
	for _, s := range strings.Split(sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			return c, fmt.Errorf("-sizes: %q is not a positive number", s)
		}
		c.Sizes = append(c.Sizes, n)
	}
	if c.R < 5*time.Second {
		return c, fmt.Errorf("-r %s: at least 5s", c.R)
	}
	return c, nil
}

type bench struct {
	cfg   Config
	cs    kubernetes.Interface
	tmpls map[string]*corev1.PodTemplateSpec
	// alone and sized hold the measured runs: by workload type, by N.
	alone map[string]measured
	sized map[int]measured
}

// measured is one run's cost.
type measured struct {
	wall   time.Duration
	podSec float64
	peak   int
	clones int
	cpuSec float64
}

const row = "%-28s %3s %9s %7s %8s %6s %6s %7s %9s  %s\n"

func run(ctx context.Context, cfg Config) error {
	cs, err := benchkit.Client(cfg.Kubeconfig, 100)
	if err != nil {
		return err
	}
	b := &bench{cfg: cfg, cs: cs, tmpls: map[string]*corev1.PodTemplateSpec{}, alone: map[string]measured{}, sized: map[int]measured{}}
	for _, m := range cfg.Mix {
		if b.tmpls[m], err = benchkit.LoadTemplate(filepath.Join(cfg.Manifests, m+".yaml")); err != nil {
			return err
		}
	}
	fmt.Printf(row, "RUN", "N", "OUTCOMES", "WALL/R", "PODS/W/R", "PEAK", "CLONES", "CPU-S", "CPU-MIN/R", "PER WORKLOAD")
	if cfg.Alone {
		for _, m := range cfg.Mix {
			if b.alone[m], err = b.namespace(ctx, "alone "+m, []string{m}); err != nil {
				return err
			}
		}
	}
	for _, n := range cfg.Sizes {
		if b.sized[n], err = b.namespace(ctx, "namespace", b.fill(n)); err != nil {
			return err
		}
	}
	if cfg.Before > 0 {
		if err := b.oneAtATime(ctx, b.fill(cfg.Before)); err != nil {
			return err
		}
	}
	b.targets()
	return nil
}

// targets prints, for the largest N measured, the targets: clone
// pod-seconds per workload against N = 1 and against the same workloads
// hardened alone, wall time against the slowest workload alone, and the
// CPU the namespace took against the same workloads alone, with the least
// wall time that CPU of the workloads alone allows on this machine's cores.
func (b *bench) targets() {
	n := slices.Max(b.cfg.Sizes)
	big, ok := b.sized[n]
	if !ok {
		return
	}
	r := b.cfg.R.Seconds()
	fmt.Printf("\ntargets at N=%d (R=%s, %d cores):\n", n, b.cfg.R, runtime.NumCPU())
	if one, ok := b.sized[1]; ok && n > 1 {
		fmt.Printf("  pod-seconds per workload: %.2f× N=1 (target ≤ 1.5×)\n", big.podSec/float64(n)/one.podSec)
	}
	if len(b.alone) < len(b.cfg.Mix) {
		fmt.Printf("  (-alone for the comparisons with each workload hardened alone)\n")
		return
	}
	var podSec, cpuSec float64
	var slowest time.Duration
	for _, m := range b.fill(n) {
		a := b.alone[m]
		podSec += a.podSec
		cpuSec += a.cpuSec
		slowest = max(slowest, a.wall)
	}
	fmt.Printf("  pod-seconds per workload: %.2f× the same %d workloads hardened alone (%.2f R)\n",
		big.podSec/podSec, n, podSec/float64(n)/r)
	fmt.Printf("  wall: %.2f× the slowest workload alone (%.2f R; target ≤ 1.5×)\n", big.wall.Seconds()/slowest.Seconds(), slowest.Seconds()/r)
	floor := cpuSec / float64(runtime.NumCPU())
	fmt.Printf("  CPU: %.0f s, %.2f× the same workloads alone (%.0f s); their CPU alone needs at least %.2f R on %d cores = %.2f× the slowest alone\n",
		big.cpuSec, big.cpuSec/cpuSec, cpuSec, floor/r, runtime.NumCPU(), floor/slowest.Seconds())
}

// fill cycles the mix into n workload types.
func (b *bench) fill(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = b.cfg.Mix[i%len(b.cfg.Mix)]
	}
	return out
}

// prepare sets up the namespace and the pipeline that hardens it.
func (b *bench) prepare(ctx context.Context, types []string) (string, []pipeline.Workload, *pipeline.Pipeline, func(), error) {
	pcfg := pipeline.DefaultConfig()
	pcfg.Duration, pcfg.MaxPods = b.cfg.R, b.cfg.MaxPods
	p, err := pipeline.New(pcfg, kube.Cloner{C: clone.New(b.cs, clone.DefaultOptions())},
		kube.Recorder{CS: b.cs, R: signals.NewRecorder(b.cs, signals.Options{})}, nil)
	if err != nil {
		return "", nil, nil, nil, err
	}
	ns, wls, cleanup, err := b.setup(ctx, types)
	return ns, wls, p, cleanup, err
}

// setup creates a namespace holding the given workload types as
// Deployments scaled to zero (their clones run one replica each).
func (b *bench) setup(ctx context.Context, types []string) (string, []pipeline.Workload, func(), error) {
	ns := "bench-ns-" + rand.String(5)
	if _, err := b.cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		return "", nil, nil, err
	}
	cleanup := func() {
		_ = b.cs.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{})
	}
	var wls []pipeline.Workload
	zero := int32(0)
	for i, t := range types {
		name := fmt.Sprintf("%s-%d", strings.TrimPrefix(t, "scenario-"), i)
		tmpl := b.tmpls[t].DeepCopy()
		tmpl.Labels = map[string]string{"app": name}
		d := &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec:       appsv1.DeploymentSpec{Replicas: &zero, Selector: &metav1.LabelSelector{MatchLabels: tmpl.Labels}, Template: *tmpl},
		}
		if _, err := b.cs.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
			cleanup()
			return "", nil, nil, err
		}
		wls = append(wls, pipeline.Workload{Ref: pipeline.Ref{Kind: hardening.KindDeployment, Name: name}, Template: tmpl, DependsOn: []pipeline.Ref{}})
	}
	return ns, wls, cleanup, nil
}

func (b *bench) namespace(ctx context.Context, label string, types []string) (measured, error) {
	ns, wls, p, cleanup, err := b.prepare(ctx, types)
	if err != nil {
		return measured{}, err
	}
	defer cleanup()
	var obs pipeline.Observer
	if b.cfg.Trace {
		obs = &tracer{r: b.cfg.R, start: time.Now()}
	}
	cpu0, err := machineCPU()
	if err != nil {
		return measured{}, err
	}
	nr, err := p.RunNamespace(ctx, ns, wls, obs)
	if err != nil {
		return measured{}, fmt.Errorf("%s N=%d: %w", label, len(wls), err)
	}
	cpu1, err := machineCPU()
	if err != nil {
		return measured{}, err
	}
	m := measured{wall: nr.Ended.Sub(nr.Started), podSec: nr.PodSeconds, peak: nr.PeakPods, clones: nr.Clones, cpuSec: cpu1 - cpu0}
	b.print(label, len(wls), m, nr.Workloads)
	return m, nil
}

// oneAtATime hardens the namespace's workloads in separate runs, two at
// once, as separate jobs did before namespace runs.
func (b *bench) oneAtATime(ctx context.Context, types []string) error {
	ns, wls, p, cleanup, err := b.prepare(ctx, types)
	if err != nil {
		return err
	}
	defer cleanup()
	start := time.Now()
	cpu0, err := machineCPU()
	if err != nil {
		return err
	}
	var (
		mu      sync.Mutex
		results []pipeline.Result
		podSec  float64
		peak    int
		clones  int
		errs    []error
		wg      sync.WaitGroup
		workers = make(chan struct{}, 2)
	)
	for _, w := range wls {
		wg.Go(func() {
			workers <- struct{}{}
			defer func() { <-workers }()
			nr, err := p.RunNamespace(ctx, ns, []pipeline.Workload{w}, nil)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			results = append(results, nr.Workloads...)
			podSec += nr.PodSeconds
			peak += nr.PeakPods // two runs at once: an upper bound
			clones += nr.Clones
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	cpu1, err := machineCPU()
	if err != nil {
		return err
	}
	b.print("before: one at a time", len(wls), measured{time.Since(start), podSec, peak, clones, cpu1 - cpu0}, results)
	return nil
}

func (b *bench) print(label string, n int, m measured, res []pipeline.Result) {
	verified := 0
	var per []string
	for _, r := range res {
		if r.Outcome == pipeline.OutcomeVerified {
			verified++
		}
		var passed []string
		for _, id := range r.Passed {
			info, _ := id.Info()
			passed = append(passed, info.Short)
		}
		for c, caps := range r.AddBack {
			for _, cp := range caps {
				passed = append(passed, c+"+"+string(cp))
			}
		}
		per = append(per, r.Workload.Name+"="+strings.Join(passed, ","))
	}
	r := b.cfg.R.Seconds()
	fmt.Printf(row, label, strconv.Itoa(n), fmt.Sprintf("%d/%d", verified, n), fmt.Sprintf("%.2f", m.wall.Seconds()/r),
		fmt.Sprintf("%.2f", m.podSec/float64(n)/r), strconv.Itoa(m.peak), strconv.Itoa(m.clones),
		fmt.Sprintf("%.0f", m.cpuSec), fmt.Sprintf("%.2f", m.cpuSec/float64(runtime.NumCPU())/r), strings.Join(per, " "))
}

// tracer prints every finished trial: when it started and how long it ran
// (in R, from the run's start), its clone and share of it, and its verdict.
type tracer struct {
	r     time.Duration
	start time.Time
}

func (t *tracer) TrialFinished(_ context.Context, r pipeline.TrialResult) {
	verdict := "pass"
	if !r.Verdict.Pass {
		verdict = "FAIL"
		if r.Early {
			verdict = "FAIL(early)"
		}
		for _, tr := range r.Verdict.Tests {
			if tr.Hard && !tr.Pass {
				verdict += " " + tr.ID + ":" + tr.Reason
			}
		}
	}
	in := func(d time.Duration) float64 { return d.Seconds() / t.r.Seconds() }
	fmt.Fprintf(os.Stderr, "trace %-22s %-34s at %5.2f ran %5.2f shared %2d pod-s %5.2f %s %s\n",
		r.Workload.Name, r.Trial.Name, in(r.Started.Sub(t.start)), in(r.Ended.Sub(r.Started)), r.Shared,
		r.PodSeconds/t.r.Seconds(), r.Clone, verdict)
}
