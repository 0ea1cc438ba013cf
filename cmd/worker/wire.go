package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/cinch-dev/cinch/internal/clone"
	"github.com/cinch-dev/cinch/internal/jobs"
	"github.com/cinch-dev/cinch/internal/pipeline"
	"github.com/cinch-dev/cinch/internal/pipeline/kube"
	"github.com/cinch-dev/cinch/internal/results"
	"github.com/cinch-dev/cinch/internal/worker"
	"github.com/cinch-dev/cinch/pkg/signals"
)

const component = "cinch-worker"

func newLogger(level int) logr.Logger {
	h := slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.Level(-level)})
	return logr.FromSlogHandler(h)
}

func kubeClient(path string) (kubernetes.Interface, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = path
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
	if clientcmd.IsEmptyConfig(err) {
		cfg, err = rest.InClusterConfig()
	}
	if err != nil {
		return nil, fmt.Errorf("kube config: %w", err)
	}
	cfg.QPS, cfg.Burst = 50, 100
	cfg.UserAgent = component
	return kubernetes.NewForConfig(cfg)
}

// stack is what both modes share: the pipeline over the real cloner and
// recorder, the result writer and the job handler.
type stack struct {
	cs      kubernetes.Interface
	cloner  *clone.Cloner
	writer  *results.Writer
	handler *worker.Handler
}

func newStack(c Common, reg prometheus.Registerer) (*stack, error) {
	cs, err := kubeClient(c.Kubeconfig)
	if err != nil {
		return nil, err
	}
	pcfg, err := c.Pipeline()
	if err != nil {
		return nil, err
	}
	copts := clone.DefaultOptions()
	copts.Labels = c.CloneLabels
	cl := clone.New(cs, copts)
	rec := signals.NewRecorder(cs, signals.Options{Node: c.Node})
	gate := worker.NewReadinessGate(kube.Recorder{CS: cs, R: rec, ReadyTimeout: c.ReadyTimeout})
	p, err := pipeline.New(pcfg, kube.Cloner{C: cl}, gate, pipeline.NewMetrics(reg))
	if err != nil {
		return nil, err
	}
	w := results.NewWriter(cs, component)
	return &stack{cs: cs, cloner: cl, writer: w, handler: worker.NewHandler(cs, p, w, worker.WithReadinessGate(gate))}, nil
}

// runHarden is the one-shot mode; it returns the exit code: 0 when a
// recommendation was verified, 1 when not, 2 on usage errors.
func runHarden(ctx context.Context, cfg HardenConfig, stdout io.Writer) int {
	log := newLogger(cfg.LogLevel)
	ctx = logr.NewContext(ctx, log)
	st, err := newStack(cfg.Common, prometheus.NewRegistry())
	if err != nil {
		log.Error(err, "setup")
		return 1
	}
	ref := results.Ref{Namespace: cfg.Namespace, Kind: cfg.Kind, Name: cfg.Name}
	res, ann, err := st.handler.Once(ctx, ref, cfg.Write)
	if err != nil {
		log.Error(err, "harden", "workload", ref.String())
		return 1
	}
	if err := worker.Print(stdout, cfg.Output, ref, res, ann); err != nil {
		log.Error(err, "print")
		return 1
	}
	if res.Outcome != pipeline.OutcomeVerified {
		return 1
	}
	return 0
}

// runDaemon is the daemon: consumer, resync, sweeper and metrics server
// until ctx ends.
func runDaemon(ctx context.Context, cfg RunConfig) error {
	log := newLogger(cfg.LogLevel)
	ctx = logr.NewContext(ctx, log)
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	st, err := newStack(cfg.Common, reg)
	if err != nil {
		return err
	}
	m := worker.NewMetrics(reg)

	// The worker may start before NATS (a fresh install): it connects in
	// the background and sets up its stream and consumer with retries,
	// unready until then, instead of exiting into a crash loop whose
	// back-off would stall a rollout.
	nc, err := jobs.Connect(jobs.ConnectOptions{URL: cfg.NATSURL, Name: component, Creds: cfg.NATSCreds, CA: cfg.NATSCA}, log)
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("jetstream: %w", err)
	}
	// An early return, or a part that fails (the metrics server cannot
	// listen), stops the others.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var consuming atomic.Bool
	g := &group{ctx: ctx, cancel: cancel}
	if cfg.MetricsAddr != "" {
		g.Go(metricsServer(cfg.MetricsAddr, reg, func() bool { return consuming.Load() && nc.IsConnected() }))
	}
	var cons jetstream.Consumer
	err = jobs.Retry(ctx, jobs.DefaultRetry, "set up the job stream and consumer", func(ctx context.Context) error {
		if !nc.IsConnected() {
			return jobs.ErrUnavailable
		}
		if _, err := jobs.EnsureStream(ctx, js, cfg.Stream); err != nil {
			return err
		}
		c, err := jobs.EnsureConsumer(ctx, js, cfg.Stream.Name, cfg.Consumer)
		cons = c
		return err
	})
	if err != nil {
		if ctx.Err() != nil { // stopped before NATS came up
			return g.Wait()
		}
		return err
	}
	consumer, err := worker.NewConsumer(cfg.consumerConfig(), cons, st.handler, st.writer, m)
	if err != nil {
		return err
	}
	pub := jobs.NewPublisher(js, jobs.PublisherOptions{Stream: cfg.Stream.Name, Timeout: 2 * time.Second})
	resync := worker.NewResyncer(st.cs, pub, st.writer, cfg.ResyncInterval, m, worker.WithNamespaceSelector(cfg.ResyncSelector))
	var sweepable worker.CloneSweeper = st.cloner
	if len(cfg.CloneLabels) > 0 {
		if sweepable, err = worker.NewScopedSweeper(st.cs, st.cloner, cfg.CloneLabels); err != nil {
			return err
		}
	}
	sweeper := worker.NewSweeper(sweepable, cfg.SweepInterval, cfg.SweepOlderThan, m)
	// Old clones of a worker that died go before this one takes its jobs.
	sweeper.SweepOnce(ctx)

	log.Info("worker started", "nats", cfg.NATSURL, "concurrency", cfg.Concurrency, "strategy", cfg.Strategy, "recordingDuration", cfg.RecordingDuration)
	g.Go(consumer.Start)
	g.Go(sweeper.Start)
	if cfg.ResyncInterval > 0 {
		g.Go(resync.Start)
	}
	consuming.Store(true)
	err = g.Wait()
	log.Info("worker stopped")
	return err
}

// group runs the daemon's parts until ctx ends and collects their errors;
// the first error cancels the others.
type group struct {
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	errs   []error
}

func (g *group) Go(start func(context.Context) error) {
	g.wg.Go(func() {
		if err := start(g.ctx); err != nil {
			g.mu.Lock()
			g.errs = append(g.errs, err)
			g.mu.Unlock()
			g.cancel()
		}
	})
}

func (g *group) Wait() error {
	g.wg.Wait()
	return errors.Join(g.errs...)
}

// metricsServer serves /metrics, /healthz (the process is alive) and
// /readyz (ready() holds: consuming jobs over a live NATS connection).
func metricsServer(addr string, reg *prometheus.Registry, ready func() bool) func(context.Context) error {
	return func(ctx context.Context) error {
		mux := http.NewServeMux()
		mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
		mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok\n") })
		mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
			if !ready() {
				http.Error(w, "not consuming jobs: NATS or the job stream is not available yet", http.StatusServiceUnavailable)
				return
			}
			_, _ = io.WriteString(w, "ok\n")
		})
		srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		go func() {
			<-ctx.Done()
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			_ = srv.Shutdown(sctx)
		}()
		if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("metrics server: %w", err)
		}
		return nil
	}
}
