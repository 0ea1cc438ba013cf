package signals

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/cinch-dev/cinch/pkg/hardening"
	"github.com/cinch-dev/cinch/pkg/oracle"
)

func TestProbeTargets(t *testing.T) {
	httpGet := func(port intstr.IntOrString, path string) *corev1.Probe {
		return &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: path, Port: port}}}
	}
	base := func() *corev1.Pod {
		return &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "web-1", Namespace: "ns", Labels: map[string]string{"app": "web"}},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{
				Name: "app",
				Ports: []corev1.ContainerPort{
					{Name: "http", ContainerPort: 8080},
					{ContainerPort: 7000},
					{Name: "sctp", ContainerPort: 9999, Protocol: corev1.ProtocolSCTP},
				},
			}}},
		}
	}
	svc := func(ns string, sel map[string]string, ports ...corev1.ServicePort) corev1.Service {
		return corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "s", Namespace: ns}, Spec: corev1.ServiceSpec{Selector: sel, Ports: ports}}
	}
	tests := []struct {
		name     string
		pod      func() *corev1.Pod
		services []corev1.Service
		max      int
		want     []ProbeTarget
	}{
		{
			name: "TCP container ports with the default path",
			pod:  base,
			want: []ProbeTarget{{Container: "app", Port: 7000, Path: "/"}, {Container: "app", Port: 8080, Path: "/"}},
		},
		{
			name: "httpGet probe paths replace / on their port, tcpSocket ports are added",
			pod: func() *corev1.Pod {
				p := base()
				p.Spec.Containers[0].ReadinessProbe = httpGet(intstr.FromString("http"), "/healthz")
				p.Spec.Containers[0].LivenessProbe = httpGet(intstr.FromInt32(8080), "livez")
				p.Spec.Containers[0].StartupProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(9000)}}}
				return p
			},
			want: []ProbeTarget{{Container: "app", Port: 7000, Path: "/"}, {Container: "app", Port: 8080, Path: "/healthz"}, {Container: "app", Port: 8080, Path: "/livez"}, {Container: "app", Port: 9000, Path: "/"}},
		},
		{
			name: "target ports of Services selecting the pod",
			pod:  base,
			services: []corev1.Service{
				svc("ns", map[string]string{"app": "web"}, corev1.ServicePort{Port: 80, TargetPort: intstr.FromString("http")}, corev1.ServicePort{Port: 6379}, corev1.ServicePort{Port: 443, TargetPort: intstr.FromInt32(8443)}, corev1.ServicePort{Port: 53, Protocol: corev1.ProtocolUDP}),
				svc("ns", map[string]string{"app": "other"}, corev1.ServicePort{Port: 1111}),
				svc("elsewhere", map[string]string{"app": "web"}, corev1.ServicePort{Port: 2222}),
				svc("ns", nil, corev1.ServicePort{Port: 3333}),
			},
			want: []ProbeTarget{{Port: 53, Protocol: corev1.ProtocolUDP, DNS: true}, {Container: "", Port: 6379, Path: "/"}, {Container: "app", Port: 7000, Path: "/"}, {Container: "app", Port: 8080, Path: "/"}, {Container: "", Port: 8443, Path: "/"}},
		},
		{
			name: "annotation adds paths by port number or name, ignores junk",
			pod: func() *corev1.Pod {
				p := base()
				p.Annotations = map[string]string{hardening.AnnotationProbePaths: "8080:/page, http:/ready,7000:nope,x:/y,99999:/z,8080:/page"}
				return p
			},
			want: []ProbeTarget{{Container: "app", Port: 7000, Path: "/"}, {Container: "app", Port: 8080, Path: "/"}, {Container: "app", Port: 8080, Path: "/page"}, {Container: "app", Port: 8080, Path: "/ready"}},
		},
		{
			name: "UDP ports, DNS by port name or number, of the container or the Service",
			pod: func() *corev1.Pod {
				p := base()
				p.Spec.Containers[0].Ports = []corev1.ContainerPort{
					{Name: "syslog", ContainerPort: 514, Protocol: corev1.ProtocolUDP},
					{Name: "dns", ContainerPort: 1053, Protocol: corev1.ProtocolUDP},
					{Name: "dns-tcp", ContainerPort: 1053, Protocol: corev1.ProtocolTCP},
					{ContainerPort: 5353, Protocol: corev1.ProtocolUDP},
					{Name: "resolver", ContainerPort: 8053, Protocol: corev1.ProtocolUDP},
					{Name: "stats", ContainerPort: 8125, Protocol: corev1.ProtocolUDP},
				}
				return p
			},
			services: []corev1.Service{svc("ns", map[string]string{"app": "web"},
				corev1.ServicePort{Name: "domain", Port: 8053, Protocol: corev1.ProtocolUDP},
				corev1.ServicePort{Name: "metrics", Port: 9125, Protocol: corev1.ProtocolUDP, TargetPort: intstr.FromString("stats")},
				corev1.ServicePort{Name: "other", Port: 9126, Protocol: corev1.ProtocolUDP, TargetPort: intstr.FromString("nope")},
			)},
			want: []ProbeTarget{
				{Container: "app", Port: 514, Protocol: corev1.ProtocolUDP},
				{Container: "app", Port: 1053, Path: "/"},
				{Container: "app", Port: 1053, Protocol: corev1.ProtocolUDP, DNS: true},
				{Container: "app", Port: 5353, Protocol: corev1.ProtocolUDP, DNS: true},
				{Container: "app", Port: 8053, Protocol: corev1.ProtocolUDP, DNS: true},
				{Container: "app", Port: 8125, Protocol: corev1.ProtocolUDP},
			},
		},
		{
			name: "bounded",
			pod:  base,
			max:  1,
			want: []ProbeTarget{{Container: "app", Port: 7000, Path: "/"}},
		},
		{
			name: "sidecar init containers count, others do not",
			pod: func() *corev1.Pod {
				p := base()
				p.Spec.InitContainers = []corev1.Container{
					{Name: "side", RestartPolicy: ptr.To(corev1.ContainerRestartPolicyAlways), Ports: []corev1.ContainerPort{{ContainerPort: 15000}}},
					{Name: "init", Ports: []corev1.ContainerPort{{ContainerPort: 16000}}},
				}
				return p
			},
			want: []ProbeTarget{{Container: "app", Port: 7000, Path: "/"}, {Container: "app", Port: 8080, Path: "/"}, {Container: "side", Port: 15000, Path: "/"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, ProbeTargets(tt.pod(), tt.services, tt.max))
		})
	}
}

// server is a loopback TCP server that runs handle per connection and
// keeps what each client sent. A handle returning false closes the
// connection at once; otherwise the server reads on until the client closes.
type server struct {
	ln   net.Listener
	mu   sync.Mutex
	sent []string
}

func newServer(t *testing.T, handle func(c net.Conn) bool) *server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s := &server{ln: ln}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer func() { _ = c.Close() }()
				rec := &recordingConn{Conn: c}
				if handle(rec) {
					// collect whatever else the client sends until it closes
					_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
					_, _ = io.Copy(io.Discard, rec)
				}
				s.mu.Lock()
				s.sent = append(s.sent, string(rec.got))
				s.mu.Unlock()
			}()
		}
	}()
	return s
}

func (s *server) addr() netip.AddrPort { return netip.MustParseAddrPort(s.ln.Addr().String()) }

func (s *server) received(t *testing.T, n int) []string {
	t.Helper()
	require.Eventually(t, func() bool { s.mu.Lock(); defer s.mu.Unlock(); return len(s.sent) >= n }, 5*time.Second, 10*time.Millisecond)
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.sent...)
}

type recordingConn struct {
	net.Conn
	got []byte
}

func (r *recordingConn) Read(p []byte) (int, error) {
	n, err := r.Conn.Read(p)
	r.got = append(r.got, p[:n]...)
	return n, err
}

func readRequest(c net.Conn) bool {
	buf := make([]byte, 1024)
	_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
	_, _ = readUntil(c, buf, "\r\n\r\n")
	return false
}

// answer returns a handler that reads the request, then writes parts.
func answer(parts ...string) func(c net.Conn) bool {
	return func(c net.Conn) bool {
		readRequest(c)
		for _, p := range parts {
			_, _ = io.WriteString(c, p)
			time.Sleep(20 * time.Millisecond)
		}
		return true
	}
}

func greet(s string, wait time.Duration) func(c net.Conn) bool {
	return func(c net.Conn) bool {
		_, _ = io.WriteString(c, s)
		time.Sleep(wait)
		return true
	}
}

var fastProbe = ProbeOptions{BannerWindow: 200 * time.Millisecond, ReplyTimeout: 500 * time.Millisecond, ConnectTimeout: time.Second}

func TestProbeAnswer(t *testing.T) {
	const get = "GET /p HTTP/1.0\r\n\r\n"
	body := func(prefix string, n int) *oracle.HTTPBody { return &oracle.HTTPBody{Prefix: prefix, Bytes: n} }
	big := strings.Repeat("0123456789abcdef", 1500) // 24,000 bytes
	tests := []struct {
		name     string
		handle   func(c net.Conn) bool
		accepted bool
		answer   string
		body     *oracle.HTTPBody
		sent     string // what the client sent
	}{
		{
			name:     "banner: nothing is sent",
			handle:   greet("+OK scenario spool ready\r\n", 0),
			accepted: true, answer: "banner +OK scenario spool ready",
		},
		{
			name:     "banner without newline",
			handle:   greet("SSH-2.0-Go", 300*time.Millisecond),
			accepted: true, answer: "banner SSH-2.0-Go",
		},
		{
			name:     "HTTP: status line and header names of the answer to one GET, body until the server closes",
			handle:   answer("HTTP/1.0 500 Internal Server Error\r\nContent-Type: text/plain\r\nDate: Tue, 26 Nov 2024 03:40:01 GMT\r\n\r\ninternal error\n"),
			accepted: true, answer: "http server-error 500 Internal Server Error headers content-type date", body: body("internal error\n", 15), sent: get,
		},
		{
			name:     "HTTP head in pieces; body lines that look like headers are not headers",
			handle:   answer("HTTP/1.1 2", "00 OK\r\nServer: x\r\n", "\r\nerror: none\n"),
			accepted: true, answer: "http success 200 OK headers server", body: body("error: none\n", 12), sent: get,
		},
		{
			name:     "HTTP body of Content-Length, the rest ignored",
			handle:   answer("HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nhello\nTRAILING GARBAGE"),
			accepted: true, answer: "http success 200 OK headers content-length", body: body("hello\n", 6), sent: get,
		},
		{
			name:     "HTTP 200 with an empty body",
			handle:   answer("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 0\r\n\r\n"),
			accepted: true, answer: "http success 200 OK headers content-length content-type", body: body("", 0), sent: get,
		},
		{
			name:     "HTTP 204 has no body",
			handle:   answer("HTTP/1.1 204 No Content\r\n\r\n"),
			accepted: true, answer: "http success 204 No Content headers", body: body("", 0), sent: get,
		},
		{
			name:     "a long body of Content-Length: its prefix and its length",
			handle:   answer("HTTP/1.1 200 OK\r\nContent-Length: 24000\r\n\r\n", big),
			accepted: true, answer: "http success 200 OK headers content-length", body: body(big[:oracle.BodyPrefixBytes], 24000), sent: get,
		},
		{
			name:     "a long body without Content-Length is read up to the large class",
			handle:   answer("HTTP/1.0 200 OK\r\n\r\n", big),
			accepted: true, answer: "http success 200 OK headers", sent: get,
			body: body(big[:oracle.BodyPrefixBytes], -1), // Bytes checked below
		},
		{
			name: "a body that stalls is as long as what arrived",
			handle: func(c net.Conn) bool {
				answer("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", "0123456789")(c)
				time.Sleep(time.Second)
				return true
			},
			accepted: true, answer: "http success 200 OK headers content-length", body: body("0123456789", 10), sent: get,
		},
		{
			name:     "line protocol reply",
			handle:   answer("-ERR wrong number of arguments for 'get' command\r\n"),
			accepted: true, answer: "reply -ERR wrong number of arguments for 'get' command", sent: get,
		},
		{
			name:     "closed at once",
			handle:   func(net.Conn) bool { return false },
			accepted: true, answer: oracle.AnswerClosed,
		},
		{
			name:     "closed after the GET",
			handle:   readRequest,
			accepted: true, answer: oracle.AnswerClosed, sent: get,
		},
		{
			name:     "silent",
			handle:   greet("", time.Second),
			accepted: true, answer: oracle.AnswerSilent, sent: get,
		},
		{
			name: "reset",
			handle: func(c net.Conn) bool {
				time.Sleep(50 * time.Millisecond) // after the client's connect returned
				_ = c.(*recordingConn).Conn.(*net.TCPConn).SetLinger(0)
				return false
			},
			accepted: true, answer: oracle.AnswerReset,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t, tt.handle)
			r := ProbeAnswer(t.Context(), fastProbe, s.addr(), "/p")
			assert.Equal(t, tt.accepted, r.Accepted)
			assert.Equal(t, tt.answer, r.Answer)
			if tt.body != nil && tt.body.Bytes < 0 {
				require.NotNil(t, r.Body)
				assert.Equal(t, tt.body.Prefix, r.Body.Prefix)
				assert.GreaterOrEqual(t, r.Body.Bytes, oracle.BodyLargeBytes)
				assert.Equal(t, oracle.BodyLarge, oracle.BodyClass(r.Body.Bytes))
			} else {
				assert.Equal(t, tt.body, r.Body)
			}
			assert.Equal(t, []string{tt.sent}, s.received(t, 1))
		})
	}

	t.Run("refused", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		addr := netip.MustParseAddrPort(ln.Addr().String())
		require.NoError(t, ln.Close())
		r := ProbeAnswer(t.Context(), fastProbe, addr, "/")
		assert.Equal(t, ProbeResult{Answer: oracle.AnswerRefused}, r)
	})
	t.Run("unreachable", func(t *testing.T) {
		o := fastProbe
		o.Dial = func(ctx context.Context, _, _ string) (net.Conn, error) { <-ctx.Done(); return nil, ctx.Err() }
		o.ConnectTimeout = 50 * time.Millisecond
		r := ProbeAnswer(t.Context(), o, netip.MustParseAddrPort("198.18.0.9:80"), "/")
		assert.Equal(t, ProbeResult{Answer: oracle.AnswerUnreachable}, r)
	})
}

// udpServer is a loopback UDP server that answers each datagram with
// reply(datagram) (nothing when it returns nil) and keeps the datagrams
// it received.
type udpServer struct {
	pc   net.PacketConn
	mu   sync.Mutex
	got  [][]byte
	addr netip.AddrPort
}

func newUDPServer(t *testing.T, reply func(d []byte) []byte) *udpServer {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = pc.Close() })
	s := &udpServer{pc: pc, addr: netip.MustParseAddrPort(pc.LocalAddr().String())}
	go func() {
		buf := make([]byte, 2048)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			d := append([]byte{}, buf[:n]...)
			s.mu.Lock()
			s.got = append(s.got, d)
			s.mu.Unlock()
			if r := reply(d); r != nil {
				_, _ = pc.WriteTo(r, from)
			}
		}
	}()
	return s
}

func (s *udpServer) received() [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([][]byte(nil), s.got...)
}

// dnsReply answers a DNS query with rcode, echoing its id and question.
func dnsReply(rcode byte) func(q []byte) []byte {
	return func(q []byte) []byte {
		if len(q) < 12 {
			return nil
		}
		r := append([]byte(nil), q...)
		r[2] |= 0x80 // QR
		r[3] = r[3]&0xf0 | rcode
		return r
	}
}

func TestProbeDatagram(t *testing.T) {
	o := fastProbe
	o.ReplyTimeout = 300 * time.Millisecond
	tests := []struct {
		name   string
		reply  func(d []byte) []byte
		dns    bool
		answer string
		sends  int // datagrams the server received, at least
	}{
		{name: "echo of the empty datagram", reply: func(d []byte) []byte { return d }, answer: "reply (empty)", sends: 1},
		{name: "a text reply", reply: func([]byte) []byte { return []byte("pong\n") }, answer: "reply pong", sends: 1},
		{name: "a server that ignores the datagram is silent; the datagram is resent", reply: func([]byte) []byte { return nil }, answer: oracle.AnswerSilent, sends: 1},
		{name: "DNS NOERROR", reply: dnsReply(0), dns: true, answer: "dns success NOERROR", sends: 1},
		{name: "DNS SERVFAIL", reply: dnsReply(2), dns: true, answer: "dns server-failure SERVFAIL", sends: 1},
		{name: "a DNS reply to another id is no DNS answer", reply: func(q []byte) []byte { r := dnsReply(0)(q); r[0]++; return r }, dns: true, answer: "reply binary", sends: 1},
		{name: "a DNS port that ignores the query is silent", reply: func([]byte) []byte { return nil }, dns: true, answer: oracle.AnswerSilent, sends: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newUDPServer(t, tt.reply)
			r := ProbeDatagram(t.Context(), o, s.addr, tt.dns)
			assert.Equal(t, tt.answer, r.Answer)
			assert.True(t, r.Accepted)
			assert.Nil(t, r.Body)
			got := s.received()
			require.GreaterOrEqual(t, len(got), tt.sends)
			for _, d := range got {
				if !tt.dns {
					assert.Empty(t, d, "only an empty datagram is sent")
					continue
				}
				// "." NS IN, RD=0
				require.Len(t, d, 17)
				assert.Equal(t, []byte{0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 1}, d[2:])
			}
		})
	}
	t.Run("resent every second until the reply timeout", func(t *testing.T) {
		s := newUDPServer(t, func([]byte) []byte { return nil })
		o := fastProbe
		o.ReplyTimeout = 2500 * time.Millisecond
		r := ProbeDatagram(t.Context(), o, s.addr, false)
		assert.Equal(t, oracle.AnswerSilent, r.Answer)
		assert.Eventually(t, func() bool { return len(s.received()) == 3 }, time.Second, 10*time.Millisecond)
	})
	t.Run("a closed port is refused (ICMP port unreachable)", func(t *testing.T) {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		require.NoError(t, err)
		addr := netip.MustParseAddrPort(pc.LocalAddr().String())
		require.NoError(t, pc.Close())
		for _, dns := range []bool{false, true} {
			r := ProbeDatagram(t.Context(), o, addr, dns)
			assert.Equal(t, ProbeResult{Answer: oracle.AnswerRefused}, r)
		}
	})
}

func probePod(name, ip string, ready bool, ports ...int32) corev1.Pod {
	p := corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "clone"},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app"}}},
		Status:     corev1.PodStatus{Phase: corev1.PodRunning, PodIP: ip},
	}
	for _, n := range ports {
		p.Spec.Containers[0].Ports = append(p.Spec.Containers[0].Ports, corev1.ContainerPort{ContainerPort: n})
	}
	st := corev1.ConditionFalse
	if ready {
		st = corev1.ConditionTrue
	}
	p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: st}}
	return p
}

func TestServiceProber(t *testing.T) {
	banner := newServer(t, greet("+OK ready\r\n", 0))
	web := newServer(t, answer("HTTP/1.0 200 OK\r\nDate: x\r\n\r\n"))
	backends := map[string]netip.AddrPort{"7000": banner.addr(), "8080": web.addr()}

	hostNet := probePod("d-host", "198.18.0.7", true, 7000)
	hostNet.Spec.HostNetwork = true
	deleting := probePod("e-gone", "198.18.0.8", true, 7000)
	deleting.DeletionTimestamp = &metav1.Time{Time: time.Now()}
	pods := []corev1.Pod{
		probePod("a-web", "198.18.0.5", true, 7000, 8080),
		probePod("b-starting", "198.18.0.6", false, 7000),
		probePod("c-outside", "10.0.0.5", true, 7000),
		hostNet, deleting,
	}

	var mu sync.Mutex
	var dialled []string
	opts := fastProbe
	opts.Rounds = 3
	opts.Networks = []netip.Prefix{netip.MustParsePrefix("198.18.0.0/24")}
	opts.Dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		mu.Lock()
		dialled = append(dialled, addr)
		mu.Unlock()
		ap := netip.MustParseAddrPort(addr)
		b, ok := backends[strconv.Itoa(int(ap.Port()))]
		if !ok {
			return nil, fmt.Errorf("dial %s: %w", addr, &net.OpError{Op: "dial", Err: fmt.Errorf("no route")})
		}
		var d net.Dialer
		return d.DialContext(ctx, network, b.String())
	}
	p := NewServiceProber(opts, 30*time.Second, nil) // a round every 10 s
	ctx := t.Context()

	p.Probe(ctx, []corev1.Pod{pods[1]}, time.Second) // nothing Ready: no round
	for off := 2 * time.Second; off <= 60*time.Second; off += time.Second {
		p.Probe(ctx, pods, off)
		p.Fill(&oracle.Recording{}) // let each round finish, as a partial Fill does
	}
	var rec oracle.Recording
	p.Fill(&rec)

	var got []string
	for _, o := range rec.Probes {
		assert.Equal(t, "a-web", o.Pod)
		assert.True(t, o.Accepted)
		got = append(got, fmt.Sprintf("%s %d %s %s", o.Offset, o.Port, o.Path, o.Answer))
	}
	assert.Equal(t, []string{
		"2s 7000 / banner +OK ready", "2s 8080 / http success 200 OK headers date",
		"12s 7000 / banner +OK ready", "12s 8080 / http success 200 OK headers date",
		"22s 7000 / banner +OK ready", "22s 8080 / http success 200 OK headers date",
	}, got)
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, dialled, 6)
	for _, a := range dialled {
		assert.Contains(t, []string{"198.18.0.5:7000", "198.18.0.5:8080"}, a, "only the Ready pod's own IP is probed")
	}
	assert.Len(t, banner.received(t, 3), 3)
	assert.Equal(t, []string{"", "", ""}, banner.received(t, 3), "nothing is sent to a port with a banner")
	assert.Equal(t, []string{"GET / HTTP/1.0\r\n\r\n", "GET / HTTP/1.0\r\n\r\n", "GET / HTTP/1.0\r\n\r\n"}, web.received(t, 3))
}

func TestServiceProberBoundsPods(t *testing.T) {
	var mu sync.Mutex
	hosts := map[string]bool{}
	opts := fastProbe
	opts.Rounds = 1
	opts.MaxPods = 2
	opts.Dial = func(_ context.Context, _, addr string) (net.Conn, error) {
		mu.Lock()
		hosts[netip.MustParseAddrPort(addr).Addr().String()] = true
		mu.Unlock()
		return nil, &net.OpError{Op: "dial", Err: fmt.Errorf("unreachable")}
	}
	p := NewServiceProber(opts, time.Minute, nil)
	p.Probe(t.Context(), []corev1.Pod{
		probePod("c", "198.18.0.3", true, 80), probePod("a", "198.18.0.1", true, 80), probePod("b", "198.18.0.2", true, 80),
	}, 0)
	var rec oracle.Recording
	p.Fill(&rec)
	assert.Equal(t, map[string]bool{"198.18.0.1": true, "198.18.0.2": true}, hosts)
	require.Len(t, rec.Probes, 2)
	assert.Equal(t, oracle.AnswerUnreachable, rec.Probes[0].Answer)
}

func TestServiceProberUDPAndBodies(t *testing.T) {
	web := newServer(t, answer("HTTP/1.0 200 OK\r\nContent-Length: 6\r\n\r\nhello\n"))
	dns := newUDPServer(t, dnsReply(0))
	pod := probePod("a-dns", "198.18.0.5", true, 8080)
	pod.Spec.Containers[0].Ports = append(pod.Spec.Containers[0].Ports, corev1.ContainerPort{Name: "dns", ContainerPort: 53, Protocol: corev1.ProtocolUDP})
	opts := fastProbe
	opts.Rounds = 1
	opts.Dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		to := web.addr().String()
		if network == "udp" {
			require.Equal(t, "198.18.0.5:53", addr)
			to = dns.addr.String()
		}
		var d net.Dialer
		return d.DialContext(ctx, network, to)
	}
	p := NewServiceProber(opts, 10*time.Second, nil)
	p.Probe(t.Context(), []corev1.Pod{pod}, time.Second)
	var rec oracle.Recording
	p.Fill(&rec)
	require.Len(t, rec.Probes, 2)
	assert.Equal(t, oracle.ProbeObservation{Pod: "a-dns", Container: "app", Protocol: oracle.ProtocolUDP, Port: 53, Offset: time.Second, Accepted: true, Answer: "dns success NOERROR"}, rec.Probes[0])
	assert.Equal(t, oracle.ProbeObservation{Pod: "a-dns", Container: "app", Port: 8080, Path: "/", Offset: time.Second, Accepted: true,
		Answer: "http success 200 OK headers content-length", Body: &oracle.HTTPBody{Prefix: "hello\n", Bytes: 6}}, rec.Probes[1])
}
