package signals

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/cinch-dev/cinch/pkg/hardening"
	"github.com/cinch-dev/cinch/pkg/oracle"
)

// Defaults of ProbeOptions.
const (
	DefaultProbeRounds         = 4
	DefaultProbeMaxPods        = 3
	DefaultProbeMaxTargets     = 8
	DefaultProbeConnectTimeout = 2 * time.Second
	DefaultProbeBannerWindow   = time.Second
	DefaultProbeReplyTimeout   = 3 * time.Second
	DefaultProbeMaxAnswerBytes = 4096
	// minProbeInterval bounds how often rounds follow one another.
	minProbeInterval = 2 * time.Second
)

// ProbeOptions configures a ServiceProber. Zero fields take their defaults.
type ProbeOptions struct {
	// Rounds is how many times every target is probed, spread over the
	// recording from the first poll with a Ready pod.
	Rounds int
	// MaxPods and MaxTargets bound the pods probed per round (by name) and
	// the targets (port and path) per pod.
	MaxPods, MaxTargets int
	// ConnectTimeout bounds the TCP connect; BannerWindow is how long the
	// server has to send something unprompted; ReplyTimeout bounds the
	// answer to the GET.
	ConnectTimeout, BannerWindow, ReplyTimeout time.Duration
	// MaxAnswerBytes bounds what is read of one answer.
	MaxAnswerBytes int
	// Networks, when not empty, are the only networks whose pod IPs are
	// probed (e.g. the clone pod CIDR 198.18.0.0/24).
	Networks []netip.Prefix
	// Dial connects to a pod IP and port ("tcp", "ip:port"); nil means a
	// net.Dialer. Tests use it to observe every address dialled.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

func (o ProbeOptions) withDefaults() ProbeOptions {
	if o.Rounds <= 0 {
		o.Rounds = DefaultProbeRounds
	}
	if o.MaxPods <= 0 {
		o.MaxPods = DefaultProbeMaxPods
	}
	if o.MaxTargets <= 0 {
		o.MaxTargets = DefaultProbeMaxTargets
	}
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = DefaultProbeConnectTimeout
	}
	if o.BannerWindow <= 0 {
		o.BannerWindow = DefaultProbeBannerWindow
	}
	if o.ReplyTimeout <= 0 {
		o.ReplyTimeout = DefaultProbeReplyTimeout
	}
	if o.MaxAnswerBytes <= 0 {
		o.MaxAnswerBytes = DefaultProbeMaxAnswerBytes
	}
	if o.Dial == nil {
		d := &net.Dialer{}
		o.Dial = d.DialContext
	}
	return o
}

// ProbeTarget is one port (and HTTP path) of one pod to probe.
type ProbeTarget struct {
	// Container declares the port; empty when only a Service names it.
	Container string
	Port      int32
	// Path is asked with GET when the port sends no banner.
	Path string
}

// ProbeTargets derives the targets of pod: its containers' TCP
// containerPorts, the ports of their httpGet and tcpSocket probes, the
// target ports of the Services that select the pod, and the paths of the
// cinch.dev/probe-paths annotation. A port with httpGet probe paths is asked
// those paths instead of "/". At most maxTargets are returned, by port and
// path.
func ProbeTargets(pod *corev1.Pod, services []corev1.Service, maxTargets int) []ProbeTarget {
	owner := map[int32]string{}   // port -> container
	named := map[string]int32{}   // port name -> number
	paths := map[int32][]string{} // port -> httpGet paths
	ports := map[int32]bool{}
	containers := append([]corev1.Container(nil), pod.Spec.Containers...)
	for _, c := range pod.Spec.InitContainers {
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			containers = append(containers, c) // sidecar
		}
	}
	for _, c := range containers {
		for _, p := range c.Ports {
			if p.Protocol != "" && p.Protocol != corev1.ProtocolTCP {
				continue
			}
			ports[p.ContainerPort] = true
			if _, ok := owner[p.ContainerPort]; !ok {
				owner[p.ContainerPort] = c.Name
			}
			if p.Name != "" {
				named[p.Name] = p.ContainerPort
			}
		}
	}
	resolve := func(p intstr.IntOrString) int32 {
		if p.Type == intstr.String {
			return named[p.StrVal]
		}
		return p.IntVal
	}
	for _, c := range containers {
		for _, pr := range []*corev1.Probe{c.ReadinessProbe, c.LivenessProbe, c.StartupProbe} {
			if pr == nil {
				continue
			}
			var n int32
			switch {
			case pr.HTTPGet != nil:
				if n = resolve(pr.HTTPGet.Port); n > 0 {
					path := pr.HTTPGet.Path
					if !strings.HasPrefix(path, "/") {
						path = "/" + path
					}
					paths[n] = appendNew(paths[n], path)
				}
			case pr.TCPSocket != nil:
				n = resolve(pr.TCPSocket.Port)
			}
			if n > 0 {
				ports[n] = true
				if _, ok := owner[n]; !ok {
					owner[n] = c.Name
				}
			}
		}
	}
	for _, s := range services {
		if s.Namespace != "" && s.Namespace != pod.Namespace || len(s.Spec.Selector) == 0 ||
			!labels.SelectorFromSet(s.Spec.Selector).Matches(labels.Set(pod.Labels)) {
			continue
		}
		for _, sp := range s.Spec.Ports {
			if sp.Protocol != "" && sp.Protocol != corev1.ProtocolTCP {
				continue
			}
			n := sp.Port
			if sp.TargetPort.Type == intstr.String || sp.TargetPort.IntVal != 0 {
				n = resolve(sp.TargetPort)
			}
			if n > 0 {
				ports[n] = true
			}
		}
	}
	var out []ProbeTarget
	for n := range ports {
		ps := paths[n]
		if len(ps) == 0 {
			ps = []string{"/"}
		}
		for _, p := range ps {
			out = append(out, ProbeTarget{Container: owner[n], Port: n, Path: p})
		}
	}
	for _, item := range strings.Split(pod.Annotations[hardening.AnnotationProbePaths], ",") {
		port, path, ok := strings.Cut(strings.TrimSpace(item), ":")
		if !ok || !strings.HasPrefix(path, "/") {
			continue
		}
		n := named[port]
		if v, err := strconv.ParseInt(port, 10, 32); err == nil {
			n = int32(v)
		}
		if n <= 0 || n > 65535 {
			continue
		}
		t := ProbeTarget{Container: owner[n], Port: n, Path: path}
		dup := false
		for _, o := range out {
			dup = dup || (o.Port == t.Port && o.Path == t.Path)
		}
		if !dup {
			out = append(out, t)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Port != out[j].Port {
			return out[i].Port < out[j].Port
		}
		return out[i].Path < out[j].Path
	})
	if maxTargets > 0 && len(out) > maxTargets {
		out = out[:maxTargets]
	}
	return out
}

func appendNew(s []string, v string) []string {
	for _, x := range s {
		if x == v {
			return s
		}
	}
	return append(s, v)
}

// ServiceProber is the Prober of TC-05: during a recording it acts as a
// minimal client of the run's own Ready pods, a few rounds spread over the
// recording. Per target it connects to the pod IP, reads what the server
// sends unprompted within a short window and, when it sends nothing, sends
// one `GET <path> HTTP/1.0` and reads the status line and header names.
// Nothing else is sent; nothing is dialled but the pods' own IPs. Rounds run
// in the background so they never hold up the recorder's polls; Fill waits
// for a round in flight (bounded by the timeouts).
type ServiceProber struct {
	opts     ProbeOptions
	interval time.Duration
	services []corev1.Service

	mu     sync.Mutex
	rounds int
	next   time.Duration
	obs    []oracle.ProbeObservation
	wg     sync.WaitGroup
	busy   bool
}

var _ Prober = (*ServiceProber)(nil)

// NewServiceProber returns a prober for one recording of the given
// duration; services are the Services of the run's namespace (their target
// ports are probed on the pods they select). Use one per Record.
func NewServiceProber(opts ProbeOptions, duration time.Duration, services []corev1.Service) *ServiceProber {
	opts = opts.withDefaults()
	return &ServiceProber{
		opts:     opts,
		interval: max(minProbeInterval, duration/time.Duration(opts.Rounds)),
		services: services,
		next:     -1,
	}
}

// Probe starts a round when one is due and none is in flight. Only Ready,
// running pods with a pod IP (inside Networks, when set) and without host
// networking are probed.
func (p *ServiceProber) Probe(ctx context.Context, pods []corev1.Pod, offset time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.busy || p.rounds >= p.opts.Rounds || (p.next >= 0 && offset < p.next) {
		return
	}
	type job struct {
		pod  string
		addr netip.Addr
		t    ProbeTarget
	}
	var jobs []job
	sorted := append([]corev1.Pod(nil), pods...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	n := 0
	for i := range sorted {
		pod := &sorted[i]
		addr, ok := p.eligible(pod)
		if !ok {
			continue
		}
		if n++; n > p.opts.MaxPods {
			break
		}
		for _, t := range ProbeTargets(pod, p.services, p.opts.MaxTargets) {
			jobs = append(jobs, job{pod: pod.Name, addr: addr, t: t})
		}
	}
	if n == 0 {
		return // no Ready pod yet: the first round waits for one
	}
	if p.next < 0 {
		p.next = offset
	}
	p.next += p.interval
	p.rounds++
	p.busy = true
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		res := make([]oracle.ProbeObservation, len(jobs))
		var wg sync.WaitGroup
		for i, j := range jobs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				accepted, answer := ProbeAnswer(ctx, p.opts, netip.AddrPortFrom(j.addr, uint16(j.t.Port)), j.t.Path)
				res[i] = oracle.ProbeObservation{Pod: j.pod, Container: j.t.Container, Port: j.t.Port, Path: j.t.Path, Offset: offset, Accepted: accepted, Answer: answer}
			}()
		}
		wg.Wait()
		p.mu.Lock()
		defer p.mu.Unlock()
		p.busy = false
		if ctx.Err() != nil {
			return // a cancelled round says nothing about the workload
		}
		p.obs = append(p.obs, res...)
	}()
}

func (p *ServiceProber) eligible(pod *corev1.Pod) (netip.Addr, bool) {
	if pod.DeletionTimestamp != nil || pod.Status.Phase != corev1.PodRunning || pod.Spec.HostNetwork {
		return netip.Addr{}, false
	}
	ready := false
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
			ready = true
		}
	}
	addr, err := netip.ParseAddr(pod.Status.PodIP)
	if !ready || err != nil || addr.IsUnspecified() || addr.IsLoopback() {
		return netip.Addr{}, false
	}
	if len(p.opts.Networks) == 0 {
		return addr, true
	}
	for _, n := range p.opts.Networks {
		if n.Contains(addr) {
			return addr, true
		}
	}
	return netip.Addr{}, false
}

// Fill waits for a round in flight and sets rec.Probes to every
// observation so far. It may be called more than once (e.g. on a partial
// recording for EarlyFailure).
func (p *ServiceProber) Fill(rec *oracle.Recording) {
	p.wg.Wait()
	p.mu.Lock()
	defer p.mu.Unlock()
	rec.Probes = append([]oracle.ProbeObservation(nil), p.obs...)
}

// ProbeAnswer probes one address: connect, read what the server sends
// unprompted within opts.BannerWindow and, when nothing comes, send
// `GET path HTTP/1.0` and read the answer's head. It returns whether the
// connection was accepted and the answer as an oracle answer line.
func ProbeAnswer(ctx context.Context, opts ProbeOptions, addr netip.AddrPort, path string) (accepted bool, answer string) {
	opts = opts.withDefaults()
	if path == "" {
		path = "/"
	}
	cctx, cancel := context.WithTimeout(ctx, opts.ConnectTimeout)
	conn, err := opts.Dial(cctx, "tcp", addr.String())
	cancel()
	if err != nil {
		switch {
		case errors.Is(err, syscall.ECONNREFUSED):
			return false, oracle.AnswerRefused
		case isReset(err):
			return true, oracle.AnswerReset // accepted, then reset at once
		}
		return false, oracle.AnswerUnreachable
	}
	defer func() { _ = conn.Close() }()
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	buf := make([]byte, opts.MaxAnswerBytes)
	_ = conn.SetReadDeadline(time.Now().Add(opts.BannerWindow))
	n, err := readUntil(conn, buf, "\n")
	switch {
	case n > 0:
		return true, oracle.BannerAnswer(string(buf[:n]))
	case isReset(err):
		return true, oracle.AnswerReset
	case err != nil && !isTimeout(err):
		return true, oracle.AnswerClosed // EOF: closed without a word
	}

	_ = conn.SetDeadline(time.Now().Add(opts.ReplyTimeout))
	if _, err := io.WriteString(conn, "GET "+path+" HTTP/1.0\r\n\r\n"); err != nil {
		if isReset(err) {
			return true, oracle.AnswerReset
		}
		return true, oracle.AnswerClosed
	}
	n, err = readUntil(conn, buf, "\r\n\r\n")
	head := string(buf[:n])
	switch {
	case n == 0 && isTimeout(err):
		return true, oracle.AnswerSilent
	case n == 0 && isReset(err):
		return true, oracle.AnswerReset
	case n == 0:
		return true, oracle.AnswerClosed
	case strings.HasPrefix(head, "HTTP/"):
		status, rest, _ := strings.Cut(head, "\n")
		var names []string
		for _, l := range strings.Split(rest, "\n") {
			if k, _, ok := strings.Cut(l, ":"); ok && !strings.ContainsAny(k, " \t") {
				names = append(names, k)
			}
		}
		return true, oracle.HTTPAnswer(strings.TrimSpace(status), names)
	default:
		return true, oracle.ReplyAnswer(head)
	}
}

// readUntil reads into buf until it holds sep, is full, or a read fails;
// it returns the bytes read and the error that stopped it (nil when sep
// was seen or buf is full).
func readUntil(r io.Reader, buf []byte, sep string) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := r.Read(buf[n:])
		n += m
		if strings.Contains(string(buf[:n]), sep) {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func isReset(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// String renders a target for logs.
func (t ProbeTarget) String() string { return fmt.Sprintf("%s:%d%s", t.Container, t.Port, t.Path) }
