package app

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"strconv"
	"time"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/cinch-dev/cinch/internal/daemon"
	"github.com/cinch-dev/cinch/internal/jobs"
)

// Config is the webhook's configuration.
type Config struct {
	// Host and Port the webhook server listens on (TLS).
	Host string
	Port int
	// CertDir holds CertName and KeyName; the files are reloaded on change.
	CertDir  string
	CertName string
	KeyName  string

	// HealthAddr serves /healthz and /readyz; MetricsAddr serves /metrics.
	HealthAddr  string
	MetricsAddr string

	// Kubeconfig is used outside a cluster; in-cluster config when empty.
	Kubeconfig string
	// Namespace is Cinch's own namespace; it is never hardened.
	Namespace string
	// NamespaceResync is the resync period of the namespace cache.
	NamespaceResync time.Duration

	// NATSConfig: --nats-url, --nats-creds, --nats-ca.
	jobs.NATSConfig
	// Stream is the job stream; EnsureStream creates/updates it at start
	// (in the background, so a NATS outage never delays serving).
	Stream       string
	EnsureStream bool
	// StreamReplicas is the stream's replica count when EnsureStream
	// creates it (3 on a 3-server NATS cluster).
	StreamReplicas int
	// PublishTimeout bounds one publish attempt of the background publisher
	// (never the admission answer).
	PublishTimeout time.Duration
	// JobBuffer bounds the accepted jobs waiting to be published; beyond
	// it jobs are dropped (counted) and /readyz fails.
	JobBuffer int
	// PublishRetryFor is how long a job is retried before it is dropped.
	PublishRetryFor time.Duration
	// DrainTimeout is how long buffered jobs may still be published at
	// shutdown, after the server stopped taking requests.
	DrainTimeout time.Duration

	// ShutdownTimeout bounds the graceful shutdown.
	ShutdownTimeout time.Duration
}

// backgroundPublishTimeout bounds one background publish attempt (the
// webhook's default; jobs.DefaultPublishTimeout is the publisher's own when
// given none). It delays no admission answer, so it is generous: an attempt
// that times out is retried (same message id) and may have landed anyway.
const backgroundPublishTimeout = time.Second

// BufferConfig is the job buffer's configuration.
func (c Config) BufferConfig() jobs.BufferConfig {
	b := jobs.DefaultBufferConfig()
	b.Size, b.GiveUpAfter, b.DrainTimeout = c.JobBuffer, c.PublishRetryFor, c.DrainTimeout
	return b
}

// DefaultConfig returns the defaults (the flag defaults).
func DefaultConfig() Config {
	ns := os.Getenv("POD_NAMESPACE")
	if ns == "" {
		ns = "cinch-system"
	}
	return Config{
		Port:            9443,
		CertDir:         "/tmp/k8s-webhook-server/serving-certs",
		CertName:        "tls.crt",
		KeyName:         "tls.key",
		HealthAddr:      ":8081",
		MetricsAddr:     ":8080",
		Namespace:       ns,
		NamespaceResync: 10 * time.Minute,
		NATSConfig:      jobs.NATSConfig{NATSURL: "nats://nats." + ns + ".svc:4222"},
		Stream:          jobs.DefaultStreamConfig().Name,
		EnsureStream:    true,
		StreamReplicas:  jobs.DefaultStreamConfig().Replicas,
		PublishTimeout:  backgroundPublishTimeout,
		JobBuffer:       jobs.DefaultBufferConfig().Size,
		PublishRetryFor: jobs.DefaultBufferConfig().GiveUpAfter,
		DrainTimeout:    jobs.DefaultBufferConfig().DrainTimeout,
		ShutdownTimeout: 30 * time.Second,
	}
}

// Bind registers the flags of c on fs, with c's values as defaults.
func (c *Config) Bind(fs *flag.FlagSet) {
	fs.StringVar(&c.Host, "host", c.Host, "address the webhook server listens on (all when empty)")
	fs.IntVar(&c.Port, "port", c.Port, "TLS port of the webhook server")
	fs.StringVar(&c.CertDir, "cert-dir", c.CertDir, "directory with the serving certificate and key (reloaded on change)")
	fs.StringVar(&c.CertName, "cert-name", c.CertName, "certificate file name in cert-dir")
	fs.StringVar(&c.KeyName, "key-name", c.KeyName, "key file name in cert-dir")
	fs.StringVar(&c.HealthAddr, "health-addr", c.HealthAddr, "address of /healthz and /readyz (0 or empty = off)")
	fs.StringVar(&c.MetricsAddr, "metrics-addr", c.MetricsAddr, "address of /metrics (0 or empty = off)")
	fs.StringVar(&c.Kubeconfig, "kubeconfig", c.Kubeconfig, "kubeconfig outside a cluster (in-cluster config when empty)")
	fs.StringVar(&c.Namespace, "namespace", c.Namespace, "Cinch's own namespace, never hardened (env POD_NAMESPACE)")
	fs.DurationVar(&c.NamespaceResync, "namespace-resync", c.NamespaceResync, "resync period of the namespace cache")
	c.BindFlags(fs, "NATS server URL(s), comma separated")
	fs.StringVar(&c.Stream, "stream", c.Stream, "JetStream stream of hardening jobs")
	fs.BoolVar(&c.EnsureStream, "ensure-stream", c.EnsureStream, "create or update the job stream at start")
	fs.IntVar(&c.StreamReplicas, "stream-replicas", c.StreamReplicas, "replicas of the job stream (1..5; 3 on a 3-server NATS cluster)")
	fs.DurationVar(&c.PublishTimeout, "publish-timeout", c.PublishTimeout, "bound of one background publish attempt (the admission answer never waits for NATS)")
	fs.IntVar(&c.JobBuffer, "job-buffer", c.JobBuffer, "accepted jobs waiting to be published at most; beyond it jobs are dropped (counted) and /readyz fails")
	fs.DurationVar(&c.PublishRetryFor, "publish-retry-for", c.PublishRetryFor, "how long a job is retried before it is dropped (resync catches up)")
	fs.DurationVar(&c.DrainTimeout, "drain-timeout", c.DrainTimeout, "how long buffered jobs may still be published at shutdown")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", c.ShutdownTimeout, "graceful shutdown bound")
}

// Validate checks the configuration.
func (c Config) Validate() error {
	var errs []error
	if c.Port < 1 || c.Port > 65535 {
		errs = append(errs, fmt.Errorf("--port %d not in 1..65535", c.Port))
	}
	if c.CertDir == "" || c.CertName == "" || c.KeyName == "" {
		errs = append(errs, errors.New("--cert-dir, --cert-name and --key-name must be set"))
	}
	for name, addr := range map[string]string{"--health-addr": c.HealthAddr, "--metrics-addr": c.MetricsAddr} {
		if daemon.Off(addr) {
			continue // disabled
		}
		if _, port, err := net.SplitHostPort(addr); err != nil {
			errs = append(errs, fmt.Errorf("%s %q: %w", name, addr, err))
		} else if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
			errs = append(errs, fmt.Errorf("%s %q: bad port", name, addr))
		}
	}
	if msgs := validation.IsDNS1123Label(c.Namespace); len(msgs) > 0 {
		errs = append(errs, fmt.Errorf("--namespace %q: %v", c.Namespace, msgs))
	}
	if c.NamespaceResync < 0 {
		errs = append(errs, fmt.Errorf("--namespace-resync %s is negative", c.NamespaceResync))
	}
	if err := c.NATSConfig.Validate(); err != nil {
		errs = append(errs, err)
	}
	if c.Stream == "" {
		errs = append(errs, errors.New("--stream is empty"))
	}
	if c.StreamReplicas < 1 || c.StreamReplicas > 5 {
		errs = append(errs, fmt.Errorf("--stream-replicas %d not in 1..5", c.StreamReplicas))
	}
	if c.PublishTimeout <= 0 || c.PublishTimeout > 30*time.Second {
		errs = append(errs, fmt.Errorf("--publish-timeout %s not in (0, 30s]", c.PublishTimeout))
	}
	if c.JobBuffer < 1 {
		errs = append(errs, fmt.Errorf("--job-buffer %d must be positive", c.JobBuffer))
	}
	if c.PublishRetryFor <= 0 {
		errs = append(errs, fmt.Errorf("--publish-retry-for %s must be positive", c.PublishRetryFor))
	}
	if c.ShutdownTimeout <= 0 {
		errs = append(errs, fmt.Errorf("--shutdown-timeout %s must be positive", c.ShutdownTimeout))
	}
	if c.DrainTimeout < 0 || c.DrainTimeout >= c.ShutdownTimeout {
		errs = append(errs, fmt.Errorf("--drain-timeout %s not in [0, --shutdown-timeout %s)", c.DrainTimeout, c.ShutdownTimeout))
	}
	return errors.Join(errs...)
}
