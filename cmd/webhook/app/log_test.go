package app

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/cinch-dev/cinch/internal/daemon"
	"github.com/cinch-dev/cinch/internal/jobs"
	"github.com/cinch-dev/cinch/internal/jobs/admissionjobs"
	"github.com/cinch-dev/cinch/pkg/admission"
	"github.com/cinch-dev/cinch/pkg/admission/admissiontest"
	"github.com/cinch-dev/cinch/pkg/hardening"
)

// fullBuffer drops every job, so the handlers log an error line for each.
type fullBuffer struct{}

func (fullBuffer) Enqueue(context.Context, jobs.Job) error { return jobs.ErrBufferFull }

// FuzzLogLines: every line the handlers write through the binaries' logger (daemon.NewLogger) is
// one JSON object, whatever the names in the review (NUL bytes, invalid
// UTF-8, quotes, newlines) and whatever the body.
func FuzzLogLines(f *testing.F) {
	h := admission.New(admissionjobs.NewPublisher(fullBuffer{}), admissiontest.StaticNamespaces{"shop": {hardening.LabelHarden: hardening.HardenEnabled}},
		admission.NewMetrics(prometheus.NewRegistry()), admission.Options{OwnNamespace: "cinch"})
	validate, mutate := h.Webhooks()
	f.Add("web\x00x", "shop", "uid\x00", []byte(nil))
	f.Add("web\xff\xfe", "shop", "u\"1\n", []byte(nil))
	f.Add("a\u2028b\\c", "sh\x00op", "\x1b[31m", []byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"\u0000`))
	f.Fuzz(func(t *testing.T, name, namespace, uid string, raw []byte) {
		var out bytes.Buffer
		log := daemon.NewLogger(&out, 5)
		body := raw
		if body == nil {
			review := map[string]any{
				"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
				"request": map[string]any{
					"uid": uid, "name": name, "namespace": namespace, "operation": "CREATE",
					"kind": map[string]string{"group": "apps", "version": "v1", "kind": "Deployment"},
					"object": map[string]any{
						"metadata": map[string]any{"name": name, "namespace": namespace, "uid": uid},
						"spec":     map[string]any{"template": map[string]any{"spec": map[string]any{"containers": []any{map[string]any{"name": name, "image": "i"}}}}},
					},
				},
			}
			var err error
			if body, err = json.Marshal(review); err != nil {
				t.Skip()
			}
		}
		for _, hook := range []http.Handler{validate, mutate} {
			req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
			req = req.WithContext(logr.NewContext(req.Context(), log.WithValues("peer", name)))
			req.Header.Set("Content-Type", "application/json")
			hook.ServeHTTP(httptest.NewRecorder(), req)
		}
		log.Error(errors.New(name), "probe", "uid", uid, "namespace", namespace)
		text := out.String()
		sc := bufio.NewScanner(strings.NewReader(text))
		sc.Buffer(make([]byte, 1<<20), 8<<20)
		lines := 0
		for sc.Scan() {
			lines++
			var obj map[string]any
			if err := json.Unmarshal(sc.Bytes(), &obj); err != nil {
				t.Fatalf("log line is not a JSON object: %v: %q", err, sc.Text())
			}
		}
		if lines < 1 || strings.Count(text, "\n") != lines {
			t.Fatalf("expected one JSON object per line, got %d lines: %q", lines, text)
		}
	})
}
