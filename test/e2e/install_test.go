//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/cinch-dev/cinch/pkg/hardening"
)

// The objects the local overlay installs, by name (uninstall must remove
// every one of them).
const (
	installNS       = "cinch-system"
	installPartOf   = "app.kubernetes.io/part-of=cinch"
	installWorkerSA = "system:serviceaccount:cinch-system:cinch-worker"
	// installCloneLabel marks the clones of the installed worker.
	installCloneLabel = "installation.cinch.dev/namespace=cinch-system"
)

var (
	installClusterRoles     = []string{"cinch-webhook", "cinch-worker"}
	installWebhookConfigs   = []string{"cinch-webhook"}
	installAdmissionPolices = []string{"cinch-worker-guard", "cinch-worker-guard-workloads"}
)

func repoRoot(t *testing.T) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// run runs a repository script with the test's KUBECONFIG, logging its output.
func run(t *testing.T, timeout time.Duration, script string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(repoRoot(t), script), args...)
	cmd.Dir = repoRoot(t)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+os.Getenv("KUBECONFIG"))
	out, err := cmd.CombinedOutput()
	t.Logf("%s %s:\n%s", script, strings.Join(args, " "), out)
	require.NoError(t, err, "%s %s", script, strings.Join(args, " "))
}

// readyPods lists the Ready pods of a Cinch component that are not being
// deleted (a rollout may still be finishing).
func readyPods(t *testing.T, cs kubernetes.Interface, component string) []corev1.Pod {
	t.Helper()
	pods, err := cs.CoreV1().Pods(installNS).List(t.Context(), metav1.ListOptions{LabelSelector: "app.kubernetes.io/component=" + component})
	require.NoError(t, err)
	var out []corev1.Pod
	for _, p := range pods.Items {
		if p.DeletionTimestamp != nil {
			continue
		}
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
				out = append(out, p)
			}
		}
	}
	return out
}

// publishedJobs sums cinch_admission_jobs_published_total{duplicate="false"}
// over the webhook pods, read through the API server's pod proxy.
func publishedJobs(t *testing.T, cs kubernetes.Interface) float64 {
	t.Helper()
	pods := readyPods(t, cs, "webhook")
	require.NotEmpty(t, pods)
	var sum float64
	for _, p := range pods {
		b, err := cs.CoreV1().RESTClient().Get().AbsPath("/api/v1/namespaces", installNS, "pods", p.Name+":8080", "proxy", "metrics").DoRaw(t.Context())
		require.NoError(t, err, "metrics of %s", p.Name)
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			line := sc.Text()
			if !strings.HasPrefix(line, "cinch_admission_jobs_published_total{") || !strings.Contains(line, `duplicate="false"`) {
				continue
			}
			f := strings.Fields(line)
			v, err := strconv.ParseFloat(f[len(f)-1], 64)
			require.NoError(t, err, line)
			sum += v
		}
	}
	return sum
}

// TestInstallLocalOverlay installs Cinch from manifests/overlays/local, opts
// a namespace in, applies a scenario workload and waits for the
// recommendation that the in-cluster worker writes for the job the in-cluster
// webhook published; then it uninstalls and checks that nothing is left.
// It builds and imports the cinch and nats images first unless
// CINCH_E2E_SKIP_IMAGES=1. It removes an existing Cinch install.
func TestInstallLocalOverlay(t *testing.T) {
	cs := KubeClient(t)
	if os.Getenv("CINCH_E2E_SKIP_IMAGES") != "1" {
		run(t, 10*time.Minute, "test/cluster/images.sh", "cinch", "nats")
	}
	uninstalled := false
	installSh := func(arg string) {
		cmd := exec.Command(filepath.Join(repoRoot(t), "manifests/overlays/local/install.sh"), arg)
		cmd.Env = append(os.Environ(), "KUBECONFIG="+os.Getenv("KUBECONFIG"))
		out, err := cmd.CombinedOutput()
		t.Logf("cleanup: install.sh %s: %v\n%s", arg, err, out)
	}
	t.Cleanup(func() {
		if uninstalled {
			return
		}
		if t.Failed() {
			installSh("report") // pods, events and logs, to see why
		}
		// Never leave the in-cluster worker behind: it would harden every
		// opted-in namespace of the other tests.
		installSh("down")
	})

	start := time.Now()
	run(t, 6*time.Minute, "manifests/overlays/local/install.sh", "up")
	t.Logf("installed in %s", time.Since(start).Round(time.Second))

	t.Run("installed as specified", func(t *testing.T) {
		ns, err := cs.CoreV1().Namespaces().Get(t.Context(), installNS, metav1.GetOptions{})
		require.NoError(t, err)
		assert.Equal(t, "restricted", ns.Labels["pod-security.kubernetes.io/enforce"])
		vwc, err := cs.AdmissionregistrationV1().ValidatingWebhookConfigurations().Get(t.Context(), "cinch-webhook", metav1.GetOptions{})
		require.NoError(t, err)
		mwc, err := cs.AdmissionregistrationV1().MutatingWebhookConfigurations().Get(t.Context(), "cinch-webhook", metav1.GetOptions{})
		require.NoError(t, err)
		for _, w := range vwc.Webhooks {
			assert.NotEmpty(t, w.ClientConfig.CABundle, w.Name)
			require.NotNil(t, w.FailurePolicy)
			assert.Equal(t, "Ignore", string(*w.FailurePolicy), w.Name)
			require.NotNil(t, w.SideEffects)
			assert.Equal(t, "NoneOnDryRun", string(*w.SideEffects), w.Name)
		}
		for _, w := range mwc.Webhooks {
			assert.NotEmpty(t, w.ClientConfig.CABundle, w.Name)
		}
		// The old pods of a rollout may still be terminating.
		WaitFor(t, time.Second, 2*time.Minute, func(ctx context.Context) (bool, error) {
			pods, err := cs.CoreV1().Pods(installNS).List(ctx, metav1.ListOptions{})
			return err == nil && len(pods.Items) == 4, err
		})
		assert.Len(t, readyPods(t, cs, "webhook"), 2)
		assert.Len(t, readyPods(t, cs, "worker"), 1)
		assert.Len(t, readyPods(t, cs, "nats"), 1)
	})

	t.Run("worker guard", func(t *testing.T) {
		cfg, err := clientcmd.BuildConfigFromFlags("", os.Getenv("KUBECONFIG"))
		require.NoError(t, err)
		cfg.Impersonate.UserName = installWorkerSA
		worker, err := kubernetes.NewForConfig(cfg)
		require.NoError(t, err)
		_, err = worker.CoreV1().Namespaces().Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "e2e-guard-"}}, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		require.Error(t, err, "the worker may create only clone namespaces")
		assert.True(t, apierrors.IsForbidden(err), "%v", err)
		assert.Contains(t, err.Error(), "cinch-worker-guard")
		_, err = worker.CoreV1().Namespaces().Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
			GenerateName: "e2e-guard-", Labels: map[string]string{hardening.LabelCloneOf: "e2e-guard"},
		}}, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		assert.NoError(t, err, "a clone namespace")
	})

	t.Run("webhook publishes, worker writes the recommendation", func(t *testing.T) {
		before := publishedJobs(t, cs)
		ns := Namespace(t, cs, "e2e-install", map[string]string{hardening.LabelHarden: hardening.HardenEnabled})
		dep := ApplyWorkload(t, cs, ns, "scenario-fine")
		// Batch workloads take the same path: a Job judged by its exit
		// code alone, and a CronJob whose trials run as Jobs in clones.
		batchRows := rowsNamed(t, "batch-silent", "cron-write-root")
		batch := applyRows(t, cs, ns, batchRows)
		WaitFor(t, time.Second, 30*time.Second, func(context.Context) (bool, error) {
			return publishedJobs(t, cs) > before, nil
		})

		var ann map[string]string
		WaitFor(t, 3*time.Second, 8*time.Minute, func(ctx context.Context) (bool, error) {
			d, err := cs.AppsV1().Deployments(ns).Get(ctx, dep.Name, metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			ann = d.Annotations
			s := ann[hardening.AnnotationStatus]
			return s == string(hardening.StatusVerified) || s == string(hardening.StatusFailed), nil
		})
		require.Equal(t, string(hardening.StatusVerified), ann[hardening.AnnotationStatus], "annotations: %v", ann)
		assert.Equal(t, "restricted", ann[hardening.AnnotationPodSecurityLevel])
		assert.NotEmpty(t, ann[hardening.AnnotationTemplateHash])
		_, err := time.Parse(time.RFC3339, ann[hardening.AnnotationVerifiedAt])
		assert.NoError(t, err)
		var rec hardening.Recommendation
		require.NoError(t, json.Unmarshal([]byte(ann[hardening.AnnotationRecommendation]), &rec))
		require.Contains(t, rec.Containers, "app")
		var checks struct {
			Checks []json.RawMessage `json:"checks"`
		}
		require.NoError(t, json.Unmarshal([]byte(ann[hardening.AnnotationChecks]), &checks))
		assert.NotEmpty(t, checks.Checks)

		// Written by the in-cluster worker, for the webhook's job.
		d, err := cs.AppsV1().Deployments(ns).Get(t.Context(), dep.Name, metav1.GetOptions{})
		require.NoError(t, err)
		managers := map[string]bool{}
		for _, mf := range d.ManagedFields {
			managers[mf.Manager] = true
		}
		assert.True(t, managers["cinch-worker"], "field managers: %v", managers)
		pods := readyPods(t, cs, "worker")
		require.Len(t, pods, 1)
		logs, err := cs.CoreV1().Pods(installNS).GetLogs(pods[0].Name, &corev1.PodLogOptions{}).DoRaw(t.Context())
		require.NoError(t, err)
		// The namespace is the unit of a run: whichever admission job of ns
		// claims its lease first hardens every workload there (the
		// others' jobs are deferred and then find them described).
		found := false
		for line := range strings.SplitSeq(string(logs), "\n") {
			if strings.Contains(line, "/"+ns+"/") && strings.Contains(line, `"reason":"admission"`) && strings.Contains(line, `"outcome":"verified"`) {
				found = true
			}
		}
		assert.True(t, found, "the worker's log has no verified admission job in %s:\n%s", ns, logs)

		for i, tt := range batchRows {
			wl := batch[i]
			ann := waitStatusOf(t, cs, wl.Ref, 8*time.Minute, hardening.StatusVerified, hardening.StatusFailed)
			t.Run(tt.manifest, func(t *testing.T) { assertGroundTruth(t, cs, tt, wl, ann) })
		}
		jobs, err := cs.BatchV1().Jobs(ns).List(t.Context(), metav1.ListOptions{})
		require.NoError(t, err)
		for _, j := range jobs.Items {
			assert.Equal(t, "batch-silent", j.Name, "the only Job is the one applied: no trial ran in the namespace, the CronJob never fired")
		}
	})

	start = time.Now()
	run(t, 5*time.Minute, "manifests/overlays/local/install.sh", "down")
	uninstalled = true
	t.Logf("uninstalled in %s", time.Since(start).Round(time.Second))

	t.Run("uninstall leaves nothing", func(t *testing.T) {
		ctx := t.Context()
		_, err := cs.CoreV1().Namespaces().Get(ctx, installNS, metav1.GetOptions{})
		assert.True(t, apierrors.IsNotFound(err), "namespace %s: %v", installNS, err)
		// Every clone of this installation (--clone-labels in the overlay).
		clones, err := cs.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: hardening.LabelCloneOf + "," + installCloneLabel})
		require.NoError(t, err)
		for _, c := range clones.Items {
			assert.Fail(t, "clone left behind", "%s (%s)", c.Name, c.Status.Phase)
		}
		crs, err := cs.RbacV1().ClusterRoles().List(ctx, metav1.ListOptions{LabelSelector: installPartOf})
		require.NoError(t, err)
		assert.Empty(t, crs.Items)
		crbs, err := cs.RbacV1().ClusterRoleBindings().List(ctx, metav1.ListOptions{LabelSelector: installPartOf})
		require.NoError(t, err)
		assert.Empty(t, crbs.Items)
		for _, n := range installClusterRoles {
			_, err := cs.RbacV1().ClusterRoles().Get(ctx, n, metav1.GetOptions{})
			assert.True(t, apierrors.IsNotFound(err), "ClusterRole %s: %v", n, err)
			_, err = cs.RbacV1().ClusterRoleBindings().Get(ctx, n, metav1.GetOptions{})
			assert.True(t, apierrors.IsNotFound(err), "ClusterRoleBinding %s: %v", n, err)
		}
		for _, n := range installWebhookConfigs {
			_, err := cs.AdmissionregistrationV1().ValidatingWebhookConfigurations().Get(ctx, n, metav1.GetOptions{})
			assert.True(t, apierrors.IsNotFound(err), "ValidatingWebhookConfiguration %s: %v", n, err)
			_, err = cs.AdmissionregistrationV1().MutatingWebhookConfigurations().Get(ctx, n, metav1.GetOptions{})
			assert.True(t, apierrors.IsNotFound(err), "MutatingWebhookConfiguration %s: %v", n, err)
		}
		for _, n := range installAdmissionPolices {
			_, err := cs.AdmissionregistrationV1().ValidatingAdmissionPolicies().Get(ctx, n, metav1.GetOptions{})
			assert.True(t, apierrors.IsNotFound(err), "ValidatingAdmissionPolicy %s: %v", n, err)
			_, err = cs.AdmissionregistrationV1().ValidatingAdmissionPolicyBindings().Get(ctx, n, metav1.GetOptions{})
			assert.True(t, apierrors.IsNotFound(err), "ValidatingAdmissionPolicyBinding %s: %v", n, err)
		}
	})
}
