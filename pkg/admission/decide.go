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

// Handling is what the webhook decided for a request and, for a job, what
// became of it: the outcome label of cinch_admission_requests_total.
type Handling string

const (
	// HandlingPublished: Decide found a job to publish; the validating
	// handler then reports HandlingQueued or HandlingDropped.
	HandlingPublished Handling = "published"
	// HandlingQueued: the job was handed to the publisher (published in the
	// background, with retries).
	HandlingQueued Handling = "queued"
	// HandlingDropped: the publisher could not take the job (its buffer was
	// full); allowed anyway, resync catches up.
	HandlingDropped Handling = "dropped"
	// HandlingUnchanged: an UPDATE that kept the pod-template hash (scale,
	// labels, annotations, Cinch's own results).
	HandlingUnchanged Handling = "unchanged"
	// HandlingEnforced: an UPDATE whose new template is exactly the verified
	// recommendation applied to the old one (enforce mode); already verified.
	HandlingEnforced Handling = "enforced"
	// HandlingDescribed: the incoming object's annotations already hold a
	// final result for its pod template (hardening.Describes), e.g. a
	// template reverted to the verified one; nothing published.
	HandlingDescribed Handling = "described"
	// HandlingDryRun: a dry run; nothing published.
	HandlingDryRun Handling = "dry-run"
	// HandlingNotOptedIn: the namespace is not labelled for Cinch.
	HandlingNotOptedIn Handling = "not-opted-in"
	// HandlingOptedOut: the workload carries cinch.dev/harden: disabled.
	HandlingOptedOut Handling = "opted-out"
	// HandlingOwned: an object hardened through its owner, not on its own
	// (hardening.HardenedByOwner: a Job its CronJob created).
	HandlingOwned Handling = "owned"
	// HandlingImmutable: an UPDATE of a kind whose pod template cannot change
	// (a Job: hardening.WorkloadKind.ImmutableTemplate); nothing to harden
	// or enforce.
	HandlingImmutable Handling = "immutable"
	// HandlingExcluded: Cinch's own namespace or a trial clone.
	HandlingExcluded Handling = "excluded"
	// HandlingIgnored: a kind, operation or subresource the handler does not
	// handle.
	HandlingIgnored Handling = "ignored"
	// HandlingError: the object or the namespace could not be read; allowed.
	HandlingError Handling = "error"
	// HandlingPatched: the mutating handler applied the recommendation.
	HandlingPatched Handling = "patched"
	// HandlingNoop: the mutating handler had nothing to do.
	HandlingNoop Handling = "noop"
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
	// Handling of the request when no job is published; HandlingPublished
	// when Job is set (the handler refines it after publishing).
	Handling Handling
	// Job to publish, or nil.
	Job *Job
	// Warnings for the client (kubectl prints them).
	Warnings []string
}

// scope checks the rules shared by both handlers: not Cinch's own
// namespace, the opt-in rule (hardening.OptedIn) with its reason, and not an
// object hardened through its owner. It returns "" when the request is in
// scope.
func scope(in Input) Handling {
	if in.Namespace == in.OwnNamespace {
		return HandlingExcluded
	}
	if hardening.IsClone(in.NamespaceLabels) {
		return HandlingExcluded
	}
	if !hardening.NamespaceOptedIn(in.NamespaceLabels) {
		return HandlingNotOptedIn
	}
	if in.Object == nil {
		return HandlingError
	}
	if hardening.WorkloadOptedOut(in.Object.Metadata.Annotations) {
		return HandlingOptedOut
	}
	if hardening.HardenedByOwner(in.Kind, in.Object.Metadata.OwnerReferences) {
		return HandlingOwned
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
		return Decision{Handling: out}
	}
	if immutable(in) {
		return Decision{Handling: HandlingImmutable}
	}
	hash := hardening.TemplateHash(&in.Object.Template)
	var oldHash string
	if in.Operation == admissionv1.Update {
		if in.OldObject == nil {
			return Decision{Handling: HandlingError}
		}
		oldHash = hardening.TemplateHash(&in.OldObject.Template)
		if oldHash == hash {
			return Decision{Handling: HandlingUnchanged}
		}
	}

	rec, verifiedHash, ok := verified(in.Object)
	if ok && in.OldObject != nil && verifiedHash == oldHash &&
		hash == hardening.TemplateHash(rec.Apply(&in.OldObject.Template)) {
		// The verification run tested exactly this template.
		return Decision{Handling: HandlingEnforced}
	}
	if ann := in.Object.Metadata.Annotations; (ok || failed(ann)) && hardening.Describes(ann, hash) {
		if ann[hardening.AnnotationTemplateHash] != hash {
			// The mutating webhook enforced the verified recommendation.
			return Decision{Handling: HandlingEnforced}
		}
		return Decision{Handling: HandlingDescribed}
	}

	var d Decision
	if ok {
		d.Warnings = warnings(in, rec, verifiedHash)
	}
	if in.DryRun {
		d.Handling = HandlingDryRun
		return d
	}
	d.Handling = HandlingPublished
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
func DecideMutation(in Input) (Handling, *corev1.PodTemplateSpec) {
	if out := scope(in); out != "" {
		return out, nil
	}
	if immutable(in) {
		return HandlingImmutable, nil
	}
	if !hardening.NamespaceEnforces(in.NamespaceLabels) {
		return HandlingNoop, nil
	}
	rec, verifiedHash, ok := verified(in.Object)
	if !ok {
		return HandlingNoop, nil
	}
	hash := hardening.TemplateHash(&in.Object.Template)
	if hash != verifiedHash {
		return HandlingNoop, nil
	}
	applied := rec.Apply(&in.Object.Template)
	if hardening.TemplateHash(applied) == hash {
		return HandlingNoop, nil
	}
	return HandlingPatched, applied
}
