package clone

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/cinch-dev/cinch/pkg/hardening"
)

// Delete removes a clone: its namespace (the API server deletes what it
// holds) and its ClusterRoleBinding copies. It is idempotent: what is
// already gone is success. It refuses a namespace that is not a clone.
func (c *Cloner) Delete(ctx context.Context, cl *Clone) error {
	if cl == nil || cl.Namespace == "" {
		return nil
	}
	var errs []error
	if err := c.deleteNamespace(ctx, cl.Namespace); err != nil {
		errs = append(errs, err)
	}
	if err := c.deleteBindings(ctx, cl.Namespace); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("delete clone %s: %w", cl.Namespace, err)
	}
	return nil
}

// cleanupTimeout bounds the clean-up of a clone whose creation failed.
// A create fails half-way most often because the API server went away, so
// the clean-up outlasts a restart of it rather than leave the clone to the
// sweeper (which only takes clones older than the longest job).
const cleanupTimeout = 2 * time.Minute

// cleanUp deletes what a failed Create made, on a fresh context (ctx may be
// what failed), retrying every second until cleanupTimeout.
func (c *Cloner) cleanUp(ctx context.Context, cl *Clone) error {
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	var err error
	_ = wait.PollUntilContextCancel(dctx, time.Second, true, func(ctx context.Context) (bool, error) {
		err = c.Delete(ctx, cl)
		return err == nil, nil
	})
	return err
}

// cloneNamespace reads clone namespace name: nil when it is gone,
// ErrNotAClone when it lacks the clone label.
func (c *Cloner) cloneNamespace(ctx context.Context, name string) (*corev1.Namespace, error) {
	ns, err := c.cs.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("get namespace: %w", err)
	}
	if !hardening.IsClone(ns.Labels) {
		return nil, ErrNotAClone
	}
	return ns, nil
}

func (c *Cloner) deleteNamespace(ctx context.Context, name string) error {
	ns, err := c.cloneNamespace(ctx, name)
	if ns == nil || err != nil {
		return err
	}
	if ns.DeletionTimestamp != nil {
		return nil
	}
	policy := metav1.DeletePropagationBackground
	err = c.cs.CoreV1().Namespaces().Delete(ctx, name, metav1.DeleteOptions{
		PropagationPolicy: &policy,
		Preconditions:     &metav1.Preconditions{UID: &ns.UID},
	})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete namespace: %w", err)
	}
	return nil
}

func (c *Cloner) deleteBindings(ctx context.Context, ns string) error {
	sel := labels.Set{hardening.LabelClone: ns}.AsSelector().String()
	l, err := c.cs.RbacV1().ClusterRoleBindings().List(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		return fmt.Errorf("list clusterrolebindings: %w", err)
	}
	for _, b := range l.Items {
		if err := c.deleteBinding(ctx, b.Name); err != nil {
			return err
		}
	}
	return nil
}

func (c *Cloner) deleteBinding(ctx context.Context, name string) error {
	err := c.cs.RbacV1().ClusterRoleBindings().Delete(ctx, name, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete clusterrolebinding %s: %w", name, err)
	}
	return nil
}

// createdAt is when a clone namespace was made: its created-at annotation,
// else its creation timestamp.
func createdAt(ns *corev1.Namespace) time.Time {
	if v, ok := ns.Annotations[hardening.AnnotationCloneCreatedAt]; ok {
		if t, err := time.Parse(time.RFC3339, v); err == nil {
			return t
		}
	}
	return ns.CreationTimestamp.Time
}

// Sweep deletes the clone namespaces created more than olderThan before now,
// with their ClusterRoleBinding copies, and the copies whose clone namespace
// is gone or terminating. deleted counts the namespaces and the orphaned
// bindings it deleted. It carries on past single failures and returns them
// joined.
func (c *Cloner) Sweep(ctx context.Context, olderThan time.Duration, now time.Time) (deleted int, err error) {
	log := logr.FromContextOrDiscard(ctx)
	isClone, err := labels.NewRequirement(hardening.LabelCloneOf, selection.Exists, nil)
	if err != nil {
		return 0, fmt.Errorf("sweep: %w", err)
	}
	sel := labels.NewSelector().Add(*isClone).String()
	nss, err := c.cs.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		return 0, fmt.Errorf("sweep: list namespaces: %w", err)
	}
	var errs []error
	live := map[string]bool{}
	for i := range nss.Items {
		ns := &nss.Items[i]
		if ns.DeletionTimestamp != nil {
			continue
		}
		if now.Sub(createdAt(ns)) <= olderThan {
			live[ns.Name] = true
			continue
		}
		if err := c.Delete(ctx, &Clone{Namespace: ns.Name}); err != nil {
			errs = append(errs, err)
			continue
		}
		log.V(1).Info("Swept clone", "clone", ns.Name, "createdAt", createdAt(ns))
		deleted++
	}
	crbs, err := c.cs.RbacV1().ClusterRoleBindings().List(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		errs = append(errs, fmt.Errorf("list clusterrolebindings: %w", err))
	} else {
		for _, b := range crbs.Items {
			if live[b.Labels[hardening.LabelClone]] {
				continue
			}
			// Not one of the live clones listed above; a clone created since
			// the list must not lose its binding.
			if ns := b.Labels[hardening.LabelClone]; ns != "" {
				got, err := c.cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
				if err == nil && got.DeletionTimestamp == nil {
					continue
				}
				if err != nil && !apierrors.IsNotFound(err) {
					errs = append(errs, fmt.Errorf("get namespace %s: %w", ns, err))
					continue
				}
			}
			if err := c.deleteBinding(ctx, b.Name); err != nil {
				errs = append(errs, err)
				continue
			}
			deleted++
		}
	}
	if err := errors.Join(errs...); err != nil {
		return deleted, fmt.Errorf("sweep: %w", err)
	}
	return deleted, nil
}
