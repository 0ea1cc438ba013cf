// Package alerts tests the alert and recording rules Cinch ships in
// manifests/components/monitoring: promtool unit tests of every alert
// (testdata/rules_test.yaml), the rules' own conventions, and that every
// metric the rules and the Grafana dashboard use is one the code exports.
//
// promtool comes from `make promtool` (.cluster/bin/promtool) or
// $CINCH_PROMTOOL; `make test-alerts` builds it and requires it.
package alerts

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"
)

const (
	monitoringDir = "../../manifests/components/monitoring"
	rulesFile     = monitoringDir + "/prometheusrule.yaml"
	dashboardFile = monitoringDir + "/cinch-dashboard.json"
)

type rule struct {
	Record      string            `json:"record,omitempty"`
	Alert       string            `json:"alert,omitempty"`
	Expr        string            `json:"expr"`
	For         string            `json:"for,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

type group struct {
	Name  string `json:"name"`
	Rules []rule `json:"rules"`
}

type prometheusRule struct {
	APIVersion string         `json:"apiVersion"`
	Kind       string         `json:"kind"`
	Metadata   map[string]any `json:"metadata"`
	Spec       struct {
		Groups []group `json:"groups"`
	} `json:"spec"`
}

func loadRules(t *testing.T) []group {
	t.Helper()
	b, err := os.ReadFile(rulesFile)
	require.NoError(t, err)
	var pr prometheusRule
	require.NoError(t, yaml.UnmarshalStrict(b, &pr))
	require.Equal(t, "PrometheusRule", pr.Kind)
	require.NotEmpty(t, pr.Spec.Groups)
	return pr.Spec.Groups
}

// writeRuleFile writes the PrometheusRule's groups as a Prometheus rule file.
func writeRuleFile(t *testing.T, dir string) string {
	t.Helper()
	b, err := yaml.Marshal(map[string]any{"groups": loadRules(t)})
	require.NoError(t, err)
	p := filepath.Join(dir, "rules.yaml")
	require.NoError(t, os.WriteFile(p, b, 0o644))
	return p
}

func promtool(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("CINCH_PROMTOOL"); p != "" {
		_, err := os.Stat(p)
		require.NoError(t, err, "CINCH_PROMTOOL=%s", p)
		return p
	}
	p, err := filepath.Abs("../../.cluster/bin/promtool")
	require.NoError(t, err)
	if _, err := os.Stat(p); err != nil {
		t.Skip("promtool not built: run `make test-alerts` (or `make promtool`)")
	}
	return p
}

func runPromtool(t *testing.T, bin, dir string, args ...string) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), bin, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "promtool %s:\n%s", strings.Join(args, " "), out)
}

// TestAlertRules runs promtool's syntax check and the unit tests of
// testdata/rules_test.yaml against the shipped rules.
func TestAlertRules(t *testing.T) {
	bin := promtool(t)
	dir := t.TempDir()
	writeRuleFile(t, dir)
	tests, err := os.ReadFile("testdata/rules_test.yaml")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "rules_test.yaml"), tests, 0o644))
	runPromtool(t, bin, dir, "check", "rules", "rules.yaml")
	runPromtool(t, bin, dir, "test", "rules", "rules_test.yaml")
}

// TestEveryAlertIsTested: an alert without a promtool test is an alert
// nobody has seen fire.
func TestEveryAlertIsTested(t *testing.T) {
	tests, err := os.ReadFile("testdata/rules_test.yaml")
	require.NoError(t, err)
	for _, g := range loadRules(t) {
		for _, r := range g.Rules {
			if r.Alert == "" {
				continue
			}
			assert.Contains(t, string(tests), "alertname: "+r.Alert, "alert %s has no promtool test", r.Alert)
		}
	}
}

// TestAlertConventions: every alert is actionable and routable.
func TestAlertConventions(t *testing.T) {
	seen := map[string]bool{}
	for _, g := range loadRules(t) {
		for _, r := range g.Rules {
			if r.Alert == "" {
				assert.Regexp(t, `^[a-z_]+:cinch_[a-z_]+:[a-z_]+$`, r.Record, "recording rules follow level:metric:operations")
				continue
			}
			assert.False(t, seen[r.Alert], "alert %s defined twice", r.Alert)
			seen[r.Alert] = true
			assert.True(t, strings.HasPrefix(r.Alert, "Cinch"), "alert %s", r.Alert)
			assert.NotEmpty(t, r.For, "alert %s fires on a single evaluation", r.Alert)
			assert.Contains(t, []string{"info", "warning", "critical"}, r.Labels["severity"], "alert %s severity", r.Alert)
			assert.NotEmpty(t, r.Annotations["summary"], "alert %s summary", r.Alert)
			assert.NotEmpty(t, r.Annotations["description"], "alert %s description", r.Alert)
		}
	}
	assert.NotEmpty(t, seen)
}

// identifier matches PromQL identifiers; names with a colon are recording
// rules, not exported metrics.
var identifier = regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*`)

func metricNames(expr string) []string {
	var out []string
	for _, id := range identifier.FindAllString(expr, -1) {
		if strings.HasPrefix(id, "cinch_") && !strings.Contains(id, ":") {
			out = append(out, id)
		}
	}
	return out
}

func dashboardExprs(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(dashboardFile)
	require.NoError(t, err)
	var d struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
		Templating struct {
			List []struct {
				Definition string `json:"definition"`
			} `json:"list"`
		} `json:"templating"`
	}
	require.NoError(t, json.Unmarshal(b, &d))
	var exprs []string
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			exprs = append(exprs, tg.Expr)
		}
	}
	for _, v := range d.Templating.List {
		exprs = append(exprs, v.Definition)
	}
	require.NotEmpty(t, exprs)
	return exprs
}

// exportedMetrics collects the metric names the Go code registers: string
// literals "cinch_..." in non-test sources outside test/.
func exportedMetrics(t *testing.T) map[string]bool {
	t.Helper()
	lit := regexp.MustCompile(`"(cinch_[a-z0-9_]+)"`)
	names := map[string]bool{}
	for _, root := range []string{"../../cmd", "../../internal", "../../pkg"} {
		err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
				return err
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			for _, m := range lit.FindAllStringSubmatch(string(b), -1) {
				names[m[1]] = true
			}
			return nil
		})
		require.NoError(t, err)
	}
	require.NotEmpty(t, names, "no cinch_ metric names found in the Go sources")
	return names
}

// known reports whether name is an exported metric or one of the series
// Prometheus derives from a histogram.
func known(name string, exported map[string]bool) bool {
	if exported[name] {
		return true
	}
	for _, s := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(name, s); ok && exported[base] {
			return true
		}
	}
	return false
}

// TestMetricNamesExist: every cinch_ metric in the rules and the dashboard
// is exported by the code (a renamed metric breaks alerts silently).
func TestMetricNamesExist(t *testing.T) {
	exported := exportedMetrics(t)
	used := map[string][]string{}
	for _, g := range loadRules(t) {
		for _, r := range g.Rules {
			for _, n := range metricNames(r.Expr) {
				used[n] = append(used[n], "rule "+r.Alert+r.Record)
			}
		}
	}
	for _, e := range dashboardExprs(t) {
		for _, n := range metricNames(e) {
			used[n] = append(used[n], "dashboard")
		}
	}
	require.NotEmpty(t, used)
	names := make([]string, 0, len(used))
	for n := range used {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		assert.True(t, known(n, exported), "%s (used by %s) is not exported by any Go code", n, strings.Join(used[n], ", "))
	}
}

func TestMetricNamesHelpers(t *testing.T) {
	assert.Equal(t, []string{"cinch_a_total", "cinch_b"},
		metricNames(`sum(rate(cinch_a_total{job="x"}[5m])) / namespace:cinch_c:ratio + cinch_b`))
	exported := map[string]bool{"cinch_h_seconds": true}
	assert.True(t, known("cinch_h_seconds_bucket", exported))
	assert.False(t, known("cinch_h_bucket", exported))
}
