//go:build e2e

package e2e

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/cinch-dev/cinch/internal/clone"
	"github.com/cinch-dev/cinch/pkg/hardening"
	"github.com/cinch-dev/cinch/pkg/oracle"
	"github.com/cinch-dev/cinch/pkg/signals"
)

// scSource creates an opted-in namespace with one scenario Deployment named
// "app" in mode, deleted when t ends.
func scSource(t *testing.T, cs kubernetes.Interface, mode string) (string, *appsv1.Deployment) {
	t.Helper()
	ctx := t.Context()
	ns, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
		GenerateName: "sc-" + mode + "-", Labels: map[string]string{hardening.LabelHarden: hardening.HardenEnabled},
	}}, metav1.CreateOptions{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = cs.CoreV1().Namespaces().Delete(context.Background(), ns.Name, metav1.DeleteOptions{}) })
	lbl := map[string]string{"app": "scenario"}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "app"},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](0), // the source never runs here; its clones do
			Selector: &metav1.LabelSelector{MatchLabels: lbl},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: lbl},
				Spec: corev1.PodSpec{
					TerminationGracePeriodSeconds: ptr.To[int64](1),
					AutomountServiceAccountToken:  ptr.To(false),
					Containers: []corev1.Container{{
						Name: "app", Image: "docker.io/local/scenario:1", ImagePullPolicy: corev1.PullNever,
						Args:  []string{mode},
						Ports: []corev1.ContainerPort{{ContainerPort: 8080}},
						ReadinessProbe: &corev1.Probe{
							ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromInt32(8080)}},
							PeriodSeconds: 1,
						},
					}},
				},
			},
		},
	}
	d, err = cs.AppsV1().Deployments(ns.Name).Create(ctx, d, metav1.CreateOptions{})
	require.NoError(t, err)
	return ns.Name, d
}

// scTrial clones the source with tmpl and returns the clone (deleted when t
// ends) and the recording target.
func scTrial(t *testing.T, cs kubernetes.Interface, ns, trial string, tmpl *corev1.PodTemplateSpec, d time.Duration) signals.Target {
	t.Helper()
	cl := clone.New(cs, clone.DefaultOptions())
	c, err := cl.Create(t.Context(), clone.Source{Namespace: ns, Kind: clone.KindDeployment, Name: "app"}, trial, tmpl)
	require.NoError(t, err)
	t.Cleanup(func() { _ = cl.Delete(context.Background(), c) })
	return signals.Target{Namespace: c.Namespace, Selector: c.Selector, Duration: d, Start: c.CreatedAt}
}

func scContainer(t *testing.T, rec oracle.Recording) oracle.ContainerObservation {
	t.Helper()
	require.NotEmpty(t, rec.Pods)
	for _, c := range rec.Pods[0].Containers {
		if c.Name == "app" {
			return c
		}
	}
	t.Fatalf("no app container in %+v", rec.Pods[0])
	return oracle.ContainerObservation{}
}

func scLog(rec oracle.Recording, previous bool) string {
	var b strings.Builder
	for _, l := range rec.Logs {
		if l.Container == "app" && l.Previous == previous {
			b.WriteString(strings.Join(l.Lines, "\n"))
		}
	}
	return b.String()
}

func TestSignalsCloneFine(t *testing.T) {
	t.Parallel()
	cs := KubeClient(t)
	ns, d := scSource(t, cs, "fine")
	tg := scTrial(t, cs, ns, "baseline-1", &d.Spec.Template, 25*time.Second)
	rec, err := signals.NewRecorder(cs, signals.Options{StatsInterval: 2 * time.Second}).Record(t.Context(), tg, nil)
	require.NoError(t, err)

	assert.GreaterOrEqual(t, rec.Duration, 20*time.Second)
	require.Len(t, rec.Pods, 1, "one replica in the clone")
	p := rec.Pods[0]
	assert.True(t, p.Ready)
	assert.Greater(t, p.ReadyAfter, time.Duration(0))
	assert.Equal(t, "Running", p.Phase)
	assert.Equal(t, 0, p.ReadyTransitions)
	c := scContainer(t, rec)
	assert.Equal(t, int32(0), c.RestartCount)
	assert.Empty(t, c.TerminationReasons)
	assert.Contains(t, scLog(rec, false), "heartbeat n=")
	assert.Empty(t, scLog(rec, true))

	var cpu, mem bool
	for _, s := range rec.Resources {
		cpu = cpu || s.CPUNanoCores > 0
		mem = mem || s.MemoryWorkingSet > 0
	}
	assert.True(t, cpu, "a CPU sample above zero in %+v", rec.Resources)
	assert.True(t, mem, "a memory sample above zero in %+v", rec.Resources)

	reasons := make([]string, 0, len(rec.Events))
	for _, e := range rec.Events {
		reasons = append(reasons, e.Reason)
	}
	assert.Contains(t, reasons, "Started", "the clone's Events are recorded")
}

func TestSignalsReadOnlyRootCrashes(t *testing.T) {
	t.Parallel()
	cs := KubeClient(t)
	ns, d := scSource(t, cs, "write-root")
	tmpl := d.Spec.Template.DeepCopy()
	tmpl.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{ReadOnlyRootFilesystem: ptr.To(true)}
	tg := scTrial(t, cs, ns, string(hardening.CheckReadOnlyRootFilesystem), tmpl, 10*time.Minute)

	rec, err := signals.NewRecorder(cs, signals.Options{}).Record(t.Context(), tg, func(p oracle.Recording) bool {
		// The second restart comes after a 10 s back-off in which the
		// first restarted instance lies dead on the node.
		return len(p.Pods) > 0 && slices.ContainsFunc(p.Pods[0].Containers, func(c oracle.ContainerObservation) bool { return c.RestartCount >= 2 })
	})
	require.NoError(t, err)
	assert.Less(t, rec.Duration, 2*time.Minute, "stopped early at the second restart")
	c := scContainer(t, rec)
	assert.GreaterOrEqual(t, c.RestartCount, int32(2))
	assert.Contains(t, c.TerminationReasons, "Error")
	assert.Contains(t, c.ExitCodes, int32(1))
	assert.False(t, rec.Pods[0].Ready)
	assert.Contains(t, scLog(rec, true), "read-only file system", "the previous instance's log holds the error")
}

func TestSignalsRunAsNonRootWithRootImage(t *testing.T) {
	t.Parallel()
	cs := KubeClient(t)
	ns, d := scSource(t, cs, "fine")
	tmpl := d.Spec.Template.DeepCopy()
	tmpl.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{RunAsNonRoot: ptr.To(true)}
	tg := scTrial(t, cs, ns, string(hardening.CheckRunAsNonRoot), tmpl, 10*time.Minute)

	rec, err := signals.NewRecorder(cs, signals.Options{}).Record(t.Context(), tg, func(p oracle.Recording) bool {
		return len(p.Pods) > 0 && slices.ContainsFunc(p.Pods[0].Containers, func(c oracle.ContainerObservation) bool {
			return slices.Contains(c.WaitingReasons, "CreateContainerConfigError")
		})
	})
	require.NoError(t, err)
	assert.Less(t, rec.Duration, 2*time.Minute)
	c := scContainer(t, rec)
	assert.Contains(t, c.WaitingReasons, "CreateContainerConfigError")
	assert.Contains(t, c.Message, "runAsNonRoot")
	assert.False(t, rec.Pods[0].Ready)
	assert.Equal(t, time.Duration(0), rec.Pods[0].ReadyAfter)
	assert.Empty(t, rec.Logs, "a container that never started has no log")
}

func TestSignalsEarlyStopAndCancel(t *testing.T) {
	t.Parallel()
	cs := KubeClient(t)
	ns, d := scSource(t, cs, "fine")
	tg := scTrial(t, cs, ns, "early", &d.Spec.Template, time.Hour)
	r := signals.NewRecorder(cs, signals.Options{PollInterval: 500 * time.Millisecond})

	t.Run("early callback", func(t *testing.T) {
		begin := time.Now()
		rec, err := r.Record(t.Context(), tg, func(p oracle.Recording) bool { return len(p.Pods) == 1 && p.Pods[0].Ready })
		require.NoError(t, err)
		assert.Less(t, time.Since(begin), 2*time.Minute)
		assert.Less(t, rec.Duration, 2*time.Minute)
		require.Len(t, rec.Pods, 1)
		assert.True(t, rec.Pods[0].Ready)
		assert.Contains(t, scLog(rec, false), "started uid=0")
	})
	t.Run("cancelled context", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
		defer cancel()
		_, err := r.Record(ctx, tg, nil)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
	})
}
