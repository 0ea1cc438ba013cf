package main

import (
	"bytes"
	"crypto/sha256"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/cinch-dev/cinch/pkg/oracle"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestGroupingAccuracy(t *testing.T) {
	tests := []struct {
		name  string
		pred  []int
		truth []string
		want  float64
	}{
		{"perfect", []int{0, 0, 1}, []string{"A", "A", "B"}, 1},
		{"split event", []int{0, 1, 2}, []string{"A", "A", "B"}, 1.0 / 3},
		{"merged events", []int{0, 0, 0}, []string{"A", "A", "B"}, 0},
		{"empty", nil, nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.InDelta(t, tt.want, GroupingAccuracy(tt.pred, tt.truth), 1e-9)
		})
	}
}

func TestNoveltyRates(t *testing.T) {
	fa, miss, seen, unseen := NoveltyRates([]string{"A", "B"}, []string{"A", "B", "C", "C"}, []bool{true, false, true, false})
	assert.InDelta(t, 0.5, fa, 1e-9)
	assert.InDelta(t, 0.5, miss, 1e-9)
	assert.Equal(t, 2, seen)
	assert.Equal(t, 2, unseen)
}

func TestChoose(t *testing.T) {
	res := func(ga ...float64) []Result {
		out := make([]Result, len(ga))
		for i, g := range ga {
			out[i] = Result{GA: g}
		}
		return out
	}
	// Config 1 is much better on dataset 0 only and worse on 1 and 2;
	// config 2 breaks the false-anomaly bound.
	scores := [][]Result{
		res(0.80, 0.99, 0.99, 0.50),
		res(0.99, 0.90, 0.90, 0.99),
		res(1, 1, 1, 1),
	}
	for i := range scores[2] {
		scores[2][i].FalseAnomalyRate = 0.5
	}
	assert.Equal(t, 0, Choose(scores, 3), "the robust rule keeps the setting that is near-best on most datasets")
	assert.Equal(t, 1, ChooseMean(scores, 3), "the plain rule follows the mean")
	assert.Equal(t, 1, Choose(scores, 2), "with dataset 2 held out, config 1 is near-best on more datasets")
	assert.Equal(t, 0, Choose(scores[:1], -1))
	assert.Equal(t, 0, Choose([][]Result{res(1)}, 0), "no other dataset: the default")
}

func TestGrid(t *testing.T) {
	def := oracle.DefaultDrainConfig()
	g := Grid(def)
	require.NotEmpty(t, g)
	assert.Equal(t, def, g[0])
	seen := map[oracle.DrainConfig]bool{}
	for _, c := range g {
		assert.False(t, seen[c], "duplicate %+v", c)
		seen[c] = true
	}
}

func TestRunOnLayout(t *testing.T) {
	dir := t.TempDir()
	ds := filepath.Join(dir, "Tiny")
	require.NoError(t, os.MkdirAll(ds, 0o755))
	var logLines, csv []string
	csv = append(csv, "LineId,Content,EventId,EventTemplate")
	for i := range 20 {
		if i%2 == 0 {
			logLines = append(logLines, "INFO served request "+strings.Repeat("1", i+1))
			csv = append(csv, strconv.Itoa(i+1)+",x,E1,served request <*>")
		} else {
			logLines = append(logLines, "WARN cache miss for key k"+strings.Repeat("2", i))
			csv = append(csv, strconv.Itoa(i+1)+",x,E2,cache miss for key <*>")
		}
	}
	require.NoError(t, os.WriteFile(filepath.Join(ds, "Tiny_2k.log"), []byte(strings.Join(logLines, "\n")+"\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(ds, "Tiny_2k.log_structured.csv"), []byte(strings.Join(csv, "\n")+"\n"), 0o644))
	var out bytes.Buffer
	require.NoError(t, run(config{data: dir, json: true, minTime: 1}, &out))
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	require.Len(t, lines, 2)
	assert.Contains(t, lines[0], `"dataset":"Tiny"`)
	assert.Contains(t, lines[0], `"ga":1,`)
	assert.Contains(t, lines[1], `"dataset":"mean"`)
}

var update = flag.Bool("update", false, "rewrite testdata/golden.txt from the current parser")

// loghubDir is the labelled data TestGolden reads: $LOGHUB, else the shared
// folder beside the repository (make bench-loghub's default).
func loghubDir() string {
	if d := os.Getenv("LOGHUB"); d != "" {
		return d
	}
	return filepath.Join("..", "..", "..", "..", "shared", "loghub")
}

// TestGolden guards the parser's behaviour on the labelled datasets, so that
// a change made for speed cannot move the accuracy figures unnoticed: per
// dataset, a digest of the masked tokens, and per dataset and configuration
// of the grid a digest of what Train returns, the templates, Classify and the
// judge model's Match (digest). It skips when the data is absent; -update
// rewrites testdata/golden.txt.
func TestGolden(t *testing.T) {
	sets, err := loadAll(loghubDir(), "")
	if err != nil || len(sets) == 0 {
		t.Skipf("no LogHub data in %s (set LOGHUB): %v", loghubDir(), err)
	}
	var got strings.Builder
	for _, ds := range sets {
		h := sha256.New()
		var m oracle.Masker
		for _, l := range ds.Lines {
			fmt.Fprintf(h, "%q\n", m.Mask(l))
		}
		fmt.Fprintf(&got, "%s mask %x\n", ds.Name, h.Sum(nil)[:8])
		for _, dc := range Grid(oracle.DefaultDrainConfig()) {
			fmt.Fprintf(&got, "%s %s %s\n", ds.Name, strings.ReplaceAll(describe(dc), " ", ","), digest(ds, dc))
		}
	}
	path := filepath.Join("testdata", "golden.txt")
	if *update {
		require.NoError(t, os.MkdirAll("testdata", 0o755))
		require.NoError(t, os.WriteFile(path, []byte(got.String()), 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, string(want), got.String())
}

// digest hashes what configuration dc makes of ds: the group Train returns
// for each line, the templates with their counts, each line's group and
// variant (Classify), and the judge model's match of every line.
func digest(ds Dataset, dc oracle.DrainConfig) string {
	h := sha256.New()
	d := oracle.NewDrain(dc)
	for _, l := range ds.Lines {
		fmt.Fprintf(h, "%d,", d.Train(l))
	}
	for _, tpl := range d.Templates() {
		fmt.Fprintf(h, "\n%d %d %q", tpl.ID, tpl.Count, tpl.String())
	}
	for _, l := range ds.Lines {
		id, variant, ok := d.Classify(l)
		fmt.Fprintf(h, "\n%d %t %q", id, ok, variant)
	}
	model := judgeModel(ds.Lines[:len(ds.Lines)/2], dc, 2)
	for _, l := range ds.Lines {
		id, ok := model.Match(l)
		fmt.Fprintf(h, "\n%d %t", id, ok)
	}
	return fmt.Sprintf("%x", h.Sum(nil)[:8])
}

func TestMedianAndSpread(t *testing.T) {
	assert.InDelta(t, 2.0, median([]float64{3, 1, 2}), 1e-9)
	assert.InDelta(t, 2.5, median([]float64{4, 1, 3, 2}), 1e-9)
	s := spread([]Result{{Dataset: "a", GA: 0.5}, {Dataset: "b", GA: 0.25}, {Dataset: "c", GA: 1}}, func(r Result) float64 { return r.GA })
	assert.Equal(t, span{min: 0.25, max: 1, minName: "b"}, s)
}
