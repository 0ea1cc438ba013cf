package admission

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	admissionv1 "k8s.io/api/admission/v1"

	"github.com/cinch-dev/cinch/pkg/hardening"
)

func fuzzWebhooks(f *testing.F) (validate, mutate http.Handler) {
	h := New(&fakePublisher{}, fakeNamespaces{labels: map[string]map[string]string{
		"shop": enabled(), "strict": enforce(),
	}}, NewMetrics(prometheus.NewRegistry()), Options{OwnNamespace: "cinch"})
	return h.Webhooks()
}

// serve posts body and checks the answer is a well-formed AdmissionReview
// that allows the request: never a denial, whatever the body.
func serve(t *testing.T, hook http.Handler, body []byte) {
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	hook.ServeHTTP(rec, req)
	var review admissionv1.AdmissionReview
	if err := json.Unmarshal(rec.Body.Bytes(), &review); err != nil {
		t.Fatalf("answer is not an AdmissionReview: %v: %q", err, rec.Body.String())
	}
	if review.Response == nil {
		t.Fatalf("answer has no response: %q", rec.Body.String())
	}
	if !review.Response.Allowed {
		t.Fatalf("request denied (status %d): %q", rec.Code, rec.Body.String())
	}
}

// FuzzReview feeds arbitrary bodies to both webhooks: every one is allowed
// (malformed ones with a warning or a non-200 status); nothing panics.
func FuzzReview(f *testing.F) {
	validate, mutate := fuzzWebhooks(f)
	f.Add([]byte(`{{{`))
	f.Add([]byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"1","kind":{"group":"apps","version":"v1","kind":"Deployment"},"namespace":"shop","operation":"CREATE","object":{"metadata":{"name":"a","uid":"u"},"spec":{"template":{"spec":{"containers":[{"name":"c","image":"i"}]}}}}}}`))
	f.Add([]byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"1","kind":{"group":"apps","version":"v1","kind":"StatefulSet"},"namespace":"strict","operation":"UPDATE","object":{"metadata":{"annotations":{"cinch.dev/status":"Verified","cinch.dev/template-hash":"x","cinch.dev/recommendation":"{}"}}},"oldObject":{}}}`))
	f.Add([]byte(`{"apiVersion":"admission.k8s.io/v1beta1","kind":"AdmissionReview","request":{"uid":"2","kind":{"group":"apps","version":"v1","kind":"DaemonSet"},"namespace":"shop","operation":"UPDATE","object":null,"oldObject":[]}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		serve(t, validate, body)
		serve(t, mutate, body)
	})
}

// FuzzObject feeds arbitrary objects of every kind inside a well-formed
// review: the webhooks must allow every one.
func FuzzObject(f *testing.F) {
	validate, mutate := fuzzWebhooks(f)
	f.Add([]byte(`{"metadata":{"name":"a","uid":"u"},"spec":{"template":{"spec":{"containers":[{"name":"c","image":"i"}]}}}}`), []byte(`{}`), true, uint8(0))
	f.Add([]byte(`{"spec":{"template":null}}`), []byte(`{"spec":5}`), false, uint8(0))
	f.Add([]byte(`{"metadata":{"annotations":{"cinch.dev/status":"Verified","cinch.dev/template-hash":"x","cinch.dev/recommendation":"{}"}},"spec":{"jobTemplate":{"spec":{"template":{"spec":{"containers":[{"name":"c"}]}}}}}}`),
		[]byte(`{"spec":{"jobTemplate":{"spec":null}}}`), true, uint8(4))
	f.Add([]byte(`{"metadata":{"ownerReferences":[{"apiVersion":"batch/v1","kind":"CronJob","name":"n","uid":"u","controller":true}]},"spec":{"template":{}}}`), []byte(`{}`), false, uint8(3))
	kinds := hardening.Kinds()
	f.Fuzz(func(t *testing.T, obj, old []byte, update bool, kindIndex uint8) {
		op := admissionv1.Create
		if update {
			op = admissionv1.Update
		}
		kind, _ := hardening.LookupKind(kinds[int(kindIndex)%len(kinds)])
		for _, ns := range []string{"shop", "strict"} {
			review := map[string]any{
				"apiVersion": "admission.k8s.io/v1",
				"kind":       "AdmissionReview",
				"request": map[string]any{
					"uid":       "1",
					"kind":      map[string]string{"group": kind.Group, "version": kind.Version, "kind": kind.Name},
					"namespace": ns,
					"operation": op,
					"object":    json.RawMessage(validJSONOr(obj)),
					"oldObject": json.RawMessage(validJSONOr(old)),
				},
			}
			body, err := json.Marshal(review)
			if err != nil {
				t.Fatalf("marshal review: %v", err)
			}
			for _, hook := range []http.Handler{validate, mutate} {
				rec := httptest.NewRecorder()
				req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				hook.ServeHTTP(rec, req)
				var out admissionv1.AdmissionReview
				if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || out.Response == nil {
					t.Fatalf("bad answer %q: %v", rec.Body.String(), err)
				}
				if !out.Response.Allowed {
					t.Fatalf("well-formed review denied: %+v", out.Response.Result)
				}
			}
		}
	})
}

func validJSONOr(b []byte) []byte {
	if json.Valid(b) {
		return b
	}
	return []byte("null")
}
