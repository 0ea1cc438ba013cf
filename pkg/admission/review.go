package admission

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/go-logr/logr"
	admissionv1 "k8s.io/api/admission/v1"
	admissionv1beta1 "k8s.io/api/admission/v1beta1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/types"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
)

// MaxReviewSize bounds a request body: two objects of at most 3 MiB each
// plus the rest of the review (controller-runtime's bound).
const MaxReviewSize = 7 << 20

// Reasons a body is unreadable (the reason label of
// cinch_admission_unreadable_reviews_total).
const (
	UnreadableEmpty       = "empty"
	UnreadableRead        = "read"
	UnreadableTooLarge    = "too-large"
	UnreadableContentType = "content-type"
	UnreadableVersion     = "version"
	UnreadableTooDeep     = "too-deep"
	UnreadableDecode      = "decode"
)

var reviewDecoder = func() runtime.Decoder {
	scheme := runtime.NewScheme()
	utilruntime.Must(admissionv1.AddToScheme(scheme))
	utilruntime.Must(admissionv1beta1.AddToScheme(scheme))
	return serializer.NewCodecFactory(scheme).UniversalDeserializer()
}()

// unversionedReview decodes v1 and v1beta1 reviews (the same shape) into the
// v1 type, as controller-runtime does.
type unversionedReview struct {
	admissionv1.AdmissionReview
}

var _ runtime.Object = (*unversionedReview)(nil)

// reviewServer serves AdmissionReviews to a handler. Unlike
// controller-runtime's admission.Webhook, which answers a body it cannot
// decode with HTTP 200 and allowed=false (an explicit denial that
// failurePolicy Ignore does not soften), it never denies what it cannot
// read: when the body names a request uid it answers allowed with a warning,
// otherwise it answers a non-200 status, which the API server treats as a
// failed call and failurePolicy Ignore allows. Either way it is counted.
//
// The logger comes from the request's context; the request's fields are
// attached once.
type reviewServer struct {
	webhook string
	handler admission.Handler
	metrics *Metrics
}

var _ http.Handler = (*reviewServer)(nil)

func (s *reviewServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	log := logr.FromContextOrDiscard(ctx).WithValues("webhook", s.webhook)
	if r.Body == nil || r.Body == http.NoBody {
		s.unreadable(ctx, log, w, UnreadableEmpty, nil, errors.New("request body is empty"))
		return
	}
	defer r.Body.Close()
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxReviewSize+1))
	if err != nil {
		s.unreadable(ctx, log, w, UnreadableRead, body, fmt.Errorf("read body: %w", err))
		return
	}
	if len(body) > MaxReviewSize {
		s.unreadable(ctx, log, w, UnreadableTooLarge, body, fmt.Errorf("body exceeds %d bytes", MaxReviewSize))
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		s.unreadable(ctx, log, w, UnreadableContentType, body, fmt.Errorf("content type %q, expected application/json", ct))
		return
	}
	if trimmed := bytes.TrimLeft(body, " \t\r\n"); len(trimmed) == 0 || trimmed[0] != '{' {
		s.unreadable(ctx, log, w, UnreadableDecode, body, errors.New("body is not a JSON object"))
		return
	}
	var req admission.Request
	ar := unversionedReview{}
	ar.Request = &req.AdmissionRequest
	ar.SetGroupVersionKind(admissionv1.SchemeGroupVersion.WithKind("AdmissionReview"))
	_, gvk, err := reviewDecoder.Decode(body, nil, &ar)
	if err == nil && gvk != nil && !knownReview(*gvk) {
		s.unreadable(ctx, log, w, UnreadableVersion, body, fmt.Errorf("unknown review %s", gvk))
		return
	}
	if err != nil {
		reason := UnreadableDecode
		if strings.Contains(err.Error(), "depth") {
			reason = UnreadableTooDeep
		}
		s.unreadable(ctx, log, w, reason, body, fmt.Errorf("decode review: %w", err))
		return
	}
	if req.UID == "" {
		s.unreadable(ctx, log, w, UnreadableDecode, body, errors.New("review has no request uid"))
		return
	}
	log = log.WithValues("uid", req.UID, "kind", req.Kind.Kind, "namespace", req.Namespace, "name", req.Name, "operation", req.Operation)
	resp := s.handler.Handle(logr.NewContext(ctx, log), req)
	if err := resp.Complete(req); err != nil {
		log.Error(err, "Cannot complete response; allowing")
		resp = admission.Allowed("")
		resp.UID = req.UID
	}
	out := admissionv1.AdmissionReview{Response: &resp.AdmissionResponse}
	if gvk == nil || *gvk == (schema.GroupVersionKind{}) {
		out.SetGroupVersionKind(admissionv1.SchemeGroupVersion.WithKind("AdmissionReview"))
	} else {
		out.SetGroupVersionKind(*gvk)
	}
	s.write(log, w, http.StatusOK, out)
}

func knownReview(gvk schema.GroupVersionKind) bool {
	return gvk.Kind == "AdmissionReview" &&
		(gvk.GroupVersion() == admissionv1.SchemeGroupVersion || gvk.GroupVersion() == admissionv1beta1.SchemeGroupVersion)
}

// unreadable answers a body that is not a readable AdmissionReview so that
// the change goes through, and counts it.
func (s *reviewServer) unreadable(_ context.Context, log logr.Logger, w http.ResponseWriter, reason string, body []byte, cause error) {
	start := time.Now()
	s.metrics.unreadable.WithLabelValues(s.webhook, reason).Inc()
	apiVersion, kind, uid := peekReview(body)
	log.Error(cause, "Cannot read admission review; allowing without a judgement", "reason", reason, "uid", uid)
	resp := admission.Allowed("").WithWarnings("cinch: could not read the admission review (" + reason + "); allowed, not hardened yet")
	resp.UID = types.UID(uid)
	out := admissionv1.AdmissionReview{Response: &resp.AdmissionResponse}
	status := http.StatusOK
	if uid == "" || kind != "AdmissionReview" || !strings.HasPrefix(apiVersion, admissionv1.GroupName+"/") {
		// Nothing the API server could match an answer to: a failed call,
		// which failurePolicy Ignore allows.
		status = http.StatusBadRequest
		if reason == UnreadableTooLarge {
			status = http.StatusRequestEntityTooLarge
		}
		out.SetGroupVersionKind(admissionv1.SchemeGroupVersion.WithKind("AdmissionReview"))
	} else {
		out.TypeMeta = metav1.TypeMeta{APIVersion: apiVersion, Kind: kind}
	}
	s.write(log, w, status, out)
	s.metrics.duration.WithLabelValues(s.webhook).Observe(time.Since(start).Seconds())
}

func (s *reviewServer) write(log logr.Logger, w http.ResponseWriter, status int, out admissionv1.AdmissionReview) {
	b, err := json.Marshal(out)
	if err != nil {
		log.Error(err, "Cannot encode response")
		http.Error(w, "cannot encode response", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if _, err := w.Write(b); err != nil {
		log.V(1).Info("Cannot write response", "error", err.Error())
	}
}

// peekReview reads the top-level apiVersion and kind and request.uid of a
// review as far as the body allows (it may be truncated, too deep further
// on, or of an unknown version). Empty strings for what it cannot find.
func peekReview(body []byte) (apiVersion, kind, uid string) {
	dec := json.NewDecoder(bytes.NewReader(body))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return "", "", ""
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return apiVersion, kind, uid
		}
		switch t {
		case "apiVersion":
			if dec.Decode(&apiVersion) != nil {
				return apiVersion, kind, uid
			}
		case "kind":
			if dec.Decode(&kind) != nil {
				return apiVersion, kind, uid
			}
		case "request":
			if t, err := dec.Token(); err != nil || t != json.Delim('{') {
				return apiVersion, kind, uid
			}
			for dec.More() {
				k, err := dec.Token()
				if err != nil {
					return apiVersion, kind, uid
				}
				if k == "uid" {
					var u string
					if dec.Decode(&u) == nil {
						uid = u
					}
					return apiVersion, kind, uid
				}
				if dec.Decode(new(json.RawMessage)) != nil {
					return apiVersion, kind, uid
				}
			}
			return apiVersion, kind, uid
		default:
			if dec.Decode(new(json.RawMessage)) != nil {
				return apiVersion, kind, uid
			}
		}
	}
	return apiVersion, kind, uid
}
