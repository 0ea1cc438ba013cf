package results

import (
	"fmt"
	"time"

	"github.com/cinch-dev/cinch/internal/pipeline"
	"github.com/cinch-dev/cinch/pkg/hardening"
)

// AnnotationEnforcedTemplateHash is written by the mutating webhook in
// enforce mode when it applies the verified recommendation: the pod-template
// hash after applying it. The workload's template then hashes to this value
// while cinch.dev/template-hash keeps the verified (pre-enforcement) hash;
// the annotations describe both templates. A result written for another
// template removes it.
const AnnotationEnforcedTemplateHash = hardening.AnnotationPrefix + "enforced-template-hash"

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
	AnnotationEnforcedTemplateHash,
}

// Describes reports whether the annotations ann hold the result for the pod
// template with hash: their template hash is hash, or their result is
// Verified and hash is the template the enforce-mode webhook made of the
// verified one (AnnotationEnforcedTemplateHash).
func Describes(ann map[string]string, hash string) bool {
	if hash == "" {
		return false
	}
	if ann[hardening.AnnotationTemplateHash] == hash {
		return true
	}
	return ann[AnnotationEnforcedTemplateHash] == hash &&
		hardening.Status(ann[hardening.AnnotationStatus]) == hardening.StatusVerified
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
