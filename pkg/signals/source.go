package signals

import (
	"context"
	"fmt"
	"io"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// source is everything the Recorder reads from the cluster.
type source interface {
	// Pods lists the pods of namespace ns matching the label selector.
	Pods(ctx context.Context, ns, selector string) ([]corev1.Pod, error)
	// Summary returns the kubelet stats summary of node as raw JSON.
	Summary(ctx context.Context, node string) ([]byte, error)
	// Logs streams the log of one container; opts carries container,
	// previous, limitBytes and tailLines.
	Logs(ctx context.Context, ns, pod string, opts *corev1.PodLogOptions) (io.ReadCloser, error)
	// Events lists the Events of namespace ns.
	Events(ctx context.Context, ns string) ([]corev1.Event, error)
}

// kubeSource reads from the API server.
type kubeSource struct {
	cs kubernetes.Interface
}

var _ source = kubeSource{}

func (k kubeSource) Pods(ctx context.Context, ns, selector string) ([]corev1.Pod, error) {
	l, err := k.cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return nil, fmt.Errorf("list pods: %w", err)
	}
	return l.Items, nil
}

func (k kubeSource) Summary(ctx context.Context, node string) ([]byte, error) {
	b, err := k.cs.CoreV1().RESTClient().Get().
		AbsPath("/api/v1/nodes", node, "proxy", "stats", "summary").
		DoRaw(ctx)
	if err != nil {
		return nil, fmt.Errorf("get stats summary of node %s: %w", node, err)
	}
	return b, nil
}

func (k kubeSource) Logs(ctx context.Context, ns, pod string, opts *corev1.PodLogOptions) (io.ReadCloser, error) {
	rc, err := k.cs.CoreV1().Pods(ns).GetLogs(pod, opts).Stream(ctx)
	if err != nil {
		return nil, fmt.Errorf("get logs of %s/%s: %w", pod, opts.Container, err)
	}
	return rc, nil
}

func (k kubeSource) Events(ctx context.Context, ns string) ([]corev1.Event, error) {
	l, err := k.cs.CoreV1().Events(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list events: %w", err)
	}
	return l.Items, nil
}
