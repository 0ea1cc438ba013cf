package oracle

import (
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func logs(container string, lines ...string) Recording {
	return Recording{Logs: []LogStream{{Pod: "p", Container: container, Lines: lines}}}
}

func TestCompareLogs(t *testing.T) {
	base := func(seed int) []string {
		var out []string
		for i := range 30 {
			out = append(out, fmt.Sprintf("2024-11-26T03:%02d:%02dZ INFO served request %d in %dms", seed, i, i*seed, i))
		}
		return out
	}
	tests := []struct {
		name      string
		a, b, t   Recording
		pass      bool
		natural   int
		newTpls   int
		evidence  int
		firstTpl  string
		firstSize int
	}{
		{
			name: "identical runs pass",
			a:    logs("app", base(1)...), b: logs("app", base(2)...), t: logs("app", base(1)...),
			pass: true,
		},
		{
			name: "new error lines fail",
			a:    logs("app", base(1)...), b: logs("app", base(2)...),
			t:       logs("app", append(base(3), "2024-11-26T03:00:00Z ERROR open /data/x: permission denied", "2024-11-26T03:00:01Z ERROR open /data/y: permission denied")...),
			newTpls: 1, evidence: 1, firstTpl: "<*> ERROR open <*> permission denied", firstSize: 2,
		},
		{
			name: "natural novelty of the baselines is tolerated",
			a:    logs("app", append(base(1), "2024-11-26T03:00:00Z WARN gc pause long")...),
			b:    logs("app", append(base(2), "2024-11-26T03:00:00Z INFO cache warmed up after restart of the pool")...),
			t:    logs("app", append(base(3), "2024-11-26T03:00:00Z ERROR lost connection to upstream")...),
			pass: true, natural: 1, newTpls: 1, evidence: 1, firstTpl: "<*> ERROR lost connection to upstream", firstSize: 1,
		},
		{
			name: "a name that differs between the baselines is no novelty",
			a:    logs("app", append(base(1), "2024-11-26T03:00:00Z INFO leader is primary now after the election")...),
			b:    logs("app", append(base(2), "2024-11-26T03:00:00Z INFO leader is standby now after the election")...),
			t:    logs("app", append(base(3), "2024-11-26T03:00:00Z INFO leader is witness now after the election")...),
			pass: true, natural: 1,
		},
		{
			name: "a host name is masked even when both baselines show the same",
			a:    logs("app", append(base(1), "2024-11-26T03:00:00Z INFO connected to db-a.prod.example.org:5432")...),
			b:    logs("app", append(base(2), "2024-11-26T03:00:00Z INFO connected to db-a.prod.example.org:5432")...),
			t:    logs("app", append(base(3), "2024-11-26T03:00:00Z INFO connected to db-b.prod.example.org:5432")...),
			pass: true,
		},
		{
			name: "a container the baselines never had is all new",
			a:    logs("app", base(1)...), b: logs("app", base(2)...),
			t:       Recording{Logs: append(logs("app", base(3)...).Logs, LogStream{Container: "sidecar", Lines: []string{"panic: nil map"}})},
			newTpls: 1, evidence: 1, firstTpl: "panic: nil map", firstSize: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := CompareLogs(DefaultConfig(), [2]Recording{tt.a, tt.b}, tt.t)
			assert.Equal(t, tt.pass, c.Pass())
			assert.Equal(t, tt.natural, c.NaturalNovelty)
			assert.Equal(t, tt.newTpls, c.NewTemplates)
			require.Len(t, c.Evidence, tt.evidence)
			if tt.evidence > 0 {
				assert.Equal(t, tt.firstTpl, c.Evidence[0].Template)
				assert.Equal(t, tt.firstSize, c.Evidence[0].Count)
				assert.NotEmpty(t, c.Evidence[0].Example)
			}
			assert.Equal(t, tt.pass, c.Result().Pass)
		})
	}
}

func TestCompareLogsBoundsEvidenceAndLines(t *testing.T) {
	cfg := DefaultConfig()
	cfg.EvidenceTemplates = 3
	cfg.MaxLinesPerStream = 100
	var trial []string
	words := []string{"alpha", "bravo", "charlie", "delta", "echo", "foxtrot"}
	for i := range 150 {
		w := words[i%len(words)]
		trial = append(trial, fmt.Sprintf("%s failure number %d in %s subsystem", w, i, w))
	}
	a := logs("app", "ok")
	a.Logs[0].Dropped = 7
	c := CompareLogs(cfg, [2]Recording{a, logs("app", "ok")}, logs("app", trial...))
	assert.False(t, c.Pass())
	assert.Len(t, c.Evidence, 3)
	assert.Equal(t, 100, c.TrialLines)
	assert.Equal(t, 57, c.Dropped)
	assert.Equal(t, 100, c.NewLines)
}

func TestSummarise(t *testing.T) {
	tests := []struct {
		name  string
		raw   []float64
		scale float64
		want  SeriesStats
	}{
		{"empty", nil, 1, SeriesStats{}},
		{"odd", []float64{2, 4, 6}, 2, SeriesStats{Samples: 3, Mean: 2, Median: 2, Variance: 2.0 / 3, StdDev: math.Sqrt(2.0 / 3), Min: 2, Max: 6}},
		{"even, no scale", []float64{1, 3, 5, 7}, 0, SeriesStats{Samples: 4, Mean: 4, Median: 4, Variance: 5, StdDev: math.Sqrt(5), Min: 1, Max: 7}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Summarise(tt.raw, tt.scale)
			assert.Equal(t, tt.want.Samples, got.Samples)
			assert.InDelta(t, tt.want.Mean, got.Mean, 1e-9)
			assert.InDelta(t, tt.want.Median, got.Median, 1e-9)
			assert.InDelta(t, tt.want.Variance, got.Variance, 1e-9)
			assert.InDelta(t, tt.want.StdDev, got.StdDev, 1e-9)
			assert.InDelta(t, tt.want.Min, got.Min, 1e-9)
			assert.InDelta(t, tt.want.Max, got.Max, 1e-9)
		})
	}
}
