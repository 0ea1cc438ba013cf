package results

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"

	"github.com/cinch-dev/cinch/internal/kinds"
	"github.com/cinch-dev/cinch/pkg/hardening"
)

// Event reasons on the original workload.
const (
	ReasonStarted    = "HardeningStarted"
	ReasonTrialFail  = "HardeningTrialFailed"
	ReasonVerified   = "HardeningVerified"
	ReasonFailed     = "HardeningFailed"
	ReasonSuperseded = "HardeningSuperseded"
)

// maxEventMessage bounds an Event message (events.k8s.io's note limit).
const maxEventMessage = 1024

// Writer writes annotations and Events to workloads. Its annotation writes
// are guarded: each one re-reads the workload (Current) and writes only what
// still belongs to the job's object and template.
type Writer struct {
	cs        kubernetes.Interface
	component string
	now       func() time.Time
	// beforePatch, when set (tests), runs between the read a patch is
	// decided on and the patch itself.
	beforePatch func(ctx context.Context, wl Workload)
}

// NewWriter returns a writer whose Events name component as their source.
func NewWriter(cs kubernetes.Interface, component string) *Writer {
	return &Writer{cs: cs, component: component, now: time.Now}
}

// SetStatus sets status (Pending, Running) and the template hash while the
// workload still has the job's template. Errors wrap ErrGone or
// ErrSuperseded when it has not.
func (w *Writer) SetStatus(ctx context.Context, ref Ref, uid types.UID, hash string, status hardening.Status) error {
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		wl, err := Current(ctx, w.cs, ref, uid, hash)
		if err != nil {
			return err
		}
		set := map[string]*string{
			hardening.AnnotationStatus:       ptr(string(status)),
			hardening.AnnotationTemplateHash: ptr(hash),
		}
		if _, has := wl.Annotations[hardening.AnnotationEnforcedTemplateHash]; has {
			set[hardening.AnnotationEnforcedTemplateHash] = nil // belongs to the previous result
		}
		return w.patch(ctx, wl, set)
	})
}

// WriteResult writes the result annotations (from Annotations) when the
// workload still has the job's template and returns the status written.
// When the template changed it writes Superseded instead, if the
// annotations still describe the job's template, and returns
// StatusSuperseded. Errors wrap ErrGone when the workload is gone.
func (w *Writer) WriteResult(ctx context.Context, ref Ref, uid types.UID, hash string, ann map[string]string) (hardening.Status, error) {
	var written hardening.Status
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		wl, err := Current(ctx, w.cs, ref, uid, hash)
		if errors.Is(err, ErrSuperseded) {
			written = hardening.StatusSuperseded
			if wl.Annotations[hardening.AnnotationTemplateHash] != hash {
				return nil // a newer job owns the annotations
			}
			return w.patch(ctx, wl, map[string]*string{hardening.AnnotationStatus: ptr(string(hardening.StatusSuperseded))})
		}
		if err != nil {
			return err
		}
		written = hardening.Status(ann[hardening.AnnotationStatus])
		set := map[string]*string{}
		for _, k := range resultKeys {
			if v, ok := ann[k]; ok {
				set[k] = ptr(v)
			} else if _, has := wl.Annotations[k]; has {
				set[k] = nil
			}
		}
		return w.patch(ctx, wl, set)
	})
	return written, err
}

// patch applies a JSON merge patch of annotations (nil removes a key),
// guarded by the resourceVersion the decision was made on.
func (w *Writer) patch(ctx context.Context, wl Workload, ann map[string]*string) error {
	body, err := json.Marshal(map[string]any{"metadata": map[string]any{
		"resourceVersion": wl.ResourceVersion,
		"annotations":     ann,
	}})
	if err != nil {
		return fmt.Errorf("encode patch: %w", err)
	}
	if w.beforePatch != nil {
		w.beforePatch(ctx, wl)
	}
	a, err := kinds.For(wl.Kind)
	if err != nil {
		return err
	}
	err = a.Patch(ctx, w.cs, wl.Namespace, wl.Name, types.MergePatchType, body, metav1.PatchOptions{FieldManager: w.component})
	if err != nil {
		return fmt.Errorf("patch annotations of %s: %w", wl.Ref, err)
	}
	return nil
}

// Event records an Event on the workload. eventType is corev1.EventTypeNormal
// or corev1.EventTypeWarning.
func (w *Writer) Event(ctx context.Context, ref Ref, uid types.UID, eventType, reason, message string) error {
	if len(message) > maxEventMessage {
		message = message[:maxEventMessage-3] + "..."
	}
	kind, ok := hardening.LookupKind(ref.Kind)
	if !ok {
		return fmt.Errorf("%w: %q", ErrUnknownKind, ref.Kind)
	}
	now := metav1.NewTime(w.now())
	ev := &corev1.Event{
		ObjectMeta: metav1.ObjectMeta{
			Name:      ref.Name + "." + strconv.FormatInt(now.UnixNano(), 16),
			Namespace: ref.Namespace,
		},
		InvolvedObject: corev1.ObjectReference{
			APIVersion: kind.APIVersion(), Kind: ref.Kind, Namespace: ref.Namespace, Name: ref.Name, UID: uid,
		},
		Reason: reason, Message: message, Type: eventType,
		Source:         corev1.EventSource{Component: w.component},
		FirstTimestamp: now, LastTimestamp: now, Count: 1,
		ReportingController: "cinch.dev/" + w.component,
		ReportingInstance:   w.component,
	}
	if _, err := w.cs.CoreV1().Events(ref.Namespace).Create(ctx, ev, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create event %s on %s: %w", reason, ref, err)
	}
	return nil
}

func ptr[T any](v T) *T { return &v }
