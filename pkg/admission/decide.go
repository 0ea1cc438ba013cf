package admission

import (
	"fmt"
	"slices"
	"strings"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cinch-dev/cinch/pkg/hardening"
)

// Outcome is what a handler did with a request; a label of
// cinch_admission_requests_total.
type Outcome string

const (
	// OutcomePublished: Decide found a job to publish; the validating
	// handler then reports OutcomeQueued or OutcomeDropped.
	OutcomePublished Outcome = "published"
	// OutcomeQueued: the job was handed to the publisher (published in the
	// background, with retries).
	OutcomeQueued Outcome = "queued"
	// OutcomeDropped: the publisher could not take the job (its buffer was
	// full); allowed anyway, resync catches up.
	OutcomeDropped Outcome = "dropped"
	// OutcomeUnchanged: an UPDATE that kept the pod-template hash (scale,
	// labels, annotations, Cinch's own results).
	OutcomeUnchanged Outcome = "unchanged"
	// OutcomeEnforced: an UPDATE whose new template is exactly the verified
	// recommendation applied to the old one (enforce mode); already verified.
	OutcomeEnforced Outcome = "enforced"
	// OutcomeDescribed: the incoming object's annotations already hold a
	// final result for its pod template (hardening.Describes), e.g. a
	// template reverted to the verified one; nothing published.
	OutcomeDescribed Outcome = "described"
	// OutcomeDryRun: a dry run; nothing published.
	OutcomeDryRun Outcome = "dry-run"
	// OutcomeNotOptedIn: the namespace is not labelled for Cinch.
	OutcomeNotOptedIn Outcome = "not-opted-in"
	// OutcomeOptedOut: the workload carries cinch.dev/harden: disabled.
	OutcomeOptedOut Outcome = "opted-out"
	// OutcomeOwned: an object hardened through its owner, not on its own
	// (hardening.HardenedByOwner: a Job its CronJob created).
	OutcomeOwned Outcome = "owned"
	// OutcomeImmutable: an UPDATE of a kind whose pod template cannot change
	// (a Job: hardening.WorkloadKind.ImmutableTemplate); nothing to harden
	// or enforce.
	OutcomeImmutable Outcome = "immutable"
	// OutcomeExcluded: Cinch's own namespace or a trial clone.
	OutcomeExcluded Outcome = "excluded"
	// OutcomeIgnored: a kind, operation or subresource the handler does not
	// handle.
	OutcomeIgnored Outcome = "ignored"
	// OutcomeError: the object or the namespace could not be read; allowed.
	OutcomeError Outcome = "error"
	// OutcomePatched: the mutating handler applied the recommendation.
	OutcomePatched Outcome = "patched"
	// OutcomeNoop: the mutating handler had nothing to do.
	OutcomeNoop Outcome = "noop"
)

// Workload is the part of a workload object that the handlers read: its
// metadata and its pod template, wherever its kind keeps it
// (hardening.TemplatePath: spec.template, or spec.jobTemplate.spec.template
// for a CronJob). DecodeWorkload reads it from an admission request.
type Workload struct {
	Metadata metav1.ObjectMeta
	Template corev1.PodTemplateSpec
}

// Input is everything a decision depends on, gathered from one request.
type Input struct {
	// Kind of the object (hardening.Kinds).
	Kind string
	// Operation is CREATE or UPDATE.
	Operation admissionv1.Operation
	// DryRun requests must not cause side effects.
	DryRun bool
	// Namespace of the object and its labels.
	Namespace       string
	NamespaceLabels map[string]string
	// OwnNamespace is where Cinch runs; it is never hardened.
	OwnNamespace string
	// Object is the incoming object; OldObject the stored one (UPDATE only).
	Object    *Workload
	OldObject *Workload
	// Now stamps the job.
	Now time.Time
}

// Decision is the validating handler's verdict. The request is always
// allowed.
type Decision struct {
	// Outcome when no job is published; OutcomePublished when Job is set
	// (the handler refines it after publishing).
	Outcome Outcome
	// Job to publish, or nil.
	Job *Job
	// Warnings for the client (kubectl prints them).
	Warnings []string
}

// scope checks the rules shared by both handlers: not Cinch's own
// namespace, the opt-in rule (hardening.OptedIn) with its reason, and not an
// object hardened through its owner. It returns "" when the request is in
// scope.
func scope(in Input) Outcome {
	if in.Namespace == in.OwnNamespace {
		return OutcomeExcluded
	}
	if hardening.IsClone(in.NamespaceLabels) {
		return OutcomeExcluded
	}
	if !hardening.NamespaceOptedIn(in.NamespaceLabels) {
		return OutcomeNotOptedIn
	}
	if in.Object == nil {
		return OutcomeError
	}
	if hardening.WorkloadOptedOut(in.Object.Metadata.Annotations) {
		return OutcomeOptedOut
	}
	if hardening.HardenedByOwner(in.Kind, in.Object.Metadata.OwnerReferences) {
		return OutcomeOwned
	}
	return ""
}

// immutable reports whether in is an UPDATE of a kind whose pod template
// cannot change: there is nothing to harden, and a patch of the template
// would make the API server refuse the update.
func immutable(in Input) bool {
	if in.Operation != admissionv1.Update {
		return false
	}
	k, _ := hardening.LookupKind(in.Kind)
	return k.ImmutableTemplate
}

// verified returns the recommendation the object's annotations describe and
// the template hash it was verified for, when its status is Verified.
func verified(w *Workload) (hardening.Recommendation, string, bool) {
	if w == nil {
		return hardening.Recommendation{}, "", false
	}
	a := w.Metadata.Annotations
	if hardening.Status(a[hardening.AnnotationStatus]) != hardening.StatusVerified || a[hardening.AnnotationTemplateHash] == "" {
		return hardening.Recommendation{}, "", false
	}
	rec, err := hardening.DecodeRecommendation(a[hardening.AnnotationRecommendation])
	if err != nil {
		return hardening.Recommendation{}, "", false
	}
	return rec, a[hardening.AnnotationTemplateHash], true
}

// failed reports whether annotations hold a Failed result.
func failed(ann map[string]string) bool {
	return hardening.Status(ann[hardening.AnnotationStatus]) == hardening.StatusFailed
}

// Decide is the validating handler's decision for one request.
//
// A job is published for CREATE and for an UPDATE that changes the pod
// template hash (never for an UPDATE of a kind whose template cannot change,
// a Job), unless the request is a dry run or the change is the
// enforcement of an already verified recommendation. Warnings are added when
// the template changes and is weaker than the workload's verified
// recommendation.
func Decide(in Input) Decision {
	if out := scope(in); out != "" {
		return Decision{Outcome: out}
	}
	if immutable(in) {
		return Decision{Outcome: OutcomeImmutable}
	}
	hash := hardening.TemplateHash(&in.Object.Template)
	var oldHash string
	if in.Operation == admissionv1.Update {
		if in.OldObject == nil {
			return Decision{Outcome: OutcomeError}
		}
		oldHash = hardening.TemplateHash(&in.OldObject.Template)
		if oldHash == hash {
			return Decision{Outcome: OutcomeUnchanged}
		}
	}

	rec, verifiedHash, ok := verified(in.Object)
	if ok && in.OldObject != nil && verifiedHash == oldHash &&
		hash == hardening.TemplateHash(rec.Apply(&in.OldObject.Template)) {
		// The verification run tested exactly this template.
		return Decision{Outcome: OutcomeEnforced}
	}
	if ann := in.Object.Metadata.Annotations; (ok || failed(ann)) && hardening.Describes(ann, hash) {
		if ann[hardening.AnnotationTemplateHash] != hash {
			// The mutating webhook enforced the verified recommendation.
			return Decision{Outcome: OutcomeEnforced}
		}
		return Decision{Outcome: OutcomeDescribed}
	}

	var d Decision
	if ok {
		d.Warnings = warnings(in, rec, verifiedHash)
	}
	if in.DryRun {
		d.Outcome = OutcomeDryRun
		return d
	}
	d.Outcome = OutcomePublished
	d.Job = &Job{
		Namespace:    in.Namespace,
		Kind:         in.Kind,
		Name:         in.Object.Metadata.Name,
		UID:          string(in.Object.Metadata.UID),
		TemplateHash: hash,
		EnqueuedAt:   in.Now.UTC(),
	}
	return d
}

// maxWeakerListed bounds the settings named in one warning.
const maxWeakerListed = 10

func warnings(in Input, rec hardening.Recommendation, verifiedHash string) []string {
	weaker := hardening.Weaker(rec, &in.Object.Template)
	if len(weaker) == 0 {
		return nil
	}
	weaker = slices.Clone(weaker)
	more := ""
	if len(weaker) > maxWeakerListed {
		more = fmt.Sprintf("; and %d more", len(weaker)-maxWeakerListed)
		weaker = weaker[:maxWeakerListed]
	}
	name := in.Object.Metadata.Name
	out := []string{fmt.Sprintf("cinch: %s %s/%s is less hardened than its verified recommendation (template %s): %s%s",
		strings.ToLower(in.Kind), in.Namespace, name, verifiedHash, strings.Join(weaker, "; "), more)}
	if cmd, err := hardening.PatchCommand(in.Kind, in.Namespace, name, rec); err == nil {
		out = append(out, "cinch: to apply it: "+cmd)
	}
	return out
}

// DecideMutation is the mutating handler's decision: in a namespace labelled
// for enforcement, a template whose hash is the verified one gets the
// verified recommendation applied. It returns the template to write, or nil
// when there is nothing to change. The handler also sets
// hardening.AnnotationEnforcedTemplateHash to the applied template's hash, so
// that resync and Decide see the enforced workload as described by its
// (pre-enforcement) result.
func DecideMutation(in Input) (Outcome, *corev1.PodTemplateSpec) {
	if out := scope(in); out != "" {
		return out, nil
	}
	if immutable(in) {
		return OutcomeImmutable, nil
	}
	if !hardening.NamespaceEnforces(in.NamespaceLabels) {
		return OutcomeNoop, nil
	}
	rec, verifiedHash, ok := verified(in.Object)
	if !ok {
		return OutcomeNoop, nil
	}
	hash := hardening.TemplateHash(&in.Object.Template)
	if hash != verifiedHash {
		return OutcomeNoop, nil
	}
	applied := rec.Apply(&in.Object.Template)
	if hardening.TemplateHash(applied) == hash {
		return OutcomeNoop, nil
	}
	return OutcomePatched, applied
}
