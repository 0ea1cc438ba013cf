package kinds

import (
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/cinch-dev/cinch/pkg/hardening"
)

// statefulSets is the accessor of apps/v1 StatefulSets.
var statefulSets = typed[appsv1.StatefulSet, *appsv1.StatefulSet, *appsv1.StatefulSetList]{
	kind: hardening.KindStatefulSet,
	client: func(cs kubernetes.Interface, namespace string) client[*appsv1.StatefulSet, *appsv1.StatefulSetList] {
		return cs.AppsV1().StatefulSets(namespace)
	},
	items:    func(l *appsv1.StatefulSetList) []appsv1.StatefulSet { return l.Items },
	template: func(o *appsv1.StatefulSet) *corev1.PodTemplateSpec { return &o.Spec.Template },
	selector: func(o *appsv1.StatefulSet) *metav1.LabelSelector { return o.Spec.Selector },
	replicas: func(o *appsv1.StatefulSet) **int32 { return &o.Spec.Replicas },
}
