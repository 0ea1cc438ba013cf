package signals

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
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
	// answer to the GET (head and body) and the wait for a UDP reply.
	ConnectTimeout, BannerWindow, ReplyTimeout time.Duration
	// MaxAnswerBytes bounds what is read of one answer.
	MaxAnswerBytes int
	// Networks, when not empty, are the only networks whose pod IPs are
	// probed (e.g. the clone pod CIDR 198.18.0.0/24).
	Networks []netip.Prefix
	// Dial connects to a pod IP and port ("tcp" or "udp", "ip:port"); nil
	// means a net.Dialer. Tests use it to observe every address dialled.
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
	// Path is asked with GET when a TCP port sends no banner; empty for
	// UDP.
	Path string
	// Protocol is corev1.ProtocolUDP for a UDP port, empty for TCP.
	Protocol corev1.Protocol
	// DNS marks a UDP port named or numbered as DNS: it is asked a DNS
	// query instead of an empty datagram.
	DNS bool
}

// isDNSPort reports a port named (dns, dns-udp, domain) or numbered (53,
// 5353) as DNS.
func isDNSPort(name string, n int32) bool {
	switch strings.ToLower(name) {
	case "dns", "dns-udp", "domain":
		return true
	}
	return n == 53 || n == 5353
}

// ProbeTargets derives the targets of pod: its containers' TCP and UDP
// containerPorts, the ports of their httpGet and tcpSocket probes, the
// target ports of the Services that select the pod, and the paths of the
// cinch.dev/probe-paths annotation. A port with httpGet probe paths is asked
// those paths instead of "/". A UDP port named or numbered as DNS (in the
// container or the Service) is marked DNS. At most maxTargets are
// returned, by port, protocol (TCP first) and path.
func ProbeTargets(pod *corev1.Pod, services []corev1.Service, maxTargets int) []ProbeTarget {
	owner := map[int32]string{}   // port -> container
	named := map[string]int32{}   // port name -> number
	paths := map[int32][]string{} // port -> httpGet paths
	ports := map[int32]bool{}
	udpOwner := map[int32]string{}
	udpNamed := map[string]int32{}
	udp := map[int32]bool{} // UDP port -> DNS
	containers := servingContainers(pod)
	for _, c := range containers {
		for _, p := range c.Ports {
			if p.Protocol == corev1.ProtocolUDP {
				udp[p.ContainerPort] = udp[p.ContainerPort] || isDNSPort(p.Name, p.ContainerPort)
				if _, ok := udpOwner[p.ContainerPort]; !ok {
					udpOwner[p.ContainerPort] = c.Name
				}
				if p.Name != "" {
					udpNamed[p.Name] = p.ContainerPort
				}
				continue
			}
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
			if sp.Protocol == corev1.ProtocolUDP {
				n := sp.Port
				switch {
				case sp.TargetPort.Type == intstr.String:
					n = udpNamed[sp.TargetPort.StrVal]
				case sp.TargetPort.IntVal != 0:
					n = sp.TargetPort.IntVal
				}
				if n > 0 {
					udp[n] = udp[n] || isDNSPort(sp.Name, sp.Port) || isDNSPort("", n)
				}
				continue
			}
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
	for n, dns := range udp {
		out = append(out, ProbeTarget{Container: udpOwner[n], Port: n, Protocol: corev1.ProtocolUDP, DNS: dns})
	}
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
			dup = dup || (o.Protocol == "" && o.Port == t.Port && o.Path == t.Path)
		}
		if !dup {
			out = append(out, t)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Port != out[j].Port {
			return out[i].Port < out[j].Port
		}
		if out[i].Protocol != out[j].Protocol {
			return out[i].Protocol < out[j].Protocol
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
// recording. Per TCP target it connects to the pod IP, reads what the
// server sends unprompted within a short window and, when it sends
// nothing, sends one `GET <path> HTTP/1.0` and reads the status line, the
// header names and the body's length and first bytes. Per UDP target it
// sends an empty datagram (a DNS query on a DNS port) and waits for a
// reply or an ICMP port unreachable. Nothing else is sent; nothing is
// dialled but the pods' own IPs. Rounds run
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
				addr := netip.AddrPortFrom(j.addr, uint16(j.t.Port))
				var r ProbeResult
				proto := ""
				if j.t.Protocol == corev1.ProtocolUDP {
					r, proto = ProbeDatagram(ctx, p.opts, addr, j.t.DNS), oracle.ProtocolUDP
				} else {
					r = ProbeAnswer(ctx, p.opts, addr, j.t.Path)
				}
				res[i] = oracle.ProbeObservation{Pod: j.pod, Container: j.t.Container, Protocol: proto, Port: j.t.Port, Path: j.t.Path,
					Offset: offset, Accepted: r.Accepted, Answer: r.Answer, Body: r.Body}
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
	return clientAddr(pod, p.opts.Networks)
}

// clientAddr returns the address a minimal client of a run may reach pod
// on: its pod IP when the pod is Running, Ready, not being deleted, not on
// the host network, and the IP is inside networks (when given).
func clientAddr(pod *corev1.Pod, networks []netip.Prefix) (netip.Addr, bool) {
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
	if len(networks) == 0 {
		return addr, true
	}
	for _, n := range networks {
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

// ProbeResult is what one probe of one address saw.
type ProbeResult struct {
	// Accepted reports whether the TCP connection was accepted (for UDP:
	// no ICMP port unreachable came back).
	Accepted bool
	// Answer is the answer as an oracle answer line.
	Answer string
	// Body is what was read of an HTTP answer's body; nil for other
	// answers.
	Body *oracle.HTTPBody
}

// ProbeAnswer probes one TCP address: connect, read what the server sends
// unprompted within opts.BannerWindow and, when nothing comes, send
// `GET path HTTP/1.0` and read the answer's head and, for HTTP, its body:
// its first oracle.BodyPrefixBytes and its length (Content-Length, else
// what arrives until the server closes, read up to oracle.BodyLargeBytes).
func ProbeAnswer(ctx context.Context, opts ProbeOptions, addr netip.AddrPort, path string) ProbeResult {
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
			return ProbeResult{Answer: oracle.AnswerRefused}
		case isReset(err):
			return ProbeResult{Accepted: true, Answer: oracle.AnswerReset} // accepted, then reset at once
		}
		return ProbeResult{Answer: oracle.AnswerUnreachable}
	}
	defer func() { _ = conn.Close() }()
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	buf := make([]byte, opts.MaxAnswerBytes)
	_ = conn.SetReadDeadline(time.Now().Add(opts.BannerWindow))
	n, err := readUntil(conn, buf, "\n")
	switch {
	case n > 0:
		return ProbeResult{Accepted: true, Answer: oracle.BannerAnswer(string(buf[:n]))}
	case isReset(err):
		return ProbeResult{Accepted: true, Answer: oracle.AnswerReset}
	case err != nil && !isTimeout(err):
		return ProbeResult{Accepted: true, Answer: oracle.AnswerClosed} // EOF: closed without a word
	}

	_ = conn.SetDeadline(time.Now().Add(opts.ReplyTimeout))
	if _, err := io.WriteString(conn, "GET "+path+" HTTP/1.0\r\n\r\n"); err != nil {
		if isReset(err) {
			return ProbeResult{Accepted: true, Answer: oracle.AnswerReset}
		}
		return ProbeResult{Accepted: true, Answer: oracle.AnswerClosed}
	}
	n, err = readUntil(conn, buf, "\r\n\r\n")
	head := string(buf[:n])
	switch {
	case n == 0 && isTimeout(err):
		return ProbeResult{Accepted: true, Answer: oracle.AnswerSilent}
	case n == 0 && isReset(err):
		return ProbeResult{Accepted: true, Answer: oracle.AnswerReset}
	case n == 0:
		return ProbeResult{Accepted: true, Answer: oracle.AnswerClosed}
	case !strings.HasPrefix(head, "HTTP/"):
		return ProbeResult{Accepted: true, Answer: oracle.ReplyAnswer(head)}
	}
	end := strings.Index(head, "\r\n\r\n")
	if end >= 0 {
		head = head[:end]
	}
	status, rest, _ := strings.Cut(head, "\n")
	var names []string
	length := -1
	for _, l := range strings.Split(rest, "\n") {
		k, v, ok := strings.Cut(l, ":")
		if !ok || strings.ContainsAny(k, " \t") {
			continue
		}
		names = append(names, k)
		if strings.EqualFold(k, "Content-Length") {
			if v, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && v >= 0 {
				length = v
			}
		}
	}
	res := ProbeResult{Accepted: true, Answer: oracle.HTTPAnswer(strings.TrimSpace(status), names)}
	if end >= 0 {
		res.Body = readBody(conn, buf[end+4:n], statusCode(status), length)
	}
	return res
}

// statusCode returns the code of an HTTP status line, or 0.
func statusCode(status string) int {
	f := strings.Fields(status)
	if len(f) < 2 {
		return 0
	}
	c, _ := strconv.Atoi(f[1])
	return c
}

// readBody reads an HTTP body of which have arrived with the head: its
// first oracle.BodyPrefixBytes and, without a Content-Length (length < 0),
// the rest until the server closes, up to oracle.BodyLargeBytes. A 1xx,
// 204 or 304 answer has no body. A body that ends early or stalls is as
// long as what arrived.
func readBody(r io.Reader, have []byte, code, length int) *oracle.HTTPBody {
	if code/100 == 1 || code == 204 || code == 304 {
		return &oracle.HTTPBody{}
	}
	prefix := append([]byte(nil), have[:min(len(have), oracle.BodyPrefixBytes)]...)
	total := len(have)
	need := oracle.BodyLargeBytes
	if length >= 0 {
		need = min(length, oracle.BodyPrefixBytes)
	}
	chunk := make([]byte, 4096)
	var err error
	for total < need && err == nil {
		var m int
		m, err = r.Read(chunk)
		if room := oracle.BodyPrefixBytes - len(prefix); room > 0 {
			prefix = append(prefix, chunk[:min(m, room)]...)
		}
		total += m
	}
	b := &oracle.HTTPBody{Prefix: string(prefix), Bytes: total}
	if length >= 0 && total >= need {
		b.Bytes = length
	}
	if length >= 0 && len(b.Prefix) > length {
		b.Prefix = b.Prefix[:length] // what follows is not the body
	}
	return b
}

// udpRetry is how long a UDP probe waits before it sends its datagram
// again: the datagram or its reply may be lost, and the target's kernel
// rate-limits ICMP port unreachable messages (a burst, then one a second).
const udpRetry = time.Second

// ProbeDatagram probes one UDP address through a connected socket: it
// sends an empty datagram — on a DNS port, a query for the root's name
// servers without recursion ("." NS, RD=0), which any DNS server answers
// at once, if only with REFUSED — and waits up to opts.ReplyTimeout for a
// reply, sending again every second. An ICMP port unreachable is
// AnswerRefused (not accepted); no reply at all is AnswerSilent (a
// listening server that ignores the datagram, or one that stopped
// answering); a DNS reply is DNSAnswer of its response code; any other
// reply is DatagramAnswer.
func ProbeDatagram(ctx context.Context, opts ProbeOptions, addr netip.AddrPort, dns bool) ProbeResult {
	opts = opts.withDefaults()
	cctx, cancel := context.WithTimeout(ctx, opts.ConnectTimeout)
	conn, err := opts.Dial(cctx, "udp", addr.String())
	cancel()
	if err != nil {
		if errors.Is(err, syscall.ECONNREFUSED) {
			return ProbeResult{Answer: oracle.AnswerRefused}
		}
		return ProbeResult{Answer: oracle.AnswerUnreachable}
	}
	defer func() { _ = conn.Close() }()
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	var payload []byte
	var id uint16
	if dns {
		id = uint16(rand.Uint32())
		payload = dnsQuery(id)
	}
	buf := make([]byte, opts.MaxAnswerBytes)
	end := time.Now().Add(opts.ReplyTimeout)
	for {
		if _, err := conn.Write(payload); err != nil {
			if errors.Is(err, syscall.ECONNREFUSED) {
				return ProbeResult{Answer: oracle.AnswerRefused}
			}
			return ProbeResult{Answer: oracle.AnswerUnreachable}
		}
		_ = conn.SetReadDeadline(minTime(end, time.Now().Add(udpRetry)))
		n, err := conn.Read(buf)
		switch {
		case err == nil && dns:
			if rcode, ok := dnsRcode(buf[:n], id); ok {
				return ProbeResult{Accepted: true, Answer: oracle.DNSAnswer(rcode)}
			}
			return ProbeResult{Accepted: true, Answer: oracle.DatagramAnswer(string(buf[:n]))}
		case err == nil:
			return ProbeResult{Accepted: true, Answer: oracle.DatagramAnswer(string(buf[:n]))}
		case errors.Is(err, syscall.ECONNREFUSED):
			return ProbeResult{Answer: oracle.AnswerRefused}
		case !isTimeout(err) || ctx.Err() != nil:
			return ProbeResult{Answer: oracle.AnswerUnreachable}
		case !time.Now().Before(end):
			return ProbeResult{Accepted: true, Answer: oracle.AnswerSilent}
		}
	}
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// dnsQuery returns a DNS query with id for the root's name servers ("."
// NS, class IN), recursion not desired.
func dnsQuery(id uint16) []byte {
	return []byte{
		byte(id >> 8), byte(id), // ID
		0x00, 0x00, // QR=0, opcode QUERY, RD=0
		0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // QDCOUNT 1
		0x00,       // QNAME: the root
		0x00, 0x02, // QTYPE NS
		0x00, 0x01, // QCLASS IN
	}
}

// dnsRcode returns the response code of msg when it is a DNS response to
// the query with id.
func dnsRcode(msg []byte, id uint16) (int, bool) {
	if len(msg) < 12 || uint16(msg[0])<<8|uint16(msg[1]) != id || msg[2]&0x80 == 0 {
		return 0, false
	}
	return int(msg[3] & 0x0f), true
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
