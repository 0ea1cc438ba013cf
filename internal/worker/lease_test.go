package worker

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cinch-dev/cinch/internal/jobs/jobstest"
)

func newLeases(t *testing.T, js jetstream.JetStream, holder string, ttl time.Duration) *Leases {
	t.Helper()
	l, err := NewLeases(t.Context(), js, "test-leases", ttl, 1, holder)
	require.NoError(t, err)
	return l
}

// TestLeases runs the namespace lock against a real NATS JetStream server:
// one holder at a time, renewal beyond the TTL, release, and expiry when the
// holder stops renewing (a worker that died).
func TestLeases(t *testing.T) {
	s := jobstest.Server(t)
	js, err := jetstream.New(jobstest.Connect(t, s))
	require.NoError(t, err)
	const ttl = 3 * time.Second
	a, b := newLeases(t, js, "worker-a", ttl), newLeases(t, js, "worker-b", ttl)

	la, err := a.Claim(t.Context(), "team")
	require.NoError(t, err)
	_, err = b.Claim(t.Context(), "team")
	require.ErrorIs(t, err, ErrLeaseHeld)
	assert.Contains(t, err.Error(), "worker-a runs team")
	lo, err := b.Claim(t.Context(), "other")
	require.NoError(t, err, "different namespaces do not block each other")
	lo.Release(t.Context())

	ctx := la.Context(t.Context())
	time.Sleep(2 * ttl) // renewed every ttl/3: still held well past the TTL
	_, err = b.Claim(t.Context(), "team")
	require.ErrorIs(t, err, ErrLeaseHeld)
	require.NoError(t, ctx.Err(), "a renewed lease is not lost")
	la.Release(t.Context())
	assert.ErrorIs(t, ctx.Err(), context.Canceled, "the run's context ends with its lease")
	lb, err := b.Claim(t.Context(), "team")
	require.NoError(t, err, "released")

	// A holder that stops renewing (its process died): the lease expires
	// after the TTL and another worker takes the namespace.
	close(lb.stop)
	<-lb.done
	_, err = a.Claim(t.Context(), "team")
	require.ErrorIs(t, err, ErrLeaseHeld)
	require.Eventually(t, func() bool {
		l, err := a.Claim(t.Context(), "team")
		if err != nil {
			return false
		}
		l.Release(t.Context())
		return true
	}, 3*ttl, 200*time.Millisecond, "the dead holder's lease expires")
}

// TestLeaseLost: a lease whose key another worker took over (it expired
// while this worker was cut off) cancels the run with ErrLeaseLost.
func TestLeaseLost(t *testing.T) {
	s := jobstest.Server(t)
	js, err := jetstream.New(jobstest.Connect(t, s))
	require.NoError(t, err)
	a := newLeases(t, js, "worker-a", 3*time.Second)
	la, err := a.Claim(t.Context(), "team")
	require.NoError(t, err)
	ctx := la.Context(t.Context())
	// Someone else's write: the next renewal with the old revision fails.
	_, err = a.kv.Put(t.Context(), "team", []byte("worker-b"))
	require.NoError(t, err)
	select {
	case <-ctx.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the run was not stopped")
	}
	assert.ErrorIs(t, context.Cause(ctx), ErrLeaseLost)
	la.Release(t.Context())
	e, err := a.kv.Get(t.Context(), "team")
	require.NoError(t, err)
	assert.Equal(t, "worker-b", string(e.Value()), "a lost lease is not deleted on release")
}
