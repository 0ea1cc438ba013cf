package oracle

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestErrorCounter(t *testing.T) {
	tests := []struct {
		name    string
		labels  map[string]string
		counter bool
		want    bool
	}{
		{"app_cache_write_errors_total", nil, true, true},
		{"app_cache_write_errors_total", nil, false, true}, // untyped, named like a counter
		{"db_connection_failures_total", nil, true, true},
		{"jobs_failed_total", map[string]string{"queue": "a"}, true, true},
		{"parse_error_total", nil, true, true},
		{"login_failure_total", nil, true, true},
		{"http_requests_total", map[string]string{"code": "500"}, true, true},
		{"http_requests_total", map[string]string{"code": "503", "method": "get"}, true, true},
		{"http_requests_total", map[string]string{"status": "5xx"}, true, true},
		{"http_server_requests_total", map[string]string{"Status_Code": "502"}, true, true},
		{"http_requests_total", map[string]string{"code": "200"}, true, false},
		{"http_requests_total", map[string]string{"code": "404"}, true, false},
		{"http_requests_total", map[string]string{"code": "5000"}, true, false},
		{"http_requests_total", map[string]string{"handler": "500"}, true, false}, // not a status label
		{"http_requests_total", nil, true, false},
		{"errors_seen", nil, false, false},                                                      // a gauge-like name
		{"app_errors", nil, true, false},                                                        // a counter without _total
		{"last_errors_total", nil, false, true},                                                 // untyped but _total
		{"http_request_duration_seconds_count", map[string]string{"code": "500"}, false, false}, // a histogram's count
		{"go_goroutines", nil, false, false},
		{"app_errors_total_bytes", nil, true, false},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, ErrorCounter(tt.name, tt.labels, tt.counter), "%s %v counter=%v", tt.name, tt.labels, tt.counter)
	}
}

func TestSeriesName(t *testing.T) {
	assert.Equal(t, "a_total", SeriesName("a_total", nil))
	assert.Equal(t, `http_requests_total{code="500",method="GET"}`, SeriesName("http_requests_total", map[string]string{"method": "GET", "code": "500"}))
	assert.Equal(t, `x_total{path="a\"b\\c"}`, SeriesName("x_total", map[string]string{"path": `a"b\c`}))
	assert.Equal(t, ":9090/metrics", MetricsEndpoint(9090, ""))
	assert.Equal(t, ":8081/stats", MetricsEndpoint(8081, "/stats"))
}

// scrapes returns n answered scrapes of one endpoint of pod, every step
// from 5 s, the error counter at value(i).
func scrapes(pod, endpoint string, n int, step time.Duration, series string, value func(i int) float64) []MetricsScrape {
	var out []MetricsScrape
	for i := range n {
		s := MetricsScrape{Pod: pod, Container: "app", Endpoint: endpoint, Offset: 5*time.Second + time.Duration(i)*step, OK: true}
		if v := value(i); v >= 0 {
			s.Samples = []MetricSample{{Series: series, Value: v}}
		}
		out = append(out, s)
	}
	return out
}

func linear(perScrape float64) func(int) float64 {
	return func(i int) float64 { return perScrape * float64(i) }
}

const errSeries = "app_cache_write_errors_total"

func withMetrics(seed int, s ...[]MetricsScrape) Recording {
	r := healthy(seed)
	for _, x := range s {
		r.Metrics = append(r.Metrics, x...)
	}
	return r
}

func TestMetricRates(t *testing.T) {
	tests := []struct {
		name     string
		rec      Recording
		endpoint string
		measured bool
		increase float64
		window   time.Duration
	}{
		{"steady", withMetrics(1, scrapes("p", ":8081/metrics", 4, 10*time.Second, errSeries, linear(5))), ":8081/metrics", true, 15, 30 * time.Second},
		{"idle", withMetrics(1, scrapes("p", ":8081/metrics", 4, 10*time.Second, errSeries, linear(0))), ":8081/metrics", true, 0, 30 * time.Second},
		// A labelled series appears with its first increment: missing
		// before, it was 0.
		{"appears later", withMetrics(1, scrapes("p", ":8081/metrics", 4, 10*time.Second, errSeries, func(i int) float64 {
			return []float64{-1, -1, 2, 6}[i]
		})), ":8081/metrics", true, 6, 30 * time.Second},
		// A restarted container starts its counters from 0 again.
		{"counter reset", withMetrics(1, scrapes("p", ":8081/metrics", 4, 10*time.Second, errSeries, func(i int) float64 {
			return []float64{10, 20, 3, 8}[i]
		})), ":8081/metrics", true, 10 + 3 + 5, 30 * time.Second},
		{"start-up errors only", withMetrics(1, scrapes("p", ":8081/metrics", 4, 10*time.Second, errSeries, func(int) float64 { return 7 })), ":8081/metrics", true, 0, 30 * time.Second},
		{"two pods", withMetrics(1,
			scrapes("p1", ":8081/metrics", 3, 10*time.Second, errSeries, linear(2)),
			scrapes("p2", ":8081/metrics", 2, 10*time.Second, errSeries, linear(1))), ":8081/metrics", true, 5, 20 * time.Second},
		{"one scrape: not measured", withMetrics(1, scrapes("p", ":8081/metrics", 1, 10*time.Second, errSeries, linear(1))), ":8081/metrics", false, 0, 0},
		{"unanswered scrapes are skipped", withMetrics(1, func() []MetricsScrape {
			s := scrapes("p", ":8081/metrics", 4, 10*time.Second, errSeries, linear(4))
			s[3] = MetricsScrape{Pod: "p", Endpoint: ":8081/metrics", Offset: s[3].Offset, Error: "timeout"}
			return s
		}()), ":8081/metrics", true, 8, 20 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			runs := metricRates(tt.rec)
			e := runs[tt.endpoint]
			require.NotNil(t, e)
			assert.Equal(t, tt.measured, e.measured)
			sr := e.series[errSeries]
			assert.InDelta(t, tt.increase, sr.Increase, 1e-9)
			assert.Equal(t, tt.window, sr.Window)
			if tt.window > 0 {
				assert.InDelta(t, tt.increase/tt.window.Seconds(), sr.Rate(), 1e-9)
			}
		})
	}
	assert.Zero(t, seriesRate{Increase: 3}.Rate(), "no window, no rate")
}

func TestMetricsBand(t *testing.T) {
	cfg := DefaultConfig()
	tests := []struct {
		name     string
		r1, r2   float64
		high     float64
		disagree bool
	}{
		{"idle", 0, 0, 0.05, false},
		{"busy, agreeing", 1, 1.2, 1.2*2 + 0.05, false},
		{"within the tolerance", 0, 0.04, 0.04*2 + 0.05, false},
		{"disagreeing wildly", 0.1, 2, 2*2 + 0.05 + 1.9, true},
		{"one idle, one erring", 0, 1, 1*2 + 0.05 + 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := NewMetricsBand(cfg, tt.r1, tt.r2)
			assert.InDelta(t, tt.high, b.High, 1e-9)
			assert.Equal(t, tt.disagree, b.Disagree)
			assert.Equal(t, b, NewMetricsBand(cfg, tt.r2, tt.r1).swapped(), "symmetric")
		})
	}
	idle := NewMetricsBand(cfg, 0, 0)
	assert.False(t, idle.Exceeds(cfg, seriesRate{Increase: 2, Window: 10 * time.Second}), "two stray errors never fail")
	assert.True(t, idle.Exceeds(cfg, seriesRate{Increase: 3, Window: 10 * time.Second}), "steady errors where the baselines had none")
	assert.False(t, idle.Exceeds(cfg, seriesRate{Increase: 3, Window: 120 * time.Second}), "3 in 2 minutes is within the tolerance")
}

func (b MetricsBand) swapped() MetricsBand {
	b.Rates[0], b.Rates[1] = b.Rates[1], b.Rates[0]
	return b
}

func TestCompareMetrics(t *testing.T) {
	cfg := DefaultConfig()
	const ep = ":8081/metrics"
	idle := func(seed int) Recording {
		return withMetrics(seed, scrapes("p", ep, 4, 5*time.Second, errSeries, linear(0)))
	}
	busy := func(seed int, perScrape float64) Recording {
		return withMetrics(seed, scrapes("p", ep, 4, 5*time.Second, errSeries, linear(perScrape)))
	}
	unanswered := func(seed int) Recording {
		r := healthy(seed)
		for i := range 4 {
			r.Metrics = append(r.Metrics, MetricsScrape{Pod: "p", Endpoint: ep, Offset: time.Duration(5+5*i) * time.Second, Error: "connect: connection refused"})
		}
		return r
	}
	tests := []struct {
		name       string
		baselines  [2]Recording
		trial      Recording
		pass       bool
		endpoints  int
		failed     int
		unanswered int
		notJudged  int
		notStrict  int
		reason     string
	}{
		{name: "no endpoint", baselines: [2]Recording{healthy(1), healthy(2)}, trial: healthy(3), pass: true, reason: "no metrics endpoint declared"},
		{name: "idle in all", baselines: [2]Recording{idle(1), idle(2)}, trial: idle(3), pass: true, endpoints: 1, reason: "1 error-like series on 1 metrics endpoint(s) rose within the baselines' band"},
		// An idle app that counts errors steadily in the trial: 2 per 5 s.
		{name: "idle baselines, erring trial", baselines: [2]Recording{idle(1), idle(2)}, trial: busy(3, 2), endpoints: 1, failed: 1, reason: "1 of 1 error-like series rose faster than in the baselines"},
		{name: "busy, same rate", baselines: [2]Recording{busy(1, 5), busy(2, 6)}, trial: busy(3, 7), pass: true, endpoints: 1},
		{name: "busy, three times the rate", baselines: [2]Recording{busy(1, 5), busy(2, 5)}, trial: busy(3, 16), endpoints: 1, failed: 1},
		// One baseline idle, the other erring: the band is wide.
		{name: "baselines disagree", baselines: [2]Recording{idle(1), busy(2, 5)}, trial: busy(3, 14), pass: true, endpoints: 1, notStrict: 1},
		{name: "a 5xx series appears", baselines: [2]Recording{idle(1), idle(2)},
			trial: withMetrics(3, scrapes("p", ep, 4, 5*time.Second, `http_requests_total{code="500"}`, linear(3))), endpoints: 1, failed: 1},
		{name: "unanswered in the trial", baselines: [2]Recording{idle(1), idle(2)}, trial: unanswered(3), endpoints: 1, unanswered: 1,
			reason: "1 of 1 metrics endpoints answered both baselines but no scrape of the trial"},
		{name: "unanswered in a baseline", baselines: [2]Recording{idle(1), unanswered(2)}, trial: busy(3, 5), pass: true, notJudged: 1, reason: "not judged: :8081/metrics (not measured in both baselines)"},
		{name: "unanswered in both baselines", baselines: [2]Recording{unanswered(1), unanswered(2)}, trial: unanswered(3), pass: true, notJudged: 1, reason: "answered in neither baseline"},
		{name: "scraped in one baseline", baselines: [2]Recording{idle(1), healthy(2)}, trial: busy(3, 5), pass: true, notJudged: 1, reason: "scraped in one baseline only"},
		{name: "not scraped in the trial", baselines: [2]Recording{idle(1), idle(2)}, trial: healthy(3), pass: true, endpoints: 1, reason: "1 not scraped in the trial (no Ready pod)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := CompareMetrics(cfg, tt.baselines, tt.trial)
			r := c.Result()
			assert.Equal(t, tt.pass, r.Pass, "%s %+v", r.Reason, r.Evidence)
			assert.Equal(t, TestMetrics, r.ID)
			assert.True(t, r.Hard)
			assert.Equal(t, tt.endpoints, c.Endpoints)
			assert.Equal(t, tt.failed, c.Failed)
			assert.Equal(t, tt.unanswered, c.Unanswered)
			assert.Len(t, c.NotJudged, tt.notJudged)
			assert.Len(t, c.NotStrict, tt.notStrict)
			if tt.reason != "" {
				assert.Contains(t, r.Reason, tt.reason)
			}
			assert.Len(t, r.Evidence, tt.failed+tt.unanswered)
		})
	}
}

func TestCompareMetricsEvidence(t *testing.T) {
	cfg := DefaultConfig()
	const ep = ":8081/metrics"
	idle := func(seed int) Recording {
		return withMetrics(seed, scrapes("p", ep, 4, 5*time.Second, errSeries, linear(0)))
	}
	// 2 errors every 5 s: 0.4/s over 15 s.
	v := Judge(cfg, [2]Recording{idle(1), idle(2)}, withMetrics(3, scrapes("p", ep, 4, 5*time.Second, errSeries, linear(2))))
	assert.False(t, v.Pass)
	r := testByID(v, TestMetrics)
	require.Len(t, r.Evidence, 1)
	e := r.Evidence[0]
	assert.Equal(t, ReasonErrorRate, e.Reason)
	assert.Equal(t, errSeries, e.Metric)
	assert.Equal(t, ep, e.Path)
	assert.Equal(t, "app", e.Container)
	assert.InDelta(t, 0.4, e.Value, 1e-9)
	assert.InDelta(t, 0.05, e.High, 1e-9)
	assert.Equal(t, "app_cache_write_errors_total on :8081/metrics rose by 6 in 15s (0.4/s) in the trial; 0/s and 0/s in the baselines (band up to 0.05/s)", e.Message)
	for _, id := range []string{TestStability, TestReadiness, TestLogs, TestServices} {
		assert.True(t, testByID(v, id).Pass, "only TC-06 fails: %s", id)
	}

	// Evidence is bounded.
	many := scrapes("p", ep, 4, 5*time.Second, errSeries, linear(0))
	for j := range many {
		for i := range 8 {
			many[j].Samples = append(many[j].Samples, MetricSample{Series: SeriesName("x_errors_total", map[string]string{"i": string(rune('a' + i))}), Value: float64(3 * j)})
		}
	}
	c := CompareMetrics(cfg, [2]Recording{idle(1), idle(2)}, withMetrics(3, many))
	assert.Equal(t, 8, c.Failed)
	assert.Len(t, c.Evidence, cfg.EvidenceTemplates)
}

// TestCompareMetricsProblems: declarations that cannot be scraped are named
// in the reason; they never fail a trial.
func TestCompareMetricsProblems(t *testing.T) {
	trial := healthy(3)
	trial.MetricsProblems = []string{"prometheus.io/scheme https is not scraped"}
	r := CompareMetrics(DefaultConfig(), [2]Recording{healthy(1), healthy(2)}, trial).Result()
	assert.True(t, r.Pass)
	assert.Equal(t, "no metrics endpoint scraped; not scraped: prometheus.io/scheme https is not scraped", r.Reason)
}

func TestMetricsConfigValidate(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MetricsDisagreeFactor = 0.5
	assert.Error(t, cfg.Validate())
	cfg = DefaultConfig()
	cfg.MetricsAbsTolerance = -1
	assert.Error(t, cfg.Validate())
}
