//go:build integration

package integration

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cinch-dev/cinch/internal/kubetest"
)

// TestIntegrationSmoke proves the integration tier's API server works: a
// namespace and a Deployment are created, defaulted and read back.
func TestIntegrationSmoke(t *testing.T) {
	cs := kubetest.Client(t, kubetest.EnvIntegration)
	ctx := t.Context()

	ns := kubetest.Namespace(t, cs, "smoke", nil)

	labels := map[string]string{"app": "smoke"}
	dep := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "smoke"},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "docker.io/local/scenario:1"}}},
			},
		},
	}
	_, err := cs.AppsV1().Deployments(ns).Create(ctx, dep, metav1.CreateOptions{})
	require.NoError(t, err)

	got, err := cs.AppsV1().Deployments(ns).Get(ctx, "smoke", metav1.GetOptions{})
	require.NoError(t, err)
	require.NotNil(t, got.Spec.Replicas, "the API server defaults replicas")
	assert.Equal(t, int32(1), *got.Spec.Replicas)
	assert.Equal(t, corev1.PullIfNotPresent, got.Spec.Template.Spec.Containers[0].ImagePullPolicy)
	assert.Equal(t, appsv1.RollingUpdateDeploymentStrategyType, got.Spec.Strategy.Type)
}
