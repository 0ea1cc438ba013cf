package signals

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cinch-dev/cinch/pkg/hardening"
	"github.com/cinch-dev/cinch/pkg/oracle"
)

const exposition = `# HELP app_cache_write_errors_total Cache files that could not be written.
# TYPE app_cache_write_errors_total counter
app_cache_write_errors_total 7
# HELP app_requests_total Requests by status code.
# TYPE app_requests_total counter
app_requests_total{code="200",method="GET"} 120
app_requests_total{code="503",method="GET"} 2
# TYPE app_queue_failed_total counter
app_queue_failed_total{queue="a b"} 1.5e+00
# TYPE http_request_duration_seconds histogram
http_request_duration_seconds_bucket{code="500",le="+Inf"} 4
http_request_duration_seconds_sum{code="500"} 0.2
http_request_duration_seconds_count{code="500"} 4
# TYPE app_errors_total gauge
app_errors_total 9
legacy_failures_total 3
go_goroutines 12
# EOF
`

func TestParseErrorCounters(t *testing.T) {
	got, err := ParseErrorCounters(strings.NewReader(exposition), 0)
	require.NoError(t, err)
	assert.Equal(t, []oracle.MetricSample{
		{Series: `app_cache_write_errors_total`, Value: 7},
		{Series: `app_queue_failed_total{queue="a b"}`, Value: 1.5},
		{Series: `app_requests_total{code="503",method="GET"}`, Value: 2},
		{Series: `legacy_failures_total`, Value: 3}, // untyped, named like an error counter
	}, got, "200s, histograms, gauges and other series are left out")

	got, err = ParseErrorCounters(strings.NewReader(exposition), 2)
	require.NoError(t, err)
	assert.Len(t, got, 2, "bounded")

	got, err = ParseErrorCounters(strings.NewReader(""), 0)
	require.NoError(t, err)
	assert.Empty(t, got)

	for _, bad := range []string{
		"app_errors_total{code=\"500\" 1\n",
		"app_errors_total not-a-number\n",
		"<html><body>404 page not found</body></html>\n",
		"# TYPE a counter\n# TYPE a gauge\n",
	} {
		_, err := ParseErrorCounters(strings.NewReader(bad), 0)
		assert.Error(t, err, "%q", bad)
	}
}

func TestParseMetricsAnnotation(t *testing.T) {
	entry := func(port, path string) MetricsEntry { return MetricsEntry{Port: port, Path: path} }
	https := func(port, path string) MetricsEntry { return MetricsEntry{Port: port, Path: path, Scheme: SchemeHTTPS} }
	ones := make([]MetricsEntry, 8)
	for i := range ones {
		ones[i] = entry("1", "/metrics")
	}
	tests := []struct {
		in   string
		want []MetricsEntry
		err  string
	}{
		{"9090/metrics", []MetricsEntry{entry("9090", "/metrics")}, ""},
		{":9090/metrics", []MetricsEntry{entry("9090", "/metrics")}, ""},
		{"9090", []MetricsEntry{entry("9090", "/metrics")}, ""},
		{":9090/", []MetricsEntry{entry("9090", "/metrics")}, ""},
		{" 9090/stats/prometheus , http-metrics ,", []MetricsEntry{entry("9090", "/stats/prometheus"), entry("http-metrics", "/metrics")}, ""},
		{"https:8443/metrics", []MetricsEntry{https("8443", "/metrics")}, ""},
		{"HTTPS::8443", []MetricsEntry{https("8443", "/metrics")}, ""},
		{"https:https/x", []MetricsEntry{https("https", "/x")}, ""},
		{"http:9090,https", []MetricsEntry{{Port: "9090", Path: "/metrics", Scheme: SchemeHTTP}, entry("https", "/metrics")}, ""},
		{"http/debug/vars", []MetricsEntry{entry("http", "/debug/vars")}, ""},
		{"", nil, ""},
		{"0/metrics", nil, "port out of range"},
		{"70000", nil, "port out of range"},
		{"/metrics", nil, "no port"},
		{"https:", nil, "no port"},
		{"9090 /metrics", nil, "want [SCHEME:][:]PORT[/PATH]"},
		{"9090/metrics?x=1", nil, "want [SCHEME:][:]PORT[/PATH]"},
		{"host:9090/metrics", nil, "want [SCHEME:][:]PORT[/PATH]"},
		{"ftp:9090", nil, "want [SCHEME:][:]PORT[/PATH]"},
		{"Metrics/x", nil, "neither a port number nor a port name"},
		{"9090,bad_name,8080", []MetricsEntry{entry("9090", "/metrics"), entry("8080", "/metrics")}, "entry 2"},
		{strings.Repeat("1,", 9), ones, "more than 8"},
	}
	for _, tt := range tests {
		got, err := ParseMetricsAnnotation(tt.in)
		assert.Equal(t, tt.want, got, "%q", tt.in)
		if tt.err == "" {
			assert.NoError(t, err, "%q", tt.in)
		} else if assert.Error(t, err, "%q", tt.in) {
			assert.Contains(t, err.Error(), tt.err)
		}
	}
}

func FuzzParseMetricsAnnotation(f *testing.F) {
	for _, s := range []string{"9090/metrics", ":9090", "http/a/b, 8080", ",,", "0", "a--b/x", ":/", "9090/\t", "https:8443", "http::x/y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseMetricsAnnotation(s)
		if len(got) > maxMetricsEntries {
			t.Fatalf("%d entries", len(got))
		}
		for _, e := range got {
			if e.Port == "" || !strings.HasPrefix(e.Path, "/") || strings.ContainsAny(e.Path, " \t?#,") ||
				(e.Scheme != "" && e.Scheme != SchemeHTTP && e.Scheme != SchemeHTTPS) {
				t.Fatalf("bad entry %+v of %q", e, s)
			}
		}
		if err == nil && strings.Count(s, ",")+1 < len(got) {
			t.Fatalf("more entries than items in %q", s)
		}
	})
}

func metricsPod(ann map[string]string, ports ...corev1.ContainerPort) *corev1.Pod {
	p := probePod("a", "198.18.0.5", true)
	p.Annotations = ann
	p.Spec.Containers[0].Ports = ports
	return &p
}

func TestMetricsTargets(t *testing.T) {
	web := corev1.ContainerPort{Name: "http", ContainerPort: 8080}
	prom := corev1.ContainerPort{Name: "metrics", ContainerPort: 9090}
	dns := corev1.ContainerPort{Name: "dns", ContainerPort: 53, Protocol: corev1.ProtocolUDP}
	scrapeAll := map[string]string{AnnotationPrometheusScrape: "true"}
	tests := []struct {
		name     string
		pod      *corev1.Pod
		declared []MetricsEntry
		want     []string
		problems []string
	}{
		{"nothing declared", metricsPod(nil, web, prom), nil, nil, nil},
		{"prometheus.io port and path", metricsPod(map[string]string{AnnotationPrometheusScrape: "true", AnnotationPrometheusPort: "9090", AnnotationPrometheusPath: "/stats"}, web, prom), nil,
			[]string{"app http :9090/stats"}, nil},
		{"prometheus.io port by name, default path", metricsPod(map[string]string{AnnotationPrometheusScrape: "true", AnnotationPrometheusPort: "metrics"}, web, prom), nil,
			[]string{"app http :9090/metrics"}, nil},
		{"prometheus.io without a port: every TCP port", metricsPod(scrapeAll, web, prom, dns), nil,
			[]string{"app http :8080/metrics", "app http :9090/metrics"}, nil},
		{"an undeclared port is scraped too", metricsPod(map[string]string{AnnotationPrometheusScrape: "true", AnnotationPrometheusPort: "9100"}, web), nil,
			[]string{" http :9100/metrics"}, nil},
		{"scrape false", metricsPod(map[string]string{AnnotationPrometheusScrape: "false", AnnotationPrometheusPort: "9090"}, prom), nil, nil, nil},
		{"prometheus.io https", metricsPod(map[string]string{AnnotationPrometheusScrape: "true", AnnotationPrometheusPort: "9090", AnnotationPrometheusScheme: "HTTPS"}, prom), nil,
			[]string{"app https :9090/metrics"}, nil},
		{"prometheus.io scheme neither http nor https", metricsPod(map[string]string{AnnotationPrometheusScrape: "true", AnnotationPrometheusScheme: "ftp"}, prom), nil,
			nil, []string{`prometheus.io/scheme "ftp": not http or https`}},
		{"bad port", metricsPod(map[string]string{AnnotationPrometheusScrape: "true", AnnotationPrometheusPort: "nope"}, prom), nil,
			nil, []string{`prometheus.io/port "nope": no such port`}},
		{"cinch.dev/metrics", metricsPod(map[string]string{hardening.AnnotationMetrics: ":9090/metrics, http/debug/vars"}, web, prom), nil,
			[]string{"app http :8080/debug/vars", "app http :9090/metrics"}, nil},
		{"cinch.dev/metrics https", metricsPod(map[string]string{hardening.AnnotationMetrics: "https:metrics"}, web, prom), nil,
			[]string{"app https :9090/metrics"}, nil},
		{"both, deduplicated", metricsPod(map[string]string{AnnotationPrometheusScrape: "true", AnnotationPrometheusPort: "9090", hardening.AnnotationMetrics: "9090,metrics/metrics"}, prom), nil,
			[]string{"app http :9090/metrics"}, nil},
		{"cinch.dev/metrics with an unknown name", metricsPod(map[string]string{hardening.AnnotationMetrics: "admin,9090"}, prom), nil,
			[]string{"app http :9090/metrics"}, []string{`cinch.dev/metrics "admin": no such port`}},
		{"cinch.dev/metrics that does not parse", metricsPod(map[string]string{hardening.AnnotationMetrics: "9090 x"}, prom), nil,
			nil, []string{`cinch.dev/metrics: entry 1 "9090 x": want [SCHEME:][:]PORT[/PATH]`}},
		{"a monitor's port by name, https", metricsPod(nil, web, prom), []MetricsEntry{{Port: "metrics", Path: "/m", Scheme: SchemeHTTPS, Source: "PodMonitor web"}},
			[]string{"app https :9090/m"}, nil},
		{"a monitor's port by number", metricsPod(nil, web, prom), []MetricsEntry{{Port: "8080", Source: "ServiceMonitor web"}},
			[]string{"app http :8080/metrics"}, nil},
		{"a monitor without a port: every TCP port", metricsPod(nil, web, prom, dns), []MetricsEntry{{Source: "PodMonitor web"}},
			[]string{"app http :8080/metrics", "app http :9090/metrics"}, nil},
		{"a monitor's unknown port name", metricsPod(nil, web), []MetricsEntry{{Port: "metrics", Source: "PodMonitor web"}},
			nil, []string{`PodMonitor web "metrics": no such port`}},
		{"annotations and a monitor merged, the annotation's scheme first", metricsPod(map[string]string{AnnotationPrometheusScrape: "true", AnnotationPrometheusPort: "9090"}, web, prom),
			[]MetricsEntry{{Port: "metrics", Scheme: SchemeHTTPS, Source: "PodMonitor web"}, {Port: "http", Path: "/stats", Source: "PodMonitor web"}},
			[]string{"app http :8080/stats", "app http :9090/metrics"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts, problems := MetricsTargets(tt.pod, tt.declared, 0)
			var got []string
			for _, x := range ts {
				got = append(got, x.Container+" "+x.Scheme+" "+x.Endpoint())
			}
			assert.Equal(t, tt.want, got)
			assert.Equal(t, tt.problems, problems)
		})
	}
}

// TestMetricsTargetsCap: at most maxEndpoints, the first declared first
// (annotations before monitors), sorted by port.
func TestMetricsTargetsCap(t *testing.T) {
	pod := metricsPod(map[string]string{hardening.AnnotationMetrics: "9090,9091"})
	ts, _ := MetricsTargets(pod, []MetricsEntry{{Port: "80"}, {Port: "81"}}, 3)
	var got []int32
	for _, x := range ts {
		got = append(got, x.Port)
	}
	assert.Equal(t, []int32{80, 9090, 9091}, got)
}

// metricsServer serves an exposition over plain HTTP.
func metricsServer(t *testing.T, status int, body func() string) netip.AddrPort {
	t.Helper()
	return serveMetrics(t, httptest.NewServer, status, body)
}

// serveMetrics serves body() with status on a server that start starts
// (httptest.NewServer or httptest.NewTLSServer).
func serveMetrics(t *testing.T, start func(http.Handler) *httptest.Server, status int, body func() string) netip.AddrPort {
	t.Helper()
	srv := start(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, acceptExposition, r.Header.Get("Accept"))
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		w.WriteHeader(status)
		fmt.Fprint(w, body())
	}))
	t.Cleanup(srv.Close)
	u, err := url.Parse(srv.URL)
	require.NoError(t, err)
	return netip.MustParseAddrPort(u.Host)
}

func TestScrape(t *testing.T) {
	ok := metricsServer(t, 200, func() string { return exposition })
	notFound := metricsServer(t, 404, func() string { return "404 page not found\n" })
	garbage := metricsServer(t, 200, func() string { return "<html>hello</html>\n" })
	big := metricsServer(t, 200, func() string { return strings.Repeat("# padding\n", 200) })
	opts := MetricsOptions{Timeout: time.Second}

	s := Scrape(t.Context(), opts, SchemeHTTP, ok, "/metrics")
	assert.True(t, s.OK, s.Error)
	assert.Len(t, s.Samples, 4)
	assert.Equal(t, fmt.Sprintf(":%d/metrics", ok.Port()), s.Endpoint)

	s = Scrape(t.Context(), opts, SchemeHTTP, notFound, "/metrics")
	assert.False(t, s.OK)
	assert.Equal(t, "status 404 Not Found", s.Error)

	s = Scrape(t.Context(), opts, "", garbage, "")
	assert.False(t, s.OK)
	assert.Contains(t, s.Error, "parse exposition")

	small := opts
	small.MaxBytes = 100
	s = Scrape(t.Context(), small, SchemeHTTP, big, "/metrics")
	assert.False(t, s.OK)
	assert.Equal(t, "exposition larger than 100 bytes", s.Error)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closed := netip.MustParseAddrPort(ln.Addr().String())
	require.NoError(t, ln.Close())
	s = Scrape(t.Context(), opts, SchemeHTTP, closed, "/metrics")
	assert.False(t, s.OK)
	assert.Equal(t, "connection refused", s.Error)

	silent, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = silent.Close() })
	s = Scrape(t.Context(), MetricsOptions{Timeout: 200 * time.Millisecond}, SchemeHTTP, netip.MustParseAddrPort(silent.Addr().String()), "/metrics")
	assert.False(t, s.OK)
	assert.Equal(t, "timeout", s.Error)
}

// TestScrapeHTTPS: an https endpoint is scraped over TLS whatever its
// certificate (httptest's names no pod IP and no CA here trusts it); the
// wrong scheme either way is an unanswered scrape.
func TestScrapeHTTPS(t *testing.T) {
	tlsSrv := serveMetrics(t, httptest.NewTLSServer, 200, func() string { return exposition })
	plain := metricsServer(t, 200, func() string { return exposition })
	opts := MetricsOptions{Timeout: time.Second}

	s := Scrape(t.Context(), opts, SchemeHTTPS, tlsSrv, "/metrics")
	require.True(t, s.OK, s.Error)
	assert.Len(t, s.Samples, 4)
	assert.Equal(t, fmt.Sprintf(":%d/metrics", tlsSrv.Port()), s.Endpoint, "the endpoint is named without its scheme")

	s = Scrape(t.Context(), opts, SchemeHTTP, tlsSrv, "/metrics")
	assert.False(t, s.OK)
	assert.Equal(t, "status 400 Bad Request", s.Error)

	s = Scrape(t.Context(), opts, SchemeHTTPS, plain, "/metrics")
	assert.False(t, s.OK)
	assert.Contains(t, s.Error, "HTTP response to HTTPS client")
}

// fakeClock is a clock whose sleeps return at once, advancing it.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) sleep(ctx context.Context, t time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.After(c.t) {
		c.t = t
	}
	return ctx.Err() == nil
}

func fakeScraper(opts MetricsOptions, d time.Duration, c *fakeClock) *MetricsScraper {
	m := NewMetricsScraper(opts, d, nil)
	m.now, m.sleep = c.now, c.sleep
	return m
}

// TestMetricsScraper: the first scrape at the first poll with a Ready pod,
// the last at the end of the recording, the others evenly between, on the
// scraper's own clock; only Ready pods' own IPs are dialled.
func TestMetricsScraper(t *testing.T) {
	var n atomic.Int64
	backend := metricsServer(t, 200, func() string {
		n.Add(1)
		return "# TYPE app_cache_write_errors_total counter\napp_cache_write_errors_total 7\n"
	})
	var mu sync.Mutex
	var dialled []string
	opts := MetricsOptions{Timeout: time.Second, Networks: []netip.Prefix{netip.MustParsePrefix("198.18.0.0/24")}}
	opts.Dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		mu.Lock()
		dialled = append(dialled, addr)
		mu.Unlock()
		var d net.Dialer
		return d.DialContext(ctx, network, backend.String())
	}
	ann := map[string]string{AnnotationPrometheusScrape: "true", AnnotationPrometheusPort: "8081"}
	ready := metricsPod(ann, corev1.ContainerPort{ContainerPort: 8081})
	starting := probePod("b-starting", "198.18.0.6", false)
	starting.Annotations = ann
	outside := probePod("c-outside", "10.0.0.5", true)
	outside.Annotations = ann

	clock := &fakeClock{t: time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)}
	m := fakeScraper(opts, 30*time.Second, clock) // rounds at +0, +10, +20 and +29.75 s
	m.Probe(t.Context(), []corev1.Pod{starting, outside}, 2*time.Second)
	m.Probe(t.Context(), []corev1.Pod{*ready, starting, outside}, 5*time.Second)
	<-m.loopDone
	var rec oracle.Recording
	m.Fill(&rec)
	var got []string
	for _, s := range rec.Metrics {
		require.True(t, s.OK, s.Error)
		assert.Equal(t, "a", s.Pod)
		assert.Equal(t, "app", s.Container)
		assert.Equal(t, ":8081/metrics", s.Endpoint)
		got = append(got, fmt.Sprintf("%s %v", s.Offset, s.Samples))
	}
	assert.Equal(t, []string{
		"5s [{app_cache_write_errors_total 7}]",
		"15s [{app_cache_write_errors_total 7}]",
		"25s [{app_cache_write_errors_total 7}]",
		"34.75s [{app_cache_write_errors_total 7}]",
	}, got)
	assert.Equal(t, int64(4), n.Load())
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, []string{"198.18.0.5:8081", "198.18.0.5:8081", "198.18.0.5:8081", "198.18.0.5:8081"}, dialled)
	assert.Empty(t, rec.MetricsProblems)
}

// TestMetricsScraperReadyBeforeSeen: a pod that became Ready before the
// poll that first saw it ends its recording that much earlier: the rounds
// are timed from its Ready transition, and rounds already past are left
// out rather than bunched up.
func TestMetricsScraperReadyBeforeSeen(t *testing.T) {
	backend := metricsServer(t, 200, func() string { return "" })
	opts := MetricsOptions{Timeout: time.Second}
	opts.Dial = func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, backend.String())
	}
	for _, tt := range []struct {
		lag  time.Duration
		want []time.Duration
	}{
		// Ready at 7 s: rounds at 7 (seen at 10), 17 and 26.75 s.
		{3 * time.Second, []time.Duration{10 * time.Second, 17 * time.Second, 26750 * time.Millisecond}},
		// Ready at -2 s... at most the offset: at 0, so 10 and 19.75 s.
		{12 * time.Second, []time.Duration{10 * time.Second, 19750 * time.Millisecond}},
	} {
		clock := &fakeClock{t: time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)}
		pod := metricsPod(map[string]string{hardening.AnnotationMetrics: "8081"})
		pod.Status.Conditions[0].LastTransitionTime = metav1.NewTime(clock.t.Add(-tt.lag))
		m := fakeScraper(MetricsOptions{Timeout: opts.Timeout, Dial: opts.Dial, Rounds: 3}, 20*time.Second, clock)
		m.Probe(t.Context(), []corev1.Pod{*pod}, 10*time.Second)
		<-m.loopDone
		var rec oracle.Recording
		m.Fill(&rec)
		var offs []time.Duration
		for _, s := range rec.Metrics {
			offs = append(offs, s.Offset)
		}
		assert.Equal(t, tt.want, offs, "lag %s", tt.lag)
	}
}

// TestMetricsScraperFillWaitsForRoundsInFlight: the recording's last Fill
// holds the scrape that started just before it.
func TestMetricsScraperFillWaitsForRoundsInFlight(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		<-release
		fmt.Fprint(w, "x_errors_total 1\n")
	}))
	t.Cleanup(srv.Close)
	opts := MetricsOptions{Timeout: 5 * time.Second, Rounds: 2}
	opts.Dial = func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, strings.TrimPrefix(srv.URL, "http://"))
	}
	m := NewMetricsScraper(opts, time.Hour, nil)
	m.Probe(t.Context(), []corev1.Pod{*metricsPod(map[string]string{hardening.AnnotationMetrics: "8081"})}, time.Second)
	go func() { time.Sleep(100 * time.Millisecond); close(release) }()
	var rec oracle.Recording
	m.Fill(&rec)
	require.Len(t, rec.Metrics, 1)
	assert.True(t, rec.Metrics[0].OK)
}

func TestMetricsScraperProblemsAndNoEndpoints(t *testing.T) {
	m := NewMetricsScraper(MetricsOptions{}, 10*time.Second, []MetricsEntry{{Port: "metrics", Source: "PodMonitor web"}})
	plain := probePod("a", "198.18.0.5", true, 8080)
	ftp := metricsPod(map[string]string{AnnotationPrometheusScrape: "true", AnnotationPrometheusScheme: "ftp"})
	ftp.Name = "b"
	m.Probe(t.Context(), []corev1.Pod{plain, *ftp}, time.Second)
	var rec oracle.Recording
	m.Fill(&rec)
	assert.Empty(t, rec.Metrics)
	assert.Equal(t, []string{`PodMonitor web "metrics": no such port`, `prometheus.io/scheme "ftp": not http or https`}, rec.MetricsProblems)
}

// TestMetricsScraperDeclaredHTTPS: an endpoint declared outside the pod
// (a monitor's https endpoint, by container port name) is scraped over
// TLS at the pod's own IP.
func TestMetricsScraperDeclaredHTTPS(t *testing.T) {
	backend := serveMetrics(t, httptest.NewTLSServer, 200, func() string {
		return "# TYPE app_cache_write_errors_total counter\napp_cache_write_errors_total 3\n"
	})
	var dialled atomic.Value
	opts := MetricsOptions{Timeout: time.Second, Rounds: 2}
	opts.Dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		dialled.Store(addr)
		var d net.Dialer
		return d.DialContext(ctx, network, backend.String())
	}
	m := NewMetricsScraper(opts, time.Hour, []MetricsEntry{{Port: "metrics", Scheme: SchemeHTTPS, Source: "PodMonitor web"}})
	pod := metricsPod(nil, corev1.ContainerPort{Name: "metrics", ContainerPort: 8443})
	m.Probe(t.Context(), []corev1.Pod{*pod}, time.Second)
	var rec oracle.Recording
	m.Fill(&rec)
	require.Len(t, rec.Metrics, 1)
	s := rec.Metrics[0]
	require.True(t, s.OK, s.Error)
	assert.Equal(t, ":8443/metrics", s.Endpoint)
	assert.Equal(t, []oracle.MetricSample{{Series: "app_cache_write_errors_total", Value: 3}}, s.Samples)
	assert.Equal(t, "198.18.0.5:8443", dialled.Load())
	assert.Empty(t, rec.MetricsProblems)
}

func TestProbers(t *testing.T) {
	a, b := &countingProber{}, &countingProber{}
	ps := Probers{a, b}
	ps.Probe(t.Context(), []corev1.Pod{runningPod()}, time.Second)
	var rec oracle.Recording
	ps.Fill(&rec)
	assert.Equal(t, 1, a.probes)
	assert.Equal(t, 1, b.probes)
	assert.Len(t, rec.Events, 2, "each Prober fills the recording")
}
