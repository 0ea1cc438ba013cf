// Package helm keeps the Helm chart charts/cinch and the kustomize manifests
// one source of truth: the chart with its default values must render the
// objects manifests/overlays/production renders, field by field (RBAC rules,
// images, arguments, webhook rules, ports, securityContexts, probes, alert
// rules: everything but the differences listed in normalize), and with
// worker.cloneRBAC the objects of manifests/components/clone-rbac too. The
// other tests render non-default values and check that every name, namespace
// and threshold follows them, that the webhook's and the worker's own flag
// code accepts the arguments the chart renders, and (with promtool) that
// the rendered rules are valid.
//
// A change to manifests/base, the production overlay or the monitoring
// component fails here until charts/cinch makes the same change (and the
// other way round).
//
// helm comes from `make helm` (.cluster/bin/helm) or $CINCH_HELM, kustomize
// from the local cluster's kubectl (.cluster/bin/kube) or $CINCH_KUBE;
// `make helm-check` builds them and runs this test. Without them it skips.
package helm

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	webhookapp "github.com/cinch-dev/cinch/cmd/webhook/app"
	workerapp "github.com/cinch-dev/cinch/cmd/worker/app"
)

const (
	chartDir      = "../../charts/cinch"
	customValues  = chartDir + "/ci/custom-values.yaml"
	productionDir = "../../manifests/overlays/production"
	cloneRBACDir  = "../../manifests/components/clone-rbac"
	namespace     = "cinch-system"
	release       = "cinch"
)

// helmOnlyLabels are the labels only the chart puts on its objects.
var helmOnlyLabels = []string{
	"helm.sh/chart", "app.kubernetes.io/instance", "app.kubernetes.io/managed-by", "app.kubernetes.io/version",
}

// clusterScoped are the kinds without a namespace (kustomize does not know
// some of them and gives them one, which the API server ignores).
var clusterScoped = map[string]bool{
	"Namespace": true, "ClusterRole": true, "ClusterRoleBinding": true,
	"ValidatingWebhookConfiguration": true, "MutatingWebhookConfiguration": true,
	"ValidatingAdmissionPolicy": true, "ValidatingAdmissionPolicyBinding": true,
}

var blankLines = regexp.MustCompile(`\n(\s*\n)+`)

type key struct{ Kind, Namespace, Name string }

func (k key) String() string {
	if k.Namespace == "" {
		return k.Kind + " " + k.Name
	}
	return k.Kind + " " + k.Namespace + "/" + k.Name
}

type object = map[string]any

// tool finds a binary from $env or at .cluster/bin/name, or skips the test.
func tool(t *testing.T, env, name string) string {
	t.Helper()
	if p := os.Getenv(env); p != "" {
		_, err := os.Stat(p)
		require.NoError(t, err, "%s=%s", env, p)
		return p
	}
	p, err := filepath.Abs(filepath.Join("../../.cluster/bin", name))
	require.NoError(t, err)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("%s not built: run `make helm-check`", name)
	}
	return p
}

func run(t *testing.T, name string, args ...string) []byte {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(t.Context(), name, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Run(), "%s %s:\n%s", filepath.Base(name), strings.Join(args, " "), stderr.String())
	return stdout.Bytes()
}

// renderChart runs helm template with args (values files, --set) and
// returns the objects by kind, namespace and name.
func renderChart(t *testing.T, releaseName, ns string, args ...string) map[key]object {
	t.Helper()
	helm := tool(t, "CINCH_HELM", "helm")
	return decode(t, run(t, helm, append([]string{"template", releaseName, chartDir, "--namespace", ns}, args...)...))
}

// renderOverlay renders the production overlay, with components, the way
// manifests/check.sh dry-runs it: through a kustomization that puts every
// namespaced object in cinch-system (the monitoring component's objects
// have no namespace of their own and land in the namespace kubectl applies
// to) and gives every object the base's common labels (the component's
// objects lack them; the chart labels every object alike).
func renderOverlay(t *testing.T, components ...string) map[key]object {
	t.Helper()
	kube := tool(t, "CINCH_KUBE", "kube")
	dir := t.TempDir()
	rel := func(p string) string {
		abs, err := filepath.Abs(p)
		require.NoError(t, err)
		r, err := filepath.Rel(dir, abs)
		require.NoError(t, err)
		return r
	}
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: %s\n", namespace)
	fmt.Fprintf(&b, "labels:\n- pairs: {app.kubernetes.io/name: cinch, app.kubernetes.io/part-of: cinch}\n  includeSelectors: false\n")
	fmt.Fprintf(&b, "resources:\n- %s\n", rel(productionDir))
	if len(components) > 0 {
		b.WriteString("components:\n")
		for _, c := range components {
			fmt.Fprintf(&b, "- %s\n", rel(c))
		}
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte(b.String()), 0o644))
	return decode(t, run(t, kube, "kubectl", "kustomize", dir))
}

func decode(t *testing.T, out []byte) map[key]object {
	t.Helper()
	objs := map[key]object{}
	d := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(out), 4096)
	for {
		var o object
		err := d.Decode(&o)
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		if len(o) == 0 {
			continue
		}
		md, _ := o["metadata"].(object)
		require.NotNil(t, md, "object without metadata: %v", o)
		kind, _ := o["kind"].(string)
		name, _ := md["name"].(string)
		ns, _ := md["namespace"].(string)
		k := key{Kind: kind, Namespace: ns, Name: name}
		require.NotContains(t, objs, k, "rendered twice")
		objs[k] = o
	}
	return objs
}

// normalize removes the differences the chart makes on purpose:
//   - it installs into the release namespace and does not create it (the
//     overlay's Namespace object; NOTES.txt shows the PodSecurity labels);
//   - it adds Helm's own labels;
//   - cluster-scoped objects have no namespace;
//   - alert annotations are prose that names the chart's thresholds
//     (`for` and the expressions themselves are compared).
func normalize(objs map[key]object, fromChart bool) map[key]object {
	out := map[key]object{}
	for k, o := range objs {
		if k.Kind == "Namespace" && !fromChart {
			continue
		}
		md := o["metadata"].(object)
		if clusterScoped[k.Kind] {
			delete(md, "namespace")
			k.Namespace = ""
		}
		if labels, ok := md["labels"].(object); ok && fromChart {
			for _, l := range helmOnlyLabels {
				delete(labels, l)
			}
		}
		if k.Kind == "PrometheusRule" {
			spec, _ := o["spec"].(object)
			groups, _ := spec["groups"].([]any)
			for _, g := range groups {
				rules, _ := g.(object)["rules"].([]any)
				for _, r := range rules {
					if ann, ok := r.(object)["annotations"].(object); ok {
						for a := range ann {
							ann[a] = "(text)"
						}
					}
				}
			}
		}
		out[k] = o
	}
	return out
}

// diff lists the paths where got (chart) and want (kustomize) differ.
func diff(path string, got, want any) []string {
	switch w := want.(type) {
	case object:
		g, ok := got.(object)
		if !ok {
			return []string{fmt.Sprintf("%s: chart %s, kustomize %s", path, show(got), show(want))}
		}
		var out []string
		for _, k := range unionKeys(g, w) {
			gv, gok := g[k]
			wv, wok := w[k]
			p := path + "." + k
			switch {
			case !gok:
				out = append(out, fmt.Sprintf("%s: missing in the chart, kustomize %s", p, show(wv)))
			case !wok:
				out = append(out, fmt.Sprintf("%s: only in the chart: %s", p, show(gv)))
			default:
				out = append(out, diff(p, gv, wv)...)
			}
		}
		return out
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return []string{fmt.Sprintf("%s: chart %s, kustomize %s", path, show(got), show(want))}
		}
		var out []string
		for i := range w {
			out = append(out, diff(fmt.Sprintf("%s[%d]", path, i), g[i], w[i])...)
		}
		return out
	case string:
		// kustomize (kyaml) writes a folded scalar with a more-indented line
		// back with an extra blank line (the worker guard's CEL); blank lines
		// mean nothing in any string here (CEL, PromQL, nats.conf, JSON).
		if g, ok := got.(string); ok && blankLines.ReplaceAllString(g, "\n") == blankLines.ReplaceAllString(w, "\n") {
			return nil
		}
		return []string{fmt.Sprintf("%s: chart %s, kustomize %s", path, show(got), show(want))}
	default:
		if !reflect.DeepEqual(got, want) {
			return []string{fmt.Sprintf("%s: chart %s, kustomize %s", path, show(got), show(want))}
		}
		return nil
	}
}

func unionKeys(a, b object) []string {
	seen := map[string]bool{}
	for k := range a {
		seen[k] = true
	}
	for k := range b {
		seen[k] = true
	}
	keys := make([]string, 0, len(seen))
	for k := range seen {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func show(v any) string {
	s := fmt.Sprintf("%#v", v)
	if len(s) > 300 {
		s = s[:300] + "..."
	}
	return s
}

func sortedKeys(objs map[key]object) []key {
	keys := make([]key, 0, len(objs))
	for k := range objs {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
	return keys
}

// assertSameObjects compares two renderings object by object.
func assertSameObjects(t *testing.T, chart, overlay map[key]object) {
	t.Helper()
	chart, overlay = normalize(chart, true), normalize(overlay, false)
	var problems []string
	for _, k := range sortedKeys(overlay) {
		if _, ok := chart[k]; !ok {
			problems = append(problems, fmt.Sprintf("%s: rendered by kustomize, missing in the chart", k))
		}
	}
	for _, k := range sortedKeys(chart) {
		want, ok := overlay[k]
		if !ok {
			problems = append(problems, fmt.Sprintf("%s: rendered by the chart, not by kustomize", k))
			continue
		}
		for _, d := range diff("", chart[k], want) {
			problems = append(problems, fmt.Sprintf("%s: %s", k, d))
		}
	}
	assert.Empty(t, problems, "charts/cinch and the kustomize manifests drifted; change both:\n%s", strings.Join(problems, "\n"))
	t.Logf("%d objects compared", len(chart))
}

func TestChartMatchesProductionOverlay(t *testing.T) {
	overlay := renderOverlay(t)
	chart := renderChart(t, release, namespace)
	// The comparison must not pass vacuously.
	for _, k := range []key{
		{"Deployment", namespace, "cinch-worker"}, {"Deployment", namespace, "cinch-webhook"},
		{"StatefulSet", namespace, "cinch-nats"}, {"ClusterRole", "", "cinch-worker"},
		{"ValidatingWebhookConfiguration", "", "cinch-webhook"}, {"PrometheusRule", namespace, "cinch"},
	} {
		if k.Namespace == "" {
			require.Contains(t, normalize(overlay, false), k)
		} else {
			require.Contains(t, overlay, k)
		}
	}
	assertSameObjects(t, chart, overlay)
}

func TestChartCloneRBACMatchesComponent(t *testing.T) {
	overlay := renderOverlay(t, cloneRBACDir)
	require.Contains(t, overlay, key{"ClusterRole", "", "cinch-worker-clone-rbac"})
	assertSameObjects(t, renderChart(t, release, namespace, "--set", "worker.cloneRBAC=true"), overlay)
}

// walkStrings calls f with every string value in v.
func walkStrings(v any, f func(string)) {
	switch v := v.(type) {
	case object:
		for _, x := range v {
			walkStrings(x, f)
		}
	case []any:
		for _, x := range v {
			walkStrings(x, f)
		}
	case string:
		f(v)
	}
}

// get follows a path of map keys and list indexes.
func get(t *testing.T, v any, path ...any) any {
	t.Helper()
	for _, p := range path {
		switch p := p.(type) {
		case string:
			m, ok := v.(object)
			require.True(t, ok, "%v is not a map at %q", show(v), p)
			v = m[p]
		case int:
			l, ok := v.([]any)
			require.True(t, ok && p < len(l), "%v has no index %d", show(v), p)
			v = l[p]
		}
	}
	return v
}

func container(t *testing.T, objs map[key]object, kind, ns, name string) object {
	t.Helper()
	o, ok := objs[key{kind, ns, name}]
	require.True(t, ok, "no %s %s/%s", kind, ns, name)
	return get(t, o, "spec", "template", "spec", "containers", 0).(object)
}

func strs(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

// TestChartCustomValues renders ci/custom-values.yaml as release "acme" in
// namespace "security": every name, namespace and reference follows them.
func TestChartCustomValues(t *testing.T) {
	const ns = "security"
	objs := renderChart(t, "acme", ns, "-f", customValues)

	for k, o := range objs {
		assert.True(t, strings.HasPrefix(k.Name, "acme-cinch-"), "%s: name without the release prefix", k)
		if clusterScoped[k.Kind] {
			assert.Empty(t, k.Namespace, "%s", k)
		} else {
			assert.Equal(t, ns, k.Namespace, "%s", k)
		}
		walkStrings(o, func(s string) {
			assert.NotContains(t, s, "cinch-system", "%s: a fixed namespace", k)
			assert.NotRegexp(t, `(^|[^-])cinch-(webhook|worker|nats)`, s, "%s: a fixed name", k)
		})
		assert.NotContains(t, []string{"ServiceMonitor", "PrometheusRule"}, k.Kind, "monitoring.enabled=false")
	}
	assert.NotContains(t, objs, key{"ConfigMap", ns, "acme-cinch-grafana-dashboard"})
	assert.NotContains(t, objs, key{"PodDisruptionBudget", ns, "acme-cinch-nats"}, "one NATS server: no PDB")
	assert.Contains(t, objs, key{"ClusterRoleBinding", "", "acme-cinch-worker-clone-rbac"})

	worker := container(t, objs, "Deployment", ns, "acme-cinch-worker")
	assert.Equal(t, []string{
		"run",
		"--nats-url=nats://acme-cinch-nats.security.svc:4222",
		"--metrics-addr=:9090",
		"--clone-labels=installation.cinch.dev/namespace=security",
		"--concurrency=4",
		"--recording-duration=30s",
		"--strategy=parallel",
		"--max-clones=4",
		"--max-pods=0",
		"--ready-timeout=3m",
		"--start-wait=90s",
		"--batch-timeout=20m",
		"--resync-interval=10m",
		"--resync-namespace-selector=team in (a,b)",
		"--workload-metrics=false",
		"--sweep-interval=5m",
		"--sweep-older-than=2h",
		"--shutdown-grace=30s",
		"--v=2",
		"--lease-ttl=45s",
	}, strs(worker["args"]))
	assert.Equal(t, "registry.example.com/cinch:v0.2.0-rc.1", worker["image"])
	assert.Equal(t, "Always", worker["imagePullPolicy"])

	webhook := container(t, objs, "Deployment", ns, "acme-cinch-webhook")
	args := strs(webhook["args"])
	assert.Contains(t, args, "--nats-url=nats://acme-cinch-nats.security.svc:4222")
	assert.Contains(t, args, "--job-buffer=5000")
	assert.Equal(t, "--publish-retry-for=10m", args[len(args)-1], "extraArgs come last")
	assert.NotContains(t, strings.Join(args, " "), "--stream-replicas", "one NATS server")
	assert.Equal(t, []any{object{"name": "regcred"}},
		get(t, objs[key{"Deployment", ns, "acme-cinch-webhook"}], "spec", "template", "spec", "imagePullSecrets"))

	nats := objs[key{"StatefulSet", ns, "acme-cinch-nats"}]
	assert.Equal(t, "registry.example.com/nats:2.15.2-alpine", get(t, nats, "spec", "template", "spec", "containers", 0, "image"))
	assert.Equal(t, "standard", get(t, nats, "spec", "volumeClaimTemplates", 0, "spec", "storageClassName"))
	assert.Equal(t, "4Gi", get(t, nats, "spec", "volumeClaimTemplates", 0, "spec", "resources", "requests", "storage"))
	assert.Nil(t, get(t, nats, "spec", "template", "spec", "affinity"), "one server: no anti-affinity")
	conf := get(t, objs[key{"ConfigMap", ns, "acme-cinch-nats-config"}], "data", "nats.conf").(string)
	assert.NotContains(t, conf, "cluster {")
	assert.Contains(t, conf, "max_file_store: 3GB")

	guard := objs[key{"ValidatingAdmissionPolicy", "", "acme-cinch-worker-guard"}]
	assert.Equal(t, "request.userInfo.username == 'system:serviceaccount:security:acme-cinch-worker'",
		get(t, guard, "spec", "matchConditions", 0, "expression"))
	vwc := objs[key{"ValidatingWebhookConfiguration", "", "acme-cinch-webhook"}]
	assert.Equal(t, "security/acme-cinch-webhook", get(t, vwc, "metadata", "annotations", "cert-manager.io/inject-ca-from"))
	assert.Equal(t, []any{ns}, get(t, vwc, "webhooks", 0, "namespaceSelector", "matchExpressions", 1, "values"))
	assert.InDelta(t, 5, get(t, vwc, "webhooks", 0, "timeoutSeconds"), 0)
	cert := objs[key{"Certificate", ns, "acme-cinch-webhook"}]
	assert.Equal(t, []any{"acme-cinch-webhook.security.svc", "acme-cinch-webhook.security.svc.cluster.local"},
		get(t, cert, "spec", "dnsNames"))
}

// TestChartNATSReplicas: the NATS cluster, its routes, the job stream's
// replicas and the PDB follow nats.replicas and nats.streamReplicas.
func TestChartNATSReplicas(t *testing.T) {
	for _, tc := range []struct {
		replicas, streamReplicas string
		wantStream               string // "" = no --stream-replicas flag
		wantRoutes               int
	}{
		{replicas: "1", wantStream: "", wantRoutes: 0},
		{replicas: "3", wantStream: "3", wantRoutes: 3},
		{replicas: "5", wantStream: "3", wantRoutes: 5},
		{replicas: "5", streamReplicas: "5", wantStream: "5", wantRoutes: 5},
		{replicas: "3", streamReplicas: "1", wantStream: "", wantRoutes: 3},
	} {
		t.Run(tc.replicas+"/"+tc.streamReplicas, func(t *testing.T) {
			args := []string{"--set", "nats.replicas=" + tc.replicas}
			if tc.streamReplicas != "" {
				args = append(args, "--set", "nats.streamReplicas="+tc.streamReplicas)
			}
			objs := renderChart(t, release, namespace, args...)
			conf := get(t, objs[key{"ConfigMap", namespace, "cinch-nats-config"}], "data", "nats.conf").(string)
			assert.Equal(t, tc.wantRoutes, strings.Count(conf, ".cinch-nats-headless.cinch-system.svc:6222"), conf)
			if tc.wantRoutes > 0 {
				assert.Contains(t, conf, fmt.Sprintf("nats://cinch-nats-%d.cinch-nats-headless.cinch-system.svc:6222\n", tc.wantRoutes-1))
			}
			_, pdb := objs[key{"PodDisruptionBudget", namespace, "cinch-nats"}]
			assert.Equal(t, tc.wantRoutes > 0, pdb, "PDB with a NATS cluster only")
			for _, name := range []string{"cinch-worker", "cinch-webhook"} {
				args := strings.Join(strs(container(t, objs, "Deployment", namespace, name)["args"]), " ")
				if tc.wantStream == "" {
					assert.NotContains(t, args, "--stream-replicas", name)
				} else {
					assert.Contains(t, args, "--stream-replicas="+tc.wantStream, name)
				}
			}
		})
	}
}

// TestChartAlerts: the rules select the release's jobs and use the
// thresholds of monitoring.alerts.
func TestChartAlerts(t *testing.T) {
	objs := renderChart(t, "acme", "security",
		"--set", "monitoring.alerts.coverageLow.threshold=0.9",
		"--set", "monitoring.alerts.queueBackingUp.jobs=50",
		"--set", "monitoring.alerts.workloadNotHardened.for=24h",
		"--set", "monitoring.serviceMonitor.labels.release=kube-prometheus-stack")
	rule := objs[key{"PrometheusRule", "security", "acme-cinch"}]
	require.NotNil(t, rule)
	alerts := map[string]object{}
	var exprs []string
	for _, g := range get(t, rule, "spec", "groups").([]any) {
		for _, r := range g.(object)["rules"].([]any) {
			r := r.(object)
			exprs = append(exprs, r["expr"].(string))
			if a, ok := r["alert"].(string); ok {
				alerts[a] = r
			}
		}
	}
	joined := strings.Join(exprs, "\n")
	assert.NotContains(t, joined, `job="cinch-`)
	assert.Contains(t, joined, `job="acme-cinch-worker"`)
	assert.Contains(t, joined, `job="acme-cinch-webhook"`)
	assert.Equal(t, "namespace:cinch_coverage:ratio < 0.9", alerts["CinchCoverageLow"]["expr"])
	assert.Contains(t, get(t, alerts["CinchCoverageLow"], "annotations", "description"), "Fewer than 90% ")
	assert.Equal(t, `max(cinch_queue_depth{job="acme-cinch-worker"}) > 50`, alerts["CinchQueueBackingUp"]["expr"])
	assert.Equal(t, "24h", alerts["CinchWorkloadNotHardened"]["for"])
	assert.Contains(t, get(t, alerts["CinchWorkloadNotHardened"], "annotations", "summary"), "{{ $labels.kind }}")
	sm := objs[key{"ServiceMonitor", "security", "acme-cinch-worker"}]
	assert.Equal(t, "kube-prometheus-stack", get(t, sm, "metadata", "labels", "release"))
	assert.Equal(t, object{"app.kubernetes.io/name": "cinch", "app.kubernetes.io/component": "worker"},
		get(t, sm, "spec", "selector", "matchLabels"))
}

// TestChartArgsParse: the binaries accept the arguments the chart renders,
// with default and with custom values (a renamed or removed flag, a value
// of the wrong type or one Validate rejects fails here).
func TestChartArgsParse(t *testing.T) {
	for _, tc := range []struct {
		name            string
		args            []string
		wantConcurrency int
		wantJobBuffer   int
	}{
		{name: "default", wantConcurrency: 2, wantJobBuffer: 1000},
		{name: "custom", args: []string{"-f", customValues}, wantConcurrency: 4, wantJobBuffer: 5000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			objs := renderChart(t, release, namespace, tc.args...)

			worker := strs(container(t, objs, "Deployment", namespace, "cinch-worker")["args"])
			require.Equal(t, string(workerapp.CommandRun), worker[0])
			cfg, err := workerapp.Parse(workerapp.CommandRun, worker[1:], io.Discard)
			require.NoError(t, err, "worker %v", worker)
			assert.Equal(t, tc.wantConcurrency, cfg.Concurrency)
			assert.Equal(t, "nats://cinch-nats.cinch-system.svc:4222", cfg.NATSURL)

			webhook := strs(container(t, objs, "Deployment", namespace, "cinch-webhook")["args"])
			wcfg := webhookapp.DefaultConfig()
			fs := flag.NewFlagSet("webhook", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			wcfg.Bind(fs)
			fs.Int("v", 0, "log verbosity")
			require.NoError(t, fs.Parse(webhook), "webhook %v", webhook)
			require.Empty(t, fs.Args())
			require.NoError(t, wcfg.Validate(), "webhook %v", webhook)
			assert.Equal(t, tc.wantJobBuffer, wcfg.JobBuffer)
		})
	}
}

// TestChartRulesCheck: promtool accepts the chart's rules (expressions and
// annotation templates) with other thresholds and another release name.
// Skips without promtool (make promtool, or $CINCH_PROMTOOL).
func TestChartRulesCheck(t *testing.T) {
	promtool := os.Getenv("CINCH_PROMTOOL")
	if promtool == "" {
		p, err := filepath.Abs("../../.cluster/bin/promtool")
		require.NoError(t, err)
		if _, err := os.Stat(p); err != nil {
			t.Skip("promtool not built: run `make promtool`")
		}
		promtool = p
	}
	for name, args := range map[string][]string{
		"default": nil,
		"custom": {
			"--set", "monitoring.alerts.coverageLow.threshold=0.95", "--set", "monitoring.alerts.jobsFailing.window=3h",
			"--set", "monitoring.alerts.queueBackingUp.jobs=100", "--set", "monitoring.alerts.workerDown.for=1h",
		},
	} {
		t.Run(name, func(t *testing.T) {
			objs := renderChart(t, "acme", "security", args...)
			rule, ok := objs[key{"PrometheusRule", "security", "acme-cinch"}]
			require.True(t, ok)
			b, err := yaml.Marshal(rule["spec"])
			require.NoError(t, err)
			f := filepath.Join(t.TempDir(), "rules.yaml")
			require.NoError(t, os.WriteFile(f, b, 0o644))
			out := run(t, promtool, "check", "rules", f)
			assert.Contains(t, string(out), "SUCCESS")
		})
	}
}
