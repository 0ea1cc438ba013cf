package kubectlcinch

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cinch-dev/cinch/pkg/hardening"
)

func TestNewRow(t *testing.T) {
	base := deployment(nil)
	rec := fullRecommendation(t, base)
	checks := checksWithEvidence(t)

	hardenedD := deployment(nil)
	hardenedD.Spec.Template = *rec.Apply(&base.Spec.Template)
	hardenedD.Annotations = verified(t, base, rec, checks)
	hardenedD.Annotations[hardening.AnnotationEnforcedTemplateHash] = hardening.TemplateHash(&hardenedD.Spec.Template)

	changed := deployment(verified(t, base, rec, checks))
	changed.Spec.Template.Spec.Containers[0].Image = "nginx:2"

	tests := []struct {
		name         string
		w            Workload
		wantStatus   string
		wantLevel    string
		wantHardened bool
		wantFailed   []string
		wantProblem  string
	}{
		{name: "no result", w: load(t, deployment(nil)), wantStatus: StatusNone, wantFailed: []string{}},
		{name: "running", w: load(t, deployment(map[string]string{
			hardening.AnnotationStatus: "Running", hardening.AnnotationTemplateHash: hardening.TemplateHash(&base.Spec.Template),
		})), wantStatus: "Running", wantFailed: []string{}},
		{name: "verified, not applied", w: load(t, deployment(verified(t, base, rec, checks))),
			wantStatus: "Verified", wantLevel: "baseline", wantFailed: []string{"read-only-root-filesystem", "drop-all-capabilities"}},
		{name: "verified and enforced", w: load(t, hardenedD),
			wantStatus: "Verified", wantLevel: "baseline", wantHardened: true, wantFailed: []string{"read-only-root-filesystem", "drop-all-capabilities"}},
		{name: "template changed", w: load(t, changed), wantStatus: StatusOutdated, wantFailed: []string{}},
		{name: "failed", w: load(t, deployment(failed(t, base, checks[:3]))), wantStatus: "Failed", wantFailed: []string{}},
		{name: "unreadable", w: load(t, deployment(map[string]string{
			hardening.AnnotationStatus: "Verified", hardening.AnnotationTemplateHash: hardening.TemplateHash(&base.Spec.Template),
			hardening.AnnotationRecommendation: "{", hardening.AnnotationChecks: `{"version":1,"checks":[]}`,
		})), wantStatus: "Verified", wantFailed: []string{}, wantProblem: "malformed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewRow(tt.w)
			assert.Equal(t, tt.wantStatus, r.Status)
			assert.Equal(t, tt.wantLevel, r.Level)
			assert.Equal(t, tt.wantHardened, r.Hardened)
			assert.Equal(t, tt.wantFailed, r.FailedChecks)
			assert.Equal(t, hardening.LevelBaseline, r.TemplateLevel, "nginx as it is")
			if tt.wantProblem == "" {
				assert.Empty(t, r.Problem)
			} else {
				assert.Contains(t, r.Problem, tt.wantProblem)
			}
		})
	}
}

func TestNewRowVerifiedDetails(t *testing.T) {
	base := deployment(nil)
	rec := fullRecommendation(t, base)
	r := NewRow(load(t, deployment(verified(t, base, rec, checksWithEvidence(t)))))
	require.NotNil(t, r.VerifiedAt)
	assert.Equal(t, verifiedAt, r.VerifiedAt.UTC())
	assert.Equal(t, map[string][]string{"app": {"CHOWN", "SETGID", "SETUID"}}, r.AddBack)
	assert.NotEmpty(t, r.Weaker)
	assert.Equal(t, hardening.TemplateHash(&base.Spec.Template), r.TemplateHash)
	assert.Equal(t, r.TemplateHash, r.ResultTemplateHash)
}

func TestJudge(t *testing.T) {
	tests := []struct {
		name string
		row  Row
		want string
		v    Verdict
	}{
		{"template already restricted", Row{Status: StatusNone, TemplateLevel: "restricted"}, "restricted", Reached},
		{"verified restricted", Row{Status: "Verified", Level: "restricted", TemplateLevel: "baseline"}, "restricted", Reached},
		{"verified baseline", Row{Status: "Verified", Level: "baseline", TemplateLevel: "privileged"}, "restricted", Below},
		{"verified baseline, want baseline", Row{Status: "Verified", Level: "baseline", TemplateLevel: "privileged"}, "baseline", Reached},
		{"failed", Row{Status: "Failed", TemplateLevel: "baseline"}, "restricted", Below},
		{"failed but template enough", Row{Status: "Failed", TemplateLevel: "baseline"}, "baseline", Reached},
		{"no result", Row{Status: StatusNone, TemplateLevel: "baseline"}, "restricted", Undecided},
		{"running", Row{Status: "Running", TemplateLevel: "privileged"}, "baseline", Undecided},
		{"outdated", Row{Status: StatusOutdated, ResultStatus: "Verified", Level: "", TemplateLevel: "baseline"}, "restricted", Undecided},
		{"verified, level unreadable", Row{Status: "Verified", Level: "", TemplateLevel: "baseline"}, "restricted", Below},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.v, Judge(tt.row, tt.want), tt.name)
	}
}

func TestGate(t *testing.T) {
	ok := Row{Namespace: "a", Kind: "Deployment", Name: "ok", Status: "Verified", Level: "restricted", TemplateLevel: "baseline"}
	low := Row{Namespace: "a", Kind: "Deployment", Name: "low", Status: "Verified", Level: "baseline", TemplateLevel: "baseline"}
	none := Row{Namespace: "a", Kind: "StatefulSet", Name: "new", Status: StatusNone, TemplateLevel: "baseline"}

	assert.NoError(t, gate([]Row{ok}, "restricted"))
	assert.NoError(t, gate(nil, "restricted"))

	err := gate([]Row{ok, low, none}, "restricted")
	var ee *exitError
	require.ErrorAs(t, err, &ee)
	assert.Equal(t, ExitNotMet, ee.code)
	assert.Contains(t, err.Error(), "Deployment/a/low (verified baseline)")

	err = gate([]Row{ok, none}, "restricted")
	require.ErrorAs(t, err, &ee)
	assert.Equal(t, ExitUndecided, ee.code)
	assert.Contains(t, err.Error(), "StatefulSet/a/new (None, template baseline)")
}

func TestPrintStatus(t *testing.T) {
	base := deployment(nil)
	rec := fullRecommendation(t, base)
	rows := Rows([]Workload{
		load(t, deployment(verified(t, base, rec, checksWithEvidence(t)))),
		func() Workload {
			d := deployment(nil)
			d.Name = "api"
			return load(t, d)
		}(),
		func() Workload {
			d := deployment(map[string]string{hardening.LabelHarden: hardening.HardenDisabled})
			d.Name = "legacy"
			return load(t, d)
		}(),
	})
	require.Len(t, rows, 2, "the opted-out workload has no row")
	now := verifiedAt.Add(3 * time.Hour)

	var b bytes.Buffer
	require.NoError(t, PrintStatus(&b, rows, OutputTable, false, now))
	want := `KIND         NAME   STATUS     LEVEL      HARDENED   VERIFIED   FAILED-CHECKS
Deployment   api    None       <none>     -          <none>     <none>
Deployment   web    Verified   baseline   no         3h         read-only-root-filesystem,drop-all-capabilities
`
	assert.Equal(t, want, b.String())

	b.Reset()
	require.NoError(t, PrintStatus(&b, rows, OutputWide, true, now))
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	require.Len(t, lines, 3)
	assert.True(t, strings.HasPrefix(lines[0], "NAMESPACE   KIND"), lines[0])
	assert.Contains(t, lines[0], "TEMPLATE-LEVEL")
	assert.Contains(t, lines[2], "app:CHOWN+SETGID+SETUID")
	assert.Contains(t, lines[2], "2026-12-04T08:00:00Z")

	b.Reset()
	require.NoError(t, PrintStatus(&b, rows, OutputJSON, false, now))
	var got StatusList
	require.NoError(t, json.Unmarshal(b.Bytes(), &got))
	assert.Equal(t, rows[1].Name, got.Workloads[1].Name)
	assert.True(t, strings.Contains(b.String(), `"failedChecks": []`), "an empty list, not null")

	b.Reset()
	require.NoError(t, PrintStatus(&b, nil, OutputYAML, false, now))
	assert.Equal(t, "workloads: []\n", b.String())

	assert.Error(t, PrintStatus(&b, rows, "name", false, now))
}

func TestAge(t *testing.T) {
	now := verifiedAt
	for d, want := range map[time.Duration]string{
		-time.Second: "0s", 30 * time.Second: "30s", 5 * time.Minute: "5m", 3 * time.Hour: "3h", 72 * time.Hour: "3d",
	} {
		at := now.Add(-d)
		assert.Equal(t, want, age(&at, now), d)
	}
	assert.Equal(t, "<none>", age(nil, now))
}
