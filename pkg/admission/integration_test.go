//go:build integration

package admission_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/webhook"

	"github.com/cinch-dev/cinch/internal/jobs"
	"github.com/cinch-dev/cinch/internal/jobs/admissionjobs"
	"github.com/cinch-dev/cinch/internal/jobs/jobstest"
	"github.com/cinch-dev/cinch/pkg/admission"
	"github.com/cinch-dev/cinch/pkg/admission/admissiontest"
	"github.com/cinch-dev/cinch/pkg/hardening"
)

// env is one test's webhook, NATS and API server.
type env struct {
	t          *testing.T
	kubeconfig string
	kubectlBin []string
	client     kubernetes.Interface
	nats       interface{ Shutdown() }
	stream     jetstream.Stream
	proxy      *jobstest.Proxy
	buffer     *jobs.Buffer
	reg        *prometheus.Registry
	id         string
}

func kubeconfig(t *testing.T) string {
	path := os.Getenv("CINCH_TEST_KUBECONFIG")
	if path == "" {
		t.Fatal("CINCH_TEST_KUBECONFIG is not set: it must name the local API server's kubeconfig (make cluster-up)")
	}
	return path
}

// kubectlCommand finds kubectl: $CINCH_KUBECTL, else the local cluster's
// multi-call binary (.cluster/bin/kube kubectl), else kubectl on PATH.
func kubectlCommand(t *testing.T) []string {
	if k := os.Getenv("CINCH_KUBECTL"); k != "" {
		return strings.Fields(k)
	}
	dir, err := os.Getwd()
	require.NoError(t, err)
	for ; dir != filepath.Dir(dir); dir = filepath.Dir(dir) {
		if bin := filepath.Join(dir, ".cluster", "bin", "kube"); fileExists(bin) {
			return []string{bin, "kubectl"}
		}
	}
	bin, err := exec.LookPath("kubectl")
	if err != nil {
		t.Fatal("no kubectl: set CINCH_KUBECTL or build the local cluster (.cluster/bin/kube)")
	}
	return []string{bin}
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

const publishTimeout = 200 * time.Millisecond

func setup(t *testing.T) *env { return setupWith(t, jobs.DefaultBufferConfig()) }

// setupWith starts the webhook with the job buffer bc, publishing to an
// in-process JetStream through a proxy the test can stall.
func setupWith(t *testing.T, bc jobs.BufferConfig) *env {
	ctx := t.Context()
	path := kubeconfig(t)
	restCfg, err := clientcmd.BuildConfigFromFlags("", path)
	require.NoError(t, err)
	restCfg.QPS, restCfg.Burst = 1000, 1000 // the burst tests, not client-side throttling
	client, err := kubernetes.NewForConfig(restCfg)
	require.NoError(t, err)
	e := &env{t: t, kubeconfig: path, kubectlBin: kubectlCommand(t), client: client, reg: prometheus.NewRegistry(), id: rand.String(6)}

	// NATS JetStream, in process.
	ns := jobstest.Server(t)
	e.nats = ns
	e.proxy = jobstest.StartProxy(t, ns.Addr().String())
	nc, err := nats.Connect(e.proxy.URL(), nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	e.stream, err = jobs.EnsureStream(ctx, js, jobs.DefaultStreamConfig())
	require.NoError(t, err)
	e.buffer, err = jobs.NewBuffer(bc, jobs.NewPublisher(js, jobs.PublisherOptions{Timeout: publishTimeout, Stream: jobs.DefaultStreamConfig().Name}), jobs.NewMetrics(e.reg))
	require.NoError(t, err)
	bufCtx, stopBuf := context.WithCancel(ctx)
	bufDone := make(chan struct{})
	go func() { _ = e.buffer.Start(bufCtx); close(bufDone) }()
	t.Cleanup(func() { stopBuf(); <-bufDone })

	// The webhook server, as in production but on loopback.
	namespaces := admission.NewCachedNamespaces(client, time.Minute)
	nsCtx, stopNS := context.WithCancel(ctx)
	nsDone := make(chan error, 1)
	go func() { nsDone <- namespaces.Start(nsCtx) }()
	t.Cleanup(func() {
		stopNS()
		if err := <-nsDone; err != nil {
			t.Logf("namespace cache: %v", err)
		}
	})
	require.Eventually(t, namespaces.Synced, 30*time.Second, 10*time.Millisecond, "namespace cache never synced")
	handlers := admission.New(admissionjobs.NewPublisher(e.buffer), namespaces, admission.NewMetrics(e.reg), admission.Options{OwnNamespace: "cinch-system"})
	certDir := t.TempDir()
	caPEM, err := admissiontest.WriteServingCert(certDir, "127.0.0.1")
	require.NoError(t, err)
	port := freePort(t)
	srv := webhook.NewServer(webhook.Options{Host: "127.0.0.1", Port: port, CertDir: certDir,
		TLSOpts: []func(*tls.Config){func(c *tls.Config) { c.NextProtos = []string{"http/1.1"} }}})
	validate, mutate := handlers.Webhooks()
	srv.Register("/validate", validate)
	srv.Register("/mutate", mutate)
	srvCtx, stopSrv := context.WithCancel(ctx)
	srvDone := make(chan error, 1)
	go func() { srvDone <- srv.Start(srvCtx) }()
	t.Cleanup(func() {
		stopSrv()
		if err := <-srvDone; err != nil {
			t.Logf("webhook server: %v", err)
		}
	})

	// URL-based webhook configurations, scoped to this test's namespaces
	// only (other tests share the API server). They do not require the
	// opt-in label: the handler's own check is under test here.
	sel := &metav1.LabelSelector{MatchLabels: map[string]string{"cinch-admission-test": e.id}}
	// The manifests send Jobs on CREATE only (their template cannot
	// change); here Job UPDATEs reach the handlers too, to show they never
	// get in the way of one.
	rules := []admissionregistrationv1.RuleWithOperations{{
		Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create, admissionregistrationv1.Update},
		Rule: admissionregistrationv1.Rule{
			APIGroups: []string{"apps"}, APIVersions: []string{"v1"},
			Resources: []string{"deployments", "statefulsets", "daemonsets"},
			Scope:     ptr(admissionregistrationv1.NamespacedScope),
		},
	}, {
		Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create, admissionregistrationv1.Update},
		Rule: admissionregistrationv1.Rule{
			APIGroups: []string{"batch"}, APIVersions: []string{"v1"},
			Resources: []string{"jobs", "cronjobs"},
			Scope:     ptr(admissionregistrationv1.NamespacedScope),
		},
	}}
	url := func(p string) *string { return ptr(fmt.Sprintf("https://127.0.0.1:%d%s", port, p)) }
	name := "cinch-admission-test-" + e.id
	vwc := &admissionregistrationv1.ValidatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Webhooks: []admissionregistrationv1.ValidatingWebhook{{
			Name:                    "workloads.validate.test.cinch.dev",
			ClientConfig:            admissionregistrationv1.WebhookClientConfig{URL: url("/validate"), CABundle: caPEM},
			Rules:                   rules,
			FailurePolicy:           ptr(admissionregistrationv1.Ignore),
			SideEffects:             ptr(admissionregistrationv1.SideEffectClassNoneOnDryRun),
			NamespaceSelector:       sel,
			TimeoutSeconds:          ptr(int32(5)),
			AdmissionReviewVersions: []string{"v1"},
		}},
	}
	mwc := &admissionregistrationv1.MutatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Webhooks: []admissionregistrationv1.MutatingWebhook{{
			Name:                    "workloads.mutate.test.cinch.dev",
			ClientConfig:            admissionregistrationv1.WebhookClientConfig{URL: url("/mutate"), CABundle: caPEM},
			Rules:                   rules,
			FailurePolicy:           ptr(admissionregistrationv1.Ignore),
			SideEffects:             ptr(admissionregistrationv1.SideEffectClassNoneOnDryRun),
			NamespaceSelector:       sel,
			TimeoutSeconds:          ptr(int32(5)),
			ReinvocationPolicy:      ptr(admissionregistrationv1.IfNeededReinvocationPolicy),
			AdmissionReviewVersions: []string{"v1"},
		}},
	}
	_, err = client.AdmissionregistrationV1().ValidatingWebhookConfigurations().Create(ctx, vwc, metav1.CreateOptions{})
	require.NoError(t, err)
	t.Cleanup(func() { e.deleteQuietly("validatingwebhookconfiguration", name) })
	_, err = client.AdmissionregistrationV1().MutatingWebhookConfigurations().Create(ctx, mwc, metav1.CreateOptions{})
	require.NoError(t, err)
	t.Cleanup(func() { e.deleteQuietly("mutatingwebhookconfiguration", name) })
	return e
}

func ptr[T any](v T) *T { return &v }

// cleanupCtx outlives the test's context for t.Cleanup work.
func (e *env) cleanupCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(e.t.Context()), 30*time.Second)
}

func (e *env) deleteQuietly(kind, name string) {
	ctx, cancel := e.cleanupCtx()
	defer cancel()
	var err error
	switch kind {
	case "validatingwebhookconfiguration":
		err = e.client.AdmissionregistrationV1().ValidatingWebhookConfigurations().Delete(ctx, name, metav1.DeleteOptions{})
	case "mutatingwebhookconfiguration":
		err = e.client.AdmissionregistrationV1().MutatingWebhookConfigurations().Delete(ctx, name, metav1.DeleteOptions{})
	case "namespace":
		err = e.client.CoreV1().Namespaces().Delete(ctx, name, metav1.DeleteOptions{})
	}
	if err != nil && !apierrors.IsNotFound(err) {
		e.t.Logf("cleanup %s %s: %v", kind, name, err)
	}
}

// namespace creates a test namespace with the given cinch.dev/harden value
// ("" = no label) and deletes it when the test ends.
func (e *env) namespace(suffix, harden string) string {
	name := fmt.Sprintf("cinch-adm-%s-%s", e.id, suffix)
	labels := map[string]string{"cinch-admission-test": e.id}
	if harden != "" {
		labels[hardening.LabelHarden] = harden
	}
	_, err := e.client.CoreV1().Namespaces().Create(e.t.Context(), &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
	}, metav1.CreateOptions{})
	require.NoError(e.t, err)
	e.t.Cleanup(func() { e.deleteQuietly("namespace", name) })
	return name
}

func (e *env) kubectl(stdin string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(e.t.Context(), 30*time.Second)
	defer cancel()
	argv := append(append([]string{}, e.kubectlBin[1:]...), append([]string{"--kubeconfig", e.kubeconfig}, args...)...)
	cmd := exec.CommandContext(ctx, e.kubectlBin[0], argv...)
	cmd.Stdin = strings.NewReader(stdin)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

func (e *env) mustKubectl(stdin string, args ...string) string {
	e.t.Helper()
	out, err := e.kubectl(stdin, args...)
	require.NoError(e.t, err, "kubectl %v: %s", args, out)
	return out
}

// settled waits until the job buffer has published (or dropped) every job
// it accepted.
func (e *env) settled() {
	e.t.Helper()
	require.Eventually(e.t, func() bool { return gauge(e.t, e.reg, "cinch_admission_jobs_buffered") == 0 },
		10*time.Second, 5*time.Millisecond, "jobs still buffered")
}

// jobsIn returns the jobs stored for namespace ns, in order, once the
// buffer has settled.
func (e *env) jobsIn(ns string) []jobs.Job {
	e.t.Helper()
	e.settled()
	return e.storedIn(ns)
}

// storedIn returns the jobs stored for namespace ns now, in order.
func (e *env) storedIn(ns string) []jobs.Job {
	e.t.Helper()
	ctx := e.t.Context()
	info, err := e.stream.Info(ctx)
	require.NoError(e.t, err)
	var out []jobs.Job
	if info.State.Msgs == 0 {
		return nil
	}
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq; seq++ {
		m, err := e.stream.GetMsg(ctx, seq)
		if err != nil {
			continue // deleted
		}
		if m.Subject != jobs.Subject(ns) {
			continue
		}
		j, err := jobs.Decode(m.Data)
		require.NoError(e.t, err)
		out = append(out, j)
	}
	return out
}

const manifestTmpl = `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: %[1]s
spec:
  replicas: 0
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: docker.io/local/none:1
        imagePullPolicy: Never
        env: [{name: VERSION, value: "%[2]s"}]
`

func deploymentYAML(ns, version string) string { return fmt.Sprintf(manifestTmpl, ns, version) }

// waitActive applies changes in a probe namespace until the webhook is
// called: the API server picks up new webhook configurations asynchronously.
func (e *env) waitActive() {
	probe := e.namespace("probe", hardening.HardenEnabled)
	for i := 0; ; i++ {
		e.mustKubectl(deploymentYAML(probe, fmt.Sprint(i)), "apply", "-f", "-")
		if len(e.jobsIn(probe)) > 0 {
			return
		}
		if i > 100 {
			e.t.Fatal("the API server never called the test webhook")
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func TestIntegrationPublishesOneJobPerTemplateChange(t *testing.T) {
	e := setup(t)
	enabledNS := e.namespace("on", hardening.HardenEnabled)
	otherNS := e.namespace("off", "")
	cloneNS := e.namespace("clone", "")
	_, err := e.client.CoreV1().Namespaces().Patch(t.Context(), cloneNS, "application/merge-patch+json",
		[]byte(`{"metadata":{"labels":{"cinch.dev/clone-of":"x","cinch.dev/harden":"enabled"}}}`), metav1.PatchOptions{})
	require.NoError(t, err)
	e.waitActive()

	hashOf := func(ns string) string {
		d, err := e.client.AppsV1().Deployments(ns).Get(t.Context(), "web", metav1.GetOptions{})
		require.NoError(t, err)
		return hardening.TemplateHash(&d.Spec.Template)
	}

	steps := []struct {
		name     string
		stdin    string
		args     []string
		wantJobs int
	}{
		{name: "server dry run of a create", stdin: deploymentYAML(enabledNS, "1"), args: []string{"apply", "--dry-run=server", "-f", "-"}, wantJobs: 0},
		{name: "create", stdin: deploymentYAML(enabledNS, "1"), args: []string{"apply", "-f", "-"}, wantJobs: 1},
		{name: "re-apply unchanged", stdin: deploymentYAML(enabledNS, "1"), args: []string{"apply", "-f", "-"}, wantJobs: 1},
		{name: "scale subresource", args: []string{"-n", enabledNS, "scale", "deployment/web", "--replicas=2"}, wantJobs: 1},
		{name: "replicas on the main resource", args: []string{"-n", enabledNS, "patch", "deployment/web", "--type=merge", "-p", `{"spec":{"replicas":0}}`}, wantJobs: 1},
		{name: "annotation only", args: []string{"-n", enabledNS, "annotate", "deployment/web", "team=shop"}, wantJobs: 1},
		{name: "cinch result annotations", args: []string{"-n", enabledNS, "annotate", "deployment/web", "cinch.dev/status=Running", "cinch.dev/template-hash=abc"}, wantJobs: 1},
		{name: "server dry run of a change", stdin: deploymentYAML(enabledNS, "2"), args: []string{"apply", "--dry-run=server", "-f", "-"}, wantJobs: 1},
		{name: "template change", stdin: deploymentYAML(enabledNS, "2"), args: []string{"apply", "-f", "-"}, wantJobs: 2},
		{name: "template change back", stdin: deploymentYAML(enabledNS, "3"), args: []string{"apply", "-f", "-"}, wantJobs: 3},
		{name: "opted out workload", args: []string{"-n", enabledNS, "annotate", "deployment/web", "cinch.dev/harden=disabled"}, wantJobs: 3},
		{name: "opted out change", args: []string{"-n", enabledNS, "set", "env", "deployment/web", "VERSION=4"}, wantJobs: 3},
	}
	for _, s := range steps {
		e.mustKubectl(s.stdin, s.args...)
		got := e.jobsIn(enabledNS)
		require.Len(t, got, s.wantJobs, "after %q", s.name)
		if s.name == "template change" {
			last := got[len(got)-1]
			assert.Equal(t, hashOf(enabledNS), last.TemplateHash)
			assert.Equal(t, hardening.KindDeployment, last.Kind)
			assert.Equal(t, "web", last.Name)
			assert.Equal(t, jobs.ReasonAdmission, last.Reason)
			d, err := e.client.AppsV1().Deployments(enabledNS).Get(t.Context(), "web", metav1.GetOptions{})
			require.NoError(t, err)
			assert.Equal(t, string(d.UID), last.UID)
		}
	}

	// Other kinds publish too.
	e.mustKubectl(fmt.Sprintf(`
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: %[1]s}
spec:
  replicas: 0
  serviceName: db
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec: {containers: [{name: db, image: docker.io/local/none:1, imagePullPolicy: Never}]}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, namespace: %[1]s}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      nodeSelector: {cinch-admission-test/nowhere: "true"}
      containers: [{name: agent, image: docker.io/local/none:1, imagePullPolicy: Never}]
`, enabledNS), "apply", "-f", "-")
	kinds := map[string]int{}
	for _, j := range e.jobsIn(enabledNS) {
		kinds[j.Kind]++
	}
	assert.Equal(t, map[string]int{"Deployment": 3, "StatefulSet": 1, "DaemonSet": 1}, kinds)

	// Namespaces that are not opted in, and clones, never publish.
	for _, ns := range []string{otherNS, cloneNS} {
		e.mustKubectl(deploymentYAML(ns, "1"), "apply", "-f", "-")
		e.mustKubectl(deploymentYAML(ns, "2"), "apply", "-f", "-")
		assert.Empty(t, e.jobsIn(ns), ns)
	}
	assert.Equal(t, 2.0, validateOutcome(t, e.reg, "not-opted-in"))
	assert.Equal(t, 2.0, validateOutcome(t, e.reg, "excluded"))
	assert.Equal(t, 2.0, validateOutcome(t, e.reg, "dry-run"))

	// With NATS stopped, changes are still admitted; the jobs wait in the
	// buffer, retried.
	e.mustKubectl("", "-n", enabledNS, "annotate", "deployment/web", "cinch.dev/harden-")
	queued := validateOutcome(t, e.reg, "queued")
	e.nats.Shutdown()
	start := time.Now()
	e.mustKubectl(deploymentYAML(enabledNS, "5"), "apply", "-f", "-")
	e.mustKubectl(deploymentYAML(enabledNS, "6"), "apply", "-f", "-")
	t.Logf("two applies with NATS stopped took %s", time.Since(start))
	d, err := e.client.AppsV1().Deployments(enabledNS).Get(t.Context(), "web", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, "6", d.Spec.Template.Spec.Containers[0].Env[0].Value)
	assert.Equal(t, queued+2, validateOutcome(t, e.reg, "queued"))
	assert.Equal(t, 2.0, gauge(t, e.reg, "cinch_admission_jobs_buffered"), "waiting for NATS")
	assert.Eventually(t, func() bool { return metricSum(t, e.reg, "cinch_admission_publish_retries_total", nil) > 0 },
		10*time.Second, 10*time.Millisecond, "the buffer retries")
	assert.Equal(t, 0.0, metricSum(t, e.reg, "cinch_admission_jobs_dropped_total", nil))
}

// gauge reads a gauge without labels.
func gauge(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) == 1 {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("no gauge %s", name)
	return 0
}

// metricSum sums the samples of a counter family whose labels include match.
func metricSum(t *testing.T, reg *prometheus.Registry, name string, match map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metrics:
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			for k, v := range match {
				if labels[k] != v {
					continue metrics
				}
			}
			sum += m.GetCounter().GetValue()
		}
	}
	return sum
}

func validateOutcome(t *testing.T, reg *prometheus.Registry, outcome string) float64 {
	return metricSum(t, reg, "cinch_admission_requests_total", map[string]string{"webhook": "validate", "outcome": outcome})
}

func TestIntegrationEnforce(t *testing.T) {
	e := setup(t)
	strict := e.namespace("strict", hardening.HardenEnforce)
	e.waitActive()
	ctx := t.Context()

	e.mustKubectl(deploymentYAML(strict, "1"), "apply", "-f", "-")
	require.Len(t, e.jobsIn(strict), 1)
	d, err := e.client.AppsV1().Deployments(strict).Get(ctx, "web", metav1.GetOptions{})
	require.NoError(t, err)
	tmpl := d.Spec.Template
	rec := e.verify(strict, "web")
	require.NotEmpty(t, hardening.Weaker(rec, &tmpl), "nothing is enforced before a recommendation is verified")

	// The annotate call itself is an UPDATE whose template hash is the
	// verified one: the mutating webhook applies the recommendation, and the
	// validating webhook recognises the result as already verified.
	d, err = e.client.AppsV1().Deployments(strict).Get(ctx, "web", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Empty(t, hardening.Weaker(rec, &d.Spec.Template), "the verified recommendation is applied")
	assert.Equal(t, hardening.TemplateHash(rec.Apply(&tmpl)), hardening.TemplateHash(&d.Spec.Template))
	assert.Equal(t, hardening.TemplateHash(&d.Spec.Template), d.Annotations[hardening.AnnotationEnforcedTemplateHash],
		"the enforced template's hash is recorded, so resync sees the workload as described")
	assert.True(t, hardening.Describes(d.Annotations, hardening.TemplateHash(&d.Spec.Template)))
	assert.Len(t, e.jobsIn(strict), 1, "enforcing a verified recommendation publishes nothing")

	// Re-applying the team's manifest keeps the enforced settings, idempotently.
	e.mustKubectl(deploymentYAML(strict, "1"), "apply", "-f", "-")
	d, err = e.client.AppsV1().Deployments(strict).Get(ctx, "web", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Empty(t, hardening.Weaker(rec, &d.Spec.Template))
	assert.Len(t, e.jobsIn(strict), 1)

	// A template change keeps the enforced fields (kubectl apply merges) and
	// is hardened again.
	e.mustKubectl(deploymentYAML(strict, "2"), "apply", "-f", "-")
	assert.Len(t, e.jobsIn(strict), 2)
	assert.Equal(t, 0.0, metricSum(t, e.reg, "cinch_admission_warnings_total", nil))
}

// verify writes what the worker writes once a recommendation for the
// workload's current template is verified, and returns the recommendation.
func (e *env) verify(ns, name string) hardening.Recommendation {
	e.t.Helper()
	d, err := e.client.AppsV1().Deployments(ns).Get(e.t.Context(), name, metav1.GetOptions{})
	require.NoError(e.t, err)
	rec := hardening.Combine(&d.Spec.Template, hardening.AllChecks(), hardening.DefaultOptions(), nil)
	enc, err := hardening.EncodeRecommendation(rec)
	require.NoError(e.t, err)
	e.mustKubectl("", "-n", ns, "annotate", "deployment/"+name,
		hardening.AnnotationStatus+"="+string(hardening.StatusVerified),
		hardening.AnnotationTemplateHash+"="+hardening.TemplateHash(&d.Spec.Template),
		hardening.AnnotationRecommendation+"="+enc)
	return rec
}

func TestIntegrationWarnings(t *testing.T) {
	e := setup(t)
	ns := e.namespace("warn", hardening.HardenEnabled)
	e.waitActive()

	e.mustKubectl(deploymentYAML(ns, "1"), "apply", "-f", "-")
	e.verify(ns, "web")
	d, err := e.client.AppsV1().Deployments(ns).Get(t.Context(), "web", metav1.GetOptions{})
	require.NoError(t, err)
	require.Nil(t, d.Spec.Template.Spec.Containers[0].SecurityContext, "enabled (not enforce) never mutates")

	// A server-side dry run shows the warning and publishes nothing.
	out := e.mustKubectl(deploymentYAML(ns, "2"), "apply", "--dry-run=server", "-f", "-")
	assert.Contains(t, out, "Warning: cinch: deployment "+ns+"/web is less hardened than its verified recommendation")
	assert.Len(t, e.jobsIn(ns), 1)

	out = e.mustKubectl(deploymentYAML(ns, "2"), "apply", "-f", "-")
	assert.Contains(t, out, "Warning: cinch: deployment "+ns+"/web is less hardened than its verified recommendation")
	assert.Contains(t, out, "runAsNonRoot")
	assert.Contains(t, out, "Warning: cinch: to apply it: kubectl patch deployment/web -n "+ns+" --type strategic -p ")
	assert.Len(t, e.jobsIn(ns), 2)
	assert.Equal(t, 2.0, metricSum(t, e.reg, "cinch_admission_warnings_total", nil))
}

const cronJobTmpl = `
apiVersion: batch/v1
kind: CronJob
metadata:
  name: nightly
  namespace: %[1]s
spec:
  schedule: "%[3]s"
  suspend: true
  jobTemplate:
    spec:
      backoffLimit: 1
      template:
        metadata: {labels: {app: nightly}}
        spec:
          restartPolicy: Never
          containers:
          - name: report
            image: docker.io/local/none:1
            imagePullPolicy: Never
            env: [{name: VERSION, value: "%[2]s"}]
`

func cronJobYAML(ns, version, schedule string) string {
	return fmt.Sprintf(cronJobTmpl, ns, version, schedule)
}

// jobYAML is a suspended Job (no pod ever runs) with extra metadata lines
// (annotations) indented under metadata.
func jobYAML(ns, name, version, meta string) string {
	return fmt.Sprintf(`
apiVersion: batch/v1
kind: Job
metadata:
  name: %[2]s
  namespace: %[1]s
%[4]s
spec:
  suspend: true
  template:
    metadata: {labels: {app: %[2]s}}
    spec:
      restartPolicy: Never
      containers:
      - name: task
        image: docker.io/local/none:1
        imagePullPolicy: Never
        env: [{name: VERSION, value: "%[3]s"}]
`, ns, name, version, meta)
}

func (e *env) cronJob(ns string) *batchv1.CronJob {
	e.t.Helper()
	cj, err := e.client.BatchV1().CronJobs(ns).Get(e.t.Context(), "nightly", metav1.GetOptions{})
	require.NoError(e.t, err)
	return cj
}

func (e *env) job(ns, name string) *batchv1.Job {
	e.t.Helper()
	j, err := e.client.BatchV1().Jobs(ns).Get(e.t.Context(), name, metav1.GetOptions{})
	require.NoError(e.t, err)
	return j
}

// verifyAs writes, as kubectl annotate, what the worker writes once a
// recommendation for tmpl is verified, on kind/name; it returns the
// recommendation.
func (e *env) verifyAs(ns, kind, name string, tmpl *corev1.PodTemplateSpec) hardening.Recommendation {
	e.t.Helper()
	rec := hardening.Combine(tmpl, hardening.AllChecks(), hardening.DefaultOptions(), nil)
	enc, err := hardening.EncodeRecommendation(rec)
	require.NoError(e.t, err)
	e.mustKubectl("", "-n", ns, "annotate", kind+"/"+name,
		hardening.AnnotationStatus+"="+string(hardening.StatusVerified),
		hardening.AnnotationTemplateHash+"="+hardening.TemplateHash(tmpl),
		hardening.AnnotationRecommendation+"="+enc)
	return rec
}

// TestIntegrationBatch: through a real API server, a CronJob publishes on
// CREATE and on a change of its job's pod template only; a Job publishes
// on CREATE only, and a Job made from a CronJob not at all; Job updates
// (annotations, and Cinch's own results even in enforce mode) go through
// untouched.
func TestIntegrationBatch(t *testing.T) {
	e := setup(t)
	ns := e.namespace("batch", hardening.HardenEnabled)
	e.waitActive()

	steps := []struct {
		name     string
		stdin    string
		args     []string
		wantJobs int
	}{
		{name: "cronjob create", stdin: cronJobYAML(ns, "1", "0 3 * * *"), args: []string{"apply", "-f", "-"}, wantJobs: 1},
		{name: "cronjob re-apply", stdin: cronJobYAML(ns, "1", "0 3 * * *"), args: []string{"apply", "-f", "-"}, wantJobs: 1},
		{name: "cronjob schedule", stdin: cronJobYAML(ns, "1", "0 4 * * *"), args: []string{"apply", "-f", "-"}, wantJobs: 1},
		{name: "cronjob backoff limit", args: []string{"-n", ns, "patch", "cronjob/nightly", "--type=merge", "-p", `{"spec":{"jobTemplate":{"spec":{"backoffLimit":2}}}}`}, wantJobs: 1},
		{name: "cronjob template change", stdin: cronJobYAML(ns, "2", "0 4 * * *"), args: []string{"apply", "-f", "-"}, wantJobs: 2},
		{name: "job create", stdin: jobYAML(ns, "migrate", "1", ""), args: []string{"apply", "-f", "-"}, wantJobs: 3},
		{name: "job annotation", args: []string{"-n", ns, "annotate", "job/migrate", "team=shop"}, wantJobs: 3},
		{name: "suspended job template label", args: []string{"-n", ns, "patch", "job/migrate", "--type=merge", "-p", `{"spec":{"template":{"metadata":{"labels":{"zone":"b"}}}}}`}, wantJobs: 3},
		{name: "job from the cronjob", args: []string{"-n", ns, "create", "job", "manual", "--from=cronjob/nightly"}, wantJobs: 3},
	}
	for _, s := range steps {
		e.mustKubectl(s.stdin, s.args...)
		got := e.jobsIn(ns)
		require.Len(t, got, s.wantJobs, "after %q", s.name)
		last := got[len(got)-1]
		switch s.name {
		case "cronjob template change":
			cj := e.cronJob(ns)
			assert.Equal(t, hardening.KindCronJob, last.Kind)
			assert.Equal(t, "nightly", last.Name)
			assert.Equal(t, string(cj.UID), last.UID)
			assert.Equal(t, hardening.TemplateHash(&cj.Spec.JobTemplate.Spec.Template), last.TemplateHash)
		case "job create":
			j := e.job(ns, "migrate")
			assert.Equal(t, hardening.KindJob, last.Kind)
			assert.Equal(t, string(j.UID), last.UID)
			assert.Equal(t, hardening.TemplateHash(&j.Spec.Template), last.TemplateHash)
		}
	}
	manual := e.job(ns, "manual")
	require.Len(t, manual.OwnerReferences, 1)
	assert.Equal(t, "CronJob", manual.OwnerReferences[0].Kind)
	assert.Equal(t, 1.0, validateOutcome(t, e.reg, "owned"))
	assert.Equal(t, 2.0, validateOutcome(t, e.reg, "immutable"))

	// Warnings name the CronJob, and their patch command works.
	cj := e.cronJob(ns)
	e.verifyAs(ns, "cronjob", "nightly", &cj.Spec.JobTemplate.Spec.Template)
	out := e.mustKubectl(cronJobYAML(ns, "3", "0 4 * * *"), "apply", "-f", "-")
	assert.Contains(t, out, "Warning: cinch: cronjob "+ns+"/nightly is less hardened than its verified recommendation")
	_, cmd, ok := strings.Cut(out, "Warning: cinch: to apply it: kubectl patch cronjob/nightly -n "+ns+" --type strategic -p '")
	require.True(t, ok, out)
	patch, _, ok := strings.Cut(cmd, "'")
	require.True(t, ok, out)
	require.Len(t, e.jobsIn(ns), 4)
	e.mustKubectl("", "-n", ns, "patch", "cronjob/nightly", "--type", "strategic", "-p", patch)
	cj = e.cronJob(ns)
	rec := hardening.Combine(&cj.Spec.JobTemplate.Spec.Template, hardening.AllChecks(), hardening.DefaultOptions(), nil)
	assert.NotNil(t, cj.Spec.JobTemplate.Spec.Template.Spec.Containers[0].SecurityContext, "the printed patch addresses the job template")
	assert.Empty(t, hardening.Weaker(rec, &cj.Spec.JobTemplate.Spec.Template))
}

// TestIntegrationBatchEnforce: in enforce mode the verified settings land
// in a CronJob's job template, so every Job it makes runs them; a Job gets
// them on CREATE, and a Job UPDATE (Cinch's own result annotations) is
// never mutated, which the API server would refuse.
func TestIntegrationBatchEnforce(t *testing.T) {
	e := setup(t)
	strict := e.namespace("batch-strict", hardening.HardenEnforce)
	e.waitActive()
	ctx := t.Context()

	e.mustKubectl(cronJobYAML(strict, "1", "0 3 * * *"), "apply", "-f", "-")
	cj := e.cronJob(strict)
	tmpl := cj.Spec.JobTemplate.Spec.Template
	rec := e.verifyAs(strict, "cronjob", "nightly", &tmpl)
	cj = e.cronJob(strict)
	got := cj.Spec.JobTemplate.Spec.Template
	assert.Empty(t, hardening.Weaker(rec, &got), "the verified recommendation is applied to the job template")
	assert.Equal(t, hardening.TemplateHash(rec.Apply(&tmpl)), hardening.TemplateHash(&got))
	assert.Equal(t, hardening.TemplateHash(&got), cj.Annotations[hardening.AnnotationEnforcedTemplateHash])
	assert.Len(t, e.jobsIn(strict), 1, "enforcing publishes nothing")

	e.mustKubectl("", "-n", strict, "create", "job", "next", "--from=cronjob/nightly")
	next := e.job(strict, "next")
	assert.Empty(t, hardening.Weaker(rec, &next.Spec.Template), "the next Job runs the verified settings")
	assert.Len(t, e.jobsIn(strict), 1, "a Job of the CronJob is not hardened on its own")

	// A Job verified after its creation: annotating it (an UPDATE) works and
	// leaves its immutable template alone.
	e.mustKubectl(jobYAML(strict, "migrate", "1", ""), "apply", "-f", "-")
	j := e.job(strict, "migrate")
	jobRec := e.verifyAs(strict, "job", "migrate", &j.Spec.Template)
	j = e.job(strict, "migrate")
	assert.Equal(t, string(hardening.StatusVerified), j.Annotations[hardening.AnnotationStatus])
	assert.NotEmpty(t, hardening.Weaker(jobRec, &j.Spec.Template), "a Job's template is never mutated on UPDATE")

	// The same Job created again with its result (kubectl replace --force,
	// or a manifest that kept the annotations) gets the verified settings.
	require.NoError(t, e.client.BatchV1().Jobs(strict).Delete(ctx, "migrate", metav1.DeleteOptions{}))
	ann := "  annotations:\n"
	for _, k := range []string{hardening.AnnotationStatus, hardening.AnnotationTemplateHash, hardening.AnnotationRecommendation} {
		ann += fmt.Sprintf("    %s: '%s'\n", k, j.Annotations[k])
	}
	require.Eventually(t, func() bool {
		_, err := e.client.BatchV1().Jobs(strict).Get(ctx, "migrate", metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	}, 30*time.Second, 100*time.Millisecond)
	e.mustKubectl(jobYAML(strict, "migrate", "1", strings.TrimSuffix(ann, "\n")), "create", "-f", "-")
	j = e.job(strict, "migrate")
	assert.Empty(t, hardening.Weaker(jobRec, &j.Spec.Template), "enforced on CREATE")
	assert.True(t, hardening.Describes(j.Annotations, hardening.TemplateHash(&j.Spec.Template)))
	assert.Len(t, e.jobsIn(strict), 2, "the first Job published; its enforced re-creation did not")
}
