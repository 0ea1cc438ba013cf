package jobs

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/cinch-dev/cinch/pkg/hardening"
)

// Version is the schema version written by Encode. Decode accepts versions
// 1..Version; a newer version is poison for this binary.
const Version = 1

// MaxEncodedSize bounds an encoded job. Real jobs are a few hundred bytes.
const MaxEncodedSize = 4 << 10

// Reason says why a job was enqueued.
type Reason string

const (
	// ReasonAdmission: the admission webhook saw a pod-template change.
	ReasonAdmission Reason = "admission"
	// ReasonResync: the worker's periodic resync found a workload whose
	// annotations do not describe its current pod template.
	ReasonResync Reason = "resync"
)

// Job is one unit of hardening work: the workload and the pod-template hash
// that triggered it.
type Job struct {
	// Version of the schema; Encode sets it to Version when zero.
	Version int `json:"version"`
	// Namespace, Kind (hardening.Kinds) and Name identify the workload.
	Namespace string `json:"namespace"`
	Kind      string `json:"kind"`
	Name      string `json:"name"`
	// UID of the workload object; a job for an older object with the same
	// name (deleted and re-created) can be recognised and dropped.
	UID string `json:"uid"`
	// TemplateHash is hardening.TemplateHash of the pod template that was
	// admitted (or found by resync).
	TemplateHash string `json:"templateHash"`
	// Reason the job was enqueued.
	Reason Reason `json:"reason"`
	// EnqueuedAt is when the producer created the job.
	EnqueuedAt time.Time `json:"enqueuedAt"`
}

// ErrPoison marks a message that can never be processed (not JSON, unknown
// version, missing or invalid fields, a kind the worker does not know).
// Consumers terminate such messages instead of redelivering them. Match it
// with errors.Is.
var ErrPoison = errors.New("poison job message")

// ErrInvalid marks a Job that fails validation before it is encoded.
var ErrInvalid = errors.New("invalid job")

// Validate checks that the job names a workload, a hash and a reason. The
// returned error wraps ErrInvalid.
func (j Job) Validate() error {
	var problems []string
	if j.Version < 1 || j.Version > Version {
		problems = append(problems, fmt.Sprintf("unsupported version %d (supported 1..%d)", j.Version, Version))
	}
	if errs := validation.IsDNS1123Label(j.Namespace); len(errs) > 0 {
		problems = append(problems, fmt.Sprintf("namespace %q: %s", j.Namespace, strings.Join(errs, "; ")))
	}
	if !hardening.KnownKind(j.Kind) {
		problems = append(problems, fmt.Sprintf("kind %q is not one of %s", j.Kind, strings.Join(hardening.Kinds(), ", ")))
	}
	if errs := validation.IsDNS1123Subdomain(j.Name); len(errs) > 0 {
		problems = append(problems, fmt.Sprintf("name %q: %s", j.Name, strings.Join(errs, "; ")))
	}
	if j.UID == "" || len(j.UID) > 128 || !printableToken(j.UID) {
		problems = append(problems, fmt.Sprintf("uid %q is empty, too long or not a printable token", j.UID))
	}
	if j.TemplateHash == "" || len(j.TemplateHash) > 128 || !printableToken(j.TemplateHash) {
		problems = append(problems, fmt.Sprintf("templateHash %q is empty, too long or not a printable token", j.TemplateHash))
	}
	if j.Reason != ReasonAdmission && j.Reason != ReasonResync {
		problems = append(problems, fmt.Sprintf("reason %q is not %q or %q", j.Reason, ReasonAdmission, ReasonResync))
	}
	if j.EnqueuedAt.IsZero() {
		problems = append(problems, "enqueuedAt is zero")
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: %s", ErrInvalid, strings.Join(problems, ", "))
	}
	return nil
}

// printableToken reports whether s is non-empty ASCII without spaces or
// control characters (safe in a message id and a log line).
func printableToken(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return s != ""
}

// Encode validates j and returns its wire form (JSON). A zero Version is set
// to the current Version.
func Encode(j Job) ([]byte, error) {
	if j.Version == 0 {
		j.Version = Version
	}
	if err := j.Validate(); err != nil {
		return nil, err
	}
	b, err := json.Marshal(j)
	if err != nil {
		return nil, fmt.Errorf("encode job: %w", err)
	}
	return b, nil
}

// Decode parses and validates a wire message. Every failure wraps ErrPoison:
// a message that does not decode now never will.
func Decode(b []byte) (Job, error) {
	if len(b) > MaxEncodedSize {
		return Job{}, fmt.Errorf("%w: %d bytes exceeds %d", ErrPoison, len(b), MaxEncodedSize)
	}
	// Unknown fields are tolerated (a newer producer may add optional ones);
	// a breaking change bumps Version.
	var j Job
	if err := json.Unmarshal(b, &j); err != nil {
		return Job{}, fmt.Errorf("%w: decode: %v", ErrPoison, err)
	}
	if err := j.Validate(); err != nil {
		return Job{}, fmt.Errorf("%w: %v", ErrPoison, err)
	}
	return j, nil
}
