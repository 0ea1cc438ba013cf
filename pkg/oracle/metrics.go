package oracle

import (
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Reasons of TC-06 evidence.
const (
	// ReasonErrorRate: an error-like counter rose faster in the trial than
	// the baselines' band allows.
	ReasonErrorRate = "ErrorRate"
	// ReasonMetricsUnanswered: a metrics endpoint that answered in both
	// baselines answered no scrape of the trial.
	ReasonMetricsUnanswered = "MetricsUnanswered"
)

// MetricsScrape is one scrape of one declared Prometheus endpoint of one
// pod (TC-06). Only error-like counters are kept (see ErrorCounter).
type MetricsScrape struct {
	Pod       string
	Container string `json:",omitempty"`
	// Endpoint identifies the scraped endpoint across runs: ":PORT/PATH".
	Endpoint string
	// Offset is the time since the run started.
	Offset time.Duration
	// OK reports that the endpoint answered 200 with a readable text
	// exposition; Error says why not.
	OK    bool
	Error string `json:",omitempty"`
	// Samples are the error-like counters of the answer.
	Samples []MetricSample `json:",omitempty"`
}

// MetricSample is one series of an exposition and its value.
type MetricSample struct {
	// Series is the metric name and its labels as SeriesName renders them.
	Series string
	Value  float64
}

// MetricsEndpoint renders an endpoint as MetricsScrape.Endpoint does.
func MetricsEndpoint(port int32, path string) string {
	if path == "" {
		path = "/metrics"
	}
	return ":" + strconv.Itoa(int(port)) + path
}

// SeriesName renders a series in the exposition's own form, labels sorted
// by name: name{a="x",b="y"}; just the name without labels.
func SeriesName(name string, labels map[string]string) string {
	if len(labels) == 0 {
		return name
	}
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString(name)
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(k)
		b.WriteString("=")
		b.WriteString(strconv.Quote(labels[k]))
	}
	b.WriteByte('}')
	return b.String()
}

// errorCounterName matches the names of error-like counters: *_errors_total,
// *_failures_total, *_failed_total (and the singular *_error_total,
// *_failure_total).
var errorCounterName = regexp.MustCompile(`_(errors?|failures?|failed)_total$`)

// statusLabels are the label names that carry an HTTP (or gRPC gateway)
// status code on request counters.
var statusLabels = map[string]bool{
	"code": true, "status": true, "status_code": true, "statuscode": true,
	"http_status": true, "http_code": true, "response_code": true, "http_status_code": true,
}

// serverErrorValue matches a 5xx status code or class (500, 503, 5xx).
var serverErrorValue = regexp.MustCompile(`^5([0-9][0-9]|xx|XX)$`)

// ErrorCounter reports whether a counter series is error-like: its name
// ends in _errors_total, _failures_total or _failed_total (or the singular
// _error_total, _failure_total), or it is a counter (its name ends in
// _total) with a status label (code, status, status_code, ...) whose value
// is a 5xx code. counter says the exposition declares it a counter; a
// series of another declared type is never error-like.
func ErrorCounter(name string, labels map[string]string, counter bool) bool {
	if !counter && !strings.HasSuffix(name, "_total") {
		return false
	}
	if errorCounterName.MatchString(name) {
		return true
	}
	if !strings.HasSuffix(name, "_total") {
		return false
	}
	for k, v := range labels {
		if statusLabels[strings.ToLower(k)] && serverErrorValue.MatchString(v) {
			return true
		}
	}
	return false
}

// seriesRate is what one run shows of one series of one endpoint.
type seriesRate struct {
	// Increase is how much the counter rose between the first and the
	// last answered scrape of each pod, counter resets counted, summed
	// over the pods; Window is the longest such span of a pod.
	Increase float64
	Window   time.Duration
}

// Rate is the increase per second; zero without a window.
func (r seriesRate) Rate() float64 {
	if r.Window <= 0 {
		return 0
	}
	return r.Increase / r.Window.Seconds()
}

// endpointRun is what one run shows of one endpoint.
type endpointRun struct {
	container string
	// scrapes and answered count the scrapes of the endpoint and those
	// that answered; measured reports that some pod answered twice or
	// more, so rates were measured.
	scrapes, answered int
	measured          bool
	window            time.Duration
	lastError         string
	series            map[string]seriesRate
}

// MetricRates computes, per endpoint and series, how much each error-like
// counter rose in a run and over which window. A series missing from an
// answered scrape counts as 0 there (client libraries create labelled
// series on their first increment); a value below the previous one is a
// counter reset (a restarted container), and the new value is the
// increase since. Pods are measured separately and their increases
// summed.
func metricRates(r Recording) map[string]*endpointRun {
	type podKey struct{ endpoint, pod string }
	byPod := map[podKey][]MetricsScrape{}
	out := map[string]*endpointRun{}
	for _, s := range r.Metrics {
		e := out[s.Endpoint]
		if e == nil {
			e = &endpointRun{container: s.Container, series: map[string]seriesRate{}}
			out[s.Endpoint] = e
		}
		e.scrapes++
		if !s.OK {
			e.lastError = s.Error
			continue
		}
		e.answered++
		k := podKey{s.Endpoint, s.Pod}
		byPod[k] = append(byPod[k], s)
	}
	for k, scrapes := range byPod {
		sort.SliceStable(scrapes, func(i, j int) bool { return scrapes[i].Offset < scrapes[j].Offset })
		e := out[k.endpoint]
		if len(scrapes) < 2 {
			continue
		}
		window := scrapes[len(scrapes)-1].Offset - scrapes[0].Offset
		if window <= 0 {
			continue
		}
		e.measured = true
		e.window = max(e.window, window)
		names := map[string]bool{}
		for _, s := range scrapes {
			for _, m := range s.Samples {
				names[m.Series] = true
			}
		}
		for name := range names {
			inc, prev := 0.0, 0.0
			for i, s := range scrapes {
				v := 0.0
				for _, m := range s.Samples {
					if m.Series == name {
						v = m.Value
						break
					}
				}
				if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
					v = prev
				}
				switch {
				case i == 0:
				case v >= prev:
					inc += v - prev
				default:
					inc += v // a reset: counted from zero
				}
				prev = v
			}
			sr := e.series[name]
			sr.Increase += inc
			sr.Window = max(sr.Window, window)
			e.series[name] = sr
		}
	}
	return out
}

// MetricsBand is the band of one series' rate in the baselines: a trial
// rate above High fails when the trial's increase is at least
// Config.MetricsMinIncrease.
type MetricsBand struct {
	// Rates are the baselines' rates per second.
	Rates [2]float64
	// High is the highest rate the trial may show.
	High float64
	// Disagree reports that the baselines' rates differ by more than the
	// absolute tolerance and by more than a factor of
	// Config.MetricsDisagreeFactor: the band is widened by their
	// difference.
	Disagree bool
}

// NewMetricsBand computes the band of a series from its rates in the two
// baselines: the higher rate times 1 + Config.MetricsRateSlack, plus
// Config.MetricsAbsTolerance; where the baselines disagree, plus their
// difference, so a noisy counter is not judged strictly. An idle counter
// (0 in both baselines) gets the absolute tolerance alone.
func NewMetricsBand(cfg Config, r1, r2 float64) MetricsBand {
	hi, lo := max(r1, r2), min(r1, r2)
	b := MetricsBand{Rates: [2]float64{r1, r2}, High: hi*(1+cfg.MetricsRateSlack) + cfg.MetricsAbsTolerance}
	if hi-lo > cfg.MetricsAbsTolerance && hi > cfg.MetricsDisagreeFactor*lo {
		b.Disagree = true
		b.High += hi - lo
	}
	return b
}

// Exceeds reports whether a trial that rose by increase over its window
// leaves the band: its rate is above High and the increase is at least
// the configured minimum (a single stray error never fails a trial).
func (b MetricsBand) Exceeds(cfg Config, r seriesRate) bool {
	return r.Increase >= cfg.MetricsMinIncrease && r.Rate() > b.High
}

// MetricsComparison is the outcome of comparing a trial's error-like
// counters with its baselines' (TC-06).
type MetricsComparison struct {
	// Endpoints counts the endpoints measured in both baselines (judged);
	// Series the error-like series judged on them; Failed the series
	// outside their band; Unanswered the judged endpoints that answered
	// no scrape of the trial; Unscraped those never scraped in the trial
	// (no Ready pod).
	Endpoints, Series, Failed, Unanswered, Unscraped int
	// NotJudged names the endpoints not measured in both baselines, with
	// the reason; NotStrict the series whose baselines disagreed.
	NotJudged, NotStrict []string
	// Partial names judged endpoints that missed some trial scrapes but
	// answered others (not a failure).
	Partial []string
	// Problems are the trial's declarations that could not be scraped
	// (Recording.MetricsProblems).
	Problems []string
	// Evidence holds at most Config.EvidenceTemplates series outside their
	// band and unanswered endpoints.
	Evidence []Evidence
}

// Pass reports whether every judged series stayed in its band and every
// judged endpoint answered the trial.
func (c MetricsComparison) Pass() bool { return c.Failed == 0 && c.Unanswered == 0 }

// Result renders the comparison as the TC-06 test result.
func (c MetricsComparison) Result() TestResult {
	res := TestResult{ID: TestMetrics, Name: NameMetrics, Hard: true, Pass: c.Pass(), Evidence: c.Evidence}
	switch {
	case c.Endpoints == 0 && len(c.NotJudged) == 0 && len(c.Problems) == 0:
		res.Reason = "no metrics endpoint declared"
	case c.Endpoints == 0 && len(c.NotJudged) == 0:
		res.Reason = "no metrics endpoint scraped"
	case c.Pass():
		res.Reason = fmt.Sprintf("%d error-like series on %d metrics endpoint(s) rose within the baselines' band", c.Series, c.Endpoints)
	default:
		var parts []string
		if c.Failed > 0 {
			parts = append(parts, fmt.Sprintf("%d of %d error-like series rose faster than in the baselines", c.Failed, c.Series))
		}
		if c.Unanswered > 0 {
			parts = append(parts, fmt.Sprintf("%d of %d metrics endpoints answered both baselines but no scrape of the trial", c.Unanswered, c.Endpoints))
		}
		res.Reason = strings.Join(parts, "; ")
	}
	if c.Unscraped > 0 {
		res.Reason += fmt.Sprintf("; %d not scraped in the trial (no Ready pod)", c.Unscraped)
	}
	if len(c.Partial) > 0 {
		res.Reason += "; some scrapes unanswered: " + strings.Join(c.Partial, ", ")
	}
	if len(c.NotJudged) > 0 {
		res.Reason += "; not judged: " + strings.Join(c.NotJudged, ", ")
	}
	if len(c.NotStrict) > 0 {
		res.Reason += "; not judged strictly (the baselines' rates differed): " + strings.Join(c.NotStrict, ", ")
	}
	if len(c.Problems) > 0 {
		res.Reason += "; not scraped: " + strings.Join(c.Problems, "; ")
	}
	return res
}

// CompareMetrics judges the trial's error-like counters against the
// baselines' (TC-06). An endpoint is judged when both baselines measured
// it (two or more answered scrapes of a pod). On a judged endpoint, every
// error-like series that either baseline or the trial showed has a band
// (NewMetricsBand; a series one run never showed rose by 0 there), and the
// trial fails when a series' rate leaves it. A judged endpoint that
// answered no scrape of the trial fails too: Prometheus would lose the
// workload's metrics under the trial's settings. An endpoint scraped in
// one baseline only, or answered in neither, is not judged.
func CompareMetrics(cfg Config, baselines [2]Recording, trial Recording) MetricsComparison {
	out := MetricsComparison{Problems: trial.MetricsProblems}
	b := [2]map[string]*endpointRun{metricRates(baselines[0]), metricRates(baselines[1])}
	t := metricRates(trial)
	endpoints := map[string]bool{}
	for _, m := range b {
		for e := range m {
			endpoints[e] = true
		}
	}
	names := make([]string, 0, len(endpoints))
	for e := range endpoints {
		names = append(names, e)
	}
	sort.Strings(names)
	var failed, unanswered []Evidence
	for _, ep := range names {
		b0, b1 := b[0][ep], b[1][ep]
		switch {
		case b0 == nil || b1 == nil:
			out.NotJudged = append(out.NotJudged, ep+" (scraped in one baseline only)")
			continue
		case !b0.measured || !b1.measured:
			why := "not measured in both baselines"
			if b0.answered == 0 && b1.answered == 0 {
				why = "answered in neither baseline"
			}
			out.NotJudged = append(out.NotJudged, fmt.Sprintf("%s (%s)", ep, why))
			continue
		}
		out.Endpoints++
		tr := t[ep]
		series := map[string]bool{}
		for _, r := range []*endpointRun{b0, b1, tr} {
			if r == nil {
				continue
			}
			for s := range r.series {
				series[s] = true
			}
		}
		out.Series += len(series)
		switch {
		case tr == nil:
			out.Unscraped++
			continue
		case tr.answered == 0:
			out.Unanswered++
			msg := fmt.Sprintf("metrics endpoint %s answered every baseline but none of %d scrapes of the trial", ep, tr.scrapes)
			if tr.lastError != "" {
				msg += ": " + tr.lastError
			}
			unanswered = append(unanswered, Evidence{Container: b0.container, Reason: ReasonMetricsUnanswered, Path: ep, Message: msg})
			continue
		case tr.answered < tr.scrapes:
			out.Partial = append(out.Partial, fmt.Sprintf("%s (%d of %d)", ep, tr.scrapes-tr.answered, tr.scrapes))
		}
		if !tr.measured {
			continue
		}
		keys := make([]string, 0, len(series))
		for s := range series {
			keys = append(keys, s)
		}
		sort.Strings(keys)
		for _, s := range keys {
			band := NewMetricsBand(cfg, b0.series[s].Rate(), b1.series[s].Rate())
			if band.Disagree {
				out.NotStrict = append(out.NotStrict, ep+" "+s)
			}
			ts := tr.series[s]
			if !band.Exceeds(cfg, ts) {
				continue
			}
			out.Failed++
			failed = append(failed, Evidence{
				Container: b0.container, Reason: ReasonErrorRate, Path: ep,
				Metric: s, Value: round3(ts.Rate()), High: round3(band.High),
				Message: fmt.Sprintf("%s on %s rose by %s in %s (%s/s) in the trial; %s/s and %s/s in the baselines (band up to %s/s)",
					s, ep, fmtNum(ts.Increase), ts.Window.Round(time.Second), fmtNum(ts.Rate()), fmtNum(band.Rates[0]), fmtNum(band.Rates[1]), fmtNum(band.High)),
			})
		}
	}
	ev := append(failed, unanswered...)
	if len(ev) > cfg.EvidenceTemplates {
		ev = ev[:cfg.EvidenceTemplates]
	}
	out.Evidence = ev
	return out
}

// round3 rounds v to 3 significant digits, for evidence.
func round3(v float64) float64 {
	if v == 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return v
	}
	f, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'g', 3, 64), 64)
	return f
}

func fmtNum(v float64) string { return strconv.FormatFloat(round3(v), 'g', -1, 64) }
