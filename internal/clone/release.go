package clone

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cinch-dev/cinch/internal/kinds"
	"github.com/cinch-dev/cinch/pkg/hardening"
)

// Release stops one workload of a running clone: it deletes the
// workload's object in the clone (its pods go with it) and returns how many
// of its pods were alive. A shared clone releases a workload whose trial is
// over while its other workloads are still recorded, so no pod runs longer
// than its trial needs. What is already gone is no error; a namespace
// without the clone label is refused, like Delete refuses it.
func (c *Cloner) Release(ctx context.Context, cl *Clone, ref Ref) (pods int, err error) {
	if cl == nil || cl.Namespace == "" {
		return 0, nil
	}
	sel, ok := cl.Workloads[ref]
	if !ok {
		return 0, fmt.Errorf("release %s: clone %s does not run it", ref, cl.Namespace)
	}
	ns, err := c.cloneNamespace(ctx, cl.Namespace)
	if err != nil {
		return 0, fmt.Errorf("release %s in %s: %w", ref, cl.Namespace, err)
	}
	if ns == nil {
		return 0, nil
	}
	list, err := c.cs.CoreV1().Pods(cl.Namespace).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil {
		return 0, fmt.Errorf("release %s: list pods: %w", ref, err)
	}
	for i := range list.Items {
		if p := &list.Items[i]; p.DeletionTimestamp == nil && p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed {
			pods++
		}
	}
	// A batch workload runs in a clone as one Job of its name.
	kind := ref.Kind
	if hardening.IsBatch(kind) {
		kind = hardening.KindJob
	}
	a, err := kinds.For(kind)
	if err != nil {
		return 0, fmt.Errorf("release %s: %w", ref, err)
	}
	if err := a.Delete(ctx, c.cs, cl.Namespace, ref.Name); err != nil && !apierrors.IsNotFound(err) {
		return 0, fmt.Errorf("release %s in %s: %w", ref, cl.Namespace, err)
	}
	return pods, nil
}
