package kinds

import (
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/cinch-dev/cinch/pkg/hardening"
)

// jobs is the accessor of batch/v1 Jobs. A Job's pod template cannot change
// once it exists (hardening.WorkloadKind.ImmutableTemplate).
var jobs = typed[batchv1.Job, *batchv1.Job, *batchv1.JobList]{
	kind: hardening.KindJob,
	client: func(cs kubernetes.Interface, namespace string) client[*batchv1.Job, *batchv1.JobList] {
		return cs.BatchV1().Jobs(namespace)
	},
	items:    func(l *batchv1.JobList) []batchv1.Job { return l.Items },
	template: func(o *batchv1.Job) *corev1.PodTemplateSpec { return &o.Spec.Template },
}
