package app

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/cinch-dev/cinch/internal/clone"
	"github.com/cinch-dev/cinch/internal/daemon"
	"github.com/cinch-dev/cinch/internal/monitors"
	"github.com/cinch-dev/cinch/internal/pipeline"
	"github.com/cinch-dev/cinch/internal/pipeline/kube"
	"github.com/cinch-dev/cinch/internal/results"
	"github.com/cinch-dev/cinch/internal/worker"
	"github.com/cinch-dev/cinch/pkg/signals"
)

// component names the worker to the API server (user agent, field manager,
// Event source) and to NATS.
const component = "cinch-worker"

// stack is what both modes share: the pipeline over the real cloner and
// recorder, the result writer and the job handler.
type stack struct {
	cs       kubernetes.Interface
	cloner   *clone.Cloner
	writer   *results.Writer
	pipeline *pipeline.Pipeline
	monitors *monitors.Reader
}

// handler returns the job handler over the stack's pipeline; it reads the
// metrics endpoints that monitors declare.
func (s *stack) handler(opts ...worker.HandlerOption) *worker.Handler {
	opts = append([]worker.HandlerOption{worker.WithMetricsDiscovery(s.monitors)}, opts...)
	return worker.NewHandler(s.cs, s.pipeline, s.writer, opts...)
}

func newStack(c Config, reg prometheus.Registerer) (*stack, error) {
	restCfg, err := daemon.RESTConfig(c.Kubeconfig)
	if err != nil {
		return nil, err
	}
	restCfg.QPS, restCfg.Burst = 50, 100
	restCfg.UserAgent = component
	cs, err := kubernetes.NewForConfig(restCfg)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	dyn, err := dynamic.NewForConfig(restCfg)
	if err != nil {
		return nil, fmt.Errorf("dynamic client: %w", err)
	}
	pcfg, err := c.Pipeline()
	if err != nil {
		return nil, err
	}
	copts := clone.DefaultOptions()
	copts.Labels = c.CloneLabels
	copts.StartWait = c.StartWait
	cl := clone.New(cs, copts)
	rec := signals.NewRecorder(cs, signals.Options{Node: c.Node})
	p, err := pipeline.New(pcfg, kube.Cloner{C: cl}, kube.Recorder{CS: cs, R: rec, ReadyTimeout: c.ReadyTimeout}, pipeline.NewMetrics(reg))
	if err != nil {
		return nil, err
	}
	return &stack{cs: cs, cloner: cl, writer: results.NewWriter(cs, component), pipeline: p, monitors: monitors.NewReader(dyn, cs)}, nil
}
