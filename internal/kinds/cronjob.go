package kinds

import (
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/cinch-dev/cinch/pkg/hardening"
)

// cronJobs is the accessor of batch/v1 CronJobs: their pod template is their
// jobTemplate's, the one every Job they make runs.
var cronJobs = typed[batchv1.CronJob, *batchv1.CronJob, *batchv1.CronJobList]{
	kind: hardening.KindCronJob,
	client: func(cs kubernetes.Interface, namespace string) client[*batchv1.CronJob, *batchv1.CronJobList] {
		return cs.BatchV1().CronJobs(namespace)
	},
	items:    func(l *batchv1.CronJobList) []batchv1.CronJob { return l.Items },
	template: func(o *batchv1.CronJob) *corev1.PodTemplateSpec { return &o.Spec.JobTemplate.Spec.Template },
}
