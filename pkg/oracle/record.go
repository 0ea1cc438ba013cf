package oracle

import "time"

// Recording is everything observed about one run (a baseline or a trial) of a
// workload, as plain data. pkg/signals fills it from a cluster; the oracle
// judges it.
type Recording struct {
	// Duration is how long the run was recorded.
	Duration time.Duration
	// Pods are the workload's pods as last observed.
	Pods []PodObservation
	// Logs holds one stream per container instance (current and previous).
	Logs []LogStream
	// Resources are CPU and memory samples summed over the workload's pods.
	Resources []ResourceSample
	// Events are the Kubernetes Events of the run's namespace.
	Events []Event
	// Probes are the answers of the workload's declared ports to a minimal
	// client (TC-05), in the order they were taken.
	Probes []ProbeObservation
	// Metrics are the scrapes of the workload's declared Prometheus
	// endpoints (TC-06), in the order they were taken; only error-like
	// counters are kept.
	Metrics []MetricsScrape `json:",omitempty"`
	// MetricsProblems name metrics endpoint declarations that could not be
	// scraped (an https scheme, a port that does not exist, an entry of
	// cinch.dev/metrics that does not parse).
	MetricsProblems []string `json:",omitempty"`
	// Batch is how the run ended, for a run-to-completion workload (a Job
	// or CronJob); nil for the others.
	Batch *BatchRun `json:",omitempty"`
}

// PodObservation is what was seen of one pod over the run.
type PodObservation struct {
	Name  string
	Phase string
	// Ready reports whether the pod was Ready at the end of the run.
	Ready bool
	// ReadyAfter is the time from the start of its first app container (its
	// creation when none started) to its first Ready condition; zero when it
	// never became Ready.
	ReadyAfter time.Duration
	// ReadyTransitions counts Ready→NotReady transitions after the first Ready.
	ReadyTransitions int
	Containers       []ContainerObservation
	// Unschedulable is the scheduler's message when the pod was seen
	// waiting for a node (no CPU, memory or pod slot left) and has not been
	// Ready since: a lack of capacity, not a verdict on the pod's settings.
	Unschedulable string `json:",omitempty"`
}

// ContainerObservation is what was seen of one container of a pod.
type ContainerObservation struct {
	Name         string
	Init         bool
	RestartCount int32
	Ready        bool
	// WaitingReasons are the distinct waiting reasons seen (e.g.
	// CrashLoopBackOff, CreateContainerConfigError, ImagePullBackOff).
	WaitingReasons []string
	// TerminationReasons are the distinct termination reasons seen (e.g.
	// OOMKilled, Error, Completed).
	TerminationReasons []string
	// ExitCodes are the distinct non-zero exit codes seen.
	ExitCodes []int32
	// Message is the last waiting or termination message, for evidence.
	Message string
}

// LogStream is the log of one container instance.
type LogStream struct {
	Pod       string
	Container string
	// Previous is true for the log of the instance before the last restart.
	Previous bool
	Lines    []string
	// Dropped counts lines not kept because of the per-container cap.
	Dropped int
}

// ResourceSample is one CPU and memory reading.
type ResourceSample struct {
	// Offset is the time since the run started.
	Offset           time.Duration
	CPUNanoCores     uint64
	MemoryWorkingSet uint64
}

// Event is a Kubernetes Event of the run's namespace.
type Event struct {
	Type    string
	Reason  string
	Object  string
	Message string
	Count   int32
}

// ProbeObservation is one answer of one declared port of one pod to the
// recorder's minimal client: a TCP connect, a short read of what the server
// sends unprompted and, when it sends nothing, one `GET <Path> HTTP/1.0`;
// for a UDP port, one empty datagram (a DNS query on a DNS port) and a
// short wait for a reply or an ICMP port unreachable.
type ProbeObservation struct {
	Pod       string
	Container string
	// Protocol is ProtocolUDP for a UDP port, empty for TCP.
	Protocol string `json:",omitempty"`
	Port     int32
	// Path is the HTTP path asked when the port sends no banner ("/" unless
	// an httpGet probe or the cinch.dev/probe-paths annotation names one).
	// Port and Path identify the probed target across runs.
	Path string
	// Offset is the time since the run started.
	Offset time.Duration
	// Accepted reports whether the TCP connection was accepted; for UDP,
	// that no ICMP port unreachable came back.
	Accepted bool
	// Answer is the answer as one line, built by BannerAnswer, ReplyAnswer,
	// HTTPAnswer, DNSAnswer or one of the Answer* constants.
	Answer string
	// Body is what was read of the body of an HTTP answer; nil for other
	// answers.
	Body *HTTPBody `json:",omitempty"`
}
