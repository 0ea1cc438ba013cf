package kubectlcinch

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"

	"github.com/cinch-dev/cinch/pkg/hardening"
)

func TestDiff(t *testing.T) {
	base := deployment(nil)
	rec := fullRecommendation(t, base)
	w := load(t, deployment(verified(t, base, rec, checksWithEvidence(t))))
	d, err := Diff(w, rec)
	require.NoError(t, err)
	want := `--- deployment/web (current)
+++ deployment/web (verified recommendation)
@@ -1,3 +1,17 @@
 containers:
-  app: {}
-pod: {}
+  app:
+    allowPrivilegeEscalation: false
+    capabilities:
+      add:
+      - CHOWN
+      - SETGID
+      - SETUID
+      drop:
+      - ALL
+pod:
+  fsGroup: 65532
+  runAsGroup: 65532
+  runAsNonRoot: true
+  runAsUser: 65532
+  seccompProfile:
+    type: RuntimeDefault
`
	assert.Equal(t, want, d)

	// The patched template has nothing weaker than the recommendation.
	after, err := Patched(w, rec)
	require.NoError(t, err)
	assert.Empty(t, hardening.Weaker(rec, after))
	assert.Equal(t, "nginx", after.Spec.Containers[0].Image, "the rest of the template stays")

	// A workload that runs with it has no diff.
	hardenedD := deployment(nil)
	hardenedD.Spec.Template = *after
	d, err = Diff(load(t, hardenedD), rec)
	require.NoError(t, err)
	assert.Empty(t, d)
}

// TestDiffKeepsOtherSettings: a setting the container has that the
// recommendation does not name stays, and an init container is shown.
func TestDiffKeepsOtherSettings(t *testing.T) {
	d := deployment(nil)
	d.Spec.Template.Spec.InitContainers = []corev1.Container{{Name: "setup", Image: "busybox"}}
	d.Spec.Template.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{ProcMount: new(corev1.DefaultProcMount)}
	rec := hardening.Combine(&d.Spec.Template, []hardening.CheckID{hardening.CheckNoPrivilegeEscalation}, hardening.DefaultOptions(), nil)
	after, err := Patched(load(t, d), rec)
	require.NoError(t, err)
	sc := after.Spec.Containers[0].SecurityContext
	require.NotNil(t, sc)
	assert.Equal(t, corev1.DefaultProcMount, *sc.ProcMount)
	assert.False(t, *sc.AllowPrivilegeEscalation)
	y, err := SecurityYAML(after)
	require.NoError(t, err)
	assert.Contains(t, y, "initContainers:\n  setup:\n    allowPrivilegeEscalation: false\n")
}
