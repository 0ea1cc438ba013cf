package results

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/cinch-dev/cinch/pkg/hardening"
)

func TestDescribesAndDone(t *testing.T) {
	ann := func(status hardening.Status, hash, enforced string) map[string]string {
		a := map[string]string{hardening.AnnotationStatus: string(status), hardening.AnnotationTemplateHash: hash}
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
		done      bool
	}{
		{name: "verified for the template", ann: ann(hardening.StatusVerified, "h1", ""), hash: "h1", describes: true, done: true},
		{name: "failed for the template", ann: ann(hardening.StatusFailed, "h1", ""), hash: "h1", describes: true, done: true},
		{name: "running for the template", ann: ann(hardening.StatusRunning, "h1", ""), hash: "h1", describes: true},
		{name: "verified for another template", ann: ann(hardening.StatusVerified, "h0", ""), hash: "h1"},
		{name: "enforced form of the verified template", ann: ann(hardening.StatusVerified, "h0", "h1"), hash: "h1", describes: true, done: true},
		{name: "verified template itself after enforcement", ann: ann(hardening.StatusVerified, "h0", "h1"), hash: "h0", describes: true, done: true},
		{name: "enforced hash without Verified", ann: ann(hardening.StatusPending, "h0", "h1"), hash: "h1"},
		{name: "a third template", ann: ann(hardening.StatusVerified, "h0", "h1"), hash: "h2"},
		{name: "no annotations", ann: nil, hash: "h1"},
		{name: "empty hash", ann: ann(hardening.StatusVerified, "", ""), hash: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.describes, Describes(tt.ann, tt.hash))
			assert.Equal(t, tt.done, Workload{Annotations: tt.ann, Hash: tt.hash}.Done())
		})
	}
}
