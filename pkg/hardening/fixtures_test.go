package hardening

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Realistic pod templates used across the tests.

func tmpl(spec corev1.PodSpec) *corev1.PodTemplateSpec {
	return &corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "demo"}},
		Spec:       spec,
	}
}

// nginxStock is a Deployment's nginx with no securityContext at all.
func nginxStock() *corev1.PodTemplateSpec {
	return tmpl(corev1.PodSpec{Containers: []corev1.Container{{
		Name:  "nginx",
		Image: "nginx:1.27",
		Ports: []corev1.ContainerPort{{ContainerPort: 80}},
	}}})
}

// restricted already satisfies every check.
func restricted() *corev1.PodTemplateSpec {
	return tmpl(corev1.PodSpec{
		SecurityContext: &corev1.PodSecurityContext{
			RunAsNonRoot:   ptr(true),
			RunAsUser:      ptr(int64(101)),
			RunAsGroup:     ptr(int64(101)),
			FSGroup:        ptr(int64(101)),
			SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
		},
		Containers: []corev1.Container{{
			Name:  "app",
			Image: "nginxinc/nginx-unprivileged:1.27",
			SecurityContext: &corev1.SecurityContext{
				ReadOnlyRootFilesystem:   ptr(true),
				AllowPrivilegeEscalation: ptr(false),
				Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
			},
		}},
	})
}

// multi has an init container, an app that already sets some fields, and a
// sidecar that overrides pod-level settings.
func multi() *corev1.PodTemplateSpec {
	return tmpl(corev1.PodSpec{
		SecurityContext: &corev1.PodSecurityContext{
			RunAsUser:      ptr(int64(1000)),
			SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
		},
		InitContainers: []corev1.Container{{
			Name:    "migrate",
			Image:   "example.com/migrate:2",
			Command: []string{"/migrate", "up"},
			SecurityContext: &corev1.SecurityContext{
				RunAsUser: ptr(int64(0)),
			},
		}},
		Containers: []corev1.Container{
			{
				Name:  "app",
				Image: "example.com/app:1.4",
				SecurityContext: &corev1.SecurityContext{
					ReadOnlyRootFilesystem: ptr(true),
					Capabilities:           &corev1.Capabilities{Drop: []corev1.Capability{"NET_RAW"}},
				},
			},
			{
				Name:  "proxy",
				Image: "envoyproxy/envoy:v1.31",
				SecurityContext: &corev1.SecurityContext{
					SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeUnconfined},
					AllowPrivilegeEscalation: ptr(true),
					RunAsNonRoot:             ptr(false),
				},
			},
		},
	})
}

// privileged is a DaemonSet-style node agent.
func privileged() *corev1.PodTemplateSpec {
	return tmpl(corev1.PodSpec{
		HostNetwork: true,
		Containers: []corev1.Container{
			{
				Name:  "agent",
				Image: "example.com/node-agent:3",
				SecurityContext: &corev1.SecurityContext{
					Privileged: ptr(true),
				},
			},
			{
				Name:  "exporter",
				Image: "prom/node-exporter:v1.8",
				SecurityContext: &corev1.SecurityContext{
					Capabilities: &corev1.Capabilities{Add: []corev1.Capability{"SYS_ADMIN"}},
				},
			},
		},
	})
}

// statefulDB is a StatefulSet-style database with a volume and a localhost
// seccomp profile.
func statefulDB() *corev1.PodTemplateSpec {
	return tmpl(corev1.PodSpec{
		SecurityContext: &corev1.PodSecurityContext{
			FSGroup:        ptr(int64(999)),
			SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeLocalhost, LocalhostProfile: ptr("profiles/pg.json")},
		},
		Containers: []corev1.Container{{
			Name:         "postgres",
			Image:        "postgres:16",
			VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: "/var/lib/postgresql/data"}},
			SecurityContext: &corev1.SecurityContext{
				RunAsUser:  ptr(int64(999)),
				RunAsGroup: ptr(int64(0)),
			},
		}},
	})
}

// podRoot sets uid 0 and runAsNonRoot=false at pod level, overridden by one
// container.
func podRoot() *corev1.PodTemplateSpec {
	return tmpl(corev1.PodSpec{
		SecurityContext: &corev1.PodSecurityContext{
			RunAsUser:    ptr(int64(0)),
			RunAsNonRoot: ptr(false),
			RunAsGroup:   ptr(int64(0)),
			FSGroup:      ptr(int64(0)),
		},
		Containers: []corev1.Container{
			{Name: "root", Image: "busybox:1.36", Command: []string{"sleep", "infinity"}},
			{Name: "user", Image: "busybox:1.36", Command: []string{"sleep", "infinity"},
				SecurityContext: &corev1.SecurityContext{RunAsUser: ptr(int64(2000)), RunAsNonRoot: ptr(true), RunAsGroup: ptr(int64(2000))}},
		},
	})
}

type fixture struct {
	name string
	t    func() *corev1.PodTemplateSpec
}

var fixtures = []fixture{
	{"nginx-stock", nginxStock},
	{"restricted", restricted},
	{"multi", multi},
	{"privileged", privileged},
	{"stateful-db", statefulDB},
	{"pod-root", podRoot},
}
