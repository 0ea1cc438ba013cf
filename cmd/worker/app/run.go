package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/cinch-dev/cinch/internal/daemon"
	"github.com/cinch-dev/cinch/internal/jobs"
	"github.com/cinch-dev/cinch/internal/worker"
)

// metricsShutdownTimeout bounds the metrics server's shutdown.
const metricsShutdownTimeout = 5 * time.Second

// Run is the daemon: consumer, resync, sweeper and metrics server until
// ctx ends; then it stops within cfg.ShutdownTimeout().
func Run(ctx context.Context, cfg Config) error {
	log := logr.FromContextOrDiscard(ctx)
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	st, err := newStack(cfg, reg)
	if err != nil {
		return err
	}
	m := worker.NewMetrics(reg)

	// The worker may start before NATS (a fresh install): it connects in
	// the background and sets up its stream and consumer with retries,
	// unready until then, instead of exiting into a crash loop whose
	// back-off would stall a rollout.
	nc, err := cfg.Connect(component, log)
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("jetstream: %w", err)
	}
	// A part that fails (the metrics server cannot listen) stops the
	// others; so does an error while the parts are being set up.
	g, ctx := daemon.NewGroup(ctx, cfg.ShutdownTimeout())
	stop := func(err error) error {
		g.Cancel()
		return errors.Join(err, g.Wait())
	}
	var consuming atomic.Bool
	g.Go("metrics server", func(ctx context.Context) error {
		return daemon.ServeHTTP(ctx, cfg.MetricsAddr, metricsMux(reg, func() bool { return consuming.Load() && nc.IsConnected() }), metricsShutdownTimeout)
	})
	var (
		cons   jetstream.Consumer
		leases *worker.Leases
	)
	err = jobs.Retry(ctx, jobs.DefaultRetry, "set up the job stream, consumer and lease bucket", func(ctx context.Context) error {
		if !nc.IsConnected() {
			return jobs.ErrUnavailable
		}
		if _, err := jobs.EnsureStream(ctx, js, cfg.Stream); err != nil {
			return err
		}
		c, err := jobs.EnsureConsumer(ctx, js, cfg.Stream.Name, cfg.JobConsumer())
		if err != nil {
			return err
		}
		cons = c
		leases, err = worker.NewLeases(ctx, js, worker.DefaultLeaseBucket, cfg.LeaseTTL, cfg.Stream.Replicas, leaseHolder())
		return err
	})
	if err != nil {
		if ctx.Err() != nil { // stopped before NATS came up
			return g.Wait()
		}
		return stop(err)
	}
	consumer, err := worker.NewConsumer(cfg.pullConfig(), cons, st.handler(worker.WithLeases(leases)), st.writer, m)
	if err != nil {
		return stop(err)
	}
	pub := jobs.NewPublisher(js, jobs.PublisherOptions{Stream: cfg.Stream.Name, Timeout: 2 * time.Second})
	resync := worker.NewResyncer(st.cs, pub, st.writer, cfg.ResyncInterval, m, worker.WithNamespaceSelector(cfg.ResyncSelector), worker.WithWorkloadMetrics(cfg.WorkloadMetrics))
	var sweepable worker.CloneSweeper = st.cloner
	if len(cfg.CloneLabels) > 0 {
		if sweepable, err = worker.NewScopedSweeper(st.cs, st.cloner, cfg.CloneLabels); err != nil {
			return stop(err)
		}
	}
	sweeper := worker.NewSweeper(sweepable, cfg.SweepInterval, cfg.SweepOlderThan, m)
	// Old clones of a worker that died go before this one takes its jobs.
	sweeper.SweepOnce(ctx)

	log.Info("worker started", "nats", cfg.NATSURL, "concurrency", cfg.Concurrency, "strategy", cfg.Strategy, "recordingDuration", cfg.RecordingDuration)
	g.Go("consumer", consumer.Start)
	g.Go("sweeper", sweeper.Start)
	if cfg.ResyncInterval > 0 {
		g.Go("resync", resync.Start)
	}
	consuming.Store(true)
	err = g.Wait()
	log.Info("worker stopped")
	return err
}

// leaseHolder names this worker in the namespace leases: the pod name
// (the hostname in a pod) and the process id.
func leaseHolder() string {
	host, err := os.Hostname()
	if err != nil {
		host = "unknown"
	}
	return fmt.Sprintf("%s/%d", host, os.Getpid())
}

// metricsMux serves /metrics, /healthz (the process is alive) and /readyz
// (ready() holds: consuming jobs over a live NATS connection).
func metricsMux(reg *prometheus.Registry, ready func() bool) *http.ServeMux {
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
	return mux
}
