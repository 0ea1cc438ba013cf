//go:build e2e

package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
)

// TestSmokeCluster proves the local cluster runs real containers with real
// securityContext enforcement: a scenario pod becomes Ready, its logs are read
// through the API server, and a write to / fails under readOnlyRootFilesystem.
func TestSmokeCluster(t *testing.T) {
	cs := KubeClient(t)
	ctx := t.Context()
	ns, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "smoke-"}}, metav1.CreateOptions{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = cs.CoreV1().Namespaces().Delete(context.Background(), ns.Name, metav1.DeleteOptions{}) })

	fine := smokePod("fine", "fine", nil)
	ro := smokePod("ro", "write-root", &corev1.SecurityContext{ReadOnlyRootFilesystem: ptr.To(true)})
	for _, p := range []*corev1.Pod{fine, ro} {
		_, err := cs.CoreV1().Pods(ns.Name).Create(ctx, p, metav1.CreateOptions{})
		require.NoError(t, err)
	}

	t.Run("pod becomes Ready and its logs are readable", func(t *testing.T) {
		err := wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, 60*time.Second, true, func(ctx context.Context) (bool, error) {
			p, err := cs.CoreV1().Pods(ns.Name).Get(ctx, "fine", metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			for _, c := range p.Status.Conditions {
				if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
					return true, nil
				}
			}
			return false, nil
		})
		require.NoError(t, err, "pod fine never became Ready")
		logs := smokeLogs(t, cs, ns.Name, "fine", false)
		assert.Contains(t, logs, "heartbeat n=1")
	})

	t.Run("write to / fails under readOnlyRootFilesystem", func(t *testing.T) {
		var last string
		err := wait.PollUntilContextTimeout(ctx, time.Second, 60*time.Second, true, func(ctx context.Context) (bool, error) {
			p, err := cs.CoreV1().Pods(ns.Name).Get(ctx, "ro", metav1.GetOptions{})
			if err != nil || len(p.Status.ContainerStatuses) == 0 {
				return false, err
			}
			if p.Status.ContainerStatuses[0].RestartCount == 0 {
				return false, nil
			}
			// The kubelet keeps only the newest dead instance: its log may
			// already be gone; the next instance fails the same way.
			last = smokeLogs(t, cs, ns.Name, "ro", true)
			return strings.Contains(last, "read-only file system"), nil
		})
		require.NoError(t, err, "no restarted instance logged the error; last previous log: %q", last)
		assert.Contains(t, last, "read-only file system")
	})
}

func smokePod(name, mode string, sc *corev1.SecurityContext) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PodSpec{
			TerminationGracePeriodSeconds: ptr.To[int64](1),
			Containers: []corev1.Container{{
				Name: "app", Image: "docker.io/local/scenario:1", ImagePullPolicy: corev1.PullNever,
				Args: []string{mode}, SecurityContext: sc,
				ReadinessProbe: &corev1.Probe{
					ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromInt32(8080)}},
					PeriodSeconds: 1,
				},
			}},
		},
	}
}

func smokeLogs(t *testing.T, cs kubernetes.Interface, ns, pod string, previous bool) string {
	t.Helper()
	b, err := cs.CoreV1().Pods(ns).GetLogs(pod, &corev1.PodLogOptions{Container: "app", Previous: previous}).Do(t.Context()).Raw()
	require.NoError(t, err)
	return strings.TrimSpace(string(b))
}
