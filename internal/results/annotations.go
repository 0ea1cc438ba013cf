package results

import (
	"fmt"
	"time"

	"github.com/cinch-dev/cinch/internal/pipeline"
	"github.com/cinch-dev/cinch/pkg/hardening"
)

// resultKeys are the annotations a result owns; keys a result does not set
// are removed, so a Failed result never leaves an older recommendation
// (or enforcement marker) next to the new template hash.
var resultKeys = []string{
	hardening.AnnotationStatus,
	hardening.AnnotationTemplateHash,
	hardening.AnnotationRecommendation,
	hardening.AnnotationChecks,
	hardening.AnnotationPodSecurityLevel,
	hardening.AnnotationVerifiedAt,
	hardening.AnnotationEnforcedTemplateHash,
}

// Annotations renders a pipeline result for the pod template with hash as
// the cinch.dev/* annotations of the user contract. A Verified result has
// all six; a Failed one has status, template hash and checks.
func Annotations(res pipeline.Result, hash string, at time.Time) (map[string]string, error) {
	checks, err := hardening.EncodeChecks(res.Checks())
	if err != nil {
		return nil, fmt.Errorf("encode checks: %w", err)
	}
	out := map[string]string{
		hardening.AnnotationTemplateHash: hash,
		hardening.AnnotationChecks:       checks,
	}
	if res.Outcome != pipeline.OutcomeVerified {
		out[hardening.AnnotationStatus] = string(hardening.StatusFailed)
		return out, nil
	}
	rec, err := hardening.EncodeRecommendation(res.Recommendation)
	if err != nil {
		return nil, fmt.Errorf("encode recommendation: %w", err)
	}
	out[hardening.AnnotationStatus] = string(hardening.StatusVerified)
	out[hardening.AnnotationRecommendation] = rec
	out[hardening.AnnotationPodSecurityLevel] = res.Level
	out[hardening.AnnotationVerifiedAt] = at.UTC().Format(time.RFC3339)
	return out, nil
}
