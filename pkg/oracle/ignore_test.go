package oracle

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseLineFilter(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		n       int
		match   []string
		noMatch []string
		err     string
	}{
		{name: "empty", in: "", n: 0, noMatch: []string{"", "anything"}},
		{name: "blank lines only", in: " \n\t\n", n: 0, noMatch: []string{"anything"}},
		{
			name: "substrings, one per line, trimmed", in: "  chown /run/app.pid  \n\nsetgid: operation not permitted\n", n: 2,
			match:   []string{"2026-01-01 WARN chown /run/app.pid: EPERM", "x setgid: operation not permitted"},
			noMatch: []string{"chown /run/other.pid", "SETGID: OPERATION NOT PERMITTED"},
		},
		{
			name: "a comma is part of a substring", in: "chown(/run/a, 0)", n: 1,
			match: []string{"warn: chown(/run/a, 0) failed"}, noMatch: []string{"chown(/run/a"},
		},
		{
			name: "anchored RE2 pattern matches the whole line", in: `^WARN chmod \S+: operation not permitted$`, n: 1,
			match:   []string{"WARN chmod /var/run/x: operation not permitted"},
			noMatch: []string{"2026 WARN chmod /var/run/x: operation not permitted", "WARN chmod /var/run/x: operation not permitted, exiting"},
		},
		{
			name: "only ^...$ is a pattern; metacharacters elsewhere are literal", in: "^stat (.*)\na.b$", n: 2,
			match:   []string{"x ^stat (.*) y", "a.b$"},
			noMatch: []string{"stat foo", "axb"},
		},
		{name: "bad pattern", in: "ok\n^(unclosed$", err: "line 2"},
		{name: "too many entries", in: strings.Repeat("x\n", MaxIgnorePatterns+1), err: "more than"},
		{name: "entry too long", in: strings.Repeat("x", MaxIgnorePatternBytes+1), err: "line 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := ParseLineFilter(tt.in)
			if tt.err != "" {
				require.ErrorIs(t, err, ErrIgnorePattern)
				assert.ErrorContains(t, err, tt.err)
				assert.True(t, f.Empty())
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.n, f.Len())
			assert.Equal(t, tt.n == 0, f.Empty())
			for _, l := range tt.match {
				assert.True(t, f.Match(l), l)
			}
			for _, l := range tt.noMatch {
				assert.False(t, f.Match(l), l)
			}
		})
	}
}

func TestLineFilterFilter(t *testing.T) {
	f, err := ParseLineFilter("harmless")
	require.NoError(t, err)
	in := []string{"a", "harmless 1", "b", "harmless 2"}
	out, n := f.filter(in)
	assert.Equal(t, []string{"a", "b"}, out)
	assert.Equal(t, 2, n)
	assert.Equal(t, []string{"a", "harmless 1", "b", "harmless 2"}, in, "the input is not modified")
	out, n = f.filter([]string{"a", "b"})
	assert.Equal(t, []string{"a", "b"}, out)
	assert.Zero(t, n)
	out, n = f.filter([]string{"harmless"})
	assert.Empty(t, out)
	assert.Equal(t, 1, n)
	out, n = LineFilter{}.filter(in)
	assert.Equal(t, in, out)
	assert.Zero(t, n)
}

// heartbeat is a log of n healthy lines.
func heartbeat(seed, n int) []string {
	var out []string
	for i := range n {
		out = append(out, fmt.Sprintf("2026-12-04T09:%02d:%02dZ INFO heartbeat %d served %d requests", seed, i%60, i, i*seed))
	}
	return out
}

// TestCompareLogsIgnoreLines: lines the workload declares harmless are left
// out of the baselines and the trial; the rest is judged as before.
func TestCompareLogsIgnoreLines(t *testing.T) {
	warn := "2026-12-04T09:00:00Z WARN chown /run/scenario.pid: operation not permitted"
	fail := "2026-12-04T09:00:01Z ERROR open /data/db: permission denied"
	trial := logs("app", append([]string{warn}, heartbeat(3, 30)...)...)
	a, b := logs("app", heartbeat(1, 30)...), logs("app", heartbeat(2, 30)...)

	cfg := DefaultConfig()
	c := CompareLogs(cfg, [2]Recording{a, b}, trial)
	require.False(t, c.Pass())
	assert.Zero(t, c.Ignored)

	for _, spec := range []string{"chown /run/scenario.pid", `^\S+ WARN chown \S+: operation not permitted$`} {
		f, err := ParseLineFilter(spec)
		require.NoError(t, err)
		cfg.IgnoreLines = f
		c = CompareLogs(cfg, [2]Recording{a, b}, trial)
		assert.True(t, c.Pass(), spec)
		assert.Equal(t, 1, c.Ignored)
		assert.Equal(t, 30, c.TrialLines)
		assert.Contains(t, c.Result().Reason, "1 lines declared harmless were ignored")
	}

	// Ignored in the baselines too: a line only the baselines show does not
	// count as their natural novelty.
	c = CompareLogs(cfg, [2]Recording{logs("app", append([]string{warn}, heartbeat(1, 30)...)...), b},
		logs("app", append(heartbeat(3, 30), fail)...))
	assert.False(t, c.Pass())
	assert.Equal(t, 0, c.NaturalNovelty)
	assert.Equal(t, 1, c.Ignored)
}

func TestCompareLogsOccurrence(t *testing.T) {
	cfg := DefaultConfig()
	cfg.StartupLines = 10
	a, b := logs("app", heartbeat(1, 40)...), logs("app", heartbeat(2, 40)...)
	insert := func(lines []string, at int, l string) []string {
		out := append([]string(nil), lines[:at]...)
		return append(append(out, l), lines[at:]...)
	}
	warn := "2026-12-04T09:00:00Z WARN setgid 1000: operation not permitted, keeping group 0"
	tests := []struct {
		name       string
		trial      Recording
		occurrence string
		firstLine  int
		count      int
	}{
		{"once at start-up", logs("app", insert(heartbeat(3, 40), 2, warn)...), OccurrenceStartup, 3, 1},
		{"once in each of two pods", Recording{Logs: []LogStream{
			{Pod: "p1", Container: "app", Lines: insert(heartbeat(3, 40), 4, warn)},
			{Pod: "p2", Container: "app", Lines: insert(heartbeat(4, 40), 1, warn)},
		}}, OccurrenceStartup, 2, 2},
		{"once, later", logs("app", insert(heartbeat(3, 40), 25, warn)...), OccurrenceOnce, 26, 1},
		{"recurring", logs("app", insert(insert(heartbeat(3, 40), 30, warn), 0, warn)...), OccurrenceRecurring, 1, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := CompareLogs(cfg, [2]Recording{a, b}, tt.trial)
			require.False(t, c.Pass())
			require.Len(t, c.Evidence, 1)
			e := c.Evidence[0]
			assert.Equal(t, tt.occurrence, e.Occurrence)
			assert.Equal(t, tt.firstLine, e.FirstLine)
			assert.Equal(t, tt.count, e.Count)
		})
	}
}
