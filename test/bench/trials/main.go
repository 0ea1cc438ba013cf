// Command trials measures what the trial strategies cost on the local
// cluster: for each scenario workload (test/workloads/manifests) and each
// strategy it runs the whole pipeline (real containers, real recordings,
// the real oracle) and prints the wall time in units of R and the
// pod-seconds spent in clones.
//
//	go run ./test/bench/trials -r 20s -workloads scenario-fine,scenario-need-root -strategies frugal,parallel
//
// The clones are minimal (a namespace holding the Deployment with the
// trial's template): the benchmark measures scheduling, not cloning.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/client-go/kubernetes"

	"github.com/cinch-dev/cinch/internal/pipeline"
	"github.com/cinch-dev/cinch/internal/pipeline/kube"
	"github.com/cinch-dev/cinch/internal/results"
	"github.com/cinch-dev/cinch/internal/worker"
	"github.com/cinch-dev/cinch/pkg/hardening"
	"github.com/cinch-dev/cinch/pkg/signals"
	"github.com/cinch-dev/cinch/test/bench/internal/benchkit"
)

// Config is the benchmark's configuration.
type Config struct {
	Kubeconfig string
	R          time.Duration
	Manifests  string
	Workloads  []string
	Strategies []pipeline.Strategy
	Verbose    bool
}

// Validate checks the configuration.
func (c Config) Validate() error {
	if c.R < 5*time.Second {
		return fmt.Errorf("-r %s: at least 5s", c.R)
	}
	if len(c.Workloads) == 0 || len(c.Strategies) == 0 {
		return errors.New("no workloads or strategies")
	}
	return nil
}

func main() { benchkit.Main(parse, run) }

func parse(args []string) (Config, error) {
	var c Config
	var wls, sts string
	fs := flag.NewFlagSet("trials", flag.ContinueOnError)
	fs.StringVar(&c.Kubeconfig, "kubeconfig", os.Getenv("KUBECONFIG"), "kubeconfig of the local cluster")
	fs.DurationVar(&c.R, "r", 20*time.Second, "recording duration R")
	fs.StringVar(&c.Manifests, "manifests", "test/workloads/manifests", "directory of the workload manifests")
	fs.StringVar(&wls, "workloads", "scenario-fine,scenario-need-root,scenario-write-root,scenario-bind-80,scenario-fragile", "manifest names")
	fs.BoolVar(&c.Verbose, "v", false, "print every trial to stderr")
	fs.StringVar(&sts, "strategies", "frugal,parallel,sequential", "strategies")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	c.Workloads = strings.Split(wls, ",")
	for _, s := range strings.Split(sts, ",") {
		st, err := pipeline.ParseStrategy(s)
		if err != nil {
			return c, err
		}
		c.Strategies = append(c.Strategies, st)
	}
	return c, c.Validate()
}

func run(ctx context.Context, cfg Config) error {
	cs, err := benchkit.Client(cfg.Kubeconfig, 50)
	if err != nil {
		return err
	}
	// Fixed columns, not a tabwriter: each row is printed as soon as it is
	// measured.
	const row = "%-24s %-10s %-9s %6s %6s %7s %6s %4s  %s\n"
	fmt.Printf(row, "WORKLOAD", "STRATEGY", "OUTCOME", "WALL/R", "POD-S", "POD-S/R", "TRIALS", "PEAK", "PASSED")
	for _, name := range cfg.Workloads {
		tmpl, err := benchkit.LoadTemplate(filepath.Join(cfg.Manifests, name+".yaml"))
		if err != nil {
			return err
		}
		for _, st := range cfg.Strategies {
			pcfg := pipeline.DefaultConfig()
			pcfg.Duration, pcfg.Strategy, pcfg.MaxClones = cfg.R, st, 0
			p, err := pipeline.New(pcfg, &miniCloner{cs: cs}, kube.Recorder{CS: cs, R: signals.NewRecorder(cs, signals.Options{})}, nil)
			if err != nil {
				return err
			}
			src := pipeline.Source{Namespace: "bench", Kind: "Deployment", Name: name}
			res, err := p.Run(ctx, src, tmpl, nil)
			if err != nil {
				return fmt.Errorf("%s %s: %w", name, st, err)
			}
			wall := res.Ended.Sub(res.Started)
			var passed []string
			for _, id := range res.Passed {
				info, _ := id.Info()
				passed = append(passed, info.Short)
			}
			fmt.Printf(row, name, st, res.Outcome, fmt.Sprintf("%.2f", wall.Seconds()/cfg.R.Seconds()), fmt.Sprintf("%.0f", res.PodSeconds),
				fmt.Sprintf("%.2f", res.PodSeconds/cfg.R.Seconds()), strconv.Itoa(len(res.Trials)), strconv.Itoa(res.PeakClones), strings.Join(passed, ","))
			if cfg.Verbose {
				_ = worker.Print(os.Stderr, "table", results.Ref{Namespace: src.Namespace, Kind: src.Kind, Name: name}, res, nil)
			}
		}
	}
	return nil
}

// miniCloner runs a trial as a Deployment in a fresh namespace.
type miniCloner struct{ cs kubernetes.Interface }

var _ pipeline.Cloner = (*miniCloner)(nil)

func (m *miniCloner) Create(ctx context.Context, ns, trial string, spec pipeline.CloneSpec) (pipeline.Clone, error) {
	name := fmt.Sprintf("bench-%s-%s", trial, rand.String(5))
	cl := pipeline.Clone{Namespace: name, CreatedAt: time.Now(), Selectors: map[pipeline.Ref]labels.Selector{}}
	_, err := m.cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
		Name: name, Labels: map[string]string{hardening.LabelCloneOf: ns},
	}}, metav1.CreateOptions{})
	if err != nil {
		return pipeline.Clone{}, err
	}
	one := int32(1)
	for ref, tmpl := range spec.Templates {
		d := &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Name: ref.Name},
			Spec: appsv1.DeploymentSpec{
				Replicas: &one,
				Selector: &metav1.LabelSelector{MatchLabels: tmpl.Labels},
				Template: *tmpl.DeepCopy(),
			},
		}
		cl.Selectors[ref] = labels.SelectorFromSet(tmpl.Labels)
		cl.Pods++
		if _, err = m.cs.AppsV1().Deployments(name).Create(ctx, d, metav1.CreateOptions{}); err != nil {
			return cl, err
		}
	}
	cl.CreatedAt = time.Now()
	return cl, nil
}

// Release deletes workload w's Deployment; its pods go with it.
func (m *miniCloner) Release(ctx context.Context, c pipeline.Clone, w pipeline.Ref) (int, error) {
	policy := metav1.DeletePropagationBackground
	err := m.cs.AppsV1().Deployments(c.Namespace).Delete(ctx, w.Name, metav1.DeleteOptions{PropagationPolicy: &policy})
	if apierrors.IsNotFound(err) {
		return 0, nil
	}
	return 1, err
}

func (m *miniCloner) Delete(ctx context.Context, c pipeline.Clone) error {
	if c.Namespace == "" {
		return nil
	}
	return m.cs.CoreV1().Namespaces().Delete(ctx, c.Namespace, metav1.DeleteOptions{})
}
