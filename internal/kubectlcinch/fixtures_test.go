package kubectlcinch

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/cinch-dev/cinch/pkg/hardening"
	"github.com/cinch-dev/cinch/pkg/oracle"
)

var verifiedAt = time.Date(2026, 12, 4, 8, 0, 0, 0, time.UTC)

// deployment returns a Deployment "web" in "shop" with one container
// "app" and the given annotations.
func deployment(ann map[string]string) *appsv1.Deployment {
	labels := map[string]string{"app": "web"}
	return &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop", ResourceVersion: "42", UID: "uid-web", Annotations: ann},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name: "app", Image: "nginx",
					Ports: []corev1.ContainerPort{{ContainerPort: 8080}},
				}}},
			},
		},
	}
}

// load reads obj as the dynamic client would.
func load(t *testing.T, obj any) Workload {
	t.Helper()
	b, err := json.Marshal(obj)
	require.NoError(t, err)
	u := &unstructured.Unstructured{}
	require.NoError(t, u.UnmarshalJSON(b))
	k, err := lookupKind(u.GetKind())
	require.NoError(t, err)
	w, err := workloadOf(k, u)
	require.NoError(t, err)
	return w
}

// fullRecommendation is what Combine makes of every check passing but
// read-only-root-filesystem and drop-all-capabilities, with CHOWN, SETGID
// and SETUID added back for "app" (see checksWithEvidence).
func fullRecommendation(t *testing.T, d *appsv1.Deployment) hardening.Recommendation {
	t.Helper()
	var ids []hardening.CheckID
	for _, id := range hardening.AllChecks() {
		if id != hardening.CheckDropAllCapabilities && id != hardening.CheckReadOnlyRootFilesystem {
			ids = append(ids, id)
		}
	}
	return hardening.Combine(&d.Spec.Template, ids, hardening.DefaultOptions(),
		map[string][]corev1.Capability{"app": {"CHOWN", "SETGID", "SETUID"}})
}

func mustJSON(t *testing.T, v any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}

// checksWithEvidence are trials of a workload that needed three
// capabilities and cannot have a read-only root filesystem.
func checksWithEvidence(t *testing.T) []hardening.CheckResult {
	t.Helper()
	logs := []oracle.TestResult{{ID: oracle.TestLogs, Name: oracle.NameLogs, Hard: true, Reason: "1 new log template", Evidence: []oracle.Evidence{{
		Container: "app", Reason: "NewTemplate", Count: 12,
		Template: `open() "<*>" failed (30: Read-only file system)`,
		Example:  `2026/12/04 08:00:01 [emerg] 1#1: open() "/var/cache/nginx/client_temp" failed (30: Read-only file system)`,
	}}}}
	restarts := []oracle.TestResult{{ID: oracle.TestStability, Name: oracle.NameStability, Hard: true, Reason: "app: Restarts (restarted 3 times, baselines at most 0)", Evidence: []oracle.Evidence{{
		Pod: "web-abc", Container: "app", Reason: "Restarts", Message: "restarted 3 times, baselines at most 0",
	}}}}
	service := []oracle.TestResult{{ID: oracle.TestServices, Name: oracle.NameServices, Hard: true, Reason: "port 8080 answered differently", Evidence: []oracle.Evidence{{
		Pod: "web-abc", Container: "app", Reason: oracle.ReasonChangedAnswer, Port: 8080, Path: "/",
		Baseline: "HTTP/1.1 200", Template: "HTTP/1.1 500", Example: "HTTP/1.1 500", Count: 4,
	}}}}
	return []hardening.CheckResult{
		{Trial: "baseline-1", Pass: true, Reason: "baseline: the unmodified workload"},
		{Trial: "baseline-2", Pass: true, Reason: "baseline: the unmodified workload"},
		{Trial: "everything", Pass: false, Reason: "logs: 1 new log template", Evidence: mustJSON(t, logs)},
		{ID: hardening.CheckRunAsNonRoot, Trial: "non-root", Pass: true, Reason: "all hard tests passed"},
		{ID: hardening.CheckReadOnlyRootFilesystem, Trial: "ro-rootfs", Pass: false, Reason: "logs: 1 new log template", Evidence: mustJSON(t, logs)},
		{ID: hardening.CheckDropAllCapabilities, Trial: "drop-caps", Pass: false, Reason: "stability: app: Restarts", Evidence: mustJSON(t, restarts)},
		{ID: hardening.CheckDropAllCapabilities, Trial: "caps-c0-no-chown", Pass: false, Reason: "service-answers: port 8080 answered differently", Evidence: mustJSON(t, service)},
		{ID: hardening.CheckDropAllCapabilities, Trial: "caps-c0-no-kill", Pass: true, Reason: "all hard tests passed"},
		{ID: hardening.CheckDropAllCapabilities, Trial: "caps-c0-no-rare", Pass: true, Reason: "all hard tests passed"},
		{ID: hardening.CheckDropAllCapabilities, Trial: "caps-c0-no-setuid", Pass: false, Reason: "stability: app: Restarts", Evidence: mustJSON(t, restarts)},
		{ID: hardening.CheckDropAllCapabilities, Trial: "caps-c0-need-setgid", Pass: true, Reason: "all hard tests passed"},
		{Trial: "combination", Pass: true, Reason: "all hard tests passed with run-as-non-root, no-privilege-escalation"},
	}
}

// verified returns the annotations of a Verified result for d's template.
func verified(t *testing.T, d *appsv1.Deployment, rec hardening.Recommendation, checks []hardening.CheckResult) map[string]string {
	t.Helper()
	r, err := hardening.EncodeRecommendation(rec)
	require.NoError(t, err)
	c, err := hardening.EncodeChecks(checks)
	require.NoError(t, err)
	lvl, err := hardening.PodSecurityLevel(rec.Apply(&d.Spec.Template))
	require.NoError(t, err)
	return map[string]string{
		hardening.AnnotationStatus:           string(hardening.StatusVerified),
		hardening.AnnotationTemplateHash:     hardening.TemplateHash(&d.Spec.Template),
		hardening.AnnotationRecommendation:   r,
		hardening.AnnotationChecks:           c,
		hardening.AnnotationPodSecurityLevel: lvl,
		hardening.AnnotationVerifiedAt:       verifiedAt.Format(time.RFC3339),
	}
}

// failed returns the annotations of a Failed result for d's template.
func failed(t *testing.T, d *appsv1.Deployment, checks []hardening.CheckResult) map[string]string {
	t.Helper()
	c, err := hardening.EncodeChecks(checks)
	require.NoError(t, err)
	return map[string]string{
		hardening.AnnotationStatus:       string(hardening.StatusFailed),
		hardening.AnnotationTemplateHash: hardening.TemplateHash(&d.Spec.Template),
		hardening.AnnotationChecks:       c,
	}
}
