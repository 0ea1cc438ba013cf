//go:build e2e

package e2e

import (
	"context"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/cinch-dev/cinch/pkg/oracle"
	"github.com/cinch-dev/cinch/pkg/signals"
)

// podCIDR is the local cluster's pod network (test/cluster/cluster.sh).
var podCIDR = netip.MustParsePrefix("198.18.0.0/24")

// spManifest reads the ConfigMaps and the Deployment of
// test/workloads/manifests/NAME.yaml.
func spManifest(t *testing.T, name string) ([]corev1.ConfigMap, *appsv1.Deployment) {
	t.Helper()
	m := ReadManifest(t, name)
	require.Len(t, m.Deployments, 1, "%s.yaml", name)
	return m.ConfigMaps, &m.Deployments[0]
}

// spRun deploys the workload (with mutate applied to its pod template) in a
// fresh namespace and records it for d with a ServiceProber whose dials are
// logged in dialled.
func spRun(t *testing.T, cs kubernetes.Interface, name string, mutate func(*corev1.PodSpec), d time.Duration, dialled *spDials) oracle.Recording {
	t.Helper()
	cms, dep := spManifest(t, name)
	ns := Namespace(t, cs, "sp", nil)
	start := time.Now()
	for _, cm := range cms {
		cm.Namespace = ns
		_, err := cs.CoreV1().ConfigMaps(ns).Create(t.Context(), &cm, metav1.CreateOptions{})
		require.NoError(t, err)
	}
	dep.Namespace = ns
	if mutate != nil {
		mutate(&dep.Spec.Template.Spec)
	}
	CreateDeployment(t, cs, ns, dep)
	svcs, err := cs.CoreV1().Services(ns).List(t.Context(), metav1.ListOptions{})
	require.NoError(t, err)

	opts := signals.ProbeOptions{Rounds: 3, Dial: dialled.dial(ns)}
	prober := signals.NewServiceProber(opts, d, svcs.Items)
	rec := signals.NewRecorder(cs, signals.Options{})
	sel := labels.SelectorFromSet(dep.Spec.Selector.MatchLabels)
	r, err := rec.Record(t.Context(), signals.Target{Namespace: ns, Selector: sel, Duration: d, Start: start, Prober: prober}, nil)
	require.NoError(t, err)
	for _, p := range r.Pods {
		pod, err := cs.CoreV1().Pods(ns).Get(t.Context(), p.Name, metav1.GetOptions{})
		if err == nil {
			dialled.podIP(ns, pod.Status.PodIP)
		}
	}
	return r
}

// spDials logs every address the probers dial, per namespace, and the IPs
// of the pods recorded there.
type spDials struct {
	mu     sync.Mutex
	dials  map[string][]string
	podIPs map[string]map[string]bool
}

func (s *spDials) dial(ns string) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		s.mu.Lock()
		if s.dials == nil {
			s.dials = map[string][]string{}
		}
		s.dials[ns] = append(s.dials[ns], addr)
		s.mu.Unlock()
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}
}

func (s *spDials) podIP(ns, ip string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.podIPs == nil {
		s.podIPs = map[string]map[string]bool{}
	}
	if s.podIPs[ns] == nil {
		s.podIPs[ns] = map[string]bool{}
	}
	s.podIPs[ns][ip] = true
}

func readOnlyRoot(spec *corev1.PodSpec) {
	for i := range spec.Containers {
		if spec.Containers[i].SecurityContext == nil {
			spec.Containers[i].SecurityContext = &corev1.SecurityContext{}
		}
		spec.Containers[i].SecurityContext.ReadOnlyRootFilesystem = ptr.To(true)
	}
}

func spResult(v oracle.Verdict, id string) oracle.TestResult {
	for _, r := range v.Tests {
		if r.ID == id {
			return r
		}
	}
	return oracle.TestResult{}
}

// passWithout reports whether the verdict passes when TC-05 is ignored.
func passWithout(v oracle.Verdict, id string) bool {
	for _, r := range v.Tests {
		if r.ID != id && r.Hard && !r.Pass {
			return false
		}
	}
	return true
}

// TestServiceProbes records each scenario workload twice as baselines,
// once unmodified and once under readOnlyRootFilesystem, probing its ports,
// and judges both trials. conn-spool and http-500 stay Ready and log
// nothing new under a read-only root: only TC-05 catches them.
func TestServiceProbes(t *testing.T) {
	cs := KubeClient(t)
	d := envDuration(t, "CINCH_E2E_PROBE_DURATION", 30*time.Second)
	tests := []struct {
		workload string
		// roPass is whether TC-05 passes under readOnlyRootFilesystem;
		// port is the port whose answer changes.
		roPass bool
		port   int32
		judged int
	}{
		{workload: "scenario-conn-spool", port: 7000, judged: 2},
		{workload: "scenario-http-500", port: 8081, judged: 2},
		{workload: "scenario-fine", roPass: true, judged: 1},
		{workload: "nginx-unprivileged-tmp", roPass: true, judged: 1},
	}
	for _, tt := range tests {
		t.Run(tt.workload, func(t *testing.T) {
			var dials spDials
			recs := make([]oracle.Recording, 4)
			var wg sync.WaitGroup
			for i := range recs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					var mutate func(*corev1.PodSpec)
					if i == 3 {
						mutate = readOnlyRoot
					}
					recs[i] = spRun(t, cs, tt.workload, mutate, d, &dials)
				}()
			}
			wg.Wait()
			require.False(t, t.Failed())
			for i, r := range recs {
				require.NotEmpty(t, r.Probes, "run %d was never probed", i)
			}

			cfg := oracle.DefaultConfig()
			base := [2]oracle.Recording{recs[0], recs[1]}
			unmod := oracle.Judge(cfg, base, recs[2])
			ro := oracle.Judge(cfg, base, recs[3])
			cmp := oracle.CompareServices(cfg, base, recs[2])
			t.Logf("%s unmodified: pass=%v (without TC-05: %v) TC-05: %s", tt.workload, unmod.Pass, passWithout(unmod, oracle.TestServices), spResult(unmod, oracle.TestServices).Reason)
			t.Logf("%s read-only root: pass=%v (without TC-05: %v) TC-05: %s %+v", tt.workload, ro.Pass, passWithout(ro, oracle.TestServices), spResult(ro, oracle.TestServices).Reason, spResult(ro, oracle.TestServices).Evidence)

			assert.Equal(t, tt.judged, cmp.Judged, "judged targets: %s", spResult(unmod, oracle.TestServices).Reason)
			assert.True(t, spResult(unmod, oracle.TestServices).Pass, "TC-05 must pass the unmodified workload")
			assert.True(t, unmod.Pass, "the unmodified workload must pass: %+v", unmod.Tests)
			r := spResult(ro, oracle.TestServices)
			assert.Equal(t, tt.roPass, r.Pass)
			if !tt.roPass {
				assert.True(t, passWithout(ro, oracle.TestServices), "only TC-05 catches %s: %+v", tt.workload, ro.Tests)
				require.NotEmpty(t, r.Evidence)
				assert.Equal(t, tt.port, r.Evidence[0].Port)
				assert.NotEmpty(t, r.Evidence[0].Baseline)
				assert.NotEqual(t, r.Evidence[0].Baseline, r.Evidence[0].Example)
			}

			t.Run("probes go to the pods' own IPs only", func(t *testing.T) {
				dials.mu.Lock()
				defer dials.mu.Unlock()
				require.NotEmpty(t, dials.dials)
				for ns, addrs := range dials.dials {
					for _, a := range addrs {
						ap, err := netip.ParseAddrPort(a)
						require.NoError(t, err)
						assert.True(t, podCIDR.Contains(ap.Addr()), "%s outside the pod network", a)
						assert.True(t, dials.podIPs[ns][ap.Addr().String()], "%s is not a pod of %s (%v)", a, ns, dials.podIPs[ns])
					}
				}
			})
		})
	}
}
