package kinds

import (
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/cinch-dev/cinch/pkg/hardening"
)

// daemonSets is the accessor of apps/v1 DaemonSets.
var daemonSets = typed[appsv1.DaemonSet, *appsv1.DaemonSet, *appsv1.DaemonSetList]{
	kind: hardening.KindDaemonSet,
	client: func(cs kubernetes.Interface, namespace string) client[*appsv1.DaemonSet, *appsv1.DaemonSetList] {
		return cs.AppsV1().DaemonSets(namespace)
	},
	items:    func(l *appsv1.DaemonSetList) []appsv1.DaemonSet { return l.Items },
	template: func(o *appsv1.DaemonSet) *corev1.PodTemplateSpec { return &o.Spec.Template },
	selector: func(o *appsv1.DaemonSet) *metav1.LabelSelector { return o.Spec.Selector },
}
