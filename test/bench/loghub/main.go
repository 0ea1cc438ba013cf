// Command loghub measures Cinch's log oracle (pkg/oracle) on labelled logs
// laid out like Loghub-2k: one folder per dataset holding <DS>_2k.log (raw
// lines) and <DS>_2k.log_structured.csv (per line, the ground-truth EventId).
// Raw lines are fed to the oracle unchanged. Per dataset and on average it
// reports grouping accuracy, false-anomaly and miss rates of the train/judge
// split, throughput on one core and heap use.
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
	only       string
	showBad    int
	cpuProfile string
	drainCfg   oracle.DrainConfig
}

func main() {
	cfg := config{drainCfg: oracle.DefaultDrainConfig()}
	fs := flag.NewFlagSet("loghub", flag.ExitOnError)
	fs.StringVar(&cfg.data, "data", "", "folder with one sub-folder per dataset (required)")
	fs.BoolVar(&cfg.json, "json", false, "print one JSON object per dataset and one for the mean")
	fs.DurationVar(&cfg.minTime, "time", 300*time.Millisecond, "minimum measuring time per throughput figure")
	fs.StringVar(&cfg.only, "only", "", "comma-separated datasets to run (default all)")
	fs.IntVar(&cfg.showBad, "show-errors", 0, "print up to N wrongly grouped templates per dataset (diagnostics)")
	fs.IntVar(&cfg.drainCfg.Depth, "depth", cfg.drainCfg.Depth, "Drain tree depth (experiments only; the default is the product's)")
	fs.Float64Var(&cfg.drainCfg.Similarity, "st", cfg.drainCfg.Similarity, "Drain similarity threshold (experiments only)")
	fs.IntVar(&cfg.drainCfg.MaxEnumValues, "enum", cfg.drainCfg.MaxEnumValues, "Drain enumeration size (experiments only)")
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
	TrainLinesPerS   float64 `json:"train_lines_per_s"`
	MatchLinesPerS   float64 `json:"match_lines_per_s"`
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
	var results []Result
	var peak uint64
	for _, ds := range sets {
		r := evaluate(ds, cfg)
		peak = max(peak, r.PeakHeapBytes)
		results = append(results, r)
		if cfg.showBad > 0 {
			showErrors(w, ds, cfg.drainCfg, cfg.showBad)
		}
	}
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
	fmt.Fprintln(tw, "dataset\tlines\tevents\ttemplates\tGA\tfalse-anomaly\tmiss\ttrain lines/cpu-s\tmatch lines/cpu-s\ttrain lines/wall-s\tmatch lines/wall-s\tmodel heap KiB\t")
	for _, r := range results {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%.4f\t%.2f%%\t%.2f%%\t%.0f\t%.0f\t%.0f\t%.0f\t%d\t\n", r.Dataset, r.Lines, r.Events, r.Templates,
			r.GA, 100*r.FalseAnomalyRate, 100*r.MissRate, r.TrainLinesPerS, r.MatchLinesPerS, r.TrainLinesPerWallS, r.MatchLinesPerWallS, r.ModelHeapBytes/1024)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "peak heap %d KiB, max RSS %d KiB\n", peak/1024, mean.MaxRSSBytes/1024)
	return nil
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

func evaluate(ds Dataset, cfg config) Result {
	r := Result{Dataset: ds.Name, Lines: len(ds.Lines)}

	// Grouping accuracy: train on all lines, in order.
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	d := oracle.NewDrain(cfg.drainCfg)
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
	pred := classifyAll(d, ds.Lines)
	r.GA = GroupingAccuracy(pred, ds.Events)
	r.Templates = d.Len()
	r.Events = distinct(ds.Events)

	// Train on the first half, judge the second.
	half := len(ds.Lines) / 2
	first, second := ds.Lines[:half], ds.Lines[half:]
	model := oracle.NewDrain(cfg.drainCfg)
	for _, l := range first {
		model.Train(l)
	}
	matched := make([]bool, len(second))
	for i, l := range second {
		_, matched[i] = model.Match(l)
	}
	r.FalseAnomalyRate, r.MissRate, r.SeenLines, r.UnseenLines = NoveltyRates(ds.Events[:half], ds.Events[half:], matched)
	if cfg.showBad > 0 {
		known := map[string]bool{}
		for _, e := range ds.Events[:half] {
			known[e] = true
		}
		for i, l := range second {
			if known[ds.Events[half+i]] != matched[i] {
				kind := "missed"
				if known[ds.Events[half+i]] {
					kind = "false anomaly"
				}
				tpl := ""
				if id, ok := model.Match(l); ok {
					tpl = model.Template(id).String()
				}
				fmt.Fprintf(os.Stderr, "%s %s %s: %s\n    matched %s\n", ds.Name, kind, ds.Events[half+i], l, tpl)
			}
		}
	}

	// Throughput on one core.
	r.TrainLinesPerS, r.TrainLinesPerWallS = throughput(cfg.minTime, len(ds.Lines), func() {
		m := oracle.NewDrain(cfg.drainCfg)
		for _, l := range ds.Lines {
			m.Train(l)
		}
	})
	r.MatchLinesPerS, r.MatchLinesPerWallS = throughput(cfg.minTime, len(second), func() {
		for _, l := range second {
			model.Match(l)
		}
	})
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	r.PeakHeapBytes = max(r.PeakHeapBytes, ms.HeapAlloc)
	return r
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
		m.TrainLinesPerS += r.TrainLinesPerS
		m.MatchLinesPerS += r.MatchLinesPerS
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
	m.TrainLinesPerS /= n
	m.MatchLinesPerS /= n
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
