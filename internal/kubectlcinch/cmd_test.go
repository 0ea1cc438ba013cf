package kubectlcinch

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/rest"

	"github.com/cinch-dev/cinch/pkg/hardening"
)

// fakeCluster is a hand-written cluster of namespaces and workloads.
type fakeCluster struct {
	namespaces map[string]map[string]string
	workloads  []Workload
	patches    []bool // dryRun of each Patch call
}

var _ cluster = (*fakeCluster)(nil)

func (f *fakeCluster) Namespace(_ context.Context, ns string) (map[string]string, error) {
	l, ok := f.namespaces[ns]
	if !ok {
		return nil, apierrors.NewNotFound(schema.GroupResource{Resource: "namespaces"}, ns)
	}
	return l, nil
}

func (f *fakeCluster) OptedInNamespaces(context.Context) ([]string, error) {
	var out []string
	for ns, l := range f.namespaces {
		if hardening.NamespaceOptedIn(l) {
			out = append(out, ns)
		}
	}
	return out, nil
}

func (f *fakeCluster) Get(_ context.Context, ns string, t Target) (Workload, error) {
	for _, w := range f.workloads {
		if w.Namespace == ns && w.Kind == t.Kind && w.Name == t.Name {
			return w, nil
		}
	}
	return Workload{}, apierrors.NewNotFound(schema.GroupResource{Group: "apps", Resource: "deployments"}, t.Name)
}

func (f *fakeCluster) List(_ context.Context, ns string) ([]Workload, error) {
	var out []Workload
	for _, w := range f.workloads {
		if ns == "" || w.Namespace == ns {
			out = append(out, w)
		}
	}
	return out, nil
}

func (f *fakeCluster) Patch(_ context.Context, w Workload, _ []byte, dryRun bool) (Workload, error) {
	f.patches = append(f.patches, dryRun)
	rec, err := UsableRecommendation(w)
	if err != nil {
		return Workload{}, err
	}
	w.Template = rec.Apply(w.Template)
	return w, nil
}

func (f *fakeCluster) Events(context.Context, Workload) ([]corev1.Event, error) { return nil, nil }

// run runs kubectl-cinch against f with a kubeconfig whose namespace is
// "shop".
func run(t *testing.T, f *fakeCluster, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	kc := filepath.Join(t.TempDir(), "kubeconfig")
	require.NoError(t, os.WriteFile(kc, []byte(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: x, context: {cluster: c, user: u, namespace: shop}}]
current-context: x
`), 0o600))
	var out, errOut bytes.Buffer
	app := &App{
		Streams:    genericiooptions.IOStreams{In: &bytes.Buffer{}, Out: &out, ErrOut: &errOut},
		Now:        func() time.Time { return verifiedAt },
		NewCluster: func(*rest.Config) (cluster, error) { return f, nil },
	}
	code = app.Main(t.Context(), append(args, "--kubeconfig", kc))
	return code, out.String(), errOut.String()
}

func newFake(t *testing.T) *fakeCluster {
	base := deployment(nil)
	rec := fullRecommendation(t, base)
	ok := deployment(verified(t, base, rec, checksWithEvidence(t)))
	other := deployment(nil)
	other.Namespace = "other"
	return &fakeCluster{
		namespaces: map[string]map[string]string{
			"shop":  {hardening.LabelHarden: hardening.HardenEnabled},
			"other": {hardening.LabelHarden: hardening.HardenEnforce},
			"plain": {},
		},
		workloads: []Workload{load(t, ok), load(t, other)},
	}
}

func TestStatusCommand(t *testing.T) {
	f := newFake(t)
	code, out, _ := run(t, f, "status")
	assert.Equal(t, ExitOK, code)
	assert.Contains(t, out, "Deployment   web    Verified")
	assert.NotContains(t, out, "other")

	code, out, _ = run(t, f, "status", "-A")
	assert.Equal(t, ExitOK, code)
	assert.Contains(t, out, "other       Deployment   web    None")
	assert.Contains(t, out, "shop        Deployment   web    Verified")

	code, _, errOut := run(t, f, "status", "-n", "shop", "--fail-below", "baseline")
	assert.Equal(t, ExitOK, code, errOut)
	code, _, errOut = run(t, f, "status", "-n", "shop", "--fail-below", "restricted")
	assert.Equal(t, ExitNotMet, code)
	assert.Contains(t, errOut, "1 workload(s) below restricted: Deployment/shop/web (verified baseline)")
	code, _, _ = run(t, f, "status", "-n", "other", "--fail-below", "restricted")
	assert.Equal(t, ExitUndecided, code)

	code, _, errOut = run(t, f, "status", "-n", "plain")
	assert.Equal(t, ExitError, code)
	assert.Contains(t, errOut, "namespace plain is not opted in to Cinch (label it cinch.dev/harden=enabled)")

	code, _, errOut = run(t, f, "status", "--fail-below", "privileged")
	assert.Equal(t, ExitError, code)
	assert.Contains(t, errOut, "--fail-below")
	code, _, _ = run(t, f, "status", "-o", "name")
	assert.Equal(t, ExitError, code)
}

func TestApplyCommand(t *testing.T) {
	f := newFake(t)
	code, out, errOut := run(t, f, "apply", "deploy/web", "--dry-run=client")
	assert.Equal(t, ExitOK, code, errOut)
	assert.Contains(t, out, "+    allowPrivilegeEscalation: false")
	assert.Contains(t, out, "deployment.apps/web patched (client dry run)")
	assert.Empty(t, f.patches, "a client dry run sends nothing")

	code, out, _ = run(t, f, "apply", "deployment", "web", "--dry-run=server")
	assert.Equal(t, ExitOK, code)
	assert.Contains(t, out, "deployment.apps/web patched (server dry run)")
	code, out, _ = run(t, f, "apply", "deployments/web")
	assert.Equal(t, ExitOK, code)
	assert.Equal(t, "deployment.apps/web patched\n", out)
	assert.Equal(t, []bool{true, false}, f.patches)

	code, _, errOut = run(t, f, "apply", "deploy/web", "-n", "other")
	assert.Equal(t, ExitNotMet, code)
	assert.Contains(t, errOut, "has no Cinch result yet")
	code, _, errOut = run(t, f, "apply", "deploy/missing")
	assert.Equal(t, ExitError, code)
	assert.Contains(t, errOut, "Deployment/missing not found in namespace shop")
	code, _, _ = run(t, f, "apply", "deploy/web", "--dry-run=maybe")
	assert.Equal(t, ExitError, code)
}

func TestDiffAndExplainCommands(t *testing.T) {
	f := newFake(t)
	code, out, _ := run(t, f, "diff", "deploy/web")
	assert.Equal(t, ExitNotMet, code)
	assert.Contains(t, out, "--- deployment/web (current)")
	code, _, errOut := run(t, f, "diff", "deploy/web", "-n", "other")
	assert.Equal(t, ExitError, code)
	assert.Contains(t, errOut, "has no Cinch result yet")

	code, out, _ = run(t, f, "explain", "deploy/web")
	assert.Equal(t, ExitOK, code)
	assert.Contains(t, out, "Trials (12)")
}
