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

	"github.com/cinch-dev/cinch/pkg/hardening"
	"github.com/cinch-dev/cinch/pkg/oracle"
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
		`PASS  caps-c0-no-rare      capability search, container "app": drop ALL, add back every default capability except the rarely needed FSETID, SETPCAP, NET_RAW, SYS_CHROOT, MKNOD, AUDIT_WRITE, SETFCAP`,
		`port 8080 / answered differently (container app, pod web-abc), 4 times`,
		`before (baselines): "HTTP/1.1 200"`,
		`after (trial):      "HTTP/1.1 500"`,
		"dropping ALL capabilities failed (trial drop-caps: stability: app: Restarts); Cinch searched for the smallest set to add back (5 trials)",
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

// TestExplainAppMetrics: a trial that failed TC-06 on an error rate shows
// the whole evidence: the series and its endpoint, how much it rose in how
// long, the baselines' rates and the band.
func TestExplainAppMetrics(t *testing.T) {
	const msg = "app_cache_write_errors_total on :8081/metrics rose by 9 in 14s (0.661/s) in the trial; 0/s and 0/s in the baselines (band up to 0.05/s)"
	tc06 := oracle.MetricsComparison{Endpoints: 1, Series: 2, Failed: 1, Evidence: []oracle.Evidence{{
		Container: "app", Reason: oracle.ReasonErrorRate, Path: ":8081/metrics", Metric: "app_cache_write_errors_total", Value: 0.661, High: 0.05, Message: msg,
	}}}.Result()
	checks := []hardening.CheckResult{
		{Trial: "baseline-1", Pass: true, Reason: "baseline: the unmodified workload"},
		{Trial: "baseline-2", Pass: true, Reason: "baseline: the unmodified workload"},
		{ID: hardening.CheckReadOnlyRootFilesystem, Trial: "ro-rootfs", Pass: false, Reason: tc06.Name + ": " + tc06.Reason, Evidence: mustJSON(t, []oracle.TestResult{tc06})},
	}
	var b bytes.Buffer
	require.NoError(t, Explain(&b, load(t, deployment(failed(t, deployment(nil), checks))), nil, verifiedAt))
	assert.Contains(t, b.String(), "failed TC-06 app-metrics: 1 of 2 error-like series rose faster than in the baselines\n")
	assert.Contains(t, b.String(), "          - "+msg+" (container app)\n")
}
