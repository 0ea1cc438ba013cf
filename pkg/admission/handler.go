package admission

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/go-logr/logr"
	"gomodules.xyz/jsonpatch/v2"
	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/cinch-dev/cinch/pkg/hardening"
)

// Job asks for the pod template of one workload to be hardened: what the
// validating handler publishes for a CREATE or a template change. The queue
// deduplicates jobs by UID and TemplateHash.
type Job struct {
	// Namespace, Kind (hardening.Kinds) and Name identify the workload.
	Namespace string
	Kind      string
	Name      string
	// UID of the workload object.
	UID string
	// TemplateHash is hardening.TemplateHash of the admitted pod template.
	TemplateHash string
	// EnqueuedAt is when the handler decided (Options.Now).
	EnqueuedAt time.Time
}

// Publisher accepts a hardening job for publishing without waiting for the
// queue (the webhook's job buffer publishes in the background, with
// retries). An error means the job was dropped (counted by the publisher);
// the request is allowed either way.
type Publisher interface {
	Enqueue(ctx context.Context, j Job) error
}

// NamespaceLabels returns the labels of a namespace (the AdmissionRequest
// does not carry them). ErrNamespaceNotFound when it does not exist.
type NamespaceLabels interface {
	NamespaceLabels(ctx context.Context, name string) (map[string]string, error)
}

// ErrNamespaceNotFound is returned by NamespaceLabels for a missing namespace.
var ErrNamespaceNotFound = errors.New("namespace not found")

// Options configures the handlers.
type Options struct {
	// OwnNamespace is Cinch's namespace; nothing there is hardened.
	OwnNamespace string
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// Handlers are the validating and mutating admission handlers.
type Handlers struct {
	pub     Publisher
	ns      NamespaceLabels
	metrics *Metrics
	opts    Options
}

// New returns the handlers.
func New(pub Publisher, ns NamespaceLabels, metrics *Metrics, opts Options) *Handlers {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Handlers{pub: pub, ns: ns, metrics: metrics, opts: opts}
}

// Validator returns the validating handler (publishes jobs, warns).
func (h *Handlers) Validator() admission.Handler { return handlerFunc(h.validate) }

// Mutator returns the mutating handler (enforce mode).
func (h *Handlers) Mutator() admission.Handler { return handlerFunc(h.mutate) }

type handlerFunc func(context.Context, admission.Request) admission.Response

func (f handlerFunc) Handle(ctx context.Context, req admission.Request) admission.Response {
	return f(ctx, req)
}

var _ admission.Handler = handlerFunc(nil)

// handled reports whether req is a CREATE or UPDATE of a workload kind
// Cinch hardens, in that kind's API group (not a subresource).
func handled(req admission.Request) bool {
	k, ok := hardening.LookupKind(req.Kind.Kind)
	if !ok || req.Kind.Group != k.Group || req.SubResource != "" {
		return false
	}
	return req.Operation == admissionv1.Create || req.Operation == admissionv1.Update
}

// gather builds the decision input for req. The error says why the input is
// incomplete; the returned outcome is then final.
func (h *Handlers) gather(ctx context.Context, req admission.Request) (Input, Handling, error) {
	in := Input{
		Kind:         req.Kind.Kind,
		Operation:    req.Operation,
		DryRun:       req.DryRun != nil && *req.DryRun,
		Namespace:    req.Namespace,
		OwnNamespace: h.opts.OwnNamespace,
		Now:          h.opts.Now(),
	}
	if !handled(req) {
		return in, HandlingIgnored, nil
	}
	if req.Namespace == h.opts.OwnNamespace {
		return in, HandlingExcluded, nil
	}
	labels, err := h.ns.NamespaceLabels(ctx, req.Namespace)
	if errors.Is(err, ErrNamespaceNotFound) {
		return in, HandlingNotOptedIn, nil
	}
	if err != nil {
		return in, HandlingError, fmt.Errorf("namespace labels: %w", err)
	}
	in.NamespaceLabels = labels
	if out := scope(Input{Namespace: in.Namespace, OwnNamespace: in.OwnNamespace, NamespaceLabels: labels, Object: &Workload{}}); out != "" {
		return in, out, nil
	}
	if in.Object, err = DecodeWorkload(in.Kind, req.Object.Raw); err != nil {
		return in, HandlingError, fmt.Errorf("object: %w", err)
	}
	if req.Operation == admissionv1.Update {
		if in.OldObject, err = DecodeWorkload(in.Kind, req.OldObject.Raw); err != nil {
			return in, HandlingError, fmt.Errorf("old object: %w", err)
		}
	}
	return in, "", nil
}

func (h *Handlers) observe(webhook string, req admission.Request, out Handling, start time.Time) {
	h.metrics.requests.WithLabelValues(webhook, req.Kind.Kind, string(req.Operation), string(out)).Inc()
	h.metrics.duration.WithLabelValues(webhook).Observe(time.Since(start).Seconds())
}

// recovered turns a panic in a handler into an allowed response: Cinch must
// never deny a change.
func (h *Handlers) recovered(ctx context.Context, webhook string, req admission.Request, start time.Time, resp *admission.Response) {
	if r := recover(); r != nil {
		logr.FromContextOrDiscard(ctx).Error(fmt.Errorf("panic: %v", r), "Admission handler panicked; allowing", "webhook", webhook)
		h.observe(webhook, req, HandlingError, start)
		*resp = admission.Allowed("cinch: internal error")
	}
}

func (h *Handlers) validate(ctx context.Context, req admission.Request) (resp admission.Response) {
	start := time.Now()
	defer h.recovered(ctx, "validate", req, start, &resp)
	log := logr.FromContextOrDiscard(ctx)

	in, out, err := h.gather(ctx, req)
	if out != "" {
		if err != nil {
			log.Error(err, "Cannot judge request; allowing")
		}
		h.observe("validate", req, out, start)
		return admission.Allowed("")
	}
	d := Decide(in)
	if len(d.Warnings) > 0 {
		h.metrics.warnings.WithLabelValues(in.Kind).Inc()
	}
	if d.Job != nil {
		d.Handling = h.publish(ctx, log, *d.Job)
	}
	h.observe("validate", req, d.Handling, start)
	return admission.Allowed("").WithWarnings(d.Warnings...)
}

func (h *Handlers) publish(ctx context.Context, log logr.Logger, j Job) Handling {
	if err := h.pub.Enqueue(ctx, j); err != nil {
		log.Error(err, "Cannot queue hardening job; allowing, resync will catch up", "templateHash", j.TemplateHash)
		return HandlingDropped
	}
	log.V(1).Info("Queued hardening job", "templateHash", j.TemplateHash)
	return HandlingQueued
}

func (h *Handlers) mutate(ctx context.Context, req admission.Request) (resp admission.Response) {
	start := time.Now()
	defer h.recovered(ctx, "mutate", req, start, &resp)
	log := logr.FromContextOrDiscard(ctx)

	in, out, err := h.gather(ctx, req)
	if out != "" {
		if err != nil {
			log.Error(err, "Cannot judge request; allowing unchanged")
		}
		h.observe("mutate", req, out, start)
		return admission.Allowed("")
	}
	out, applied := DecideMutation(in)
	if applied == nil {
		h.observe("mutate", req, out, start)
		return admission.Allowed("")
	}
	resp, err = templatePatch(in.Kind, &in.Object.Template, applied)
	if err == nil && len(resp.Patches) > 0 {
		resp.Patches = append(resp.Patches, annotationPatch(in.Object.Metadata.Annotations,
			hardening.AnnotationEnforcedTemplateHash, hardening.TemplateHash(applied)))
	}
	if err != nil {
		log.Error(err, "Cannot build patch; allowing unchanged")
		h.observe("mutate", req, HandlingError, start)
		return admission.Allowed("")
	}
	log.Info("Applied verified recommendation", "patches", len(resp.Patches))
	h.observe("mutate", req, HandlingPatched, start)
	return resp
}

// templatePatch is a JSON patch of an object of kind that turns its pod
// template (at the kind's template path: spec.template, or
// spec.jobTemplate.spec.template for a CronJob) from orig into applied. Both
// sides go through the same typed encoding, so the patch holds only what
// applied changed (never fields this binary does not know).
func templatePatch(kind string, orig, applied *corev1.PodTemplateSpec) (admission.Response, error) {
	at, err := templatePointer(kind)
	if err != nil {
		return admission.Response{}, err
	}
	a, err := json.Marshal(orig)
	if err != nil {
		return admission.Response{}, fmt.Errorf("encode template: %w", err)
	}
	b, err := json.Marshal(applied)
	if err != nil {
		return admission.Response{}, fmt.Errorf("encode applied template: %w", err)
	}
	resp := admission.PatchResponseFromRaw(a, b)
	if !resp.Allowed {
		return admission.Response{}, errors.New("create patch: " + resp.Result.Message)
	}
	if len(resp.Patches) == 0 {
		return admission.Allowed(""), nil
	}
	for i := range resp.Patches {
		resp.Patches[i].Path = at + resp.Patches[i].Path
	}
	resp.Result = nil
	return resp, nil
}

// annotationPatch is the JSON patch operation that sets annotation key to
// value on an object whose annotations are ann.
func annotationPatch(ann map[string]string, key, value string) jsonpatch.JsonPatchOperation {
	if ann == nil {
		return jsonpatch.JsonPatchOperation{Operation: "add", Path: "/metadata/annotations", Value: map[string]string{key: value}}
	}
	seg := pointerEscaper.Replace(key)
	return jsonpatch.JsonPatchOperation{Operation: "add", Path: "/metadata/annotations/" + seg, Value: value}
}

// Webhooks wraps the handlers for an HTTP server. A body that cannot be read
// as an AdmissionReview is never denied (see reviewServer).
func (h *Handlers) Webhooks() (validate, mutate http.Handler) {
	return &reviewServer{webhook: "validate", handler: h.Validator(), metrics: h.metrics},
		&reviewServer{webhook: "mutate", handler: h.Mutator(), metrics: h.metrics}
}
