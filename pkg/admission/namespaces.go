package admission

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corev1listers "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
)

// namespaceGetter is the live fallback for a namespace the cache has not seen.
type namespaceGetter interface {
	Get(ctx context.Context, name string, opts metav1.GetOptions) (*corev1.Namespace, error)
}

// CachedNamespaces answers NamespaceLabels from an informer cache of
// namespaces (RBAC: get, list, watch namespaces). A namespace created a
// moment ago may not be in the cache yet; it is then read live, bounded by
// LiveTimeout.
type CachedNamespaces struct {
	factory informers.SharedInformerFactory
	lister  corev1listers.NamespaceLister
	synced  cache.InformerSynced
	live    namespaceGetter
	timeout time.Duration
}

var _ NamespaceLabels = (*CachedNamespaces)(nil)

// DefaultLiveTimeout bounds the live read of a namespace missing from the
// cache.
const DefaultLiveTimeout = 250 * time.Millisecond

// NewCachedNamespaces returns a namespace cache over client. Start it before
// use.
func NewCachedNamespaces(client kubernetes.Interface, resync time.Duration) *CachedNamespaces {
	f := informers.NewSharedInformerFactory(client, resync)
	inf := f.Core().V1().Namespaces()
	return &CachedNamespaces{
		factory: f,
		lister:  inf.Lister(),
		synced:  inf.Informer().HasSynced,
		live:    client.CoreV1().Namespaces(),
		timeout: DefaultLiveTimeout,
	}
}

// Start runs the informer until ctx ends and then waits for its goroutines.
// It fails when ctx ends before the cache has synced.
func (c *CachedNamespaces) Start(ctx context.Context) error {
	c.factory.Start(ctx.Done())
	defer c.factory.Shutdown()
	if !cache.WaitForCacheSync(ctx.Done(), c.synced) {
		return errors.New("namespace cache did not sync")
	}
	<-ctx.Done()
	return nil
}

// Synced reports whether the cache has synced (for readiness).
func (c *CachedNamespaces) Synced() bool { return c.synced() }

// NamespaceLabels returns the labels of namespace name.
func (c *CachedNamespaces) NamespaceLabels(ctx context.Context, name string) (map[string]string, error) {
	ns, err := c.lister.Get(name)
	if err == nil {
		return ns.Labels, nil
	}
	if !apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("namespace %s from cache: %w", name, err)
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	ns, err = c.live.Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("%s: %w", name, ErrNamespaceNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get namespace %s: %w", name, err)
	}
	return ns.Labels, nil
}
