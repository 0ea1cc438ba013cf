//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/cinch-dev/cinch/internal/jobs"
	"github.com/cinch-dev/cinch/internal/jobs/jobstest"
	"github.com/cinch-dev/cinch/internal/results"
	"github.com/cinch-dev/cinch/pkg/hardening"
)

// The daemon tests run `worker run` as a subprocess (the binary built from
// cmd/worker, as it is deployed) against a JetStream server inside the test
// process. Each test has its own server, namespace and clone labels
// (--clone-labels), so its worker never touches another test's clones, and
// resync is off (--resync-interval 0) so it runs only the jobs the test
// publishes.

const (
	// ackWait is the consumer's ack wait in these tests (--ack-backoff).
	ackWait = 6 * time.Second
	// shutdownGrace is the workers' --shutdown-grace.
	shutdownGrace = 3 * time.Second
)

var (
	workerBinOnce sync.Once
	workerBin     string
	workerBinErr  error
)

// buildWorker builds cmd/worker once per test binary.
func buildWorker(t *testing.T) string {
	t.Helper()
	workerBinOnce.Do(func() {
		dir, err := os.MkdirTemp("", "cinch-e2e-worker-")
		if err != nil {
			workerBinErr = err
			return
		}
		workerBin = filepath.Join(dir, "worker")
		out, err := exec.Command("go", "build", "-o", workerBin, "../../cmd/worker").CombinedOutput()
		if err != nil {
			workerBinErr = fmt.Errorf("go build cmd/worker: %w\n%s", err, out)
		}
	})
	require.NoError(t, workerBinErr)
	return workerBin
}

// natsServer is a JetStream server in the test process that can be
// restarted on the same port and store directory.
type natsServer struct {
	t    *testing.T
	dir  string
	port int
	s    *server.Server
}

func startNATS(t *testing.T) *natsServer {
	t.Helper()
	n := &natsServer{t: t, dir: t.TempDir(), port: -1}
	n.start()
	n.port = n.s.Addr().(*net.TCPAddr).Port
	t.Cleanup(n.stop)
	return n
}

func (n *natsServer) start() {
	n.t.Helper()
	s, err := jobstest.StartServer(n.dir, n.port)
	require.NoError(n.t, err)
	n.s = s
}

func (n *natsServer) stop() {
	if n.s != nil {
		n.s.Shutdown()
		n.s.WaitForShutdown()
		n.s = nil
	}
}

func (n *natsServer) url() string { return fmt.Sprintf("nats://127.0.0.1:%d", n.port) }

// jetStream connects the test to n (reconnecting across restarts) and
// ensures the job stream.
func (n *natsServer) jetStream() jetstream.JetStream {
	n.t.Helper()
	js, err := jetstream.New(jobstest.Connect(n.t, n.s))
	require.NoError(n.t, err)
	_, err = jobs.EnsureStream(n.t.Context(), js, jobs.DefaultStreamConfig())
	require.NoError(n.t, err)
	return js
}

// waitQueueEmpty waits until no job is pending or unacknowledged.
func waitQueueEmpty(t *testing.T, js jetstream.JetStream, timeout time.Duration) *jetstream.ConsumerInfo {
	t.Helper()
	var info *jetstream.ConsumerInfo
	WaitFor(t, time.Second, timeout, func(ctx context.Context) (bool, error) {
		c, err := js.Consumer(ctx, jobs.DefaultStreamConfig().Name, jobs.DefaultConsumerConfig().Durable)
		if err != nil {
			return false, nil //nolint:nilerr // not created yet or server restarting
		}
		info, err = c.Info(ctx)
		if err != nil {
			return false, nil //nolint:nilerr // server restarting
		}
		return info.NumPending == 0 && info.NumAckPending == 0 && info.NumRedelivered == 0 && info.Delivered.Consumer > 0, nil
	})
	return info
}

// workerProc is one `worker run` subprocess.
type workerProc struct {
	cmd  *exec.Cmd
	log  *os.File
	done chan struct{}
	err  error
}

// startWorker runs `worker run` against n with the test's clone labels.
func startWorker(t *testing.T, n *natsServer, scope string, extra ...string) *workerProc {
	t.Helper()
	bin := buildWorker(t)
	args := []string{"run", "--nats-url", n.url(), "--metrics-addr", "",
		"--recording-duration", recordingDuration(t).String(), "--baseline-stagger", "2s",
		"--resync-interval", "0", "--sweep-interval", "1h",
		"--clone-labels", "e2e.cinch.test/scope=" + scope,
		"--ack-backoff", ackWait.String(), "--shutdown-grace", shutdownGrace.String(), "-v", "1"}
	args = append(args, extra...)
	f, err := os.CreateTemp(t.TempDir(), "worker-*.log")
	require.NoError(t, err)
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	require.NoError(t, cmd.Start())
	w := &workerProc{cmd: cmd, log: f, done: make(chan struct{})}
	go func() { w.err = cmd.Wait(); close(w.done) }()
	t.Cleanup(func() {
		// SIGTERM first: the worker deletes the clones of a running job.
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-w.done:
		case <-time.After(shutdownGrace + 30*time.Second):
			_ = cmd.Process.Kill()
			<-w.done
		}
		if t.Failed() {
			b, _ := os.ReadFile(f.Name())
			t.Logf("worker log (pid %d):\n%s", cmd.Process.Pid, tail(b, 6000))
			if dir := os.Getenv("CINCH_E2E_LOGS"); dir != "" {
				_ = os.WriteFile(filepath.Join(dir, fmt.Sprintf("%s-%d.log", strings.ReplaceAll(t.Name(), "/", "_"), cmd.Process.Pid)), b, 0o644)
			}
		}
	})
	return w
}

// wait waits for the process to exit and returns its exit code.
func (w *workerProc) wait(t *testing.T, timeout time.Duration) int {
	t.Helper()
	select {
	case <-w.done:
	case <-time.After(timeout):
		t.Fatalf("worker did not exit within %s", timeout)
	}
	return w.cmd.ProcessState.ExitCode()
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// publishJob publishes the job the webhook would publish for d.
func publishJob(t *testing.T, js jetstream.JetStream, d *appsv1.Deployment) jobs.Job {
	t.Helper()
	return publishJobFor(t, js, results.Workload{Ref: results.Ref{Namespace: d.Namespace, Kind: hardening.KindDeployment, Name: d.Name},
		UID: d.UID, Hash: hardening.TemplateHash(&d.Spec.Template)})
}

// publishJobFor publishes the admission job of a workload of any kind.
func publishJobFor(t *testing.T, js jetstream.JetStream, wl results.Workload) jobs.Job {
	t.Helper()
	j := jobs.Job{Namespace: wl.Namespace, Kind: wl.Kind, Name: wl.Name, UID: string(wl.UID),
		TemplateHash: wl.Hash, Reason: jobs.ReasonAdmission}
	ack, err := jobs.NewPublisher(js, jobs.PublisherOptions{Stream: jobs.DefaultStreamConfig().Name, Timeout: 5 * time.Second}).Publish(t.Context(), j)
	require.NoError(t, err)
	require.False(t, ack.Duplicate)
	return j
}

// optIn labels ns for Cinch. Tests opt in after creating their workloads,
// so that a Cinch installed in the cluster (its admission webhook) does not
// take them.
func optIn(t *testing.T, cs kubernetes.Interface, ns string) {
	t.Helper()
	patch := fmt.Sprintf(`{"metadata":{"labels":{%q:%q}}}`, hardening.LabelHarden, hardening.HardenEnabled)
	_, err := cs.CoreV1().Namespaces().Patch(t.Context(), ns, types.MergePatchType, []byte(patch), metav1.PatchOptions{})
	require.NoError(t, err)
}

// liveClones lists the clone namespaces of ns that are not terminating.
func liveClones(ctx context.Context, cs kubernetes.Interface, ns string) ([]string, error) {
	l, err := cs.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: hardening.LabelCloneOf + "=" + ns})
	if err != nil {
		return nil, err
	}
	var out []string
	for _, n := range l.Items {
		if n.DeletionTimestamp == nil {
			out = append(out, n.Name)
		}
	}
	return out, nil
}

// waitClones waits until at least n clones of ns are alive and returns them.
func waitClones(t *testing.T, cs kubernetes.Interface, ns string, n int, timeout time.Duration) []string {
	t.Helper()
	var live []string
	WaitFor(t, 500*time.Millisecond, timeout, func(ctx context.Context) (bool, error) {
		var err error
		live, err = liveClones(ctx, cs, ns)
		return len(live) >= n, err
	})
	return live
}

// assertNoClones checks that every clone of ns is gone or being deleted.
func assertNoClones(t *testing.T, cs kubernetes.Interface, ns string) {
	t.Helper()
	live, err := liveClones(t.Context(), cs, ns)
	require.NoError(t, err)
	assert.Empty(t, live, "clones of %s left", ns)
}

// waitStatus waits until the workload's status is one of want for its
// current template and returns its annotations.
func waitStatus(t *testing.T, cs kubernetes.Interface, ns, name string, timeout time.Duration, want ...hardening.Status) map[string]string {
	t.Helper()
	return waitStatusOf(t, cs, results.Ref{Namespace: ns, Kind: hardening.KindDeployment, Name: name}, timeout, want...)
}

// waitStatusOf is waitStatus for a workload of any kind.
func waitStatusOf(t *testing.T, cs kubernetes.Interface, ref results.Ref, timeout time.Duration, want ...hardening.Status) map[string]string {
	t.Helper()
	var ann map[string]string
	WaitFor(t, time.Second, timeout, func(ctx context.Context) (bool, error) {
		wl, err := results.Get(ctx, cs, ref)
		if err != nil {
			return false, err
		}
		ann = wl.Annotations
		return slices.Contains(want, wl.Status()) && ann[hardening.AnnotationTemplateHash] == wl.Hash, nil
	})
	return ann
}

// eventReasons returns the reasons of the Events on the workload, in order.
func eventReasons(t *testing.T, cs kubernetes.Interface, ns, name string) ([]string, []corev1.Event) {
	t.Helper()
	evs, err := cs.CoreV1().Events(ns).List(t.Context(), metav1.ListOptions{FieldSelector: "involvedObject.name=" + name})
	require.NoError(t, err)
	var reasons []string
	for _, e := range evs.Items {
		reasons = append(reasons, e.Reason)
	}
	return reasons, evs.Items
}

// waitEvent waits until the workload has an Event with reason (the worker
// writes the annotations first, then the Event) and returns its Events.
func waitEvent(t *testing.T, cs kubernetes.Interface, ns, name, reason string) ([]string, []corev1.Event) {
	t.Helper()
	var (
		reasons []string
		evs     []corev1.Event
	)
	WaitFor(t, 500*time.Millisecond, 30*time.Second, func(context.Context) (bool, error) {
		reasons, evs = eventReasons(t, cs, ns, name)
		return slices.Contains(reasons, reason), nil
	})
	return reasons, evs
}

// recommends reports whether the template, with rec applied, has the
// setting of check for its first container (pod-level settings count).
func recommends(rec hardening.Recommendation, tmpl *corev1.PodTemplateSpec, check hardening.CheckID) bool {
	applied := rec.Apply(tmpl)
	pod := applied.Spec.SecurityContext
	if pod == nil {
		pod = &corev1.PodSecurityContext{}
	}
	c := applied.Spec.Containers[0].SecurityContext
	if c == nil {
		c = &corev1.SecurityContext{}
	}
	isTrue := func(b *bool) bool { return b != nil && *b }
	switch check {
	case hardening.CheckRunAsNonRoot:
		return isTrue(c.RunAsNonRoot) || isTrue(pod.RunAsNonRoot)
	case hardening.CheckRunAsGroup:
		return c.RunAsGroup != nil || pod.RunAsGroup != nil
	case hardening.CheckReadOnlyRootFilesystem:
		return isTrue(c.ReadOnlyRootFilesystem)
	case hardening.CheckNoPrivilegeEscalation:
		return c.AllowPrivilegeEscalation != nil && !*c.AllowPrivilegeEscalation
	case hardening.CheckDropAllCapabilities:
		return c.Capabilities != nil && slices.Contains(c.Capabilities.Drop, "ALL")
	case hardening.CheckSeccompRuntimeDefault:
		sp := c.SeccompProfile
		if sp == nil {
			sp = pod.SeccompProfile
		}
		return sp != nil && sp.Type == corev1.SeccompProfileTypeRuntimeDefault
	case hardening.CheckNotPrivileged:
		return c.Privileged != nil && !*c.Privileged
	}
	return false
}

// namespaceRows are the ground-truth rows TestWorkerNATS hardens together
// in one namespace: a mix of tolerant workloads, failing checks, two
// capability searches and a frontend that breaks wherever its backend does.
var namespaceRows = []string{
	"scenario-fine", "scenario-tmp-writer", "scenario-need-root", "scenario-write-root",
	"scenario-bind-80", "scenario-chown", "two-tier/frontend", "two-tier/backend",
}

// TestWorkerNATS: the jobs of a namespace of eight workloads, published as
// the webhook publishes them, are taken by two workers. One of them claims
// the namespace and hardens every workload in one run (each gets exactly
// its ground truth, the one it gets alone in TestWorkerOneShot), written
// only after the namespace-wide verification; the other worker's jobs are
// deferred and then acknowledged as described.
func TestWorkerNATS(t *testing.T) {
	t.Parallel()
	cs := KubeClient(t)
	n := startNATS(t)
	js := n.jetStream()
	scope := fmt.Sprintf("nats-%d", time.Now().UnixNano())
	for range 2 {
		startWorker(t, n, scope, "--concurrency", "2", "--busy-delay", "3s", "--lease-ttl", "20s")
	}
	ns := Namespace(t, cs, "e2e-wnats", nil)
	rows := rowsNamed(t, namespaceRows...)
	wls := applyRows(t, cs, ns, rows)
	optIn(t, cs, ns)
	start := time.Now()
	for _, wl := range wls {
		publishJobFor(t, js, wl)
	}
	for i, tt := range rows {
		wl := wls[i]
		ann := waitStatusOf(t, cs, wl.Ref, 10*time.Minute, hardening.StatusVerified, hardening.StatusFailed)
		t.Logf("%s: %s after %s", tt.manifest, ann[hardening.AnnotationStatus], time.Since(start).Round(time.Second))
		t.Run(tt.manifest, func(t *testing.T) { assertGroundTruth(t, cs, tt, wl, ann) })
	}
	t.Logf("namespace of %d workloads hardened in %s", len(wls), time.Since(start).Round(time.Second))
	for _, wl := range wls {
		reasons, evs := waitEvent(t, cs, ns, wl.Name, results.ReasonVerified)
		assert.Equal(t, 1, count(reasons, results.ReasonStarted), "%s: one run for the namespace, whichever worker took which job", wl.Name)
		for _, e := range evs {
			if e.Reason == results.ReasonVerified {
				assert.Contains(t, e.Message, "verified together with the namespace's other recommendations", wl.Name)
			}
		}
	}
	assertNoClones(t, cs, ns)
	assertNoCopiesLeft(t, cs, ns)
	info := waitQueueEmpty(t, js, time.Minute)
	assert.GreaterOrEqual(t, info.Delivered.Consumer, uint64(len(wls)), "every job was looked at")
}

// rowsNamed returns the ground-truth rows of the given manifests.
func rowsNamed(t *testing.T, names ...string) []groundTruthRow {
	t.Helper()
	var out []groundTruthRow
	for _, n := range names {
		i := slices.IndexFunc(groundTruth, func(r groundTruthRow) bool { return r.manifest == n })
		require.GreaterOrEqual(t, i, 0, "no ground truth for %s", n)
		out = append(out, groundTruth[i])
	}
	return out
}

// applyRows applies the rows' manifests into ns, each file once, and
// returns the rows' workloads.
func applyRows(t *testing.T, cs kubernetes.Interface, ns string, rows []groundTruthRow) []results.Workload {
	t.Helper()
	applied := map[string]bool{}
	var out []results.Workload
	for _, tt := range rows {
		file, name, _ := strings.Cut(tt.manifest, "/")
		m := ReadManifest(t, file)
		if !applied[file] {
			m.Apply(t, cs, ns)
			applied[file] = true
		}
		out = append(out, rowWorkload(t, cs, ns, m, file, name))
	}
	return out
}

// assertGroundTruth checks a workload's written result against its row.
func assertGroundTruth(t *testing.T, cs kubernetes.Interface, tt groundTruthRow, wl results.Workload, ann map[string]string) {
	require.Equal(t, string(hardening.StatusVerified), ann[hardening.AnnotationStatus], ann[hardening.AnnotationChecks])
	rec, err := hardening.DecodeRecommendation(ann[hardening.AnnotationRecommendation])
	require.NoError(t, err)
	for _, id := range hardening.PlannedChecks(wl.Template, hardening.Options{}) {
		want := !slices.Contains(tt.mustFail, id)
		assert.Equal(t, want, recommends(rec, wl.Template, id), "check %s", id)
	}
	c := rec.Apply(wl.Template).Spec.Containers[0].SecurityContext
	var added []corev1.Capability
	if c != nil && c.Capabilities != nil {
		added = slices.Clone(c.Capabilities.Add)
		slices.Sort(added)
	}
	assert.Equal(t, tt.addBack, added, "add-back set")
	assert.NotEmpty(t, ann[hardening.AnnotationPodSecurityLevel])
	assert.NotEmpty(t, ann[hardening.AnnotationVerifiedAt])
	checks, err := hardening.DecodeChecks(ann[hardening.AnnotationChecks])
	require.NoError(t, err)
	assert.NotEmpty(t, checks)
	reasons, _ := waitEvent(t, cs, wl.Namespace, wl.Name, results.ReasonVerified)
	assert.Contains(t, reasons, results.ReasonStarted)
	if len(tt.mustFail) > 0 || tt.addBack != nil {
		assert.Contains(t, reasons, results.ReasonTrialFail)
	}
}
