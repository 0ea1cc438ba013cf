package oracle

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestTolerateStartupNovelty: the namespace policy passes a log test that
// failed only on templates seen once at start-up, and nothing else.
func TestTolerateStartupNovelty(t *testing.T) {
	withLine := func(seed, at int, lines ...string) Recording {
		r := healthy(seed)
		l := append([]string(nil), r.Logs[0].Lines[:at]...)
		l = append(l, lines...)
		r.Logs = []LogStream{{Pod: "web", Container: "nginx", Lines: append(l, r.Logs[0].Lines[at:]...)}}
		return r
	}
	warn := "2024/11/05 03:40:01 [warn] 1#1: chown(\"/var/run/nginx.pid\", 101) failed (1: Operation not permitted)"
	emerg := "2024/11/05 03:40:02 [emerg] 1#1: setgid(101) failed (1: Operation not permitted)"
	base := [2]Recording{healthy(1), healthy(2)}
	crashing := withLine(3, 2, warn)
	crashing.Pods[0].Containers[0].RestartCount = 3

	tests := []struct {
		name      string
		trial     Recording
		tolerated bool
	}{
		{"one warning at start-up", withLine(3, 2, warn), true},
		{"two templates, each once at start-up", withLine(3, 1, warn, emerg), true},
		{"once, but late", withLine(3, 40, warn), false},
		{"recurring at start-up", withLine(3, 1, warn, warn), false},
		{"at start-up, but the pod restarts", crashing, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.StartupLines = 10
			strict := Judge(cfg, base, tt.trial)
			require.False(t, testByID(strict, TestLogs).Pass, "the new lines fail TC-03 without the policy")
			require.False(t, strict.Pass)

			cfg.TolerateStartupNovelty = true
			v := Judge(cfg, base, tt.trial)
			logs := testByID(v, TestLogs)
			assert.Equal(t, tt.tolerated, v.Pass)
			assert.Equal(t, tt.tolerated, logs.Pass)
			assert.Equal(t, tt.tolerated, logs.Tolerated)
			assert.NotEmpty(t, logs.Evidence, "the tolerated lines stay in the evidence")
			if tt.tolerated {
				assert.Contains(t, logs.Reason, "once at start-up")
			}
		})
	}
}

// TestStartupOnlyCountsEveryTemplate: StartupOnly looks at every new
// template, not only those kept as evidence.
func TestStartupOnlyCountsEveryTemplate(t *testing.T) {
	cfg := DefaultConfig()
	cfg.StartupLines = 10
	cfg.EvidenceTemplates = 1
	a, b := logs("app", heartbeat(1, 40)...), logs("app", heartbeat(2, 40)...)
	lines := heartbeat(3, 40)
	trial := append([]string{"2026-12-04T09:00:00Z WARN setgid 1000: operation not permitted"}, lines[:30]...)
	trial = append(trial, "2026-12-04T09:00:31Z ERROR disk cache disabled: no space", "2026-12-04T09:00:32Z ERROR disk cache disabled: no space")
	// The start-up warning is the only evidence kept (most frequent
	// first: the late, recurring error has 2 lines and leads).
	c := CompareLogs(cfg, [2]Recording{a, b}, logs("app", trial...))
	require.False(t, c.Pass())
	assert.Equal(t, 2, c.NewTemplates)
	assert.False(t, c.StartupOnly)

	c = CompareLogs(cfg, [2]Recording{a, b}, logs("app", append([]string{"2026-12-04T09:00:00Z WARN setgid 1000: operation not permitted"}, lines...)...))
	assert.True(t, c.StartupOnly)
	c = CompareLogs(cfg, [2]Recording{a, b}, logs("app", lines...))
	assert.True(t, c.Pass())
}
