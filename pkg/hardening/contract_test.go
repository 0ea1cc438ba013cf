package hardening

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDescribes(t *testing.T) {
	ann := func(status Status, hash, enforced string) map[string]string {
		a := map[string]string{AnnotationStatus: string(status), AnnotationTemplateHash: hash}
		if enforced != "" {
			a[AnnotationEnforcedTemplateHash] = enforced
		}
		return a
	}
	tests := []struct {
		name      string
		ann       map[string]string
		hash      string
		describes bool
	}{
		{name: "verified for the template", ann: ann(StatusVerified, "h1", ""), hash: "h1", describes: true},
		{name: "failed for the template", ann: ann(StatusFailed, "h1", ""), hash: "h1", describes: true},
		{name: "running for the template", ann: ann(StatusRunning, "h1", ""), hash: "h1", describes: true},
		{name: "verified for another template", ann: ann(StatusVerified, "h0", ""), hash: "h1"},
		{name: "enforced form of the verified template", ann: ann(StatusVerified, "h0", "h1"), hash: "h1", describes: true},
		{name: "verified template itself after enforcement", ann: ann(StatusVerified, "h0", "h1"), hash: "h0", describes: true},
		{name: "enforced hash without Verified", ann: ann(StatusPending, "h0", "h1"), hash: "h1"},
		{name: "a third template", ann: ann(StatusVerified, "h0", "h1"), hash: "h2"},
		{name: "no annotations", ann: nil, hash: "h1"},
		{name: "empty hash", ann: ann(StatusVerified, "", ""), hash: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.describes, Describes(tt.ann, tt.hash))
		})
	}
}

func TestKnownKind(t *testing.T) {
	for _, k := range Kinds() {
		assert.True(t, KnownKind(k), k)
	}
	for _, k := range []string{"", "ReplicaSet", "Pod", "deployment", "job"} {
		assert.False(t, KnownKind(k), k)
	}
	assert.Equal(t, []string{"Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob"}, Kinds())
	for k, batch := range map[string]bool{"Deployment": false, "DaemonSet": false, "Job": true, "CronJob": true, "Pod": false} {
		assert.Equal(t, batch, IsBatch(k), k)
	}
	cj, ok := LookupKind(KindCronJob)
	require.True(t, ok)
	assert.Equal(t, "batch/v1", cj.APIVersion())
	assert.Equal(t, []string{"spec", "jobTemplate", "spec", "template"}, cj.TemplatePath)
	cj.TemplatePath[0] = "changed"
	again, _ := LookupKind(KindCronJob)
	assert.Equal(t, "spec", again.TemplatePath[0], "LookupKind hands out copies")
	job, ok := LookupKind(KindJob)
	require.True(t, ok)
	assert.True(t, job.ImmutableTemplate)
	assert.Equal(t, []string{KindCronJob}, job.Owners)
	job.Owners[0] = "changed"
	job, _ = LookupKind(KindJob)
	assert.Equal(t, []string{KindCronJob}, job.Owners, "LookupKind hands out copies")
	for _, k := range Kinds() {
		kind, _ := LookupKind(k)
		for _, o := range kind.Owners {
			assert.True(t, KnownKind(o), "%s: owner %s is a kind of the table", k, o)
		}
		assert.Equal(t, k == KindJob, kind.ImmutableTemplate, k)
	}
}

func TestParseLogNovelty(t *testing.T) {
	for v, want := range map[string]bool{"": false, "strict": false, " tolerate-start-up ": true, LogNoveltyTolerateStartup: true} {
		got, err := ParseLogNovelty(v)
		require.NoError(t, err, v)
		assert.Equal(t, want, got, v)
	}
	for _, v := range []string{"tolerate", "Tolerate-Start-Up", "true"} {
		_, err := ParseLogNovelty(v)
		require.Error(t, err, v)
		assert.Contains(t, err.Error(), AnnotationLogNovelty)
	}
}
