package worker

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"github.com/nats-io/nats.go/jetstream"
)

// Named errors of leases.
var (
	// ErrLeaseHeld: another worker runs the namespace.
	ErrLeaseHeld = errors.New("namespace lease held by another worker")
	// ErrLeaseLost: the lease could not be renewed in time; another worker
	// may run the namespace now, so this run stops.
	ErrLeaseLost = errors.New("namespace lease lost")
)

// DefaultLeaseBucket and DefaultLeaseTTL are the KV bucket of namespace
// leases and how long a lease lives without renewal.
const (
	DefaultLeaseBucket = "cinch-namespace-leases"
	DefaultLeaseTTL    = 30 * time.Second
)

// Leases are per-namespace locks in a NATS JetStream key-value bucket whose
// entries expire after the TTL: a lease is created with compare-and-set
// (Create fails while the key exists), renewed every TTL/3 with the
// revision it holds (Update fails when someone else owns the key), and
// expires when its worker dies.
type Leases struct {
	kv     jetstream.KeyValue
	ttl    time.Duration
	holder string
}

// NewLeases creates or binds the bucket.
func NewLeases(ctx context.Context, js jetstream.JetStream, bucket string, ttl time.Duration, replicas int, holder string) (*Leases, error) {
	if ttl < 3*time.Second {
		return nil, fmt.Errorf("lease ttl %s is below 3s", ttl)
	}
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: bucket, Description: "Cinch: which worker runs which namespace",
		TTL: ttl, History: 1, Replicas: max(replicas, 1), Storage: jetstream.FileStorage,
	})
	if err != nil {
		return nil, fmt.Errorf("lease bucket %s: %w", bucket, err)
	}
	return &Leases{kv: kv, ttl: ttl, holder: holder}, nil
}

// Lease is a claimed namespace.
type Lease struct {
	l    *Leases
	key  string
	mu   sync.Mutex
	rev  uint64
	stop chan struct{}
	done chan struct{}
	lost chan struct{}
	once sync.Once
}

// Claim takes the lease of namespace ns, or fails with ErrLeaseHeld.
func (l *Leases) Claim(ctx context.Context, ns string) (*Lease, error) {
	rev, err := l.kv.Create(ctx, ns, []byte(l.holder))
	if errors.Is(err, jetstream.ErrKeyExists) {
		holder := "unknown"
		if e, gerr := l.kv.Get(ctx, ns); gerr == nil {
			holder = string(e.Value())
		}
		return nil, fmt.Errorf("%w: %s runs %s", ErrLeaseHeld, holder, ns)
	}
	if err != nil {
		return nil, fmt.Errorf("claim namespace %s: %w", ns, err)
	}
	le := &Lease{l: l, key: ns, rev: rev, stop: make(chan struct{}), done: make(chan struct{}), lost: make(chan struct{})}
	go le.renew(logr.FromContextOrDiscard(ctx))
	return le, nil
}

// renew keeps the lease alive; when no renewal succeeded for 2/3 of the
// TTL the lease is lost (another worker may claim it at the TTL).
func (le *Lease) renew(log logr.Logger) {
	defer close(le.done)
	t := time.NewTicker(le.l.ttl / 3)
	defer t.Stop()
	last := time.Now()
	for {
		select {
		case <-le.stop:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), le.l.ttl/6)
		le.mu.Lock()
		rev, err := le.l.kv.Update(ctx, le.key, []byte(le.l.holder), le.rev)
		if err == nil {
			le.rev = rev
		}
		le.mu.Unlock()
		cancel()
		switch {
		case err == nil:
			last = time.Now()
		case errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyNotFound) || time.Since(last) > 2*le.l.ttl/3:
			log.Error(err, "namespace lease lost", "namespace", le.key)
			close(le.lost)
			return
		default:
			log.V(1).Info("lease renewal failed, retrying", "namespace", le.key, "err", err.Error())
		}
	}
}

// Context returns a context cancelled, with cause ErrLeaseLost, when the
// lease is lost.
func (le *Lease) Context(ctx context.Context) context.Context {
	ctx, cancel := context.WithCancelCause(ctx)
	go func() {
		select {
		case <-le.lost:
			cancel(fmt.Errorf("%w: %s", ErrLeaseLost, le.key))
		case <-le.done:
			select {
			case <-le.lost:
				cancel(fmt.Errorf("%w: %s", ErrLeaseLost, le.key))
			default:
				cancel(nil)
			}
		case <-ctx.Done():
		}
	}()
	return ctx
}

// Release stops renewing and deletes the lease if it is still ours.
func (le *Lease) Release(ctx context.Context) {
	le.once.Do(func() {
		close(le.stop)
		<-le.done
		select {
		case <-le.lost:
			return
		default:
		}
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		le.mu.Lock()
		defer le.mu.Unlock()
		if err := le.l.kv.Delete(ctx, le.key, jetstream.LastRevision(le.rev)); err != nil {
			logr.FromContextOrDiscard(ctx).V(1).Info("release lease", "namespace", le.key, "err", err.Error())
		}
	})
}
