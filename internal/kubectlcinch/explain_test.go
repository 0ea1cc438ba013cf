package kubectlcinch

import (
	"bytes"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestExplainVerified(t *testing.T) {
	base := deployment(nil)
	rec := fullRecommendation(t, base)
	w := load(t, deployment(verified(t, base, rec, checksWithEvidence(t))))
	events := []corev1.Event{{
		Type: corev1.EventTypeNormal, Reason: "HardeningVerified", Message: "recommendation verified",
		LastTimestamp: metav1.NewTime(verifiedAt),
	}}
	var b bytes.Buffer
	require.NoError(t, Explain(&b, w, events, verifiedAt.Add(time.Hour)))
	out := b.String()
	if os.Getenv("SHOW") != "" {
		t.Log("\n" + out)
	}
	for _, want := range []string{
		"Deployment shop/web",
		"Status:        Verified: a recommendation for the current template",
		"the verified recommendation reaches baseline; the template as it is reaches baseline",
		"Hardened:      no,",
		`container "app": runAsNonRoot is unset, recommended true`,
		"Verified at:   2026-12-04T08:00:00Z (60m ago)",
		"PASS  baseline-1           baseline: the unmodified workload",
		"FAIL  ro-rootfs            read-only-root-filesystem: readOnlyRootFilesystem=true",
		`new log template, 12 line(s) (container app): open() "<*>" failed (30: Read-only file system)`,
		`example: 2026/12/04 08:00:01 [emerg] 1#1: open() "/var/cache/nginx/client_temp" failed (30: Read-only file system)`,
		"restarts: restarted 3 times, baselines at most 0 (container app, pod web-abc)",
		`FAIL  caps-c0-no-chown     capability search, container "app": drop ALL, add back every default capability except CHOWN`,
		`port 8080 / answered differently (container app, pod web-abc), 4 times`,
		`before (baselines): "HTTP/1.1 200"`,
		`after (trial):      "HTTP/1.1 500"`,
		"dropping ALL capabilities failed (trial drop-caps: stability: app: Restarts); Cinch searched for the smallest set to add back (4 trials)",
		`container "app": drops ALL, adds back CHOWN, SETGID, SETUID`,
		"CHOWN: needed: without it the workload failed (trial caps-c0-no-chown: service-answers: port 8080 answered differently)",
		"SETGID: needed together with the necessary ones: adding it made them work (trial caps-c0-need-setgid)",
		"SETUID: needed: without it the workload failed (trial caps-c0-no-setuid: stability: app: Restarts)",
		"Recommendation (cinch.dev/recommendation, complete securityContexts):",
		"Use it: kubectl cinch apply deployment/web -n shop",
		"HardeningVerified: recommendation verified",
	} {
		assert.Contains(t, out, want)
	}
}

func TestExplainNoResultAndOutdated(t *testing.T) {
	var b bytes.Buffer
	require.NoError(t, Explain(&b, load(t, deployment(nil)), nil, verifiedAt))
	assert.Contains(t, b.String(), "None: Cinch has no result for this workload yet")
	assert.NotContains(t, b.String(), "Trials")

	base := deployment(nil)
	changed := deployment(failed(t, base, checksWithEvidence(t)[:3]))
	changed.Spec.Template.Spec.Containers[0].Image = "nginx:2"
	b.Reset()
	require.NoError(t, Explain(&b, load(t, changed), nil, verifiedAt))
	assert.Contains(t, b.String(), "Outdated: the result (Failed) belongs to pod template")
	assert.Contains(t, b.String(), "they ran on an earlier pod template")
	assert.Contains(t, b.String(), "FAIL  everything           every planned check at once")
}
