package hardening

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
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

// hashInput is what TemplateHash covers. Field order is fixed by the struct;
// encoding/json writes map keys sorted, so the hash does not depend on the
// order keys had in the object that was sent.
type hashInput struct {
	V           int               `json:"v"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
	Spec        corev1.PodSpec    `json:"spec"`
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
// Cinch's own annotations (cinch.dev/*), so writing results back does not
// change the hash; and the annotations in ignoredAnnotations (a `kubectl
// rollout restart` does not re-harden).
func TemplateHash(t *corev1.PodTemplateSpec) string {
	in := hashInput{V: 1}
	if t != nil {
		in.Spec = t.Spec
		in.Labels = t.Labels
		for k, v := range t.Annotations {
			if strings.HasPrefix(k, AnnotationPrefix) || ignoredAnnotations[k] {
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
