package oracle

import (
	"fmt"
	"math"
	"slices"
)

// SeriesStats summarises one resource series. Mean, Median, StdDev and
// Variance are of the normalised series (divided by the larger raw maximum
// of the two baselines, so a baseline peak is 1); Min and Max are raw.
type SeriesStats struct {
	Samples  int     `json:"samples"`
	Mean     float64 `json:"mean"`
	Median   float64 `json:"median"`
	StdDev   float64 `json:"stddev"`
	Variance float64 `json:"variance"`
	Min      float64 `json:"min"`
	Max      float64 `json:"max"`
}

// Summarise returns the statistics of raw values normalised by scale
// (scale <= 0 means 1).
func Summarise(raw []float64, scale float64) SeriesStats {
	s := SeriesStats{Samples: len(raw)}
	if len(raw) == 0 {
		return s
	}
	if scale <= 0 {
		scale = 1
	}
	norm := make([]float64, len(raw))
	s.Min, s.Max = raw[0], raw[0]
	sum := 0.0
	for i, v := range raw {
		s.Min, s.Max = min(s.Min, v), max(s.Max, v)
		norm[i] = v / scale
		sum += norm[i]
	}
	s.Mean = sum / float64(len(norm))
	for _, v := range norm {
		s.Variance += (v - s.Mean) * (v - s.Mean)
	}
	s.Variance /= float64(len(norm))
	s.StdDev = math.Sqrt(s.Variance)
	slices.Sort(norm)
	if m := len(norm) / 2; len(norm)%2 == 1 {
		s.Median = norm[m]
	} else {
		s.Median = (norm[m-1] + norm[m]) / 2
	}
	return s
}

// ResourceComparison is the outcome of TC-04 (advisory).
type ResourceComparison struct {
	// Baselines and Trial hold the statistics per metric ("cpu", "memory").
	Baselines [2]map[string]SeriesStats
	Trial     map[string]SeriesStats
	// Outside lists the metrics whose trial mean left the baselines' band.
	Outside []Evidence
	// Compared is false when a run had no samples.
	Compared bool
}

// Result renders the comparison as the advisory TC-04 test result.
func (c ResourceComparison) Result() TestResult {
	res := TestResult{ID: TestResources, Name: NameResources, Hard: false, Pass: len(c.Outside) == 0, Evidence: c.Outside}
	switch {
	case !c.Compared:
		res.Reason = "no resource samples to compare"
	case res.Pass:
		res.Reason = "CPU and memory stay within the baselines' band"
	default:
		e := c.Outside[0]
		res.Reason = fmt.Sprintf("%s mean %.3g outside the baselines' band [%.3g, %.3g] (advisory)", e.Metric, e.Value, e.Low, e.High)
	}
	return res
}

// CompareResources summarises CPU and memory of the baselines and the trial
// and flags each metric whose normalised trial mean leaves the band
// [min baseline mean, max baseline mean], widened by ResourceBandRel of the
// larger mean and ResourceBandSigma standard deviations.
func CompareResources(cfg Config, baselines [2]Recording, trial Recording) ResourceComparison {
	var out ResourceComparison
	if len(baselines[0].Resources) == 0 || len(baselines[1].Resources) == 0 || len(trial.Resources) == 0 {
		return out
	}
	out.Compared = true
	metrics := []struct {
		name string
		get  func(ResourceSample) float64
	}{
		{"cpu", func(s ResourceSample) float64 { return float64(s.CPUNanoCores) }},
		{"memory", func(s ResourceSample) float64 { return float64(s.MemoryWorkingSet) }},
	}
	out.Baselines = [2]map[string]SeriesStats{{}, {}}
	out.Trial = map[string]SeriesStats{}
	for _, m := range metrics {
		series := func(r Recording) []float64 {
			v := make([]float64, len(r.Resources))
			for i, s := range r.Resources {
				v[i] = m.get(s)
			}
			return v
		}
		ra, rb, rt := series(baselines[0]), series(baselines[1]), series(trial)
		scale := max(slices.Max(ra), slices.Max(rb))
		a, b, t := Summarise(ra, scale), Summarise(rb, scale), Summarise(rt, scale)
		out.Baselines[0][m.name], out.Baselines[1][m.name], out.Trial[m.name] = a, b, t
		if scale == 0 {
			continue // the baselines never used any: nothing to compare to
		}
		widen := cfg.ResourceBandRel*max(a.Mean, b.Mean) + cfg.ResourceBandSigma*max(a.StdDev, b.StdDev)
		low, high := min(a.Mean, b.Mean)-widen, max(a.Mean, b.Mean)+widen
		if t.Mean < low || t.Mean > high {
			out.Outside = append(out.Outside, Evidence{Reason: "OutsideBand", Metric: m.name, Value: t.Mean, Low: low, High: high,
				Message: fmt.Sprintf("raw min %.0f max %.0f", t.Min, t.Max)})
		}
	}
	return out
}
