package main

import (
	"bytes"
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
