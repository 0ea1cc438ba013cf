package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/labels"

	"github.com/cinch-dev/cinch/internal/jobs"
	"github.com/cinch-dev/cinch/internal/pipeline"
	"github.com/cinch-dev/cinch/internal/pipeline/kube"
	"github.com/cinch-dev/cinch/internal/worker"
	"github.com/cinch-dev/cinch/pkg/hardening"
)

// Common holds the flags of both modes.
type Common struct {
	Kubeconfig        string
	RecordingDuration time.Duration
	Strategy          string
	MaxClones         int
	Stagger           time.Duration
	Node              string
	LogLevel          int
	ReadyTimeout      time.Duration
	// CloneLabels are added to every clone namespace; the daemon's sweeper
	// then sweeps only clones carrying them.
	CloneLabels map[string]string
}

func (c *Common) bind(fs *flag.FlagSet) {
	d := pipeline.DefaultConfig()
	fs.StringVar(&c.Kubeconfig, "kubeconfig", "", "kubeconfig file (default: $KUBECONFIG, ~/.kube/config, in-cluster)")
	fs.DurationVar(&c.RecordingDuration, "recording-duration", d.Duration, "R: how long a trial that passes is recorded")
	fs.StringVar(&c.Strategy, "strategy", string(d.Strategy), "trial scheduling: frugal, parallel or sequential")
	fs.IntVar(&c.MaxClones, "max-clones", d.MaxClones, "clones alive at once per job (0 = no bound)")
	fs.DurationVar(&c.Stagger, "baseline-stagger", d.Stagger, "delay of the second baseline")
	fs.StringVar(&c.Node, "node", "", "restrict kubelet stats to this node (optional)")
	fs.IntVar(&c.LogLevel, "v", 0, "log verbosity")
	fs.DurationVar(&c.ReadyTimeout, "ready-timeout", kube.DefaultReadyTimeout, "how long a trial waits for its first Ready pod before it is recorded as never Ready")
	fs.Func("clone-labels", "labels k=v,... on every clone namespace; the sweeper then deletes only clones carrying them (one set per installation sharing a cluster)", func(s string) error {
		m, err := labels.ConvertSelectorToLabelsMap(s)
		if err != nil {
			return fmt.Errorf("--clone-labels: %w", err)
		}
		for k := range m {
			if strings.HasPrefix(k, hardening.AnnotationPrefix) {
				return fmt.Errorf("--clone-labels: %s: keys under %s are Cinch's own (clones never carry them)", k, hardening.AnnotationPrefix)
			}
		}
		c.CloneLabels = m
		return nil
	})
}

// Pipeline returns the pipeline configuration.
func (c Common) Pipeline() (pipeline.Config, error) {
	cfg := pipeline.DefaultConfig()
	st, err := pipeline.ParseStrategy(c.Strategy)
	if err != nil {
		return cfg, err
	}
	cfg.Strategy, cfg.Duration, cfg.MaxClones, cfg.Stagger = st, c.RecordingDuration, c.MaxClones, c.Stagger
	if c.ReadyTimeout <= 0 {
		return cfg, fmt.Errorf("--ready-timeout %s must be positive", c.ReadyTimeout)
	}
	return cfg, cfg.Validate()
}

// RunConfig configures the daemon (worker run).
type RunConfig struct {
	Common
	NATSURL        string
	NATSCreds      string
	NATSCA         string
	Concurrency    int
	MetricsAddr    string
	ResyncInterval time.Duration
	ResyncSelector string
	SweepInterval  time.Duration
	SweepOlderThan time.Duration
	ShutdownGrace  time.Duration
	Stream         jobs.StreamConfig
	Consumer       jobs.ConsumerConfig
}

// Validate checks the configuration.
func (c RunConfig) Validate() error {
	var errs []error
	if _, err := c.Pipeline(); err != nil {
		errs = append(errs, err)
	}
	if c.NATSURL == "" {
		errs = append(errs, errors.New("--nats-url is required"))
	}
	if c.Concurrency < 1 {
		errs = append(errs, fmt.Errorf("--concurrency %d must be at least 1", c.Concurrency))
	}
	if _, err := labels.Parse(c.ResyncSelector); err != nil {
		errs = append(errs, fmt.Errorf("--resync-namespace-selector: %w", err))
	}
	if c.ResyncInterval < 0 || c.SweepInterval <= 0 {
		errs = append(errs, errors.New("--resync-interval must not be negative, --sweep-interval must be positive"))
	}
	// Below the longest job a sweep may delete another worker's live
	// clones; only a worker with its own --clone-labels (a test, a single
	// worker) may go lower.
	if c.SweepOlderThan <= 0 || (c.SweepOlderThan < 30*time.Minute && len(c.CloneLabels) == 0) {
		errs = append(errs, fmt.Errorf("--sweep-older-than %s must be at least 30m (longer than any job), or positive with --clone-labels", c.SweepOlderThan))
	}
	if c.ShutdownGrace < 0 {
		errs = append(errs, errors.New("--shutdown-grace must not be negative"))
	}
	if err := c.Stream.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.Consumer.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func parseRun(args []string) (RunConfig, error) {
	c := RunConfig{Stream: jobs.DefaultStreamConfig(), Consumer: jobs.DefaultConsumerConfig()}
	fs := flag.NewFlagSet("worker run", flag.ContinueOnError)
	c.bind(fs)
	fs.StringVar(&c.NATSURL, "nats-url", "", "NATS server URL (required)")
	fs.StringVar(&c.NATSCreds, "nats-creds", "", "NATS credentials file (optional)")
	fs.StringVar(&c.NATSCA, "nats-ca", "", "CA file for NATS TLS (optional)")
	fs.IntVar(&c.Concurrency, "concurrency", 1, "jobs run at once")
	fs.StringVar(&c.MetricsAddr, "metrics-addr", ":9090", "address of /metrics, /healthz and /readyz (empty = off)")
	fs.DurationVar(&c.ResyncInterval, "resync-interval", 5*time.Minute, "interval of the resync pass (0 = no resync, no coverage metrics)")
	fs.StringVar(&c.ResyncSelector, "resync-namespace-selector", "", "label selector: resync only the opted-in namespaces that also match it (default all)")
	fs.DurationVar(&c.SweepInterval, "sweep-interval", 10*time.Minute, "interval of the left-over clone sweep")
	fs.DurationVar(&c.SweepOlderThan, "sweep-older-than", time.Hour, "age from which a clone counts as left over")
	fs.DurationVar(&c.ShutdownGrace, "shutdown-grace", 20*time.Second, "time a running job may go on after SIGTERM before it is cancelled and returned to the queue")
	fs.StringVar(&c.Stream.Name, "stream", c.Stream.Name, "JetStream stream name")
	fs.IntVar(&c.Stream.Replicas, "stream-replicas", c.Stream.Replicas, "replicas of the job stream (1..5; 3 on a 3-server NATS cluster)")
	fs.StringVar(&c.Consumer.Durable, "consumer", c.Consumer.Durable, "durable consumer name")
	fs.Func("ack-backoff", "redelivery delays after a missed ack, comma-separated (the first is the ack wait; default 1m,2m,5m,10m)", func(s string) error {
		var bo []time.Duration
		for _, f := range strings.Split(s, ",") {
			d, err := time.ParseDuration(strings.TrimSpace(f))
			if err != nil {
				return fmt.Errorf("--ack-backoff: %w", err)
			}
			bo = append(bo, d)
		}
		c.Consumer.BackOff, c.Consumer.AckWait = bo, bo[0]
		return nil
	})
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments %v", fs.Args())
	}
	// Jobs in flight across workers: at least this worker's concurrency.
	c.Consumer.MaxAckPending = max(c.Consumer.MaxAckPending, c.Concurrency)
	return c, c.Validate()
}

// consumerConfig derives the consumer settings.
func (c RunConfig) consumerConfig() worker.ConsumerConfig {
	cc := worker.DefaultConsumerConfig()
	cc.Concurrency = c.Concurrency
	cc.MaxDeliver = c.Consumer.MaxDeliver
	cc.ShutdownGrace = c.ShutdownGrace
	ackWait := c.Consumer.AckWait
	if len(c.Consumer.BackOff) > 0 {
		ackWait = c.Consumer.BackOff[0]
	}
	cc.Heartbeat = min(cc.Heartbeat, ackWait/3)
	return cc
}

// HardenConfig configures the one-shot mode (worker harden).
type HardenConfig struct {
	Common
	Namespace string
	Kind      string
	Name      string
	Output    string
	Write     bool
}

// Validate checks the configuration.
func (c HardenConfig) Validate() error {
	var errs []error
	if _, err := c.Pipeline(); err != nil {
		errs = append(errs, err)
	}
	if c.Namespace == "" || c.Name == "" {
		errs = append(errs, errors.New("--namespace and --name are required"))
	}
	if !hardening.KnownKind(c.Kind) {
		errs = append(errs, fmt.Errorf("--kind %q: must be Deployment, StatefulSet or DaemonSet", c.Kind))
	}
	switch c.Output {
	case "json", "yaml", "table":
	default:
		errs = append(errs, fmt.Errorf("-o %q: must be json, yaml or table", c.Output))
	}
	return errors.Join(errs...)
}

func parseHarden(args []string) (HardenConfig, error) {
	var c HardenConfig
	fs := flag.NewFlagSet("worker harden", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	c.bind(fs)
	fs.StringVar(&c.Namespace, "namespace", "", "namespace of the workload (required)")
	fs.StringVar(&c.Kind, "kind", "Deployment", "Deployment, StatefulSet or DaemonSet")
	fs.StringVar(&c.Name, "name", "", "name of the workload (required)")
	fs.StringVar(&c.Output, "o", "table", "output: json (the annotations), yaml or table")
	fs.BoolVar(&c.Write, "write", true, "write the annotations and Events to the workload, like the daemon")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(nil)
			fs.PrintDefaults()
		}
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments %v", fs.Args())
	}
	return c, c.Validate()
}
