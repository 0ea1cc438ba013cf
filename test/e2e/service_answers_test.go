//go:build e2e

package e2e

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"

	"github.com/cinch-dev/cinch/pkg/oracle"
)

// TestServiceAnswersDeeper records each workload CINCH_E2E_ANSWER_RUNS
// times unmodified (default 3) and once under readOnlyRootFilesystem,
// probing its ports, and judges every unmodified run and the read-only run
// against every pair of the other unmodified runs as baselines. It
// measures how often two baselines agree on the HTTP body template and
// length class of a port (the body is judged strictly only then) and on
// the UDP answers, and checks that every unmodified run passes TC-05, and
// that the read-only run of scenario-empty-body fails on an empty body and
// that of scenario-udp-dns on SERVFAIL and a refused UDP port, with only
// TC-05 failing.
func TestServiceAnswersDeeper(t *testing.T) {
	cs := KubeClient(t)
	d := envDuration(t, "CINCH_E2E_PROBE_DURATION", 30*time.Second)
	runs := envRuns(t, "CINCH_E2E_ANSWER_RUNS")
	tests := []struct {
		workload string
		// bodies is the number of HTTP targets whose bodies every pair
		// of baselines must judge strictly.
		bodies int
		// roFails lists the evidence the read-only run must show
		// ("REASON PORT[/udp]"); empty: TC-05 passes under a read-only
		// root (or the workload does not start: not asserted).
		roFails []string
		roSkip  bool
	}{
		{workload: "scenario-empty-body", bodies: 2, roFails: []string{oracle.ReasonChangedBody + " 8081"}},
		{workload: "scenario-udp-dns", bodies: 1, roFails: []string{oracle.ReasonChangedAnswer + " 5353/udp", oracle.ReasonRefused + " 8125/udp"}},
		{workload: "scenario-http-500", bodies: 2, roFails: []string{oracle.ReasonChangedAnswer + " 8081"}},
		{workload: "scenario-fine", bodies: 1},
		{workload: "nginx-unprivileged-tmp", bodies: 1},
		{workload: "nginx-stock", bodies: 1, roSkip: true},
	}
	for _, tt := range tests {
		t.Run(tt.workload, func(t *testing.T) {
			t.Parallel()
			var dials spDials
			recs := make([]oracle.Recording, runs+1)
			var wg sync.WaitGroup
			for i := range recs {
				if i == runs && tt.roSkip {
					continue
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					var mutate func(*corev1.PodSpec)
					if i == runs {
						mutate = readOnlyRoot
					}
					recs[i] = spRun(t, cs, tt.workload, mutate, d, &dials)
				}()
			}
			wg.Wait()
			require.False(t, t.Failed())
			for i, r := range recs[:runs] {
				require.NotEmpty(t, r.Probes, "run %d was never probed", i)
				for _, p := range r.Probes {
					t.Logf("run %d %s %d%s %s body=%s", i, p.Protocol, p.Port, p.Path, p.Answer, bodyWords(p.Body))
				}
			}

			cfg := oracle.DefaultConfig()
			pairs, agree := 0, 0
			for a := 0; a < runs; a++ {
				for b := a + 1; b < runs; b++ {
					base := [2]oracle.Recording{recs[a], recs[b]}
					for c := 0; c < runs; c++ {
						if c == a || c == b {
							continue
						}
						cmp := oracle.CompareServices(cfg, base, recs[c])
						pairs++
						if cmp.BodiesJudged == tt.bodies && len(cmp.BodiesNotJudged) == 0 {
							agree++
						}
						r := cmp.Result()
						assert.True(t, r.Pass, "run %d against baselines %d, %d: %s %+v", c, a, b, r.Reason, r.Evidence)
						assert.Empty(t, cmp.NotJudged, "baselines %d, %d", a, b)
					}
					if len(tt.roFails) == 0 && tt.roSkip {
						continue
					}
					ro := oracle.Judge(cfg, base, recs[runs])
					r := spResult(ro, oracle.TestServices)
					t.Logf("read-only root against baselines %d, %d: pass=%v TC-05: %s", a, b, r.Pass, r.Reason)
					var got []string
					for _, e := range r.Evidence {
						port := fmt.Sprint(e.Port)
						if e.Protocol != "" {
							port += "/" + strings.ToLower(e.Protocol)
						}
						got = append(got, e.Reason+" "+port)
						t.Logf("  %s %s: before %q after %q", e.Reason, port, e.Baseline, e.Example)
					}
					if len(tt.roFails) == 0 {
						assert.True(t, r.Pass)
						continue
					}
					assert.False(t, r.Pass)
					assert.ElementsMatch(t, tt.roFails, got)
					assert.True(t, passWithout(ro, oracle.TestServices), "only TC-05 catches %s: %+v", tt.workload, ro.Tests)
				}
			}
			t.Logf("MEASURE %s: %d of %d judgements (a pair of baselines, another unmodified run) judged all %d HTTP bodies strictly", tt.workload, agree, pairs, tt.bodies)
			assert.Equal(t, pairs, agree, "every pair of baselines agrees on the bodies")
		})
	}
}

func bodyWords(b *oracle.HTTPBody) string {
	if b == nil {
		return "-"
	}
	return fmt.Sprintf("%s/%d:%q", oracle.BodyClass(b.Bytes), b.Bytes, oracle.BodyTemplate(*b))
}
