package oracle

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// nginxLog returns a healthy nginx-like log whose timestamps, pids and
// client addresses depend on seed.
func nginxLog(seed int) []string {
	ts := func(i int) string {
		return fmt.Sprintf("2024/11/%02d %02d:%02d:%02d", 1+seed%28, seed%24, i%60, (i*7+seed)%60)
	}
	lines := []string{
		ts(0) + " [notice] 1#1: using the \"epoll\" event method",
		ts(1) + " [notice] 1#1: nginx/1.27.3",
		ts(2) + fmt.Sprintf(" [notice] 1#1: start worker process %d", 20+seed),
		ts(3) + fmt.Sprintf(" [notice] 1#1: start worker process %d", 21+seed),
	}
	for i := range 50 {
		lines = append(lines, fmt.Sprintf(`10.244.%d.%d - - [26/Nov/2024:03:40:%02d +0000] "GET / HTTP/1.1" 200 615 "-" "kube-probe/1.31" "-"`, seed, i, i%60))
	}
	return lines
}

func pod(name string, ready bool, readyAfter time.Duration, cs ...ContainerObservation) PodObservation {
	return PodObservation{Name: name, Phase: "Running", Ready: ready, ReadyAfter: readyAfter, Containers: cs}
}

func healthy(seed int) Recording {
	return Recording{
		Duration: time.Minute,
		Pods:     []PodObservation{pod(fmt.Sprintf("web-7d9f8c6b5-x%dx9k", seed%10), true, 3*time.Second, ContainerObservation{Name: "nginx", Ready: true})},
		Logs:     []LogStream{{Pod: "web", Container: "nginx", Lines: nginxLog(seed)}},
		Resources: []ResourceSample{
			{Offset: 10 * time.Second, CPUNanoCores: 1_000_000 + uint64(seed)*1000, MemoryWorkingSet: 8 << 20},
			{Offset: 20 * time.Second, CPUNanoCores: 1_200_000, MemoryWorkingSet: 8<<20 + uint64(seed)<<10},
			{Offset: 30 * time.Second, CPUNanoCores: 900_000, MemoryWorkingSet: 9 << 20},
		},
	}
}

func testByID(v Verdict, id string) TestResult {
	for _, t := range v.Tests {
		if t.ID == id {
			return t
		}
	}
	return TestResult{}
}

func TestJudge(t *testing.T) {
	cfg := DefaultConfig()
	require.NoError(t, cfg.Validate())
	baselines := [2]Recording{healthy(1), healthy(2)}
	tests := []struct {
		name     string
		trial    func() Recording
		pass     bool
		failed   []string // ids of the failed tests
		evidence func(t *testing.T, v Verdict)
	}{
		{
			name:  "identical run passes",
			trial: func() Recording { return healthy(1) },
			pass:  true,
		},
		{
			name:  "run differing only in timestamps, ids and pids passes",
			trial: func() Recording { return healthy(7) },
			pass:  true,
		},
		{
			name: "new error lines fail with those lines as evidence",
			trial: func() Recording {
				r := healthy(3)
				for i := range 5 {
					r.Logs[0].Lines = append(r.Logs[0].Lines,
						fmt.Sprintf(`2024/11/26 03:40:%02d [emerg] 1#1: mkdir() "/var/cache/nginx/client_temp" failed (30: Read-only file system)`, i))
				}
				r.Logs[0].Lines = append(r.Logs[0].Lines, "2024/11/26 03:41:00 [alert] 1#1: could not open error log file")
				return r
			},
			failed: []string{TestLogs},
			evidence: func(t *testing.T, v Verdict) {
				ev := testByID(v, TestLogs).Evidence
				require.Len(t, ev, 2)
				assert.Equal(t, 5, ev[0].Count)
				assert.Equal(t, "nginx", ev[0].Container)
				assert.Contains(t, ev[0].Template, "Read-only file system")
				assert.Contains(t, ev[0].Example, "/var/cache/nginx/client_temp")
				assert.Equal(t, 1, ev[1].Count)
			},
		},
		{
			name: "restarts the baselines do not show fail stability",
			trial: func() Recording {
				r := healthy(4)
				r.Pods[0].Containers[0].RestartCount = 3
				r.Pods[0].Containers[0].WaitingReasons = []string{"CrashLoopBackOff"}
				r.Pods[0].Containers[0].TerminationReasons = []string{"Error"}
				r.Pods[0].Containers[0].ExitCodes = []int32{1}
				return r
			},
			failed: []string{TestStability},
			evidence: func(t *testing.T, v Verdict) {
				ev := testByID(v, TestStability).Evidence
				reasons := []string{}
				for _, e := range ev {
					reasons = append(reasons, e.Reason)
				}
				assert.Equal(t, []string{"Restarts", "CrashLoopBackOff", "Error", "ExitCode"}, reasons)
			},
		},
		{
			name: "pods that never become ready fail readiness",
			trial: func() Recording {
				r := healthy(5)
				r.Pods[0].Ready, r.Pods[0].ReadyAfter = false, 0
				return r
			},
			failed: []string{TestReadiness},
		},
		{
			name: "slow readiness fails",
			trial: func() Recording {
				r := healthy(5)
				r.Pods[0].ReadyAfter = 2 * time.Minute
				return r
			},
			failed: []string{TestReadiness},
		},
		{
			name: "missing pods fail with the warning events",
			trial: func() Recording {
				return Recording{Events: []Event{{Type: "Warning", Reason: "FailedCreate", Object: "ReplicaSet/web", Message: "pods is forbidden"}}}
			},
			failed: []string{TestStability, TestReadiness},
			evidence: func(t *testing.T, v Verdict) {
				ev := testByID(v, TestStability).Evidence
				require.Len(t, ev, 2)
				assert.Equal(t, "FailedCreate", ev[1].Reason)
			},
		},
		{
			name: "resource outliers are advisory",
			trial: func() Recording {
				r := healthy(6)
				for i := range r.Resources {
					r.Resources[i].MemoryWorkingSet = 200 << 20
				}
				return r
			},
			pass:   true,
			failed: []string{TestResources},
			evidence: func(t *testing.T, v Verdict) {
				ev := testByID(v, TestResources).Evidence
				require.Len(t, ev, 1)
				assert.Equal(t, "memory", ev[0].Metric)
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := Judge(cfg, baselines, tt.trial())
			require.Len(t, v.Tests, 6)
			assert.Equal(t, tt.pass, v.Pass)
			var failed []string
			for _, r := range v.Tests {
				assert.NotEmpty(t, r.Reason)
				if !r.Pass {
					failed = append(failed, r.ID)
				}
			}
			if tt.failed == nil && len(failed) == 0 {
				failed = nil
			}
			assert.Equal(t, tt.failed, failed)
			if tt.evidence != nil {
				tt.evidence(t, v)
			}
			_, err := json.Marshal(v)
			require.NoError(t, err)
		})
	}
}

func TestJudgeHardness(t *testing.T) {
	v := Judge(DefaultConfig(), [2]Recording{healthy(1), healthy(2)}, healthy(3))
	want := []struct {
		id, name string
		hard     bool
	}{{TestStability, NameStability, true}, {TestReadiness, NameReadiness, true}, {TestLogs, NameLogs, true}, {TestResources, NameResources, false}, {TestServices, NameServices, true}, {TestMetrics, NameMetrics, true}}
	require.Len(t, v.Tests, len(want))
	for i, w := range want {
		assert.Equal(t, w.id, v.Tests[i].ID)
		assert.Equal(t, w.name, v.Tests[i].Name)
		assert.Equal(t, w.hard, v.Tests[i].Hard)
	}
}

func TestBaselineRestartsAreTolerated(t *testing.T) {
	a, b := healthy(1), healthy(2)
	a.Pods[0].Containers[0].RestartCount = 1
	a.Pods[0].Containers[0].TerminationReasons = []string{"OOMKilled"}
	trial := healthy(3)
	trial.Pods[0].Containers[0].RestartCount = 1
	trial.Pods[0].Containers[0].TerminationReasons = []string{"OOMKilled"}
	r := Judge(DefaultConfig(), [2]Recording{a, b}, trial)
	assert.True(t, testByID(r, TestStability).Pass)
	trial.Pods[0].Containers[0].RestartCount = 2
	r = Judge(DefaultConfig(), [2]Recording{a, b}, trial)
	assert.False(t, testByID(r, TestStability).Pass)
}

func TestEarlyFailure(t *testing.T) {
	waiting := func(reason string, restarts int32) Recording {
		return Recording{Pods: []PodObservation{pod("p", false, 0, ContainerObservation{Name: "app", RestartCount: restarts, WaitingReasons: []string{reason}, Message: "boom"})}}
	}
	known := [2]Recording{healthy(1), healthy(2)}
	crashingBaselines := [2]Recording{waiting("CrashLoopBackOff", 2), waiting("CrashLoopBackOff", 3)}
	tests := []struct {
		name      string
		baselines [2]Recording
		partial   Recording
		fail      bool
		reason    string
	}{
		{"config error, unknown baselines", [2]Recording{}, waiting("CreateContainerConfigError", 0), true, "CreateContainerConfigError"},
		{"crash loop, known baselines", known, waiting("CrashLoopBackOff", 1), true, "Restarts"},
		{"still creating", [2]Recording{}, waiting("ContainerCreating", 0), false, ""},
		{"image pull may resolve", [2]Recording{}, waiting("ImagePullBackOff", 0), false, ""},
		{"restart, unknown baselines", [2]Recording{}, waiting("", 1), true, "Restarts"},
		{"crash loop the baselines show too", crashingBaselines, waiting("CrashLoopBackOff", 3), false, ""},
		{"more restarts than crashing baselines", crashingBaselines, waiting("CrashLoopBackOff", 4), true, "Restarts"},
		{"oom killed", [2]Recording{}, Recording{Pods: []PodObservation{pod("p", false, 0, ContainerObservation{Name: "app", TerminationReasons: []string{"OOMKilled"}})}}, true, "OOMKilled"},
		{"nothing yet", [2]Recording{}, Recording{}, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, fail := EarlyFailure(DefaultConfig(), tt.baselines, tt.partial)
			assert.Equal(t, tt.fail, fail)
			assert.Equal(t, !tt.fail, r.Pass)
			assert.Equal(t, TestStability, r.ID)
			assert.True(t, r.Hard)
			if tt.fail {
				require.NotEmpty(t, r.Evidence)
				assert.Equal(t, tt.reason, r.Evidence[0].Reason)
				assert.Equal(t, "app", r.Evidence[0].Container)
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Config)
		ok     bool
	}{
		{"default", func(*Config) {}, true},
		{"similarity above one", func(c *Config) { c.Drain.Similarity = 1.5 }, false},
		{"shallow tree", func(c *Config) { c.Drain.Depth = 2 }, false},
		{"no evidence", func(c *Config) { c.EvidenceTemplates = 0 }, false},
		{"negative tolerance", func(c *Config) { c.LogNoveltyTolerance = -1 }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			tt.mutate(&c)
			assert.Equal(t, tt.ok, c.Validate() == nil)
		})
	}
}

// TestNeverReadyFailsWhateverTheBaselines: a trial is recommended only when
// it was seen Ready, even when a baseline did not get Ready in time.
func TestNeverReadyFailsWhateverTheBaselines(t *testing.T) {
	slow := healthy(2)
	slow.Pods[0].Ready, slow.Pods[0].ReadyAfter = false, 0
	for name, baselines := range map[string][2]Recording{
		"baselines Ready":      {healthy(1), healthy(2)},
		"one baseline not yet": {healthy(1), slow},
		"no baseline Ready":    {slow, slow},
	} {
		t.Run(name, func(t *testing.T) {
			trial := healthy(3)
			trial.Pods[0].Ready, trial.Pods[0].ReadyAfter = false, 0
			trial.Pods[0].Containers[0].Ready = false
			v := Judge(DefaultConfig(), baselines, trial)
			assert.False(t, v.Pass)
			assert.False(t, testByID(v, TestReadiness).Pass, testByID(v, TestReadiness).Reason)
		})
	}
}
