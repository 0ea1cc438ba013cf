// Command loghub measures Cinch's log oracle (pkg/oracle) on labelled logs
// laid out like Loghub-2k: one folder per dataset holding <DS>_2k.log (raw
// lines) and <DS>_2k.log_structured.csv (per line, the ground-truth EventId).
// Raw lines are fed to the oracle unchanged. Per dataset and on average it
// reports grouping accuracy, false-anomaly and miss rates of the train/judge
// split, throughput on one core and heap use. Throughput is per CPU-second,
// the median of -repeat measurements, beside a reference measured in turn
// with it on the same lines (splitting them into fields), so that the ratio
// can be compared across runs on a loaded machine.
//
// The figures are leave-one-dataset-out: for each dataset, the Drain
// parameters (similarity, enumeration size, length tolerance) are chosen
// from a fixed grid on the other datasets only, and the dataset is then
// measured with that choice, so that each row predicts a log format the
// configuration was not chosen on. The masker has no parameter and no rule
// for one dataset. The table says which folds chose the product's default;
// when all did, the figures are those of the one fixed default.
//
// The train/judge split follows CompareLogs: the first half of the lines is
// learned as two baseline runs (its two quarters), the second half judged.
//
//	go run ./test/bench/loghub -data ../shared/loghub [-json]
package main

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/cinch-dev/cinch/pkg/oracle"
)

type config struct {
	data       string
	json       bool
	minTime    time.Duration
	repeat     int
	only       string
	showBad    int
	cpuProfile string
	// drainCfg is the product's default configuration (or the one the
	// experiment flags set); with fixed, every dataset is measured with it
	// and no leave-one-out choice is made.
	drainCfg oracle.DrainConfig
	fixed    bool
	showGrid bool
	// runs is the number of baseline runs the training lines are learned
	// as (1 or 2; CompareLogs learns 2).
	runs int
}

func main() {
	cfg := config{drainCfg: oracle.DefaultDrainConfig(), runs: 2}
	fs := flag.NewFlagSet("loghub", flag.ExitOnError)
	fs.StringVar(&cfg.data, "data", "", "folder with one sub-folder per dataset (required)")
	fs.BoolVar(&cfg.json, "json", false, "print one JSON object per dataset and one for the mean")
	fs.DurationVar(&cfg.minTime, "time", 300*time.Millisecond, "minimum measuring time per throughput figure")
	fs.IntVar(&cfg.repeat, "repeat", 3, "measure each throughput figure this many times and report the median")
	fs.StringVar(&cfg.only, "only", "", "comma-separated datasets to run (default all; the leave-one-out choice uses only these)")
	fs.IntVar(&cfg.showBad, "show-errors", 0, "print up to N wrongly grouped templates per dataset (diagnostics)")
	fs.BoolVar(&cfg.showGrid, "show-grid", false, "print the accuracy of every configuration on every dataset (diagnostics)")
	fs.BoolVar(&cfg.fixed, "fixed", false, "measure every dataset with the default configuration, no leave-one-out choice")
	fs.IntVar(&cfg.runs, "runs", cfg.runs, "baseline runs the training half is learned as (1 or 2)")
	fs.IntVar(&cfg.drainCfg.Depth, "depth", cfg.drainCfg.Depth, "Drain tree depth (experiments only; the default is the product's)")
	fs.Float64Var(&cfg.drainCfg.Similarity, "st", cfg.drainCfg.Similarity, "Drain similarity threshold (experiments only)")
	fs.IntVar(&cfg.drainCfg.MaxEnumValues, "enum", cfg.drainCfg.MaxEnumValues, "Drain enumeration size (experiments only)")
	fs.IntVar(&cfg.drainCfg.LengthTolerance, "lt", cfg.drainCfg.LengthTolerance, "Drain length tolerance, -1 disables (experiments only)")
	fs.StringVar(&cfg.cpuProfile, "cpuprofile", "", "write a CPU profile to this file (diagnostics)")
	_ = fs.Parse(os.Args[1:])
	if err := run(cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "loghub:", err)
		os.Exit(1)
	}
}

// Dataset is one labelled log: raw lines and their ground-truth event ids.
type Dataset struct {
	Name   string
	Lines  []string
	Events []string
}

// Result holds the figures of one dataset (or their mean).
type Result struct {
	Dataset          string  `json:"dataset"`
	Lines            int     `json:"lines"`
	GA               float64 `json:"ga"`
	FalseAnomalyRate float64 `json:"false_anomaly_rate"`
	MissRate         float64 `json:"miss_rate"`
	// Config is the Drain configuration the figures are of, chosen on the
	// other datasets; Default tells whether it is the product's default.
	Config  string `json:"config"`
	Default bool   `json:"default"`
	// DefaultGA and DefaultFalseAnomalyRate are the figures of the default
	// configuration, for comparison.
	DefaultGA               float64 `json:"default_ga"`
	DefaultFalseAnomalyRate float64 `json:"default_false_anomaly_rate"`
	TrainLinesPerS          float64 `json:"train_lines_per_s"`
	MatchLinesPerS          float64 `json:"match_lines_per_s"`
	// RefLinesPerS is a reference measured in the same run on the same
	// lines: splitting them into fields, the least any parser does.
	RefLinesPerS float64 `json:"ref_lines_per_s"`
	// The figures above are per CPU-second on one core; these per wall
	// second, which depends on other load on the machine.
	TrainLinesPerWallS float64 `json:"train_lines_per_wall_s"`
	MatchLinesPerWallS float64 `json:"match_lines_per_wall_s"`
	Templates          int     `json:"templates"`
	Events             int     `json:"events"`
	SeenLines          int     `json:"seen_lines"`
	UnseenLines        int     `json:"unseen_lines"`
	ModelHeapBytes     uint64  `json:"model_heap_bytes"`
	PeakHeapBytes      uint64  `json:"peak_heap_bytes"`
	MaxRSSBytes        uint64  `json:"max_rss_bytes,omitempty"`
}

func run(cfg config, w io.Writer) error {
	if cfg.data == "" {
		return errors.New("-data is required")
	}
	runtime.GOMAXPROCS(1) // throughput is reported for one core
	if cfg.cpuProfile != "" {
		f, err := os.Create(cfg.cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	sets, err := loadAll(cfg.data, cfg.only)
	if err != nil {
		return err
	}
	if len(sets) == 0 {
		return fmt.Errorf("no dataset found in %s", cfg.data)
	}
	configs := []oracle.DrainConfig{cfg.drainCfg}
	if !cfg.fixed {
		configs = Grid(cfg.drainCfg)
	}
	// Accuracy of every configuration on every dataset.
	scores := make([][]Result, len(configs))
	for c, dc := range configs {
		scores[c] = make([]Result, len(sets))
		for i, ds := range sets {
			scores[c][i] = score(ds, dc, cfg.runs)
		}
	}
	if cfg.showGrid {
		for c := range configs {
			fmt.Fprintf(w, "%-24s", describe(configs[c]))
			for i := range sets {
				fmt.Fprintf(w, " %s %.3f/%.2f%%", sets[i].Name[:3], scores[c][i].GA, 100*scores[c][i].FalseAnomalyRate)
			}
			fmt.Fprintln(w)
		}
	}
	var results []Result
	var peak uint64
	for i, ds := range sets {
		c := Choose(scores, i)
		r := scores[c][i]
		r.Config, r.Default = describe(configs[c]), c == 0
		r.DefaultGA, r.DefaultFalseAnomalyRate = scores[0][i].GA, scores[0][i].FalseAnomalyRate
		measure(&r, ds, configs[c], cfg)
		peak = max(peak, r.PeakHeapBytes)
		results = append(results, r)
		if cfg.showBad > 0 {
			showErrors(w, ds, configs[c], cfg.showBad)
			showNovelty(ds, configs[c], cfg.runs)
		}
	}
	var plain []Result
	for i := range sets {
		plain = append(plain, scores[ChooseMean(scores, i)][i])
	}
	plainMean := meanOf(plain)
	mean := meanOf(results)
	mean.PeakHeapBytes = peak
	mean.MaxRSSBytes = maxRSS()
	results = append(results, mean)
	if cfg.json {
		enc := json.NewEncoder(w)
		for _, r := range results {
			if err := enc.Encode(r); err != nil {
				return err
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "dataset\tlines\tevents\ttemplates\tGA\tfalse-anomaly\tmiss\tconfig (chosen on the others)\tdefault GA\tdefault FA\ttrain lines/cpu-s\tmatch lines/cpu-s\tref lines/cpu-s\ttrain/ref\tmatch/ref\ttrain lines/wall-s\tmatch lines/wall-s\tmodel heap KiB\t")
	for _, r := range results {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%.4f\t%.2f%%\t%.2f%%\t%s\t%.4f\t%.2f%%\t%.0f\t%.0f\t%.0f\t%.2f\t%.2f\t%.0f\t%.0f\t%d\t\n", r.Dataset, r.Lines, r.Events, r.Templates,
			r.GA, 100*r.FalseAnomalyRate, 100*r.MissRate, r.Config, r.DefaultGA, 100*r.DefaultFalseAnomalyRate,
			r.TrainLinesPerS, r.MatchLinesPerS, r.RefLinesPerS, r.TrainLinesPerS/r.RefLinesPerS, r.MatchLinesPerS/r.RefLinesPerS,
			r.TrainLinesPerWallS, r.MatchLinesPerWallS, r.ModelHeapBytes/1024)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	switch {
	case cfg.fixed:
		fmt.Fprintf(w, "one fixed configuration for all datasets: %s\n", describe(cfg.drainCfg))
	case Choose(scores, -1) != 0:
		fmt.Fprintf(w, "on all datasets the rule would choose %s (the product default differs)\n", describe(configs[Choose(scores, -1)]))
	}
	switch defaults := countDefault(results[:len(results)-1]); {
	case cfg.fixed:
	case defaults == len(sets):
		fmt.Fprintf(w, "leave-one-dataset-out over %d configurations: every fold chose the default (%s), so the figures are those of one fixed configuration\n", len(configs), describe(cfg.drainCfg))
	default:
		fmt.Fprintf(w, "leave-one-dataset-out over %d configurations: %d of %d folds chose the default (%s)\n", len(configs), defaults, len(sets), describe(cfg.drainCfg))
	}
	if !cfg.fixed {
		fmt.Fprintf(w, "chosen by the highest mean GA on the others instead: mean GA %.4f, false-anomaly %.2f%%, miss %.2f%%\n", plainMean.GA, 100*plainMean.FalseAnomalyRate, 100*plainMean.MissRate)
	}
	fmt.Fprintf(w, "throughput per CPU-second on one core, median of %d: train %.2f M, match %.2f M lines (reference, splitting into fields: %.2f M; ratio %.2f / %.2f)\n",
		max(cfg.repeat, 1), mean.TrainLinesPerS/1e6, mean.MatchLinesPerS/1e6, mean.RefLinesPerS/1e6, mean.TrainLinesPerS/mean.RefLinesPerS, mean.MatchLinesPerS/mean.RefLinesPerS)
	rows := results[:len(results)-1]
	train, match := spread(rows, func(r Result) float64 { return r.TrainLinesPerS }), spread(rows, func(r Result) float64 { return r.MatchLinesPerS })
	trainRatio := spread(rows, func(r Result) float64 { return r.TrainLinesPerS / r.RefLinesPerS })
	matchRatio := spread(rows, func(r Result) float64 { return r.MatchLinesPerS / r.RefLinesPerS })
	fmt.Fprintf(w, "per dataset: train %.2f-%.2f M (%s slowest), match %.2f-%.2f M (%s slowest) lines per CPU-second; ratio to the reference: train %.2f-%.2f, match %.2f-%.2f\n",
		train.min/1e6, train.max/1e6, train.minName, match.min/1e6, match.max/1e6, match.minName, trainRatio.min, trainRatio.max, matchRatio.min, matchRatio.max)
	fmt.Fprintf(w, "peak heap %d KiB, max RSS %d KiB\n", peak/1024, mean.MaxRSSBytes/1024)
	return nil
}

// Grid returns the Drain configurations the leave-one-out choice is made
// from: def first (ties keep it), then every combination of a few
// similarity thresholds, enumeration sizes and length tolerances.
func Grid(def oracle.DrainConfig) []oracle.DrainConfig {
	out := []oracle.DrainConfig{def}
	for _, st := range []float64{0.5, 0.6, 0.7} {
		for _, enum := range []int{0, 4, 8} {
			for _, lt := range []int{-1, 1} {
				c := def
				c.Similarity, c.MaxEnumValues, c.LengthTolerance = st, enum, lt
				if c != def {
					out = append(out, c)
				}
			}
		}
	}
	return out
}

// maxFalseAnomaly is the bound on the mean false-anomaly rate a
// configuration must keep on the datasets it is chosen on.
const maxFalseAnomaly = 0.01

// nearBest is how far below the best grouping accuracy a configuration may
// stay on a dataset and still count as (one of) its best.
const nearBest = 0.005

// Choose returns the configuration (index into scores) for dataset held,
// chosen on all other datasets only, by a robust rule: among those whose
// mean false-anomaly rate stays within maxFalseAnomaly, the one that is
// within nearBest of the best grouping accuracy on the most datasets (a
// setting that helps one format a lot but hurts several is not chosen),
// then the lowest mean false-anomaly rate (what a false anomaly costs is a
// hardening left out), then the highest mean grouping accuracy, then the
// earlier (the default first). With no other dataset it returns 0, the
// default; held -1 chooses on all datasets.
func Choose(scores [][]Result, held int) int {
	n := len(scores[0])
	if held >= 0 {
		n--
	}
	if n < 1 {
		return 0
	}
	eligible := make([]bool, len(scores))
	for c := range scores {
		fa := 0.0
		for i, r := range scores[c] {
			if i != held {
				fa += r.FalseAnomalyRate
			}
		}
		eligible[c] = fa/float64(n) <= maxFalseAnomaly
	}
	best := make([]float64, len(scores[0]))
	for c := range scores {
		for i, r := range scores[c] {
			if eligible[c] {
				best[i] = max(best[i], r.GA)
			}
		}
	}
	choice, choiceVotes, choiceFA, choiceGA := -1, -1, 0.0, -1.0
	for c := range scores {
		votes, ga, fa := 0, 0.0, 0.0
		for i, r := range scores[c] {
			if i == held {
				continue
			}
			if r.GA >= best[i]-nearBest {
				votes++
			}
			ga += r.GA
			fa += r.FalseAnomalyRate
		}
		ga, fa = ga/float64(n), fa/float64(n)
		if !eligible[c] {
			continue
		}
		if votes > choiceVotes || (votes == choiceVotes && (fa < choiceFA || (fa == choiceFA && ga > choiceGA))) {
			choice, choiceVotes, choiceFA, choiceGA = c, votes, fa, ga
		}
	}
	if choice < 0 {
		return ChooseMean(scores, held)
	}
	return choice
}

// ChooseMean is the plain rule, reported for comparison: the highest mean
// grouping accuracy on the other datasets among the configurations whose
// mean false-anomaly rate stays within maxFalseAnomaly, else the lowest
// mean false-anomaly rate; ties keep the earlier.
func ChooseMean(scores [][]Result, held int) int {
	best, bestGA, bestFA, eligible := 0, -1.0, 2.0, false
	for c := range scores {
		ga, fa, n := 0.0, 0.0, 0
		for i, r := range scores[c] {
			if i != held {
				ga += r.GA
				fa += r.FalseAnomalyRate
				n++
			}
		}
		if n == 0 {
			return 0
		}
		ga, fa = ga/float64(n), fa/float64(n)
		ok := fa <= maxFalseAnomaly
		switch {
		case ok && (!eligible || ga > bestGA):
			best, bestGA, bestFA, eligible = c, ga, fa, true
		case !ok && !eligible && fa < bestFA:
			best, bestGA, bestFA = c, ga, fa
		}
	}
	return best
}

// span is the least and the greatest value of a figure over the datasets.
type span struct {
	min, max float64
	minName  string
}

func spread(rs []Result, f func(Result) float64) span {
	var s span
	for i, r := range rs {
		if v := f(r); i == 0 || v < s.min {
			s.min, s.minName = v, r.Dataset
		}
		s.max = max(s.max, f(r))
	}
	return s
}

func describe(dc oracle.DrainConfig) string {
	return fmt.Sprintf("st=%.2f enum=%d lt=%d", dc.Similarity, dc.MaxEnumValues, max(dc.LengthTolerance, 0))
}

func countDefault(rs []Result) int {
	n := 0
	for _, r := range rs {
		if r.Default {
			n++
		}
	}
	return n
}

func loadAll(dir, only string) ([]Dataset, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read data folder: %w", err)
	}
	want := map[string]bool{}
	for _, n := range strings.Split(only, ",") {
		if n != "" {
			want[n] = true
		}
	}
	var sets []Dataset
	for _, e := range entries {
		if !e.IsDir() || (len(want) > 0 && !want[e.Name()]) {
			continue
		}
		name := e.Name()
		logPath := filepath.Join(dir, name, name+"_2k.log")
		csvPath := filepath.Join(dir, name, name+"_2k.log_structured.csv")
		if _, err := os.Stat(csvPath); err != nil {
			continue
		}
		ds, err := load(name, logPath, csvPath)
		if err != nil {
			return nil, fmt.Errorf("dataset %s: %w", name, err)
		}
		sets = append(sets, ds)
	}
	return sets, nil
}

func load(name, logPath, csvPath string) (Dataset, error) {
	raw, err := os.ReadFile(logPath)
	if err != nil {
		return Dataset{}, err
	}
	lines := strings.Split(strings.TrimRight(string(raw), "\r\n"), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, "\r")
	}
	f, err := os.Open(csvPath)
	if err != nil {
		return Dataset{}, err
	}
	defer f.Close()
	events, err := readEvents(f)
	if err != nil {
		return Dataset{}, err
	}
	if len(events) != len(lines) {
		return Dataset{}, fmt.Errorf("%d log lines but %d labelled rows", len(lines), len(events))
	}
	return Dataset{Name: name, Lines: lines, Events: events}, nil
}

// readEvents returns the EventId column of a structured CSV in LineId order.
func readEvents(r io.Reader) ([]string, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("read header: %w", err)
	}
	col, idCol := -1, -1
	for i, h := range header {
		switch strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")) {
		case "EventId":
			col = i
		case "LineId":
			idCol = i
		}
	}
	if col < 0 {
		return nil, errors.New("no EventId column")
	}
	type row struct {
		id    int
		event string
	}
	var rows []row
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if col >= len(rec) {
			return nil, fmt.Errorf("short row %d", len(rows)+1)
		}
		id := len(rows)
		if idCol >= 0 && idCol < len(rec) {
			if v, err := strconv.Atoi(rec[idCol]); err == nil {
				id = v
			}
		}
		rows = append(rows, row{id, rec[col]})
	}
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].id < rows[j].id })
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = r.event
	}
	return out, nil
}

// score measures the accuracy of one configuration on one dataset.
// Grouping accuracy: train on all lines, in order, then classify them. The
// train/judge split: learn the first half of the lines (as runs baseline
// runs, in order), judge the second half.
func score(ds Dataset, dc oracle.DrainConfig, runs int) Result {
	r := Result{Dataset: ds.Name, Lines: len(ds.Lines)}
	d := oracle.NewDrain(dc)
	for _, l := range ds.Lines {
		d.Train(l)
	}
	r.GA = GroupingAccuracy(classifyAll(d, ds.Lines), ds.Events)
	r.Templates = d.Len()
	r.Events = distinct(ds.Events)
	half := len(ds.Lines) / 2
	model := judgeModel(ds.Lines[:half], dc, runs)
	second := ds.Lines[half:]
	matched := make([]bool, len(second))
	for i, l := range second {
		_, matched[i] = model.Match(l)
	}
	r.FalseAnomalyRate, r.MissRate, r.SeenLines, r.UnseenLines = NoveltyRates(ds.Events[:half], ds.Events[half:], matched)
	return r
}

// judgeModel learns the training lines as CompareLogs learns two baselines:
// with runs 2, the first half of them as run 0, the rest as run 1.
func judgeModel(lines []string, dc oracle.DrainConfig, runs int) *oracle.Drain {
	model := oracle.NewDrain(dc)
	for i, l := range lines {
		if runs >= 2 && i >= len(lines)/2 {
			model.TrainBaseline(l, 1)
		} else {
			model.TrainBaseline(l, 0)
		}
	}
	return model
}

// showNovelty prints, for diagnostics, the judged lines whose verdict
// disagrees with the ground truth.
func showNovelty(ds Dataset, dc oracle.DrainConfig, runs int) {
	half := len(ds.Lines) / 2
	model := judgeModel(ds.Lines[:half], dc, runs)
	known := map[string]bool{}
	for _, e := range ds.Events[:half] {
		known[e] = true
	}
	for i, l := range ds.Lines[half:] {
		id, ok := model.Match(l)
		if known[ds.Events[half+i]] == ok {
			continue
		}
		kind, tpl := "missed", ""
		if ok {
			tpl = model.Template(id).String()
		} else {
			kind = "false anomaly"
		}
		fmt.Fprintf(os.Stderr, "%s %s %s: %s\n    matched %s\n", ds.Name, kind, ds.Events[half+i], l, tpl)
	}
}

// measure adds throughput on one core and heap use of configuration dc to r.
func measure(r *Result, ds Dataset, dc oracle.DrainConfig, cfg config) {
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	d := oracle.NewDrain(dc)
	for _, l := range ds.Lines {
		d.Train(l)
	}
	runtime.ReadMemStats(&after)
	r.PeakHeapBytes = after.HeapAlloc
	runtime.GC()
	runtime.ReadMemStats(&after)
	if after.HeapAlloc > before.HeapAlloc {
		r.ModelHeapBytes = after.HeapAlloc - before.HeapAlloc
	}
	runtime.KeepAlive(d)
	half := len(ds.Lines) / 2
	model := judgeModel(ds.Lines[:half], dc, cfg.runs)
	second := ds.Lines[half:]
	// The three figures are measured in turn, repeat times, so that each
	// median comes from the same stretch of the machine's load.
	fields := 0
	var train, trainWall, match, matchWall, ref []float64
	for range max(cfg.repeat, 1) {
		cpu, wall := throughput(cfg.minTime, len(ds.Lines), func() {
			m := oracle.NewDrain(dc)
			for _, l := range ds.Lines {
				m.Train(l)
			}
		})
		train, trainWall = append(train, cpu), append(trainWall, wall)
		cpu, wall = throughput(cfg.minTime, len(second), func() {
			for _, l := range second {
				model.Match(l)
			}
		})
		match, matchWall = append(match, cpu), append(matchWall, wall)
		cpu, _ = throughput(cfg.minTime, len(ds.Lines), func() {
			for _, l := range ds.Lines {
				fields += len(strings.Fields(l))
			}
		})
		ref = append(ref, cpu)
	}
	r.TrainLinesPerS, r.TrainLinesPerWallS = median(train), median(trainWall)
	r.MatchLinesPerS, r.MatchLinesPerWallS = median(match), median(matchWall)
	r.RefLinesPerS = median(ref)
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	r.PeakHeapBytes = max(r.PeakHeapBytes, ms.HeapAlloc)
}

// classifyAll parses every line with the trained model: its group and
// variant, numbered in order of appearance.
func classifyAll(d *oracle.Drain, lines []string) []int {
	out, _ := classifyAllTemplates(d, lines)
	return out
}

// classifyAllTemplates is classifyAll that also returns each line's
// template, for diagnostics.
func classifyAllTemplates(d *oracle.Drain, lines []string) ([]int, []string) {
	type key struct {
		id      int
		variant string
	}
	ids := map[key]int{}
	out := make([]int, len(lines))
	tpls := make([]string, len(lines))
	for i, l := range lines {
		id, variant, ok := d.Classify(l)
		if !ok {
			out[i] = -1 - i // unparsed: a group of its own
			tpls[i] = "(unparsed) " + l
			continue
		}
		tpls[i] = d.Template(id).String() + "  {" + variant + "}"
		k := key{id, variant}
		n, seen := ids[k]
		if !seen {
			n = len(ids)
			ids[k] = n
		}
		out[i] = n
	}
	return out, tpls
}

// throughput runs f (which handles lines lines) repeatedly for at least
// minTime and returns lines per second of process CPU time and of wall time.
// With GOMAXPROCS=1 the CPU time is that of one core, garbage collection
// included; it does not depend on other load on the machine.
func throughput(minTime time.Duration, lines int, f func()) (perCPU, perWall float64) {
	f() // warm up
	n := 0
	cpu0, start := cpuTime(), time.Now()
	for {
		f()
		n++
		if el := time.Since(start); el >= minTime {
			cpu := cpuTime() - cpu0
			if cpu <= 0 {
				cpu = el
			}
			return float64(n*lines) / cpu.Seconds(), float64(n*lines) / el.Seconds()
		}
	}
}

// median returns the middle value of v (the mean of the middle two for an
// even count); it sorts v.
func median(v []float64) float64 {
	sort.Float64s(v)
	n := len(v)
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// GroupingAccuracy is the share of lines whose predicted group holds exactly
// the lines of their ground-truth event (Zhu et al., ICSE-SEIP 2019).
func GroupingAccuracy(pred []int, truth []string) float64 {
	if len(pred) == 0 {
		return 0
	}
	eventSize := map[string]int{}
	for _, e := range truth {
		eventSize[e]++
	}
	type group struct {
		events map[string]int
		size   int
	}
	groups := map[int]*group{}
	for i, p := range pred {
		g := groups[p]
		if g == nil {
			g = &group{events: map[string]int{}}
			groups[p] = g
		}
		g.events[truth[i]]++
		g.size++
	}
	correct := 0
	for _, g := range groups {
		if len(g.events) != 1 {
			continue
		}
		for e, n := range g.events {
			if eventSize[e] == n {
				correct += n
			}
		}
	}
	return float64(correct) / float64(len(pred))
}

// NoveltyRates compares the matches of the judged lines with the ground
// truth: the false-anomaly rate is the share of judged lines whose event
// occurs in the training lines but that were not matched; the miss rate is
// the share of judged lines whose event never occurs in the training lines
// but that were matched.
func NoveltyRates(trainEvents, judgedEvents []string, matched []bool) (falseAnomaly, miss float64, seen, unseen int) {
	known := map[string]bool{}
	for _, e := range trainEvents {
		known[e] = true
	}
	fa, ms := 0, 0
	for i, e := range judgedEvents {
		if known[e] {
			seen++
			if !matched[i] {
				fa++
			}
		} else {
			unseen++
			if matched[i] {
				ms++
			}
		}
	}
	if seen > 0 {
		falseAnomaly = float64(fa) / float64(seen)
	}
	if unseen > 0 {
		miss = float64(ms) / float64(unseen)
	}
	return falseAnomaly, miss, seen, unseen
}

func meanOf(rs []Result) Result {
	m := Result{Dataset: "mean"}
	missN := 0
	for _, r := range rs {
		m.Lines += r.Lines
		m.GA += r.GA
		m.FalseAnomalyRate += r.FalseAnomalyRate
		if r.UnseenLines > 0 {
			m.MissRate += r.MissRate
			missN++
		}
		m.DefaultGA += r.DefaultGA
		m.DefaultFalseAnomalyRate += r.DefaultFalseAnomalyRate
		m.TrainLinesPerS += r.TrainLinesPerS
		m.MatchLinesPerS += r.MatchLinesPerS
		m.RefLinesPerS += r.RefLinesPerS
		m.TrainLinesPerWallS += r.TrainLinesPerWallS
		m.MatchLinesPerWallS += r.MatchLinesPerWallS
		m.Templates += r.Templates
		m.Events += r.Events
		m.SeenLines += r.SeenLines
		m.UnseenLines += r.UnseenLines
		m.ModelHeapBytes = max(m.ModelHeapBytes, r.ModelHeapBytes)
	}
	n := float64(len(rs))
	m.GA /= n
	m.FalseAnomalyRate /= n
	if missN > 0 {
		m.MissRate /= float64(missN)
	}
	m.DefaultGA /= n
	m.DefaultFalseAnomalyRate /= n
	m.TrainLinesPerS /= n
	m.MatchLinesPerS /= n
	m.RefLinesPerS /= n
	m.TrainLinesPerWallS /= n
	m.MatchLinesPerWallS /= n
	return m
}

func distinct(s []string) int {
	seen := map[string]bool{}
	for _, v := range s {
		seen[v] = true
	}
	return len(seen)
}

func maxRSS() uint64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return uint64(ru.Maxrss) * 1024
}

// showErrors prints, for diagnostics, the ground-truth events that were not
// grouped exactly, with the predicted templates their lines went to.
func showErrors(w io.Writer, ds Dataset, dc oracle.DrainConfig, limit int) {
	d := oracle.NewDrain(dc)
	for _, l := range ds.Lines {
		d.Train(l)
	}
	pred, tplOf := classifyAllTemplates(d, ds.Lines)
	tplByPred := map[int]string{}
	for i, p := range pred {
		tplByPred[p] = tplOf[i]
	}
	byEvent := map[string]map[int]int{}
	byPred := map[int]map[string]int{}
	for i, e := range ds.Events {
		if byEvent[e] == nil {
			byEvent[e] = map[int]int{}
		}
		byEvent[e][pred[i]]++
		if byPred[pred[i]] == nil {
			byPred[pred[i]] = map[string]int{}
		}
		byPred[pred[i]][e]++
	}
	var events []string
	for e := range byEvent {
		events = append(events, e)
	}
	sort.Slice(events, func(i, j int) bool {
		return sum(byEvent[events[i]]) > sum(byEvent[events[j]])
	})
	shown := 0
	for _, e := range events {
		ps := byEvent[e]
		ok := len(ps) == 1
		for p := range ps {
			ok = ok && len(byPred[p]) == 1
		}
		if ok {
			continue
		}
		if shown >= limit {
			break
		}
		shown++
		fmt.Fprintf(w, "%s %s: %d lines in %d groups\n", ds.Name, e, sum(ps), len(ps))
		for p, n := range ps {
			others := []string{}
			for oe, on := range byPred[p] {
				if oe != e {
					others = append(others, fmt.Sprintf("%s:%d", oe, on))
				}
			}
			tpl := tplByPred[p]
			fmt.Fprintf(w, "    %4d  %s   mixed with %v\n", n, tpl, others)
		}
	}
}

func sum(m map[int]int) int {
	s := 0
	for _, v := range m {
		s += v
	}
	return s
}
