package results

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/cinch-dev/cinch/pkg/hardening"
)

// TestDone: a final status (Verified, Failed) for a template the annotations
// describe (hardening.Describes, tested there).
func TestDone(t *testing.T) {
	tests := []struct {
		name string
		ann  map[string]string
		hash string
		done bool
	}{
		{name: "verified", ann: map[string]string{hardening.AnnotationStatus: "Verified", hardening.AnnotationTemplateHash: "h1"}, hash: "h1", done: true},
		{name: "failed", ann: map[string]string{hardening.AnnotationStatus: "Failed", hardening.AnnotationTemplateHash: "h1"}, hash: "h1", done: true},
		{name: "running", ann: map[string]string{hardening.AnnotationStatus: "Running", hardening.AnnotationTemplateHash: "h1"}, hash: "h1"},
		{name: "verified for another template", ann: map[string]string{hardening.AnnotationStatus: "Verified", hardening.AnnotationTemplateHash: "h0"}, hash: "h1"},
		{name: "enforced form of the verified template", hash: "h1", done: true, ann: map[string]string{
			hardening.AnnotationStatus: "Verified", hardening.AnnotationTemplateHash: "h0", hardening.AnnotationEnforcedTemplateHash: "h1"}},
		{name: "no annotations", hash: "h1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.done, Workload{Annotations: tt.ann, Hash: tt.hash}.Done())
		})
	}
}
