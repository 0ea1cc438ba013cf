package kinds

import (
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/cinch-dev/cinch/pkg/hardening"
)

// deployments is the accessor of apps/v1 Deployments.
var deployments = typed[appsv1.Deployment, *appsv1.Deployment, *appsv1.DeploymentList]{
	kind: hardening.KindDeployment,
	client: func(cs kubernetes.Interface, namespace string) client[*appsv1.Deployment, *appsv1.DeploymentList] {
		return cs.AppsV1().Deployments(namespace)
	},
	items:    func(l *appsv1.DeploymentList) []appsv1.Deployment { return l.Items },
	template: func(o *appsv1.Deployment) *corev1.PodTemplateSpec { return &o.Spec.Template },
	selector: func(o *appsv1.Deployment) *metav1.LabelSelector { return o.Spec.Selector },
	replicas: func(o *appsv1.Deployment) **int32 { return &o.Spec.Replicas },
}
