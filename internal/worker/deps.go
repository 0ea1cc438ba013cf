package worker

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"

	"github.com/cinch-dev/cinch/internal/pipeline"
	"github.com/cinch-dev/cinch/internal/results"
	"github.com/cinch-dev/cinch/pkg/hardening"
)

// Dependencies guesses which workloads of namespace ns each workload of run
// may talk to (see DependsOn), reading the namespace's workloads, Services,
// ConfigMaps and Secrets. Secret contents are only searched, never kept.
func Dependencies(ctx context.Context, cs kubernetes.Interface, ns string, run []results.Workload) (map[pipeline.Ref][]pipeline.Ref, error) {
	all, err := results.List(ctx, cs, ns)
	if err != nil {
		return nil, err
	}
	svcs, err := cs.CoreV1().Services(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list services in %s: %w", ns, err)
	}
	cms, err := cs.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list configmaps in %s: %w", ns, err)
	}
	secrets, err := cs.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list secrets in %s: %w", ns, err)
	}
	// The run's templates are the ones hardened (the listed ones may be newer).
	for i := range all {
		for _, r := range run {
			if r.Ref == all[i].Ref {
				all[i] = r
			}
		}
	}
	deps := DependsOn(all, svcs.Items, cms.Items, secrets.Items)
	out := map[pipeline.Ref][]pipeline.Ref{}
	for _, r := range run {
		pr := pipeline.Ref{Kind: r.Kind, Name: r.Name}
		out[pr] = deps[pr]
	}
	return out, nil
}

// DependsOn returns, for each workload, every other workload it may talk to,
// directly or through others: those behind a Service whose name appears in
// its pod template (commands, arguments, environment values) or in a
// ConfigMap or Secret the template uses. A Job or CronJob may depend on
// others that way; no workload ever depends on a Job or CronJob. It is a guess that errs on the safe
// side: a dependency it misses only makes a failure caused by another
// workload count as the workload's own (less hardening, never a broken
// recommendation). Every workload gets a non-nil slice.
func DependsOn(wls []results.Workload, svcs []corev1.Service, cms []corev1.ConfigMap, secrets []corev1.Secret) map[pipeline.Ref][]pipeline.Ref {
	cmText := map[string]string{}
	for _, c := range cms {
		var b strings.Builder
		for _, v := range c.Data {
			b.WriteString(v + "\n")
		}
		cmText[c.Name] = b.String()
	}
	secretText := map[string]string{}
	for _, s := range secrets {
		var b strings.Builder
		for _, v := range s.Data {
			b.Write(v)
			b.WriteByte('\n')
		}
		for _, v := range s.StringData {
			b.WriteString(v + "\n")
		}
		secretText[s.Name] = b.String()
	}
	// backing[svc] are the long-running workloads a Service selects. A
	// batch workload (Job, CronJob) serves nobody: it may depend on
	// Services, but nothing depends on it, even when a Service's selector
	// happens to match its pods.
	backing := map[string][]pipeline.Ref{}
	for _, s := range svcs {
		if len(s.Spec.Selector) == 0 {
			continue
		}
		sel := labels.SelectorFromSet(s.Spec.Selector)
		for _, w := range wls {
			if hardening.IsBatch(w.Kind) {
				continue
			}
			if sel.Matches(labels.Set(w.Template.Labels)) {
				backing[s.Name] = append(backing[s.Name], pipeline.Ref{Kind: w.Kind, Name: w.Name})
			}
		}
	}
	direct := map[pipeline.Ref][]pipeline.Ref{}
	for _, w := range wls {
		self := pipeline.Ref{Kind: w.Kind, Name: w.Name}
		text := templateText(w.Template, cmText, secretText)
		for svc, refs := range backing {
			if !mentions(text, svc) {
				continue
			}
			for _, r := range refs {
				if r != self {
					direct[self] = append(direct[self], r)
				}
			}
		}
	}
	out := make(map[pipeline.Ref][]pipeline.Ref, len(wls))
	for _, w := range wls {
		self := pipeline.Ref{Kind: w.Kind, Name: w.Name}
		seen := map[pipeline.Ref]bool{self: true}
		closure := []pipeline.Ref{}
		stack := append([]pipeline.Ref(nil), direct[self]...)
		for len(stack) > 0 {
			r := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if seen[r] {
				continue
			}
			seen[r] = true
			closure = append(closure, r)
			stack = append(stack, direct[r]...)
		}
		out[self] = closure
	}
	return out
}

// templateText is every string of t a client address could hide in, with
// the ConfigMaps and Secrets it mounts or reads.
func templateText(t *corev1.PodTemplateSpec, cms, secrets map[string]string) string {
	var b strings.Builder
	add := func(ss ...string) {
		for _, s := range ss {
			b.WriteString(s)
			b.WriteByte('\n')
		}
	}
	for _, v := range t.Spec.Volumes {
		if v.ConfigMap != nil {
			add(cms[v.ConfigMap.Name])
		}
		if v.Secret != nil {
			add(secrets[v.Secret.SecretName])
		}
		if v.Projected != nil {
			for _, src := range v.Projected.Sources {
				if src.ConfigMap != nil {
					add(cms[src.ConfigMap.Name])
				}
				if src.Secret != nil {
					add(secrets[src.Secret.Name])
				}
			}
		}
	}
	for _, c := range append(append([]corev1.Container(nil), t.Spec.InitContainers...), t.Spec.Containers...) {
		add(c.Command...)
		add(c.Args...)
		for _, e := range c.Env {
			add(e.Value)
			if e.ValueFrom != nil && e.ValueFrom.ConfigMapKeyRef != nil {
				add(cms[e.ValueFrom.ConfigMapKeyRef.Name])
			}
			if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
				add(secrets[e.ValueFrom.SecretKeyRef.Name])
			}
		}
		for _, e := range c.EnvFrom {
			if e.ConfigMapRef != nil {
				add(cms[e.ConfigMapRef.Name])
			}
			if e.SecretRef != nil {
				add(secrets[e.SecretRef.Name])
			}
		}
	}
	return b.String()
}

// mentions reports whether name occurs in text as a whole DNS name label:
// not inside a longer name ("backend" is not in "backend-2" or "mybackend").
func mentions(text, name string) bool {
	isName := func(c byte) bool {
		return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c >= 'A' && c <= 'Z' || c == '_'
	}
	for i := 0; ; {
		k := strings.Index(text[i:], name)
		if k < 0 {
			return false
		}
		start, end := i+k, i+k+len(name)
		if (start == 0 || !isName(text[start-1])) && (end == len(text) || !isName(text[end])) {
			return true
		}
		i = start + 1
	}
}
