package clone

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

func refsOf(waves [][]target) [][]string {
	out := make([][]string, len(waves))
	for i, w := range waves {
		for _, t := range w {
			out[i] = append(out[i], t.ref.Name)
		}
	}
	return out
}

func TestStartWaves(t *testing.T) {
	d := func(n string) Ref { return Ref{Kind: KindDeployment, Name: n} }
	ts := func(names ...string) []target {
		out := make([]target, len(names))
		for i, n := range names {
			out[i] = target{ref: d(n)}
		}
		return out
	}
	tests := []struct {
		name  string
		tgts  []target
		after map[Ref][]Ref
		want  [][]string
	}{
		{"no dependencies: one wave", ts("a", "b"), nil, [][]string{{"a", "b"}}},
		{"chain", ts("web", "api", "db"), map[Ref][]Ref{d("web"): {d("api"), d("db")}, d("api"): {d("db")}},
			[][]string{{"db"}, {"api"}, {"web"}}},
		{"dependency on a copy does not delay", ts("web"), map[Ref][]Ref{d("web"): {d("copy")}}, [][]string{{"web"}}},
		{"self and cycle start together last", ts("a", "b", "c"),
			map[Ref][]Ref{d("a"): {d("a"), d("b")}, d("b"): {d("a")}},
			[][]string{{"c"}, {"a", "b"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, refsOf(startWaves(tc.tgts, tc.after)))
		})
	}
}

// TestCreateWithStartsDependenciesFirst: the frontend is created only once
// its backend has a Ready pod; a dependency that never becomes Ready delays
// its dependents by StartWait at most.
func TestCreateWithStartsDependenciesFirst(t *testing.T) {
	deploy := func(name string) *appsv1.Deployment {
		lbl := map[string]string{"app": name}
		return &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop"},
			Spec: appsv1.DeploymentSpec{
				Selector: &metav1.LabelSelector{MatchLabels: lbl},
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: lbl},
					Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "i"}}},
				},
			},
		}
	}
	for _, ready := range []bool{true, false} {
		name := map[bool]string{true: "dependency becomes Ready", false: "dependency never Ready"}[ready]
		t.Run(name, func(t *testing.T) {
			cs := fake.NewClientset(
				&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop"}},
				&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n"}},
				deploy("web"), deploy("zapi"), deploy("cache"))
			var (
				mu      sync.Mutex
				created []string
			)
			cs.PrependReactor("create", "deployments", func(a k8stesting.Action) (bool, runtime.Object, error) {
				d := a.(k8stesting.CreateAction).GetObject().(*appsv1.Deployment)
				if a.GetNamespace() == "shop" {
					return false, nil, nil
				}
				mu.Lock()
				created = append(created, d.Name)
				mu.Unlock()
				if ready {
					pod := &corev1.Pod{
						ObjectMeta: metav1.ObjectMeta{Name: d.Name + "-1", Namespace: a.GetNamespace(), Labels: d.Spec.Template.Labels},
						Status:     corev1.PodStatus{Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}},
					}
					go func() {
						_, _ = cs.CoreV1().Pods(pod.Namespace).Create(context.Background(), pod, metav1.CreateOptions{})
					}()
				}
				return false, nil, nil
			})
			opts := DefaultOptions()
			opts.DenyEgress = false
			opts.StartWait = time.Hour
			if !ready {
				opts.StartWait = time.Second
			}
			c := New(cs, opts)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			fe, be := Ref{KindDeployment, "web"}, Ref{KindDeployment, "zapi"}
			tmpls := map[Ref]*corev1.PodTemplateSpec{
				fe: &deploy("web").Spec.Template,
				be: &deploy("zapi").Spec.Template,
			}
			cl, err := c.CreateWith(ctx, "shop", "t", Spec{Templates: tmpls, StartAfter: map[Ref][]Ref{fe: {be, {KindDeployment, "cache"}}}})
			require.NoError(t, err)
			assert.Equal(t, 3, cl.Pods)
			mu.Lock()
			defer mu.Unlock()
			// The copy first, then the backend, then (once it is Ready, or
			// after StartWait) the frontend.
			assert.Equal(t, []string{"cache", "zapi", "web"}, created)
		})
	}
}

// TestCreateWithCopies: a clone runs only the copies its spec names (nil:
// every workload of the namespace).
func TestCreateWithCopies(t *testing.T) {
	deploy := func(name string) *appsv1.Deployment {
		lbl := map[string]string{"app": name}
		return &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop"},
			Spec: appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{MatchLabels: lbl}, Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: lbl}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "i"}}},
			}},
		}
	}
	for _, tc := range []struct {
		name   string
		copies map[Ref]bool
		want   []string
	}{
		{"every workload", nil, []string{"api", "cache", "web"}},
		{"what it depends on", map[Ref]bool{{KindDeployment, "api"}: true}, []string{"api", "web"}},
		{"nothing else", map[Ref]bool{}, []string{"web"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cs := fake.NewClientset(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop"}},
				&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n"}}, deploy("web"), deploy("api"), deploy("cache"))
			opts := DefaultOptions()
			opts.DenyEgress = false
			web := Ref{KindDeployment, "web"}
			cl, err := New(cs, opts).CreateWith(t.Context(), "shop", "t", Spec{
				Templates: map[Ref]*corev1.PodTemplateSpec{web: &deploy("web").Spec.Template}, Copies: tc.copies,
			})
			require.NoError(t, err)
			ds, err := cs.AppsV1().Deployments(cl.Namespace).List(t.Context(), metav1.ListOptions{})
			require.NoError(t, err)
			var got []string
			for _, d := range ds.Items {
				got = append(got, d.Name)
			}
			assert.ElementsMatch(t, tc.want, got)
			assert.Equal(t, len(tc.want), cl.Pods)
			assert.Len(t, cl.Workloads, len(tc.want))
		})
	}
}
