//go:build e2e

package e2e

import (
	"context"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/cinch-dev/cinch/internal/clone"
	"github.com/cinch-dev/cinch/pkg/hardening"
	"github.com/cinch-dev/cinch/pkg/oracle"
	"github.com/cinch-dev/cinch/pkg/signals"
)

// The local cluster's add-ons (test/cluster/addons.yaml): cluster DNS and a
// default StorageClass, and what clones make of them.

// runPod runs a pod of the apps image with the shell script cmd to
// completion and returns its phase and log.
func runPod(t *testing.T, cs kubernetes.Interface, ns, name, cmd string) (corev1.PodPhase, string) {
	t.Helper()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PodSpec{
			RestartPolicy:                 corev1.RestartPolicyNever,
			TerminationGracePeriodSeconds: ptr.To[int64](1),
			AutomountServiceAccountToken:  ptr.To(false),
			Containers: []corev1.Container{{
				Name: "sh", Image: "docker.io/local/apps:1", ImagePullPolicy: corev1.PullNever,
				Command: []string{"/bin/sh", "-c", cmd},
			}},
		},
	}
	_, err := cs.CoreV1().Pods(ns).Create(t.Context(), pod, metav1.CreateOptions{})
	require.NoError(t, err)
	var phase corev1.PodPhase
	WaitFor(t, 500*time.Millisecond, 2*time.Minute, func(ctx context.Context) (bool, error) {
		p, err := cs.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		phase = p.Status.Phase
		return phase == corev1.PodSucceeded || phase == corev1.PodFailed, nil
	})
	b, err := cs.CoreV1().Pods(ns).GetLogs(name, &corev1.PodLogOptions{}).DoRaw(t.Context())
	require.NoError(t, err)
	return phase, string(b)
}

// TestClusterDNS: pods resolve the kubernetes Service, Services of their own
// namespace by short name and of others by full name; names outside the
// cluster fail at once (nothing is forwarded off the machine).
func TestClusterDNS(t *testing.T) {
	t.Parallel()
	cs := KubeClient(t)
	ns := Namespace(t, cs, "e2e-dns", nil)
	_, err := cs.CoreV1().Services(ns).Create(t.Context(), &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec:       corev1.ServiceSpec{Selector: map[string]string{"app": "web"}, Ports: []corev1.ServicePort{{Port: 80}}},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	svc, err := cs.CoreV1().Services(ns).Get(t.Context(), "web", metav1.GetOptions{})
	require.NoError(t, err)

	phase, out := runPod(t, cs, ns, "lookup", `set -e
getent hosts kubernetes.default
getent hosts web
getent hosts web.`+ns+`.svc.cluster.local
getent hosts kube-dns.kube-system.svc.cluster.local
start=$(date +%s)
if getent hosts example.com; then echo "resolved an outside name"; exit 1; fi
echo "outside name failed after $(( $(date +%s) - start ))s"`)
	require.Equal(t, corev1.PodSucceeded, phase, out)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 5, out)
	assert.True(t, strings.HasPrefix(lines[0], "198.19.0.1 "), "kubernetes.default: %q", lines[0])
	assert.True(t, strings.HasPrefix(lines[1], svc.Spec.ClusterIP+" "), "web: %q", lines[1])
	assert.True(t, strings.HasPrefix(lines[2], svc.Spec.ClusterIP+" "), "web by full name: %q", lines[2])
	assert.True(t, strings.HasPrefix(lines[3], "198.19.0.10 "), "kube-dns: %q", lines[3])
	assert.Regexp(t, `^outside name failed after [0-2]s$`, lines[4])
}

// TestDefaultStorageClass: a claim without a class binds a fresh volume of
// the default class; deleting the claim deletes the volume and its data.
func TestDefaultStorageClass(t *testing.T) {
	t.Parallel()
	cs := KubeClient(t)
	ns := Namespace(t, cs, "e2e-pvc", nil)
	pvc := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: "data"},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("16Mi")}},
		},
	}
	_, err := cs.CoreV1().PersistentVolumeClaims(ns).Create(t.Context(), pvc, metav1.CreateOptions{})
	require.NoError(t, err)
	var pvName string
	WaitFor(t, 500*time.Millisecond, time.Minute, func(ctx context.Context) (bool, error) {
		got, err := cs.CoreV1().PersistentVolumeClaims(ns).Get(ctx, "data", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		pvName = got.Spec.VolumeName
		return got.Status.Phase == corev1.ClaimBound, nil
	})
	pv, err := cs.CoreV1().PersistentVolumes().Get(t.Context(), pvName, metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, "standard", pv.Spec.StorageClassName)
	assert.Equal(t, corev1.PersistentVolumeReclaimDelete, pv.Spec.PersistentVolumeReclaimPolicy)
	require.NotNil(t, pv.Spec.HostPath)
	dir := pv.Spec.HostPath.Path
	assert.True(t, strings.HasPrefix(dir, "/tmp/hostpath_pv/"), dir)
	st, err := os.Stat(dir) // the node is this machine
	require.NoError(t, err)
	assert.True(t, st.IsDir())

	require.NoError(t, cs.CoreV1().PersistentVolumeClaims(ns).Delete(t.Context(), "data", metav1.DeleteOptions{}))
	WaitFor(t, time.Second, 2*time.Minute, func(ctx context.Context) (bool, error) {
		_, err := cs.CoreV1().PersistentVolumes().Get(ctx, pvName, metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
	_, err = os.Stat(dir)
	assert.True(t, os.IsNotExist(err), "the volume's directory is deleted with it: %v", err)
}

// cloneOf clones the workload kind/name of ns for trial with its own
// template (the Cloner reads it) and deletes the clone when t ends.
func cloneOf(t *testing.T, cs kubernetes.Interface, ns, kind, name, trial string, tmpl *corev1.PodTemplateSpec) (*clone.Cloner, *clone.Clone) {
	t.Helper()
	cl := clone.New(cs, clone.DefaultOptions())
	c, err := cl.Create(t.Context(), clone.Source{Namespace: ns, Kind: kind, Name: name}, trial, tmpl)
	require.NoError(t, err)
	t.Cleanup(func() { _ = cl.Delete(context.Background(), c) })
	return cl, c
}

// waitReady waits until a pod matching sel in ns is Ready and returns it.
func waitReady(t *testing.T, cs kubernetes.Interface, ns string, sel labels.Selector, timeout time.Duration) corev1.Pod {
	t.Helper()
	var ready corev1.Pod
	WaitFor(t, 500*time.Millisecond, timeout, func(ctx context.Context) (bool, error) {
		l, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
		if err != nil {
			return false, err
		}
		for _, p := range l.Items {
			for _, c := range p.Status.Conditions {
				if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
					ready = p
					return true, nil
				}
			}
		}
		return false, nil
	})
	return ready
}

// TestCloneStatefulSetVolume: a clone of a StatefulSet with a
// volumeClaimTemplate gets a fresh volume of its own (not the source's),
// its server writes there and becomes Ready; deleting the clone deletes
// that volume.
func TestCloneStatefulSetVolume(t *testing.T) {
	t.Parallel()
	cs := KubeClient(t)
	ns := Namespace(t, cs, "e2e-clone-sts", nil)
	m := ReadManifest(t, "redis-persistent")
	m.Apply(t, cs, ns)
	sts := m.StatefulSets[0]
	srcPod := waitReady(t, cs, ns, labels.SelectorFromSet(sts.Spec.Selector.MatchLabels), 2*time.Minute)
	claim := "data-" + srcPod.Name
	src, err := cs.CoreV1().PersistentVolumeClaims(ns).Get(t.Context(), claim, metav1.GetOptions{})
	require.NoError(t, err)
	require.Equal(t, corev1.ClaimBound, src.Status.Phase)

	cl, c := cloneOf(t, cs, ns, clone.KindStatefulSet, sts.Name, "baseline-1", &sts.Spec.Template)
	waitReady(t, cs, c.Namespace, c.Selector, 2*time.Minute)
	got, err := cs.CoreV1().PersistentVolumeClaims(c.Namespace).Get(t.Context(), claim, metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, corev1.ClaimBound, got.Status.Phase)
	assert.NotEmpty(t, got.Spec.VolumeName)
	assert.NotEqual(t, src.Spec.VolumeName, got.Spec.VolumeName, "the clone has a fresh volume")
	pv, err := cs.CoreV1().PersistentVolumes().Get(t.Context(), got.Spec.VolumeName, metav1.GetOptions{})
	require.NoError(t, err)
	require.NotNil(t, pv.Spec.HostPath)
	WaitFor(t, time.Second, time.Minute, func(context.Context) (bool, error) {
		_, err := os.Stat(pv.Spec.HostPath.Path + "/appendonly.aof")
		if err != nil { // redis 7 keeps its AOF in a directory
			_, err = os.Stat(pv.Spec.HostPath.Path + "/appendonlydir")
		}
		return err == nil, nil
	})

	require.NoError(t, cl.Delete(t.Context(), c))
	WaitFor(t, time.Second, 2*time.Minute, func(ctx context.Context) (bool, error) {
		_, err := cs.CoreV1().PersistentVolumes().Get(ctx, pv.Name, metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
}

// TestCloneResolvesItsOwnServices: in a clone, the frontend reaches the
// clone's backend by its short DNS name (the source's backend is scaled to
// zero, so only the clone's can answer), through the clone's egress policy.
func TestCloneResolvesItsOwnServices(t *testing.T) {
	t.Parallel()
	cs := KubeClient(t)
	ns := Namespace(t, cs, "e2e-clone-dns", nil)
	m := ReadManifest(t, "two-tier")
	var front *appsv1.Deployment
	for i := range m.Deployments {
		m.Deployments[i].Spec.Replicas = ptr.To[int32](0) // only the clone runs
		if m.Deployments[i].Name == "frontend" {
			front = &m.Deployments[i]
		}
	}
	require.NotNil(t, front)
	m.Apply(t, cs, ns)

	_, c := cloneOf(t, cs, ns, clone.KindDeployment, front.Name, "baseline-1", &front.Spec.Template)
	np, err := cs.NetworkingV1().NetworkPolicies(c.Namespace).Get(t.Context(), clone.DenyEgressPolicy, metav1.GetOptions{})
	require.NoError(t, err)
	assert.Len(t, np.Spec.Egress, 3, "inside the clone, DNS, API server")
	// The frontend's readiness probe is a request through it to the backend.
	pod := waitReady(t, cs, c.Namespace, c.Selector, 2*time.Minute)
	b, err := cs.CoreV1().Pods(c.Namespace).GetLogs(pod.Name, &corev1.PodLogOptions{Container: "nginx"}).DoRaw(t.Context())
	require.NoError(t, err)
	assert.Contains(t, string(b), `"GET / HTTP/1.1" 200`, "answered through the clone's backend")
	assert.NotContains(t, string(b), "host not found")
}

// TestCloneClusterRoleBinding: a clone copies the ClusterRoleBinding of the
// workload's ServiceAccount for the clone's account, so the workload reads
// the API in its trials as it does at home; without that copy the oracle
// fails the trial on the new "forbidden" log lines.
func TestCloneClusterRoleBinding(t *testing.T) {
	t.Parallel()
	cs := KubeClient(t)
	ns := Namespace(t, cs, "e2e-clone-crb", nil)
	m := ReadManifest(t, "api-reader")
	d := &m.Deployments[0]
	d.Spec.Replicas = ptr.To[int32](0)
	m.Apply(t, cs, ns)
	const r = 20 * time.Second

	var (
		wg    sync.WaitGroup
		recs  [3]oracle.Recording
		errs  [3]error
		trial = [3]string{"baseline-1", "baseline-2", "no-binding"}
	)
	for i := range 3 {
		_, c := cloneOf(t, cs, ns, clone.KindDeployment, d.Name, trial[i], &d.Spec.Template)
		crbs, err := cs.RbacV1().ClusterRoleBindings().List(t.Context(), metav1.ListOptions{LabelSelector: hardening.LabelClone + "=" + c.Namespace})
		require.NoError(t, err)
		require.Len(t, crbs.Items, 1, "the binding is copied")
		crb := crbs.Items[0]
		assert.Equal(t, "api-reader-"+ns, crb.RoleRef.Name)
		require.Len(t, crb.Subjects, 1)
		assert.Equal(t, c.Namespace, crb.Subjects[0].Namespace, "for the clone's ServiceAccount")
		assert.Equal(t, "api-reader", crb.Subjects[0].Name)
		assert.Equal(t, ns, crb.Labels[hardening.LabelCloneOf])
		if trial[i] == "no-binding" {
			require.NoError(t, cs.RbacV1().ClusterRoleBindings().Delete(t.Context(), crb.Name, metav1.DeleteOptions{}))
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			// R from the first Ready pod, as the worker records: a busy node
			// may take longer than R to start a pod.
			tg := signals.Target{Namespace: c.Namespace, Selector: c.Selector, Duration: r, ReadyTimeout: 3 * time.Minute, Start: c.CreatedAt}
			recs[i], errs[i] = signals.NewRecorder(cs, signals.Options{}).Record(t.Context(), tg, nil)
		}()
	}
	wg.Wait()
	for i := range 3 {
		require.NoError(t, errs[i], trial[i])
	}
	assert.Contains(t, scLog(recs[0], false), "listed nodes count=1")
	assert.Contains(t, scLog(recs[2], false), "403 Forbidden")

	cfg := oracle.DefaultConfig()
	assert.True(t, oracle.Judge(cfg, [2]oracle.Recording{recs[0], recs[1]}, recs[1]).Pass, "a baseline passes against both")
	v := oracle.Judge(cfg, [2]oracle.Recording{recs[0], recs[1]}, recs[2])
	assert.False(t, v.Pass, "without the binding the trial fails")
	logs := spResult(v, "TC-03")
	assert.False(t, logs.Pass, "on its log lines: %+v", v)
	var ev []string
	for _, e := range logs.Evidence {
		ev = append(ev, e.Example)
	}
	assert.Contains(t, strings.Join(ev, "\n"), "Forbidden")
	assert.True(t, spResult(v, "TC-01").Pass, "it keeps running")
	assert.True(t, spResult(v, "TC-02").Pass, "and Ready")
}

// assertNoCopiesLeft waits until nothing a clone of ns made outside its
// namespace is left: ClusterRoleBinding copies, and the volumes of its
// claims.
func assertNoCopiesLeft(t *testing.T, cs kubernetes.Interface, ns string) {
	t.Helper()
	var left []string
	err := wait.PollUntilContextTimeout(t.Context(), time.Second, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		left = left[:0]
		crbs, err := cs.RbacV1().ClusterRoleBindings().List(ctx, metav1.ListOptions{LabelSelector: hardening.LabelCloneOf + "=" + ns})
		if err != nil {
			return false, err
		}
		for _, c := range crbs.Items {
			left = append(left, "clusterrolebinding/"+c.Name)
		}
		pvs, err := cs.CoreV1().PersistentVolumes().List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		for _, pv := range pvs.Items {
			if ref := pv.Spec.ClaimRef; ref != nil && strings.HasPrefix(ref.Namespace, "cinch-"+ns+"-") {
				left = append(left, "persistentvolume/"+pv.Name+" of "+ref.Namespace+"/"+ref.Name)
			}
		}
		return len(left) == 0, nil
	})
	assert.NoError(t, err, "left by the clones of %s: %v", ns, left)
}
