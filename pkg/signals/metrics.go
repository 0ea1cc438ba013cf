package signals

import (
	"bytes"
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"sort"
	"sync"
	"syscall"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	corev1 "k8s.io/api/core/v1"

	"github.com/cinch-dev/cinch/pkg/oracle"
)

// The pod annotations of Prometheus' common kubernetes_sd_configs
// convention that declare a pod's metrics endpoint.
const (
	AnnotationPrometheusScrape = "prometheus.io/scrape"
	AnnotationPrometheusPort   = "prometheus.io/port"
	AnnotationPrometheusPath   = "prometheus.io/path"
	AnnotationPrometheusScheme = "prometheus.io/scheme"
)

// Defaults of MetricsOptions.
const (
	DefaultMetricsRounds       = 4
	DefaultMetricsMaxPods      = 3
	DefaultMetricsMaxEndpoints = 4
	DefaultMetricsTimeout      = 3 * time.Second
	DefaultMetricsMaxBytes     = 4 << 20
	DefaultMetricsMaxSeries    = 200
	// minMetricsInterval bounds how often scrapes follow one another.
	minMetricsInterval = 2 * time.Second
)

// MetricsOptions configures a MetricsScraper. Zero fields take their
// defaults.
type MetricsOptions struct {
	// Rounds is how many times every endpoint is scraped (at least 2): the
	// first when a pod is first seen Ready, the last at the end of the
	// recording, the others evenly between.
	Rounds int
	// MaxPods and MaxEndpoints bound the pods scraped per round (by name)
	// and the endpoints per pod.
	MaxPods, MaxEndpoints int
	// Timeout bounds one scrape (connect, request and answer).
	Timeout time.Duration
	// MaxBytes bounds an exposition; a longer one is an unanswered scrape.
	MaxBytes int64
	// MaxSeries bounds the error-like series kept per scrape.
	MaxSeries int
	// Networks, when not empty, are the only networks whose pod IPs are
	// scraped.
	Networks []netip.Prefix
	// Dial connects to a pod IP and port; nil means a net.Dialer.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

func (o MetricsOptions) withDefaults() MetricsOptions {
	if o.Rounds < 2 {
		o.Rounds = DefaultMetricsRounds
	}
	if o.MaxPods <= 0 {
		o.MaxPods = DefaultMetricsMaxPods
	}
	if o.MaxEndpoints <= 0 {
		o.MaxEndpoints = DefaultMetricsMaxEndpoints
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultMetricsTimeout
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMetricsMaxBytes
	}
	if o.MaxSeries <= 0 {
		o.MaxSeries = DefaultMetricsMaxSeries
	}
	if o.Dial == nil {
		d := &net.Dialer{}
		o.Dial = d.DialContext
	}
	return o
}

// ParseErrorCounters reads a Prometheus text exposition (format 0.0.4) and
// returns its error-like counters (oracle.ErrorCounter), sorted by series,
// at most maxSeries of them. Counters and untyped samples are read; other
// types are not counters. An exposition that does not parse is an error.
func ParseErrorCounters(r io.Reader, maxSeries int) ([]oracle.MetricSample, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(r)
	if err != nil {
		return nil, fmt.Errorf("parse exposition: %w", err)
	}
	var out []oracle.MetricSample
	for name, f := range fams {
		counter := f.GetType() == dto.MetricType_COUNTER
		if !counter && f.GetType() != dto.MetricType_UNTYPED {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := make(map[string]string, len(m.GetLabel()))
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if !oracle.ErrorCounter(name, labels, counter) {
				continue
			}
			v := m.GetUntyped().GetValue()
			if counter {
				v = m.GetCounter().GetValue()
			}
			out = append(out, oracle.MetricSample{Series: oracle.SeriesName(name, labels), Value: v})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Series < out[j].Series })
	if maxSeries > 0 && len(out) > maxSeries {
		out = out[:maxSeries]
	}
	return out, nil
}

// acceptExposition asks for the text format ParseErrorCounters reads.
const acceptExposition = "text/plain;version=0.0.4;q=1,*/*;q=0.1"

// Scrape fetches one endpoint (GET scheme://addr/path, scheme http or
// https) and reads its error-like counters. An https endpoint's
// certificate is not verified: a trial's pods are reached by their IPs,
// which no certificate names. A transport or TLS error, a status other
// than 200, an exposition over opts.MaxBytes or one that does not parse
// leaves OK false with the reason in Error.
func Scrape(ctx context.Context, opts MetricsOptions, scheme string, addr netip.AddrPort, path string) oracle.MetricsScrape {
	opts = opts.withDefaults()
	path = cmp.Or(path, defaultMetricsPath)
	s := oracle.MetricsScrape{Endpoint: oracle.MetricsEndpoint(int32(addr.Port()), path)}
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, cmp.Or(scheme, SchemeHTTP)+"://"+addr.String()+path, nil)
	if err != nil {
		s.Error = err.Error()
		return s
	}
	req.Header.Set("Accept", acceptExposition)
	req.Header.Set("User-Agent", "cinch-oracle")
	resp, err := scrapeClient(opts).Do(req)
	if err != nil {
		s.Error = scrapeError(err)
		return s
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		s.Error = "status " + resp.Status
		return s
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, opts.MaxBytes+1))
	switch {
	case err != nil:
		s.Error = scrapeError(err)
		return s
	case int64(len(body)) > opts.MaxBytes:
		s.Error = fmt.Sprintf("exposition larger than %d bytes", opts.MaxBytes)
		return s
	}
	samples, err := ParseErrorCounters(bytes.NewReader(body), opts.MaxSeries)
	if err != nil {
		s.Error = truncateError(err.Error())
		return s
	}
	s.OK, s.Samples = true, samples
	return s
}

// scrapeClient is the HTTP client of one scrape: opts.Dial, no proxy, no
// redirects (the endpoint itself must answer), no keep-alive, and TLS
// without certificate verification.
func scrapeClient(opts MetricsOptions) *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			DialContext: opts.Dial, DisableKeepAlives: true, Proxy: nil,
			// The pod IP is all there is to connect to: no name a
			// certificate could be checked against.
			TLSClientConfig: &tls.Config{InsecureSkipVerify: true},
		},
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// scrapeError words a transport error without the URL (which holds the
// run's pod IP).
func scrapeError(err error) string {
	switch {
	case errors.Is(err, context.DeadlineExceeded) || isTimeout(err):
		return "timeout"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case isReset(err):
		return "connection reset"
	}
	var ue interface{ Unwrap() error }
	if errors.As(err, &ue) && ue.Unwrap() != nil {
		err = ue.Unwrap()
	}
	return truncateError(err.Error())
}

func truncateError(s string) string {
	if len(s) > 200 {
		return s[:200]
	}
	return s
}

// MetricsScraper is the Prober of TC-06: during a recording it scrapes the
// declared Prometheus endpoints (MetricsTargets) of the run's own Ready
// pods a few times — once when a pod is first seen Ready, once at the end
// of the recording, the others evenly between — and keeps their
// error-like counters. The first round starts from the recorder's poll;
// the later ones run on their own clock from the pod's Ready transition,
// so a slow poll loop (a busy node) does not bunch them up at the end and
// shorten the window rates are measured over. Nothing is dialled but the
// pods' own IPs. Fill waits for the rounds in flight (bounded by the
// timeout).
type MetricsScraper struct {
	opts     MetricsOptions
	duration time.Duration
	// declared are the endpoints declared outside the pods.
	declared []MetricsEntry
	now      func() time.Time
	// sleep waits until t or ctx is done; false when ctx is done.
	sleep func(ctx context.Context, t time.Time) bool

	mu       sync.Mutex
	idle     *sync.Cond
	started  bool
	inflight int
	// pods are the pods of the latest poll; firstOffset and firstWall the
	// first round's offset and time; readyWall when the first pod became
	// Ready (the recording ends duration after it).
	pods        []corev1.Pod
	firstOffset time.Duration
	firstWall   time.Time
	readyWall   time.Time
	scrapes     []oracle.MetricsScrape
	problems    []string
	// loopDone is closed when the later rounds are done (tests).
	loopDone chan struct{}
}

var _ Prober = (*MetricsScraper)(nil)

// NewMetricsScraper returns a scraper for one recording that lasts
// duration from its first Ready pod. declared are the endpoints declared
// for the pods outside them (Prometheus Operator monitors), scraped with
// those of the pods' annotations (MetricsTargets). Use one per Record.
func NewMetricsScraper(opts MetricsOptions, duration time.Duration, declared []MetricsEntry) *MetricsScraper {
	m := &MetricsScraper{
		opts: opts.withDefaults(), duration: duration, declared: declared,
		now: time.Now, sleep: sleepUntil, loopDone: make(chan struct{}),
	}
	m.idle = sync.NewCond(&m.mu)
	return m
}

func sleepUntil(ctx context.Context, t time.Time) bool {
	timer := time.NewTimer(time.Until(t))
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-timer.C:
		return true
	}
}

// due is the time of round i (0-based) after the first Ready pod (the
// earliest Ready transition of the pods first seen Ready, as the recorder
// counts it: its recording ends duration after that).
func (m *MetricsScraper) due(i int) time.Duration {
	end := max(0, m.duration-250*time.Millisecond) // the final poll, at the end, is still recording
	last := m.opts.Rounds - 1
	if i >= last {
		return end
	}
	interval := max(minMetricsInterval, m.duration/time.Duration(last))
	return min(time.Duration(i)*interval, end)
}

// Probe keeps the pods of the latest poll and, at the first poll with a
// Ready pod, scrapes it and starts the later rounds. Only Ready, running
// pods with a pod IP (inside Networks, when set) and without host
// networking are scraped.
func (m *MetricsScraper) Probe(ctx context.Context, pods []corev1.Pod, offset time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.pods = append(m.pods[:0], pods...)
	if m.started {
		return
	}
	var readyAt time.Time
	n := 0
	for i := range pods {
		if _, ok := clientAddr(&pods[i], m.opts.Networks); ok {
			n++
			if t := readySince(&pods[i]); !t.IsZero() && (readyAt.IsZero() || t.Before(readyAt)) {
				readyAt = t
			}
		}
	}
	if n == 0 {
		return // no Ready pod yet: the first round waits for one
	}
	m.started = true
	m.firstOffset, m.firstWall = offset, m.now()
	// The recording ends duration after the pod became Ready, which may
	// be before this poll saw it.
	lag := time.Duration(0)
	if !readyAt.IsZero() {
		lag = min(max(0, m.firstWall.Sub(readyAt)), offset)
	}
	m.readyWall = m.firstWall.Add(-lag)
	m.roundLocked(ctx, offset)
	go m.later(ctx)
}

// later runs rounds 1.. at their times, until the last or ctx is done.
func (m *MetricsScraper) later(ctx context.Context) {
	defer close(m.loopDone)
	for i := 1; i < m.opts.Rounds; i++ {
		at := m.readyWall.Add(m.due(i))
		if !at.After(m.firstWall) {
			continue // already past when the first Ready pod was seen
		}
		if !m.sleep(ctx, at) {
			return
		}
		m.mu.Lock()
		m.roundLocked(ctx, m.firstOffset+m.now().Sub(m.firstWall))
		m.mu.Unlock()
	}
}

// roundLocked starts one round of scrapes of the latest pods at offset;
// m.mu is held.
func (m *MetricsScraper) roundLocked(ctx context.Context, offset time.Duration) {
	type job struct {
		pod  string
		addr netip.Addr
		t    MetricsTarget
	}
	var jobs []job
	sorted := append([]corev1.Pod(nil), m.pods...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	n := 0
	for i := range sorted {
		pod := &sorted[i]
		addr, ok := clientAddr(pod, m.opts.Networks)
		if !ok {
			continue
		}
		if n++; n > m.opts.MaxPods {
			break
		}
		ts, problems := MetricsTargets(pod, m.declared, m.opts.MaxEndpoints)
		for _, p := range problems {
			if !contains(m.problems, p) {
				m.problems = append(m.problems, p)
			}
		}
		for _, t := range ts {
			jobs = append(jobs, job{pod: pod.Name, addr: addr, t: t})
		}
	}
	if len(jobs) == 0 {
		return
	}
	m.inflight++
	go func() {
		res := make([]oracle.MetricsScrape, len(jobs))
		var wg sync.WaitGroup
		for i, j := range jobs {
			wg.Go(func() {
				s := Scrape(ctx, m.opts, j.t.Scheme, netip.AddrPortFrom(j.addr, uint16(j.t.Port)), j.t.Path)
				s.Pod, s.Container, s.Offset = j.pod, j.t.Container, offset
				res[i] = s
			})
		}
		wg.Wait()
		m.mu.Lock()
		defer m.mu.Unlock()
		m.inflight--
		m.idle.Broadcast()
		if ctx.Err() != nil {
			return // a cancelled round says nothing about the workload
		}
		m.scrapes = append(m.scrapes, res...)
	}()
}

// Fill waits for the rounds in flight and sets rec.Metrics to every scrape
// so far, in the order they were taken, and rec.MetricsProblems to the
// declarations that could not be scraped.
func (m *MetricsScraper) Fill(rec *oracle.Recording) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for m.inflight > 0 {
		m.idle.Wait()
	}
	out := append([]oracle.MetricsScrape(nil), m.scrapes...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Offset < out[j].Offset })
	rec.Metrics = out
	rec.MetricsProblems = append([]string(nil), m.problems...)
}

// readySince is when pod last became Ready (zero when unknown).
func readySince(pod *corev1.Pod) time.Time {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
			return c.LastTransitionTime.Time
		}
	}
	return time.Time{}
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// Probers runs several Probers in one recording (e.g. the service prober
// of TC-05 and the metrics scraper of TC-06), in order.
type Probers []Prober

var _ Prober = Probers(nil)

// Probe calls every Prober's Probe.
func (ps Probers) Probe(ctx context.Context, pods []corev1.Pod, offset time.Duration) {
	for _, p := range ps {
		p.Probe(ctx, pods, offset)
	}
}

// Fill calls every Prober's Fill.
func (ps Probers) Fill(rec *oracle.Recording) {
	for _, p := range ps {
		p.Fill(rec)
	}
}
