package app

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"

	"github.com/go-logr/logr"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/cinch-dev/cinch/internal/daemon"
	"github.com/cinch-dev/cinch/internal/jobs"
	"github.com/cinch-dev/cinch/internal/jobs/admissionjobs"
	"github.com/cinch-dev/cinch/internal/tlsserver"
	"github.com/cinch-dev/cinch/pkg/admission"
)

// Paths the webhook configurations call.
const (
	ValidatePath = "/validate"
	MutatePath   = "/mutate"
)

// Main parses args, validates the configuration and runs until ctx ends. It
// returns the process exit code.
func Main(ctx context.Context, args []string, stderr io.Writer) int {
	cfg := DefaultConfig()
	fs := flag.NewFlagSet("webhook", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg.Bind(fs)
	verbosity := fs.Int("v", 0, "log verbosity")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	log := daemon.NewLogger(stderr, *verbosity)
	if err := cfg.Validate(); err != nil {
		log.Error(err, "Invalid configuration")
		return 2
	}
	if err := Run(logr.NewContext(ctx, log), cfg); err != nil {
		log.Error(err, "Webhook failed")
		return 1
	}
	return 0
}

// DisableHTTP2 restricts a TLS config to HTTP/1.1 (CVE-2023-44487 and
// CVE-2023-39325: rapid reset and stream cancellation).
func DisableHTTP2(c *tls.Config) {
	c.NextProtos = []string{"http/1.1"}
	c.MinVersion = tls.VersionTLS12
}

// Run serves the webhook until ctx ends.
func Run(ctx context.Context, cfg Config) error {
	log := logr.FromContextOrDiscard(ctx)
	ctrllog.SetLogger(log)

	restCfg, err := daemon.RESTConfig(cfg.Kubeconfig)
	if err != nil {
		return err
	}
	client, err := kubernetes.NewForConfig(restCfg)
	if err != nil {
		return fmt.Errorf("kubernetes client: %w", err)
	}
	namespaces := admission.NewCachedNamespaces(client, cfg.NamespaceResync)

	// The admission answer never waits for NATS: accepted jobs go to a
	// bounded buffer that publishes them in the background, with retries.
	nc, err := cfg.Connect("cinch-webhook", log)
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("jetstream: %w", err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	buffer, err := jobs.NewBuffer(cfg.BufferConfig(),
		jobs.NewPublisher(js, jobs.PublisherOptions{Timeout: cfg.PublishTimeout, Stream: cfg.Stream}), jobs.NewMetrics(reg))
	if err != nil {
		return err
	}
	handlers := admission.New(admissionjobs.NewPublisher(buffer), namespaces, admission.NewMetrics(reg), admission.Options{OwnNamespace: cfg.Namespace})
	validate, mutate := handlers.Webhooks()
	mux := http.NewServeMux()
	mux.Handle(ValidatePath, validate)
	mux.Handle(MutatePath, mutate)
	server := tlsserver.New(tlsserver.Config{
		Host: cfg.Host, Port: cfg.Port,
		CertDir: cfg.CertDir, CertName: cfg.CertName, KeyName: cfg.KeyName,
		ShutdownTimeout: cfg.ShutdownTimeout,
	}, mux)

	health := http.NewServeMux()
	probe(health, "/healthz", map[string]healthz.Checker{"ping": healthz.Ping})
	probe(health, "/readyz", map[string]healthz.Checker{
		"webhook": server.Ready,
		"namespaces": func(*http.Request) error {
			if !namespaces.Synced() {
				return errors.New("namespace cache not synced")
			}
			return nil
		},
		"job-buffer": func(*http.Request) error { return buffer.Ready() },
	})
	metrics := http.NewServeMux()
	metrics.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))

	log.Info("Starting webhook", "port", cfg.Port, "certDir", cfg.CertDir, "nats", cfg.NATSURL, "publishTimeout", cfg.PublishTimeout, "jobBuffer", cfg.JobBuffer)
	g, _ := daemon.NewGroup(ctx, cfg.ShutdownTimeout)
	// The buffer drains once the server has stopped taking requests.
	bufferCtx, stopBuffer := context.WithCancel(context.WithoutCancel(ctx))
	defer stopBuffer()
	g.Go("webhook server", func(ctx context.Context) error {
		defer stopBuffer()
		return server.Start(ctx)
	})
	g.Go("job buffer", func(context.Context) error { return buffer.Start(bufferCtx) })
	g.Go("health server", func(ctx context.Context) error {
		return daemon.ServeHTTP(ctx, cfg.HealthAddr, health, cfg.ShutdownTimeout)
	})
	g.Go("metrics server", func(ctx context.Context) error {
		return daemon.ServeHTTP(ctx, cfg.MetricsAddr, metrics, cfg.ShutdownTimeout)
	})
	g.Go("namespace cache", func(ctx context.Context) error {
		if err := namespaces.Start(ctx); err != nil && ctx.Err() == nil {
			return err
		}
		return nil
	})
	if cfg.EnsureStream {
		g.Go("stream setup", func(ctx context.Context) error {
			sc := jobs.DefaultStreamConfig()
			sc.Name, sc.Replicas = cfg.Stream, cfg.StreamReplicas
			if jobs.Retry(ctx, jobs.DefaultRetry, "set up the job stream", func(ctx context.Context) error {
				if !nc.IsConnected() {
					return jobs.ErrUnavailable
				}
				_, err := jobs.EnsureStream(ctx, js, sc)
				return err
			}) == nil {
				log.Info("Job stream ready", "stream", sc.Name)
			}
			return nil
		})
	}
	return g.Wait()
}

// probe serves checks at path (all of them) and path/<name> (one).
func probe(mux *http.ServeMux, path string, checks map[string]healthz.Checker) {
	h := http.StripPrefix(path, &healthz.Handler{Checks: checks})
	mux.Handle(path, h)
	mux.Handle(path+"/", h)
}
