package clone

import (
	"testing"

	"github.com/stretchr/testify/assert"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

func TestCleanMeta(t *testing.T) {
	src := metav1.ObjectMeta{
		Name: "web", Namespace: "shop", UID: "1b4e28ba", ResourceVersion: "4711", Generation: 3,
		CreationTimestamp: metav1.Now(), Finalizers: []string{"kubernetes.io/pvc-protection"},
		Labels: map[string]string{"app": "web"},
		Annotations: map[string]string{
			"cinch.dev/status":                                 "Verified",
			"cinch.dev/recommendation":                         "{}",
			"deployment.kubernetes.io/revision":                "4",
			"pv.kubernetes.io/bind-completed":                  "yes",
			"volume.kubernetes.io/selected-node":               "cinch-node",
			"kubectl.kubernetes.io/last-applied-configuration": "{}",
			"team": "payments",
		},
		OwnerReferences: []metav1.OwnerReference{{APIVersion: "v1", Kind: "ConfigMap", Name: "x", UID: "2"}},
		ManagedFields:   []metav1.ManagedFieldsEntry{{Manager: "kubectl"}},
	}
	want := metav1.ObjectMeta{
		Name: "web", Namespace: "cinch-shop-t-x7k2p",
		Labels: map[string]string{"app": "web"},
		Annotations: map[string]string{
			"kubectl.kubernetes.io/last-applied-configuration": "{}",
			"team": "payments",
		},
	}
	assert.Equal(t, want, cleanMeta(src, "cinch-shop-t-x7k2p"))
}

func TestCloneService(t *testing.T) {
	ports := func(nodePort int32) []corev1.ServicePort {
		return []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080), Protocol: corev1.ProtocolTCP, NodePort: nodePort}}
	}
	tests := []struct {
		name string
		in   corev1.ServiceSpec
		want corev1.ServiceSpec
	}{
		{
			name: "cluster IP cleared",
			in:   corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP, ClusterIP: "198.19.0.17", ClusterIPs: []string{"198.19.0.17"}, Ports: ports(0), Selector: map[string]string{"app": "web"}},
			want: corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP, Ports: ports(0), Selector: map[string]string{"app": "web"}},
		},
		{
			name: "headless stays headless",
			in:   corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP, ClusterIP: "None", ClusterIPs: []string{"None"}, Ports: ports(0)},
			want: corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP, ClusterIP: "None", Ports: ports(0)},
		},
		{
			name: "load balancer becomes cluster IP without node ports",
			in: corev1.ServiceSpec{
				Type: corev1.ServiceTypeLoadBalancer, ClusterIP: "198.19.0.18", ClusterIPs: []string{"198.19.0.18"}, Ports: ports(31080),
				ExternalTrafficPolicy: corev1.ServiceExternalTrafficPolicyLocal, HealthCheckNodePort: 32000,
				ExternalIPs: []string{"198.18.255.9"}, AllocateLoadBalancerNodePorts: ptr.To(true), LoadBalancerSourceRanges: []string{"198.18.0.0/24"},
			},
			want: corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP, Ports: ports(0)},
		},
		{
			name: "external name kept",
			in:   corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "db.example.org"},
			want: corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "db.example.org"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop", UID: "9"}, Spec: tt.in}
			got := cloneService(in, "clone")
			assert.Equal(t, tt.want, got.Spec)
			assert.Equal(t, "clone", got.Namespace)
			assert.Empty(t, got.UID)
		})
	}
}

func TestFreshClaimSpec(t *testing.T) {
	in := corev1.PersistentVolumeClaimSpec{
		AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
		Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
		StorageClassName: ptr.To("standard"),
		VolumeName:       "pvc-1b4e28ba",
		VolumeMode:       ptr.To(corev1.PersistentVolumeFilesystem),
		Selector:         &metav1.LabelSelector{MatchLabels: map[string]string{"disk": "fast"}},
		DataSource:       &corev1.TypedLocalObjectReference{Kind: "PersistentVolumeClaim", Name: "seed"},
	}
	want := corev1.PersistentVolumeClaimSpec{
		AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
		Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
		StorageClassName: ptr.To("standard"),
		VolumeMode:       ptr.To(corev1.PersistentVolumeFilesystem),
	}
	assert.Equal(t, want, freshClaimSpec(in))
}

func TestRewriteSubjects(t *testing.T) {
	in := []rbacv1.Subject{
		{Kind: "ServiceAccount", Name: "app", Namespace: "shop"},
		{Kind: "ServiceAccount", Name: "prometheus", Namespace: "monitoring"},
		{Kind: "User", Name: "alice", APIGroup: "rbac.authorization.k8s.io"},
	}
	got, changed := rewriteSubjects(in, "shop", "clone")
	assert.True(t, changed)
	assert.Equal(t, []rbacv1.Subject{
		{Kind: "ServiceAccount", Name: "app", Namespace: "clone"},
		{Kind: "ServiceAccount", Name: "prometheus", Namespace: "monitoring"},
		{Kind: "User", Name: "alice", APIGroup: "rbac.authorization.k8s.io"},
	}, got)
	assert.Equal(t, "shop", in[0].Namespace, "the source is not modified")
}
