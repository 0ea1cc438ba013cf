package app

import (
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/labels"

	"github.com/cinch-dev/cinch/internal/clone"
	"github.com/cinch-dev/cinch/internal/jobs"
	"github.com/cinch-dev/cinch/internal/pipeline"
	"github.com/cinch-dev/cinch/internal/pipeline/kube"
	"github.com/cinch-dev/cinch/internal/worker"
	"github.com/cinch-dev/cinch/pkg/hardening"
)

// Command is a subcommand of the worker binary.
type Command string

// The subcommands.
const (
	// CommandRun is the daemon.
	CommandRun Command = "run"
	// CommandHarden is the one-shot mode.
	CommandHarden Command = "harden"
)

// shutdownMargin is how long the daemon's parts may take to stop after a
// running job's ShutdownGrace is over (cancel the job, delete its clones,
// nak it) before the daemon gives up waiting.
const shutdownMargin = 40 * time.Second

// Config is the worker's configuration. Command selects the subcommand;
// Bind registers the flags of both modes and those of Command.
type Config struct {
	Command Command

	// Both modes.

	// Kubeconfig outside a cluster; $KUBECONFIG, ~/.kube/config or the
	// in-cluster config when empty.
	Kubeconfig string
	// RecordingDuration is R: how long a trial that passes is recorded.
	RecordingDuration time.Duration
	// Strategy is the trial scheduling: frugal, parallel or sequential.
	Strategy string
	// MaxClones bounds the clones alive at once per job (0 = no bound);
	// MaxPods their pods.
	MaxClones int
	MaxPods   int
	// Stagger delays the second baseline.
	Stagger time.Duration
	// Node restricts kubelet stats to one node (optional).
	Node string
	// Verbosity of the log (-v).
	Verbosity int
	// ReadyTimeout is how long a trial waits for its first Ready pod.
	ReadyTimeout time.Duration
	// BatchTimeout bounds a run of a Job or CronJob (pipeline.Config).
	BatchTimeout time.Duration
	// StartWait bounds how long a clone waits for a workload's
	// dependencies to become Ready before it starts the workload.
	StartWait time.Duration
	// CloneLabels are added to every clone namespace; the daemon's sweeper
	// then sweeps only clones carrying them.
	CloneLabels map[string]string

	// worker run.

	// NATSConfig: --nats-url, --nats-creds, --nats-ca.
	jobs.NATSConfig
	// Concurrency is the number of jobs run at once.
	Concurrency int
	// MetricsAddr serves /metrics, /healthz and /readyz ("0" or empty = off).
	MetricsAddr string
	// ResyncInterval is the interval of the resync pass (0 = off);
	// ResyncSelector restricts it to the namespaces it matches.
	ResyncInterval time.Duration
	ResyncSelector string
	// WorkloadMetrics turns the resync's per-workload gauges on (one series
	// per opted-in workload and gauge).
	WorkloadMetrics bool
	// SweepInterval and SweepOlderThan drive the left-over clone sweep.
	SweepInterval  time.Duration
	SweepOlderThan time.Duration
	// ShutdownGrace is how long a running job may go on after SIGTERM.
	ShutdownGrace time.Duration
	// LeaseTTL is how long a namespace lease outlives its worker; BusyDelay
	// how long a job whose namespace another worker runs waits in the queue.
	LeaseTTL  time.Duration
	BusyDelay time.Duration
	// Stream and Consumer are the job stream and its durable consumer
	// (Consumer.MaxAckPending is raised to Concurrency, see JobConsumer).
	Stream   jobs.StreamConfig
	Consumer jobs.ConsumerConfig

	// worker harden.

	// Namespace, Kind and Name of the workload.
	Namespace string
	Kind      string
	Name      string
	// Output is json (the annotations), yaml or table.
	Output string
	// Write writes the annotations and Events to the workload.
	Write bool
}

// DefaultConfig returns the defaults (the flag defaults) of command.
func DefaultConfig(command Command) Config {
	p := pipeline.DefaultConfig()
	return Config{
		Command:           command,
		RecordingDuration: p.Duration,
		Strategy:          string(p.Strategy),
		MaxClones:         p.MaxClones,
		MaxPods:           p.MaxPods,
		Stagger:           p.Stagger,
		ReadyTimeout:      kube.DefaultReadyTimeout,
		StartWait:         clone.DefaultStartWait,
		BatchTimeout:      p.BatchTimeout,
		Concurrency:       1,
		MetricsAddr:       ":9090",
		ResyncInterval:    5 * time.Minute,
		WorkloadMetrics:   true,
		SweepInterval:     10 * time.Minute,
		SweepOlderThan:    time.Hour,
		ShutdownGrace:     20 * time.Second,
		LeaseTTL:          worker.DefaultLeaseTTL,
		BusyDelay:         worker.DefaultPullConfig().BusyDelay,
		Stream:            jobs.DefaultStreamConfig(),
		Consumer:          jobs.DefaultConsumerConfig(),
		Kind:              "Deployment",
		Output:            "table",
		Write:             true,
	}
}

// Bind registers the flags of c.Command on fs, with c's values as defaults.
func (c *Config) Bind(fs *flag.FlagSet) {
	fs.StringVar(&c.Kubeconfig, "kubeconfig", c.Kubeconfig, "kubeconfig file (default: $KUBECONFIG, ~/.kube/config, in-cluster)")
	fs.DurationVar(&c.RecordingDuration, "recording-duration", c.RecordingDuration, "R: how long a trial that passes is recorded")
	fs.StringVar(&c.Strategy, "strategy", c.Strategy, "trial scheduling: frugal, parallel or sequential")
	fs.IntVar(&c.MaxClones, "max-clones", c.MaxClones, "clones alive at once per job (0 = no bound)")
	fs.IntVar(&c.MaxPods, "max-pods", c.MaxPods, "pods of the clones alive at once per job, every pod of every clone counted (0 = no bound)")
	fs.DurationVar(&c.Stagger, "baseline-stagger", c.Stagger, "delay of the second baseline")
	fs.StringVar(&c.Node, "node", c.Node, "restrict kubelet stats to this node (optional)")
	fs.IntVar(&c.Verbosity, "v", c.Verbosity, "log verbosity")
	fs.DurationVar(&c.BatchTimeout, "batch-timeout", c.BatchTimeout, "the longest run of a Job or CronJob: baselines run until their Job ends or this; a trial until its Job ends, 2 × the slower baseline + 30s, or this")
	fs.DurationVar(&c.StartWait, "start-wait", c.StartWait, "how long a trial clone waits for a workload's dependencies (the workloads whose Services it names) to become Ready before it starts the workload")
	fs.DurationVar(&c.ReadyTimeout, "ready-timeout", c.ReadyTimeout, "how long a trial waits for its first Ready pod before it is recorded as never Ready")
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
	switch c.Command {
	case CommandRun:
		c.bindRun(fs)
	case CommandHarden:
		c.bindHarden(fs)
	}
}

func (c *Config) bindRun(fs *flag.FlagSet) {
	c.BindFlags(fs, "NATS server URL (required)")
	fs.IntVar(&c.Concurrency, "concurrency", c.Concurrency, "jobs run at once")
	fs.StringVar(&c.MetricsAddr, "metrics-addr", c.MetricsAddr, "address of /metrics, /healthz and /readyz (0 or empty = off)")
	fs.DurationVar(&c.ResyncInterval, "resync-interval", c.ResyncInterval, "interval of the resync pass (0 = no resync, no coverage metrics)")
	fs.StringVar(&c.ResyncSelector, "resync-namespace-selector", c.ResyncSelector, "label selector: resync only the opted-in namespaces that also match it (default all)")
	fs.BoolVar(&c.WorkloadMetrics, "workload-metrics", c.WorkloadMetrics, "export the resync's per-workload gauges cinch_workload_hardened and cinch_workload_missing_checks (one series per opted-in workload each; false for large clusters)")
	fs.DurationVar(&c.SweepInterval, "sweep-interval", c.SweepInterval, "interval of the left-over clone sweep")
	fs.DurationVar(&c.SweepOlderThan, "sweep-older-than", c.SweepOlderThan, "age from which a clone counts as left over")
	fs.DurationVar(&c.ShutdownGrace, "shutdown-grace", c.ShutdownGrace, "time a running job may go on after SIGTERM before it is cancelled and returned to the queue")
	fs.DurationVar(&c.LeaseTTL, "lease-ttl", c.LeaseTTL, "lifetime of a namespace lease without renewal: how soon another worker takes over the namespace of a worker that died")
	fs.DurationVar(&c.BusyDelay, "busy-delay", c.BusyDelay, "redelivery delay of a job whose namespace another worker is running")
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
}

func (c *Config) bindHarden(fs *flag.FlagSet) {
	fs.StringVar(&c.Namespace, "namespace", c.Namespace, "namespace to harden (required)")
	fs.StringVar(&c.Kind, "kind", c.Kind, strings.Join(hardening.Kinds(), ", ")+" (with --name)")
	fs.StringVar(&c.Name, "name", c.Name, "name of one workload; without it every workload of the namespace is hardened together")
	fs.StringVar(&c.Output, "o", c.Output, "output: json (the annotations), yaml or table")
	fs.BoolVar(&c.Write, "write", c.Write, "write the annotations and Events to the workload, like the daemon")
}

// Validate checks the configuration of c.Command.
func (c Config) Validate() error {
	var errs []error
	if _, err := c.Pipeline(); err != nil {
		errs = append(errs, err)
	}
	switch c.Command {
	case CommandRun:
		errs = append(errs, c.validateRun()...)
	case CommandHarden:
		errs = append(errs, c.validateHarden()...)
	default:
		errs = append(errs, fmt.Errorf("unknown command %q", c.Command))
	}
	return errors.Join(errs...)
}

func (c Config) validateRun() []error {
	var errs []error
	if err := c.NATSConfig.Validate(); err != nil {
		errs = append(errs, err)
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
	if c.LeaseTTL < 3*time.Second || c.BusyDelay <= 0 {
		errs = append(errs, fmt.Errorf("--lease-ttl %s must be at least 3s, --busy-delay positive", c.LeaseTTL))
	}
	if err := c.Stream.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.JobConsumer().Validate(); err != nil {
		errs = append(errs, err)
	}
	return errs
}

func (c Config) validateHarden() []error {
	var errs []error
	if c.Namespace == "" {
		errs = append(errs, errors.New("--namespace is required"))
	}
	if c.Name != "" && !hardening.KnownKind(c.Kind) {
		errs = append(errs, fmt.Errorf("--kind %q: must be one of %s", c.Kind, strings.Join(hardening.Kinds(), ", ")))
	}
	switch c.Output {
	case "json", "yaml", "table":
	default:
		errs = append(errs, fmt.Errorf("-o %q: must be json, yaml or table", c.Output))
	}
	return errs
}

// Pipeline returns the pipeline configuration.
func (c Config) Pipeline() (pipeline.Config, error) {
	cfg := pipeline.DefaultConfig()
	st, err := pipeline.ParseStrategy(c.Strategy)
	if err != nil {
		return cfg, err
	}
	cfg.Strategy, cfg.Duration, cfg.MaxClones, cfg.MaxPods, cfg.Stagger = st, c.RecordingDuration, c.MaxClones, c.MaxPods, c.Stagger
	cfg.BatchTimeout = c.BatchTimeout
	if c.StartWait <= 0 {
		return cfg, fmt.Errorf("--start-wait %s must be positive", c.StartWait)
	}
	if c.ReadyTimeout <= 0 {
		return cfg, fmt.Errorf("--ready-timeout %s must be positive", c.ReadyTimeout)
	}
	return cfg, cfg.Validate()
}

// JobConsumer is the durable consumer: jobs in flight across workers are
// at least this worker's concurrency.
func (c Config) JobConsumer() jobs.ConsumerConfig {
	jc := c.Consumer
	jc.MaxAckPending = max(jc.MaxAckPending, c.Concurrency)
	return jc
}

// pullConfig derives how the worker pulls and settles job messages.
func (c Config) pullConfig() worker.PullConfig {
	cc := worker.DefaultPullConfig()
	cc.Concurrency = c.Concurrency
	cc.MaxDeliver = c.Consumer.MaxDeliver
	cc.ShutdownGrace = c.ShutdownGrace
	cc.BusyDelay = c.BusyDelay
	ackWait := c.Consumer.AckWait
	if len(c.Consumer.BackOff) > 0 {
		ackWait = c.Consumer.BackOff[0]
	}
	cc.Heartbeat = min(cc.Heartbeat, ackWait/3)
	return cc
}

// ShutdownTimeout bounds the daemon's shutdown: a running job's grace plus
// the time to cancel it, delete its clones and return it to the queue.
func (c Config) ShutdownTimeout() time.Duration { return c.ShutdownGrace + shutdownMargin }
