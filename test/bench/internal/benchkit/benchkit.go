// Package benchkit holds what the cluster benchmarks share: the command
// skeleton, the API client and the scenario manifests' pod templates.
package benchkit

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/yaml"
)

// Main parses the arguments (exit 2 on an error) and runs the benchmark
// until it ends or SIGINT/SIGTERM (exit 1 on an error).
func Main[C any](parse func(args []string) (C, error), run func(ctx context.Context, cfg C) error) {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	cfg, err := parse(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if err := run(ctx, cfg); err != nil {
		fmt.Fprintln(os.Stderr, err)
		stop()
		os.Exit(1)
	}
}

// Client returns an API client for kubeconfig with a client-side rate limit
// of qps (burst twice that).
func Client(kubeconfig string, qps float32) (kubernetes.Interface, error) {
	rc, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return nil, err
	}
	rc.QPS, rc.Burst = qps, int(2*qps)
	return kubernetes.NewForConfig(rc)
}

// LoadTemplate returns the pod template of the first Deployment in the
// manifest file at path.
func LoadTemplate(path string) (*corev1.PodTemplateSpec, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	for _, doc := range strings.Split(string(raw), "\n---") {
		var d appsv1.Deployment
		if err := yaml.Unmarshal([]byte(doc), &d); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if d.Kind == "Deployment" {
			return &d.Spec.Template, nil
		}
	}
	return nil, fmt.Errorf("%s: no Deployment", path)
}
