package hardening

import (
	"fmt"
	"slices"
	"strings"
)

// The user-facing contract of Cinch: every label, annotation and workload
// kind that users set or read, or find on the objects Cinch creates, is
// declared in this file and nowhere else. These names are stable; see the
// README.
const (
	// LabelHarden on a namespace opts it in ("enabled") or opts it in with
	// enforcement of verified recommendations ("enforce"). As an annotation on a
	// workload, the value "disabled" opts that workload out.
	LabelHarden = "cinch.dev/harden"
	// HardenEnabled and HardenEnforce are the opt-in values of LabelHarden.
	HardenEnabled = "enabled"
	HardenEnforce = "enforce"
	// HardenDisabled is the opt-out value of the LabelHarden annotation.
	HardenDisabled = "disabled"

	// LabelCloneOf marks a namespace as a throw-away trial clone; its value is
	// the source namespace. Clones never carry LabelHarden.
	LabelCloneOf = "cinch.dev/clone-of"
	// LabelTrial on a clone namespace names the trial it runs.
	LabelTrial = "cinch.dev/trial"
	// LabelClone on a copied ClusterRoleBinding names its clone namespace.
	LabelClone = "cinch.dev/clone"
	// AnnotationCloneCreatedAt on a clone namespace is its creation time
	// (RFC 3339), from the cloner's clock; the sweep ages clones by it.
	AnnotationCloneCreatedAt = "cinch.dev/created-at"
	// AnnotationCloneSource on a clone namespace is "Kind/namespace/name" of
	// the workload under trial.
	AnnotationCloneSource = "cinch.dev/clone-source"

	// AnnotationProbePaths, on the pod template, names extra HTTP paths to
	// ask (TC-05): a comma-separated list of PORT:PATH, where PORT is a
	// number or a container port name, e.g. "8081:/cache/page,http:/ready".
	// Each is probed like the declared ports; the answer's status class is
	// part of what must stay as in the baselines, so a path that answers 2xx
	// in both baselines must answer 2xx in every trial.
	AnnotationProbePaths = "cinch.dev/probe-paths"

	// AnnotationIgnoreLogs, on the pod template, lists log lines the user
	// declares harmless: the log test (TC-03) leaves them out, in the
	// baselines and in every trial. One entry per line; an entry "^...$" is
	// an RE2 regular expression matched against the whole raw line, any other
	// entry a literal, case-sensitive substring of it (at most 32 entries of
	// 512 bytes). A value that does not parse is ignored, and the result's
	// reason says so.
	AnnotationIgnoreLogs = "cinch.dev/ignore-logs"

	// AnnotationMetrics, on the pod template, declares the pod's Prometheus
	// endpoints (TC-06) where the prometheus.io annotations and monitors do
	// not: a comma-separated list of [SCHEME:][:]PORT[/PATH], where SCHEME
	// is http (the default) or https, PORT is a number or a container port
	// name and PATH defaults to /metrics, e.g. "9090/metrics",
	// ":9090,http/stats/metrics" or "https:8443". Every run scrapes them
	// and the rates of their error-like counters must stay in the
	// baselines' band.
	AnnotationMetrics = "cinch.dev/metrics"

	// AnnotationLogNovelty, on an opted-in namespace, is its log-novelty
	// policy: LogNoveltyStrict (the default, also when absent) fails a
	// trial on any new log template beyond the baselines' natural novelty;
	// LogNoveltyTolerateStartup lets a trial pass whose only new templates
	// each appeared once at start-up, when stability, readiness, service
	// answers and app metrics all matched the baselines.
	AnnotationLogNovelty = "cinch.dev/log-novelty"

	AnnotationStatus           = "cinch.dev/status"
	AnnotationTemplateHash     = "cinch.dev/template-hash"
	AnnotationRecommendation   = "cinch.dev/recommendation"
	AnnotationChecks           = "cinch.dev/checks"
	AnnotationPodSecurityLevel = "cinch.dev/pod-security-level"
	AnnotationVerifiedAt       = "cinch.dev/verified-at"
	AnnotationPrefix           = "cinch.dev/"

	// AnnotationEnforcedTemplateHash is written by the mutating webhook in
	// enforce mode when it applies the verified recommendation: the
	// pod-template hash after applying it. The workload's template then
	// hashes to this value while AnnotationTemplateHash keeps the verified
	// (pre-enforcement) hash; the annotations describe both templates (see
	// Describes). A result written for another template removes it.
	AnnotationEnforcedTemplateHash = "cinch.dev/enforced-template-hash"
)

// Workload kinds Cinch hardens, as jobs, clone sources and Events name them.
const (
	KindDeployment  = "Deployment"
	KindStatefulSet = "StatefulSet"
	KindDaemonSet   = "DaemonSet"
	KindJob         = "Job"
	KindCronJob     = "CronJob"
)

// WorkloadKind describes one kind Cinch hardens: the one place that knows
// its API group, resource and where it keeps its pod template.
type WorkloadKind struct {
	// Name is the kind (KindDeployment, ...).
	Name string
	// Group and Version of its API (apps/v1, batch/v1).
	Group, Version string
	// Resource is its plural resource name (deployments).
	Resource string
	// TemplatePath is where it keeps its pod template, as field names from
	// the object's root (spec, template).
	TemplatePath []string
	// Batch kinds run to completion (Job, CronJob): a trial runs the pod
	// template as a Job until it completes or fails, and is judged by how
	// it ends, not by readiness or service answers.
	Batch bool
	// ImmutableTemplate: the API server refuses changes to the pod template
	// once the object exists (Job). An UPDATE then never needs a hardening
	// job, and the mutating webhook must not touch its template. (A
	// suspended Job that never ran may still change scheduling fields of
	// its template; resync catches those.)
	ImmutableTemplate bool
	// Owners are the kinds that make objects of this kind from their own
	// pod template (a CronJob its Jobs). An object whose controller is of
	// one of them is not hardened on its own: its owner is (see
	// HardenedByOwner).
	Owners []string
}

// APIVersion is the kind's group/version (apps/v1).
func (k WorkloadKind) APIVersion() string { return k.Group + "/" + k.Version }

var workloadKinds = []WorkloadKind{
	{Name: KindDeployment, Group: "apps", Version: "v1", Resource: "deployments", TemplatePath: []string{"spec", "template"}},
	{Name: KindStatefulSet, Group: "apps", Version: "v1", Resource: "statefulsets", TemplatePath: []string{"spec", "template"}},
	{Name: KindDaemonSet, Group: "apps", Version: "v1", Resource: "daemonsets", TemplatePath: []string{"spec", "template"}},
	{Name: KindJob, Group: "batch", Version: "v1", Resource: "jobs", TemplatePath: []string{"spec", "template"}, Batch: true,
		ImmutableTemplate: true, Owners: []string{KindCronJob}},
	{Name: KindCronJob, Group: "batch", Version: "v1", Resource: "cronjobs", TemplatePath: []string{"spec", "jobTemplate", "spec", "template"}, Batch: true},
}

// Kinds lists the workload kinds Cinch hardens.
func Kinds() []string {
	out := make([]string, len(workloadKinds))
	for i, k := range workloadKinds {
		out[i] = k.Name
	}
	return out
}

// LookupKind describes the workload kind named kind.
func LookupKind(kind string) (WorkloadKind, bool) {
	k := lookupKind(kind)
	if k == nil {
		return WorkloadKind{}, false
	}
	out := *k
	out.TemplatePath = slices.Clone(k.TemplatePath)
	out.Owners = slices.Clone(k.Owners)
	return out, true
}

// lookupKind is the table's row of kind (nil for an unknown kind), not to
// be changed.
func lookupKind(kind string) *WorkloadKind {
	for i := range workloadKinds {
		if workloadKinds[i].Name == kind {
			return &workloadKinds[i]
		}
	}
	return nil
}

// KnownKind reports whether Cinch hardens workloads of kind.
func KnownKind(kind string) bool {
	return lookupKind(kind) != nil
}

// IsBatch reports whether kind runs to completion (Job, CronJob).
func IsBatch(kind string) bool {
	k := lookupKind(kind)
	return k != nil && k.Batch
}

// Describes reports whether the annotations ann hold the result for the pod
// template with hash: their template hash is hash, or their result is
// Verified and hash is the template the enforce-mode webhook made of the
// verified one (AnnotationEnforcedTemplateHash).
func Describes(ann map[string]string, hash string) bool {
	if hash == "" {
		return false
	}
	if ann[AnnotationTemplateHash] == hash {
		return true
	}
	return ann[AnnotationEnforcedTemplateHash] == hash &&
		Status(ann[AnnotationStatus]) == StatusVerified
}

// Status is the value of AnnotationStatus.
type Status string

const (
	StatusPending    Status = "Pending"
	StatusRunning    Status = "Running"
	StatusVerified   Status = "Verified"
	StatusFailed     Status = "Failed"
	StatusSuperseded Status = "Superseded"
)

// CheckID identifies a hardening check. The ids are stable: they appear in
// annotations and metric labels.
type CheckID string

const (
	CheckRunAsNonRoot           CheckID = "run-as-non-root"
	CheckRunAsGroup             CheckID = "run-as-group"
	CheckReadOnlyRootFilesystem CheckID = "read-only-root-filesystem"
	CheckNoPrivilegeEscalation  CheckID = "no-privilege-escalation"
	CheckDropAllCapabilities    CheckID = "drop-all-capabilities"
	CheckSeccompRuntimeDefault  CheckID = "seccomp-runtime-default"
	CheckNotPrivileged          CheckID = "not-privileged"
)

// Values of AnnotationLogNovelty.
const (
	LogNoveltyStrict          = "strict"
	LogNoveltyTolerateStartup = "tolerate-start-up"
)

// ParseLogNovelty reads a namespace's AnnotationLogNovelty: whether its
// policy tolerates start-up-only log novelty. Empty is the default,
// strict.
func ParseLogNovelty(v string) (tolerateStartup bool, err error) {
	switch strings.TrimSpace(v) {
	case "", LogNoveltyStrict:
		return false, nil
	case LogNoveltyTolerateStartup:
		return true, nil
	}
	return false, fmt.Errorf("annotation %s: %q is neither %q nor %q", AnnotationLogNovelty, v, LogNoveltyStrict, LogNoveltyTolerateStartup)
}
