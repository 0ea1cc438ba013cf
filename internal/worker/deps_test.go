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

// TestDependsOnBatch: a Job or CronJob depends on the Services it names like
// any workload; nothing depends on a batch workload, even when a Service's
// selector matches its pods.
func TestDependsOnBatch(t *testing.T) {
	ref := func(kind, n string) pipeline.Ref { return pipeline.Ref{Kind: kind, Name: n} }
	as := func(kind string, w results.Workload) results.Workload { w.Kind = kind; return w }
	wls := []results.Workload{
		wl("api", corev1.Container{Name: "api", Env: []corev1.EnvVar{{Name: "DB", Value: "db:5432"}}}),
		wl("db", corev1.Container{Name: "postgres"}),
		// a migration Job that talks to the database
		as("Job", wl("migrate", corev1.Container{Name: "m", Args: []string{"--dsn=postgres://db/app"}})),
		// a CronJob whose pods a Service happens to select, and which the api names
		as("CronJob", wl("report", corev1.Container{Name: "r", Args: []string{"--api=http://api:8080"}})),
	}
	svcs := []corev1.Service{svc("db", "db"), svc("api", "api"), svc("report", "report"), svc("migrate", "migrate")}
	wls[0].Template.Spec.Containers[0].Args = []string{"--report=http://report", "--migrate=migrate"}

	got := DependsOn(wls, svcs, nil, nil)
	assert.Equal(t, []pipeline.Ref{ref("Deployment", "db")}, got[ref("Deployment", "api")], "never on a batch workload")
	assert.Equal(t, []pipeline.Ref{ref("Deployment", "db")}, got[ref("Job", "migrate")], "a Job depends on the Services it names")
	assert.ElementsMatch(t, []pipeline.Ref{ref("Deployment", "api"), ref("Deployment", "db")}, got[ref("CronJob", "report")], "transitively")
	assert.Empty(t, got[ref("Deployment", "db")])
}
