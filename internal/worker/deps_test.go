package worker

import (
	"testing"

	"github.com/stretchr/testify/assert"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cinch-dev/cinch/internal/pipeline"
	"github.com/cinch-dev/cinch/internal/results"
)

func wl(name string, c corev1.Container, vols ...corev1.Volume) results.Workload {
	return results.Workload{Ref: results.Ref{Namespace: "team", Kind: "Deployment", Name: name}, Template: &corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": name}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{c}, Volumes: vols},
	}}
}

func svc(name, app string) corev1.Service {
	return corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.ServiceSpec{Selector: map[string]string{"app": app}}}
}

func TestDependsOn(t *testing.T) {
	ref := func(n string) pipeline.Ref { return pipeline.Ref{Kind: "Deployment", Name: n} }
	wls := []results.Workload{
		// nginx proxying to the backend through its ConfigMap
		wl("frontend", corev1.Container{Name: "nginx"}, corev1.Volume{Name: "conf", VolumeSource: corev1.VolumeSource{
			ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "nginx-conf"}}}}),
		// the backend reads its database address from an environment value
		wl("backend", corev1.Container{Name: "api", Env: []corev1.EnvVar{{Name: "DB", Value: "postgres://db.team.svc:5432/app"}}}),
		wl("db", corev1.Container{Name: "postgres"}),
		// a name that only contains another Service's name
		wl("worker", corev1.Container{Name: "w", Args: []string{"--queue=db-2", "--peer=mybackend"}}),
		// a Secret naming the cache
		wl("reporter", corev1.Container{Name: "r", EnvFrom: []corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: "creds"}}}}}),
		wl("cache", corev1.Container{Name: "redis"}),
	}
	svcs := []corev1.Service{svc("frontend", "frontend"), svc("backend", "backend"), svc("db", "db"), svc("cache", "cache"),
		{ObjectMeta: metav1.ObjectMeta{Name: "external"}}}
	cms := []corev1.ConfigMap{{ObjectMeta: metav1.ObjectMeta{Name: "nginx-conf"}, Data: map[string]string{"default.conf": "proxy_pass http://backend:8080;"}}}
	secrets := []corev1.Secret{{ObjectMeta: metav1.ObjectMeta{Name: "creds"}, Data: map[string][]byte{"URL": []byte("redis://cache:6379")}}}

	got := DependsOn(wls, svcs, cms, secrets)
	assert.ElementsMatch(t, []pipeline.Ref{ref("backend"), ref("db")}, got[ref("frontend")], "transitively")
	assert.Equal(t, []pipeline.Ref{ref("db")}, got[ref("backend")])
	assert.NotNil(t, got[ref("db")])
	assert.Empty(t, got[ref("db")])
	assert.Empty(t, got[ref("worker")], "db-2 and mybackend are other names")
	assert.Equal(t, []pipeline.Ref{ref("cache")}, got[ref("reporter")])
}
