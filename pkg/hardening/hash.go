package hardening

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// ignoredAnnotations are pod-template annotations that do not change what
// runs. kubectl's restartedAt only asks for a rollout of the same template;
// last-applied-configuration is client bookkeeping.
var ignoredAnnotations = map[string]bool{
	"kubectl.kubernetes.io/restartedAt":                true,
	"kubectl.kubernetes.io/last-applied-configuration": true,
	"kubectl.kubernetes.io/default-container":          true,
	"deployment.kubernetes.io/revision":                true,
}

// trialAnnotations are Cinch's own pod-template annotations that change what
// a trial does or how it is judged. Unlike the rest of cinch.dev/*, they
// are hashed: changing one re-runs the trials. A new annotation of that kind
// is added here (and to contract.go).
var trialAnnotations = map[string]bool{
	AnnotationProbePaths: true,
	AnnotationIgnoreLogs: true,
	AnnotationMetrics:    true,
}

// jobLabels are the labels the API server puts on the pod template of a Job
// whose selector it generates: the Job's name and uid, each also in a legacy
// form. They name one Job object, not what runs, so they are not hashed: a
// Job hashes like the manifest or CronJob job template it was made from,
// also where the mutating webhook sees it before the API server added them.
// A legacy label (job-name, controller-uid) is left out only next to its
// batch.kubernetes.io/ form with the same value, so a workload of another
// kind with such a label of its own keeps its hash.
var jobLabels = map[string]string{
	"batch.kubernetes.io/job-name":       "",
	"batch.kubernetes.io/controller-uid": "",
	"job-name":                           "batch.kubernetes.io/job-name",
	"controller-uid":                     "batch.kubernetes.io/controller-uid",
}

// JobControllerLabels are the labels the API server adds to the pod
// template of a Job whose selector it generates (see jobLabels): a copy of
// such a template must drop them before it makes a Job of its own.
func JobControllerLabels() []string {
	return slices.Sorted(maps.Keys(jobLabels))
}

// hashedLabel reports whether the template label key is part of the hash.
func hashedLabel(labels map[string]string, key string) bool {
	current, ok := jobLabels[key]
	if !ok {
		return true
	}
	if current == "" {
		return false
	}
	v, ok := labels[current]
	return !ok || v != labels[key]
}

// hashed reports whether the template annotation key is part of the hash.
func hashed(key string) bool {
	if ignoredAnnotations[key] {
		return false
	}
	return !strings.HasPrefix(key, AnnotationPrefix) || trialAnnotations[key]
}

// hashInput is what TemplateHash covers. Field order is fixed by the struct;
// encoding/json writes map keys sorted, so the hash does not depend on the
// order keys had in the object that was sent.
type hashInput struct {
	V           int               `json:"v"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
	Spec        corev1.PodSpec    `json:"spec"`
}

// hashedLabels returns the labels that are part of the hash.
func hashedLabels(labels map[string]string) map[string]string {
	out := make(map[string]string, len(labels))
	for k, v := range labels {
		if hashedLabel(labels, k) {
			out[k] = v
		}
	}
	return out
}

// TemplateHash returns a stable hash (32 hex characters, 128 bits of SHA-256)
// of a pod template, for the cinch.dev/template-hash annotation and for job
// de-duplication.
//
// It covers the pod spec (images, commands, env, volumes, securityContext,
// ...), the labels and the annotations, because mutating webhooks and the
// kubelet act on some of them (sidecar injection, AppArmor) and a change
// there may change what runs. It ignores object bookkeeping that never
// reaches a container: name, namespace, generateName, uid, resourceVersion,
// generation, creationTimestamp, managedFields, ownerReferences, finalizers;
// Cinch's own annotations (cinch.dev/*) except those in trialAnnotations
// (cinch.dev/probe-paths, cinch.dev/ignore-logs), so Cinch's bookkeeping does not change the hash
// while what changes a trial does; the annotations in
// ignoredAnnotations (a `kubectl rollout restart` does not re-harden); and
// the labels the API server gives a Job's template (jobLabels). A
// template without trial annotations hashes as it did before they were
// hashed.
func TemplateHash(t *corev1.PodTemplateSpec) string {
	in := hashInput{V: 1}
	if t != nil {
		in.Spec = t.Spec
		in.Labels = t.Labels
		for k := range t.Labels {
			if !hashedLabel(t.Labels, k) {
				in.Labels = hashedLabels(t.Labels)
				break
			}
		}
		for k, v := range t.Annotations {
			if !hashed(k) {
				continue
			}
			if in.Annotations == nil {
				in.Annotations = map[string]string{}
			}
			in.Annotations[k] = v
		}
		if len(in.Labels) == 0 {
			in.Labels = nil
		}
	}
	b, err := json.Marshal(in)
	if err != nil {
		// A PodSpec always marshals; keep the hash total anyway.
		b = []byte(err.Error())
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}
