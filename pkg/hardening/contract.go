package hardening

// The user-facing contract of Cinch: labels and annotations that users set or
// read. These names are stable; see the README.
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

	AnnotationStatus           = "cinch.dev/status"
	AnnotationTemplateHash     = "cinch.dev/template-hash"
	AnnotationRecommendation   = "cinch.dev/recommendation"
	AnnotationChecks           = "cinch.dev/checks"
	AnnotationPodSecurityLevel = "cinch.dev/pod-security-level"
	AnnotationVerifiedAt       = "cinch.dev/verified-at"
	AnnotationPrefix           = "cinch.dev/"
)

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
