package hardening

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"
)

// ChecksVersion is the current version of the cinch.dev/checks model.
const ChecksVersion = 1

// MaxAnnotationBytes bounds what the decoders accept: the API server limits
// all annotations of an object together to 256 KiB.
const MaxAnnotationBytes = 256 << 10

// Decoding errors, matched with errors.Is.
var (
	ErrMalformed          = errors.New("malformed annotation")
	ErrUnsupportedVersion = errors.New("unsupported annotation version")
)

// CheckResult is the verdict of one trial, an entry of the cinch.dev/checks
// annotation.
type CheckResult struct {
	// ID is the check the trial tried; empty for baselines and for the
	// combination trial.
	ID CheckID `json:"id,omitempty"`
	// Trial is the trial's name.
	Trial string `json:"trial"`
	Pass  bool   `json:"pass"`
	// Reason summarises a failure (e.g. "new log templates", "restarts").
	Reason string `json:"reason,omitempty"`
	// Evidence is the oracle's evidence for a failure, as JSON.
	Evidence json.RawMessage `json:"evidence,omitempty"`
}

type checksDoc struct {
	Version int           `json:"version"`
	Checks  []CheckResult `json:"checks"`
}

// EncodeRecommendation encodes r for the cinch.dev/recommendation
// annotation, with the current version.
func EncodeRecommendation(r Recommendation) (string, error) {
	r.Version = RecommendationVersion
	if err := validateRecommendation(r); err != nil {
		return "", err
	}
	b, err := marshal(r)
	if err != nil {
		return "", fmt.Errorf("encode recommendation: %w", err)
	}
	return b, nil
}

// DecodeRecommendation decodes a cinch.dev/recommendation annotation. Input
// that is not exactly one JSON object of the model (unknown fields, trailing
// data, wrong types, invalid container names, too large) is an error
// wrapping ErrMalformed; another version gives ErrUnsupportedVersion.
func DecodeRecommendation(s string) (Recommendation, error) {
	var r Recommendation
	if err := decodeStrict(s, &r); err != nil {
		return Recommendation{}, fmt.Errorf("decode recommendation: %w", err)
	}
	if r.Version != RecommendationVersion {
		return Recommendation{}, fmt.Errorf("decode recommendation: %w: %d", ErrUnsupportedVersion, r.Version)
	}
	if err := validateRecommendation(r); err != nil {
		return Recommendation{}, err
	}
	// An empty map and no map mean the same; Combine writes neither.
	if len(r.Containers) == 0 {
		r.Containers = nil
	}
	if len(r.InitContainers) == 0 {
		r.InitContainers = nil
	}
	return r, nil
}

// EncodeChecks encodes the trial verdicts for the cinch.dev/checks
// annotation, with the current version.
func EncodeChecks(results []CheckResult) (string, error) {
	if results == nil {
		results = []CheckResult{}
	}
	for _, r := range results {
		if err := validateCheckResult(r); err != nil {
			return "", err
		}
	}
	b, err := marshal(checksDoc{Version: ChecksVersion, Checks: results})
	if err != nil {
		return "", fmt.Errorf("encode checks: %w", err)
	}
	return b, nil
}

// DecodeChecks decodes a cinch.dev/checks annotation, with the same rules as
// DecodeRecommendation.
func DecodeChecks(s string) ([]CheckResult, error) {
	var d checksDoc
	if err := decodeStrict(s, &d); err != nil {
		return nil, fmt.Errorf("decode checks: %w", err)
	}
	if d.Version != ChecksVersion {
		return nil, fmt.Errorf("decode checks: %w: %d", ErrUnsupportedVersion, d.Version)
	}
	for _, r := range d.Checks {
		if err := validateCheckResult(r); err != nil {
			return nil, err
		}
	}
	if d.Checks == nil {
		d.Checks = []CheckResult{}
	}
	return d.Checks, nil
}

func decodeStrict(s string, v any) error {
	if len(s) > MaxAnnotationBytes {
		return fmt.Errorf("%w: %d bytes, limit %d", ErrMalformed, len(s), MaxAnnotationBytes)
	}
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: trailing data", ErrMalformed)
	}
	return nil
}

func validateRecommendation(r Recommendation) error {
	for kind, m := range map[string]map[string]*corev1.SecurityContext{"containers": r.Containers, "initContainers": r.InitContainers} {
		for name := range m {
			if errs := validation.IsDNS1123Label(name); len(errs) > 0 {
				return fmt.Errorf("%w: %s name %q: %s", ErrMalformed, kind, name, strings.Join(errs, "; "))
			}
		}
	}
	return nil
}

func validateCheckResult(r CheckResult) error {
	if errs := validation.IsDNS1123Label(r.Trial); len(errs) > 0 {
		return fmt.Errorf("%w: trial name %q: %s", ErrMalformed, r.Trial, strings.Join(errs, "; "))
	}
	if r.ID != "" && !r.ID.Valid() {
		return fmt.Errorf("%w: unknown check %q", ErrMalformed, r.ID)
	}
	if len(r.Evidence) > 0 && !json.Valid(r.Evidence) {
		return fmt.Errorf("%w: trial %q: evidence is not JSON", ErrMalformed, r.Trial)
	}
	return nil
}

// marshal encodes v as compact JSON without HTML escaping: log templates in
// evidence ("<*>") stay readable in kubectl output.
func marshal(v any) (string, error) {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	return strings.TrimSuffix(b.String(), "\n"), nil
}
