//go:build e2e

package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/cinch-dev/cinch/pkg/hardening"
)

// Tests named TestDisruptive* take the cluster's control plane down and so
// never run beside other tests: `make test-e2e` skips them and
// `make test-e2e-disruptive` runs them alone, one at a time.

// apiServerOutage is how long the API server stays down.
const apiServerOutage = 20 * time.Second

// TestDisruptiveAPIServerRestart: kube-apiserver is stopped for 20 s while
// a job's trials run (an upgrade, a control-plane failover). The worker
// keeps running, the job ends Verified once the API server is back (in the
// same delivery or a retried one), and no clone is left.
func TestDisruptiveAPIServerRestart(t *testing.T) {
	e := newFaultEnv(t, "e2e-apirestart", nil)
	w := startWorker(t, e.nats, e.scope, "--sweep-older-than", "1s")
	publishJob(t, e.js, e.d)
	waitClones(t, e.cs, e.ns, 2, time.Minute)
	time.Sleep(2 * time.Second) // trials are recording

	begin := time.Now()
	run(t, time.Minute, "test/cluster/cluster.sh", "stop", "kube-apiserver")
	stopped := time.Now()
	time.Sleep(apiServerOutage)
	run(t, 3*time.Minute, "test/cluster/cluster.sh", "up")
	back := time.Now()
	t.Logf("API server down from %s to %s", stopped.Sub(begin).Round(time.Second), back.Sub(begin).Round(time.Second))

	ann := waitStatus(t, e.cs, e.ns, e.d.Name, 5*time.Minute, hardening.StatusVerified, hardening.StatusFailed)
	t.Logf("%s %s after the API server was back", ann[hardening.AnnotationStatus], time.Since(back).Round(time.Second))
	assert.Equal(t, string(hardening.StatusVerified), ann[hardening.AnnotationStatus])
	select {
	case <-w.done:
		t.Fatalf("the worker exited during the outage: %v", w.err)
	default:
	}
	info := waitQueueEmpty(t, e.js, time.Minute)
	// Trials were recording while nobody could watch them: never judged
	// (signals.ErrIncomplete), the job went back to the queue once.
	assert.Equal(t, uint64(2), info.Delivered.Consumer, "the blind delivery is retried, not judged")
	WaitFor(t, time.Second, time.Minute, func(ctx context.Context) (bool, error) {
		live, err := liveClones(ctx, e.cs, e.ns)
		return len(live) == 0, err
	})
}
