//go:build e2e

package e2e

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/cinch-dev/cinch/internal/jobs"
	"github.com/cinch-dev/cinch/internal/results"
	"github.com/cinch-dev/cinch/pkg/hardening"
)

// faultEnv is one fault test's NATS server, namespace and workload.
type faultEnv struct {
	cs    kubernetes.Interface
	nats  *natsServer
	js    jetstream.JetStream
	ns    string
	scope string
	d     *appsv1.Deployment
}

func newFaultEnv(t *testing.T, prefix string, mutate func(*appsv1.Deployment)) *faultEnv {
	t.Helper()
	e := &faultEnv{cs: KubeClient(t), nats: startNATS(t)}
	e.js = e.nats.jetStream()
	// Opted in after the workload exists: a Cinch installed in the cluster
	// (its webhook) must not take the test's workload.
	e.ns = Namespace(t, e.cs, prefix, nil)
	e.scope = e.ns
	d := manifestDeployment(t, "scenario-fine")
	if mutate != nil {
		mutate(d)
	}
	e.d = CreateDeployment(t, e.cs, e.ns, d)
	optIn(t, e.cs, e.ns)
	return e
}

// manifestDeployment reads the Deployment of a one-document scenario
// manifest without creating it.
func manifestDeployment(t *testing.T, name string) *appsv1.Deployment {
	t.Helper()
	m := ReadManifest(t, name)
	require.Len(t, m.Deployments, 1, "%s.yaml", name)
	return &m.Deployments[0]
}

// TestWorkerKilledMidJob: a worker is SIGKILLed while its trials run. The
// job is redelivered after the ack wait to a second worker, which first
// sweeps the dead worker's orphaned clones, waits (the job deferred) until
// the dead worker's namespace lease expires, then completes the job.
func TestWorkerKilledMidJob(t *testing.T) {
	t.Parallel()
	e := newFaultEnv(t, "e2e-wkill", nil)
	leaseFlags := []string{"--lease-ttl", "15s", "--busy-delay", "2s"}
	first := startWorker(t, e.nats, e.scope, leaseFlags...)
	publishJob(t, e.js, e.d)
	waitClones(t, e.cs, e.ns, 2, time.Minute)
	time.Sleep(2 * time.Second) // trials are recording
	require.NoError(t, first.cmd.Process.Signal(syscall.SIGKILL))
	first.wait(t, 10*time.Second)
	killed := time.Now()
	orphans, err := liveClones(t.Context(), e.cs, e.ns)
	require.NoError(t, err)
	require.NotEmpty(t, orphans, "the killed worker leaves its clones")

	// The second worker sweeps clones older than 1s of its scope before it
	// takes jobs; the job comes back after the ack wait. A clone the killed
	// worker created just before it died must be old enough by then.
	time.Sleep(1500 * time.Millisecond)
	startWorker(t, e.nats, e.scope, append(leaseFlags, "--sweep-older-than", "1s")...)
	ann := waitStatus(t, e.cs, e.ns, e.d.Name, 3*time.Minute, hardening.StatusVerified, hardening.StatusFailed)
	t.Logf("verified %s after the kill", time.Since(killed).Round(time.Second))
	assert.Equal(t, string(hardening.StatusVerified), ann[hardening.AnnotationStatus])
	info := waitQueueEmpty(t, e.js, 30*time.Second)
	assert.GreaterOrEqual(t, info.Delivered.Consumer, uint64(3), "delivered to the killed worker, deferred while its lease lived, then run")
	reasons, _ := eventReasons(t, e.cs, e.ns, e.d.Name)
	assert.Equal(t, 2, count(reasons, results.ReasonStarted), "the killed run and the one after its lease expired")
	for _, o := range orphans {
		ns, err := e.cs.CoreV1().Namespaces().Get(t.Context(), o, metav1.GetOptions{})
		if err == nil {
			assert.NotNil(t, ns.DeletionTimestamp, "orphan %s swept", o)
		}
	}
	assertNoClones(t, e.cs, e.ns)
}

// TestWorkerWorkloadDeleted: the workload is deleted while its trials run.
// The job stops early, writes nothing, is acknowledged (not redelivered)
// and its clones are deleted.
func TestWorkerWorkloadDeleted(t *testing.T) {
	t.Parallel()
	e := newFaultEnv(t, "e2e-wdel", nil)
	startWorker(t, e.nats, e.scope)
	publishJob(t, e.js, e.d)
	waitClones(t, e.cs, e.ns, 2, time.Minute)
	require.NoError(t, e.cs.AppsV1().Deployments(e.ns).Delete(t.Context(), e.d.Name, metav1.DeleteOptions{}))
	deleted := time.Now()

	info := waitQueueEmpty(t, e.js, time.Minute)
	t.Logf("job acknowledged %s after the delete", time.Since(deleted).Round(time.Second))
	assert.Equal(t, uint64(1), info.Delivered.Consumer, "acknowledged, not redelivered")
	assert.Less(t, time.Since(deleted), recordingDuration(t)+30*time.Second, "the job stops early")
	reasons, _ := eventReasons(t, e.cs, e.ns, e.d.Name)
	assert.NotContains(t, reasons, results.ReasonVerified)
	assert.NotContains(t, reasons, results.ReasonFailed)
	WaitFor(t, time.Second, 30*time.Second, func(ctx context.Context) (bool, error) {
		live, err := liveClones(ctx, e.cs, e.ns)
		return len(live) == 0, err
	})
}

// TestWorkerBaselinesNeverReady: the workload's readiness probe always
// fails, so even its unmodified baselines never get Ready. The job ends
// Failed (reason in an Event) within a bounded time instead of verifying
// settings against a broken reference or hanging.
func TestWorkerBaselinesNeverReady(t *testing.T) {
	t.Parallel()
	e := newFaultEnv(t, "e2e-wnotready", func(d *appsv1.Deployment) {
		d.Spec.Template.Spec.Containers[0].ReadinessProbe.HTTPGet.Path = "/never-ready"
	})
	const readyTimeout = 20 * time.Second
	startWorker(t, e.nats, e.scope, "--ready-timeout", readyTimeout.String())
	start := time.Now()
	publishJob(t, e.js, e.d)
	bound := readyTimeout + 2*recordingDuration(t) + 60*time.Second
	ann := waitStatus(t, e.cs, e.ns, e.d.Name, bound, hardening.StatusVerified, hardening.StatusFailed)
	took := time.Since(start)
	t.Logf("ended %s after %s", ann[hardening.AnnotationStatus], took.Round(time.Second))
	assert.Equal(t, string(hardening.StatusFailed), ann[hardening.AnnotationStatus])
	assert.NotContains(t, ann, hardening.AnnotationRecommendation)
	_, evs := waitEvent(t, e.cs, e.ns, e.d.Name, results.ReasonFailed)
	var msgs []string
	for _, ev := range evs {
		if ev.Reason == results.ReasonFailed {
			msgs = append(msgs, ev.Message)
		}
	}
	require.Len(t, msgs, 1)
	assert.Contains(t, msgs[0], "never became Ready in baseline")
	info := waitQueueEmpty(t, e.js, 30*time.Second)
	assert.Equal(t, uint64(1), info.Delivered.Consumer)
	assertNoClones(t, e.cs, e.ns)
}

// TestWorkerNATSRestart: the NATS server goes down while a job's trials run
// and comes back on the same port and store. The job completes and is
// acknowledged exactly once; nothing is lost or run twice.
func TestWorkerNATSRestart(t *testing.T) {
	t.Parallel()
	e := newFaultEnv(t, "e2e-wnatsre", nil)
	startWorker(t, e.nats, e.scope)
	publishJob(t, e.js, e.d)
	waitClones(t, e.cs, e.ns, 2, time.Minute)
	e.nats.stop()
	time.Sleep(4 * time.Second)
	e.nats.start()

	ann := waitStatus(t, e.cs, e.ns, e.d.Name, 3*time.Minute, hardening.StatusVerified, hardening.StatusFailed)
	assert.Equal(t, string(hardening.StatusVerified), ann[hardening.AnnotationStatus])
	info := waitQueueEmpty(t, e.js, time.Minute)
	assert.Equal(t, uint64(1), info.Delivered.Consumer, "delivered once")
	st, err := e.js.Stream(t.Context(), jobs.DefaultStreamConfig().Name)
	require.NoError(t, err)
	assert.Equal(t, uint64(0), st.CachedInfo().State.Msgs, "the job left the work queue")
	reasons, _ := eventReasons(t, e.cs, e.ns, e.d.Name)
	assert.Equal(t, 1, count(reasons, results.ReasonStarted), "the job ran once")
	assertNoClones(t, e.cs, e.ns)
}

// TestWorkerSIGTERM: SIGTERM while a job runs. The worker stops pulling,
// gives the job its grace, cancels it, deletes its clones, returns the job
// to the queue (nak) and exits 0.
func TestWorkerSIGTERM(t *testing.T) {
	t.Parallel()
	e := newFaultEnv(t, "e2e-wterm", nil)
	w := startWorker(t, e.nats, e.scope)
	j := publishJob(t, e.js, e.d)
	waitClones(t, e.cs, e.ns, 2, time.Minute)
	require.NoError(t, w.cmd.Process.Signal(syscall.SIGTERM))
	sent := time.Now()
	code := w.wait(t, shutdownGrace+45*time.Second)
	t.Logf("exited %d after %s", code, time.Since(sent).Round(100*time.Millisecond))
	assert.Equal(t, 0, code)
	assertNoClones(t, e.cs, e.ns)
	cur, err := e.cs.AppsV1().Deployments(e.ns).Get(t.Context(), e.d.Name, metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, string(hardening.StatusPending), cur.Annotations[hardening.AnnotationStatus])

	// The job is back in the queue for the next worker.
	c, err := e.js.Consumer(t.Context(), jobs.DefaultStreamConfig().Name, jobs.DefaultConsumerConfig().Durable)
	require.NoError(t, err)
	batch, err := c.Fetch(1, jetstream.FetchMaxWait(10*time.Second))
	require.NoError(t, err)
	var got []jobs.Job
	for m := range batch.Messages() {
		md, err := m.Metadata()
		require.NoError(t, err)
		assert.Equal(t, uint64(2), md.NumDelivered)
		jj, err := jobs.Decode(m.Data())
		require.NoError(t, err)
		got = append(got, jj)
		require.NoError(t, m.Term())
	}
	require.Len(t, got, 1)
	assert.Equal(t, jobs.MsgID(j.UID, j.TemplateHash), jobs.MsgID(got[0].UID, got[0].TemplateHash))
}

func count(ss []string, s string) int {
	n := 0
	for _, x := range ss {
		if x == s {
			n++
		}
	}
	return n
}
