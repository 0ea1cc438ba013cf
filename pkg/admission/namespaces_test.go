package admission

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	corev1listers "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
)

// liveNamespaces answers live reads from a map and counts them.
type liveNamespaces struct {
	ns    map[string]*corev1.Namespace
	err   error
	calls int
	slow  bool
}

func (l *liveNamespaces) Get(ctx context.Context, name string, _ metav1.GetOptions) (*corev1.Namespace, error) {
	l.calls++
	if l.slow {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	if l.err != nil {
		return nil, l.err
	}
	ns, ok := l.ns[name]
	if !ok {
		return nil, apierrors.NewNotFound(schema.GroupResource{Resource: "namespaces"}, name)
	}
	return ns, nil
}

func TestCachedNamespaces(t *testing.T) {
	cached := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop", Labels: enabled()}}
	fresh := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "fresh", Labels: enforce()}}

	tests := []struct {
		name       string
		lookup     string
		live       *liveNamespaces
		wantLabels map[string]string
		wantErr    error
		wantCalls  int
	}{
		{name: "from cache", lookup: "shop", live: &liveNamespaces{}, wantLabels: enabled()},
		{name: "not cached yet: live read", lookup: "fresh", live: &liveNamespaces{ns: map[string]*corev1.Namespace{"fresh": fresh}}, wantLabels: enforce(), wantCalls: 1},
		{name: "missing", lookup: "gone", live: &liveNamespaces{}, wantErr: ErrNamespaceNotFound, wantCalls: 1},
		{name: "live read fails", lookup: "gone", live: &liveNamespaces{err: errors.New("connection refused")}, wantCalls: 1},
		{name: "live read is bounded", lookup: "gone", live: &liveNamespaces{slow: true}, wantErr: context.DeadlineExceeded, wantCalls: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			idx := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{})
			require.NoError(t, idx.Add(cached))
			c := &CachedNamespaces{lister: corev1listers.NewNamespaceLister(idx), live: tt.live, timeout: 20 * time.Millisecond}
			labels, err := c.NamespaceLabels(t.Context(), tt.lookup)
			assert.Equal(t, tt.wantCalls, tt.live.calls)
			if tt.wantLabels != nil {
				require.NoError(t, err)
				assert.Equal(t, tt.wantLabels, labels)
				return
			}
			require.Error(t, err)
			if tt.wantErr != nil {
				assert.ErrorIs(t, err, tt.wantErr)
			} else {
				assert.NotErrorIs(t, err, ErrNamespaceNotFound)
			}
		})
	}
}
