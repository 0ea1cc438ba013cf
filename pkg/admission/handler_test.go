package admission

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	admissionv1 "k8s.io/api/admission/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/cinch-dev/cinch/pkg/hardening"
)

// fakePublisher records queued jobs; err, when set, is returned instead.
type fakePublisher struct {
	mu    sync.Mutex
	jobs  []Job
	err   error
	panic bool
}

func (f *fakePublisher) Enqueue(_ context.Context, j Job) error {
	if f.panic {
		panic("boom")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return f.err
	}
	f.jobs = append(f.jobs, j)
	return nil
}

var _ Publisher = (*fakePublisher)(nil)

func (f *fakePublisher) published() []Job {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Job(nil), f.jobs...)
}

// fakeNamespaces serves labels from a map.
type fakeNamespaces struct {
	labels map[string]map[string]string
	err    error
}

func (f fakeNamespaces) NamespaceLabels(_ context.Context, name string) (map[string]string, error) {
	if f.err != nil {
		return nil, f.err
	}
	l, ok := f.labels[name]
	if !ok {
		return nil, fmt.Errorf("%s: %w", name, ErrNamespaceNotFound)
	}
	return l, nil
}

type fixture struct {
	pub     *fakePublisher
	ns      *fakeNamespaces
	reg     *prometheus.Registry
	h       *Handlers
	valSrv  *httptest.Server
	mutSrv  *httptest.Server
	metrics *Metrics
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{
		pub: &fakePublisher{},
		ns: &fakeNamespaces{labels: map[string]map[string]string{
			"shop":     enabled(),
			"strict":   enforce(),
			"other":    {},
			"shop-c1":  {hardening.LabelCloneOf: "shop"},
			"cinch-ns": enabled(),
		}},
		reg: prometheus.NewRegistry(),
	}
	f.metrics = NewMetrics(f.reg)
	f.h = New(f.pub, f.ns, f.metrics, Options{OwnNamespace: "cinch-ns", Now: func() time.Time { return testNow }})
	val, mut := f.h.Webhooks()
	f.valSrv = httptest.NewServer(val)
	f.mutSrv = httptest.NewServer(mut)
	t.Cleanup(f.valSrv.Close)
	t.Cleanup(f.mutSrv.Close)
	return f
}

// post sends body to srv and decodes the AdmissionReview answer.
func post(t *testing.T, srv *httptest.Server, body []byte) admissionv1.AdmissionResponse {
	t.Helper()
	resp, err := http.Post(srv.URL, "application/json", bytes.NewReader(body))
	require.NoError(t, err)
	defer resp.Body.Close()
	var review admissionv1.AdmissionReview
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&review))
	require.NotNil(t, review.Response)
	return *review.Response
}

func review(t testing.TB, req admission.Request) []byte {
	t.Helper()
	b, err := json.Marshal(admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request:  &req.AdmissionRequest,
	})
	require.NoError(t, err)
	return b
}

func (f *fixture) requests(webhook, op string, out Handling) float64 {
	return testutil.ToFloat64(f.metrics.requests.WithLabelValues(webhook, "Deployment", op, string(out)))
}

func TestValidatePublishesOncePerTemplateChange(t *testing.T) {
	f := newFixture(t)
	base := deployment("nginx:1.27")
	changed := deployment("nginx:1.28")
	scaled := base.DeepCopy()
	scaled.Spec.Replicas = ptr(int32(9))

	steps := []struct {
		name     string
		req      admission.Request
		wantJobs int
		wantOut  Handling
	}{
		{name: "create", req: request(t, admissionv1.Create, base, nil), wantJobs: 1, wantOut: HandlingQueued},
		{name: "scale", req: request(t, admissionv1.Update, scaled, base), wantJobs: 1, wantOut: HandlingUnchanged},
		{name: "dry run change", req: request(t, admissionv1.Update, changed, base, dryRun), wantJobs: 1, wantOut: HandlingDryRun},
		{name: "change", req: request(t, admissionv1.Update, changed, base), wantJobs: 2, wantOut: HandlingQueued},
	}
	for _, s := range steps {
		resp := post(t, f.valSrv, review(t, s.req))
		assert.True(t, resp.Allowed, s.name)
		assert.Equal(t, s.req.UID, resp.UID, s.name)
		assert.Len(t, f.pub.published(), s.wantJobs, s.name)
		assert.Equal(t, 1.0, testutil.ToFloat64(f.metrics.requests.WithLabelValues("validate", "Deployment", string(s.req.Operation), string(s.wantOut))), s.name)
	}
	got := f.pub.published()
	assert.Equal(t, hardening.TemplateHash(&changed.Spec.Template), got[1].TemplateHash)
	assert.Equal(t, uint64(4), histogramCount(t, f.reg, "cinch_admission_request_duration_seconds"))
}

func histogramCount(t *testing.T, reg *prometheus.Registry, name string) uint64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	var n uint64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			n += m.GetHistogram().GetSampleCount()
		}
	}
	return n
}

func TestValidateScope(t *testing.T) {
	base := deployment("nginx:1.27")
	tests := []struct {
		name      string
		namespace string
		mutate    func(*admission.Request)
		nsErr     error
		wantOut   Handling
		kind      string
	}{
		{name: "not labelled", namespace: "other", wantOut: HandlingNotOptedIn},
		{name: "missing namespace", namespace: "gone", wantOut: HandlingNotOptedIn},
		{name: "clone", namespace: "shop-c1", wantOut: HandlingExcluded},
		{name: "own namespace", namespace: "cinch-ns", wantOut: HandlingExcluded},
		{name: "namespace lookup fails", namespace: "shop", nsErr: errors.New("apiserver down"), wantOut: HandlingError},
		{name: "pod kind", namespace: "shop", kind: "Pod", wantOut: HandlingIgnored,
			mutate: func(r *admission.Request) { r.Kind = metav1.GroupVersionKind{Version: "v1", Kind: "Pod"} }},
		{name: "scale subresource", namespace: "shop", wantOut: HandlingIgnored,
			mutate: func(r *admission.Request) { r.SubResource = "scale" }},
		{name: "delete", namespace: "shop", wantOut: HandlingIgnored,
			mutate: func(r *admission.Request) { r.Operation = admissionv1.Delete }},
		{name: "garbage object", namespace: "shop", wantOut: HandlingError,
			mutate: func(r *admission.Request) { r.Object.Raw = []byte(`{"spec":{"template":"nope"}}`) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.ns.err = tt.nsErr
			req := request(t, admissionv1.Create, base, nil)
			req.Namespace = tt.namespace
			if tt.mutate != nil {
				tt.mutate(&req)
			}
			resp := post(t, f.valSrv, review(t, req))
			assert.True(t, resp.Allowed)
			assert.Empty(t, f.pub.published())
			kind := tt.kind
			if kind == "" {
				kind = "Deployment"
			}
			assert.Equal(t, 1.0, testutil.ToFloat64(f.metrics.requests.WithLabelValues("validate", kind, string(req.Operation), string(tt.wantOut))))
		})
	}
}

func TestValidateAllowsWhenTheJobIsDropped(t *testing.T) {
	tests := []struct {
		name string
		err  error
	}{
		{name: "buffer full", err: errors.New("job buffer full")},
		{name: "buffer closed", err: errors.New("job buffer closed")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.h.pub = &fakePublisher{err: tt.err}
			resp := post(t, f.valSrv, review(t, request(t, admissionv1.Create, deployment("nginx:1.27"), nil)))
			assert.True(t, resp.Allowed)
			assert.Equal(t, 1.0, f.requests("validate", "CREATE", HandlingDropped))
		})
	}
}

func TestHandlersNeverDenyOnPanic(t *testing.T) {
	f := newFixture(t)
	f.h.pub = &fakePublisher{panic: true}
	resp := post(t, f.valSrv, review(t, request(t, admissionv1.Create, deployment("nginx:1.27"), nil)))
	assert.True(t, resp.Allowed)
	assert.Equal(t, 1.0, f.requests("validate", "CREATE", HandlingError))
}

func TestValidateWarnsWhenWeaker(t *testing.T) {
	f := newFixture(t)
	old := withVerified(t, deployment("nginx:1.27"))
	obj := old.DeepCopy()
	obj.Spec.Template = deployment("nginx:1.28").Spec.Template
	resp := post(t, f.valSrv, review(t, request(t, admissionv1.Update, obj, old)))
	assert.True(t, resp.Allowed)
	require.Len(t, resp.Warnings, 2)
	assert.Contains(t, resp.Warnings[1], "kubectl patch deployment/web -n shop")
	assert.Equal(t, 1.0, testutil.ToFloat64(f.metrics.warnings.WithLabelValues("Deployment")))
	assert.Len(t, f.pub.published(), 1)
}

func TestMutateEnforce(t *testing.T) {
	f := newFixture(t)
	obj := withVerified(t, deployment("nginx:1.27"))
	obj.Namespace = "strict"

	tests := []struct {
		name        string
		namespace   string
		obj         *appsv1.Deployment
		wantPatched bool
		wantOut     Handling
	}{
		{name: "enforce namespace", namespace: "strict", obj: obj, wantPatched: true, wantOut: HandlingPatched},
		{name: "enabled namespace", namespace: "shop", obj: obj, wantOut: HandlingNoop},
		{name: "other namespace", namespace: "other", obj: obj, wantOut: HandlingNotOptedIn},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := request(t, admissionv1.Create, tt.obj, nil)
			req.Namespace = tt.namespace
			resp := post(t, f.mutSrv, review(t, req))
			assert.True(t, resp.Allowed)
			assert.Equal(t, 1.0, f.requests("mutate", "CREATE", tt.wantOut))
			if !tt.wantPatched {
				assert.Empty(t, resp.Patch)
				return
			}
			require.NotNil(t, resp.PatchType)
			assert.Equal(t, admissionv1.PatchTypeJSONPatch, *resp.PatchType)
			var ops []struct {
				Op    string          `json:"op"`
				Path  string          `json:"path"`
				Value json.RawMessage `json:"value"`
			}
			require.NoError(t, json.Unmarshal(resp.Patch, &ops))
			require.NotEmpty(t, ops)
			// The last operation marks the enforced template's hash.
			last := ops[len(ops)-1]
			ops = ops[:len(ops)-1]
			assert.Equal(t, "add", last.Op)
			assert.Equal(t, "/metadata/annotations/cinch.dev~1enforced-template-hash", last.Path)
			var enforcedHash string
			require.NoError(t, json.Unmarshal(last.Value, &enforcedHash))
			rec, err := hardening.DecodeRecommendation(tt.obj.Annotations[hardening.AnnotationRecommendation])
			require.NoError(t, err)
			assert.Equal(t, hardening.TemplateHash(rec.Apply(&tt.obj.Spec.Template)), enforcedHash)
			require.NotEmpty(t, ops)
			for _, op := range ops {
				assert.True(t, strings.HasPrefix(op.Path, "/spec/template/spec/"), op.Path)
				assert.Contains(t, op.Path, "securityContext")
				assert.NotEqual(t, "remove", op.Op)
			}
		})
	}
	assert.Empty(t, f.pub.published(), "the mutating webhook never publishes")
}

func TestTemplatePatchRoundTrip(t *testing.T) {
	orig := template("nginx:1.27")
	rec := recommendationFor(t, orig)
	applied := rec.Apply(&orig)
	resp, err := templatePatch(hardening.KindDeployment, &orig, applied)
	require.NoError(t, err)
	require.NotEmpty(t, resp.Patches)

	// Applying the same template to itself is no patch at all.
	resp, err = templatePatch(hardening.KindDeployment, applied, applied)
	require.NoError(t, err)
	assert.Empty(t, resp.Patches)
	assert.Nil(t, resp.PatchType)
}

// TestUnreadableReviewsAreNeverDenied: whatever the API server (or anything
// else) sends, the answer is never a denial. With a request uid to answer to,
// it is allowed with a warning; without one, a non-200 status, which the API
// server treats as a failed call that failurePolicy Ignore allows. Each is
// counted by reason.
func TestUnreadableReviewsAreNeverDenied(t *testing.T) {
	const head = `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u-1"`
	valid := string(review(t, request(t, admissionv1.Create, deployment("nginx:1.27"), nil)))
	tests := []struct {
		name        string
		body        string
		contentType string
		wantStatus  int
		wantReason  string
		wantUID     string
		wantVersion string
	}{
		{name: "empty", body: "", wantStatus: http.StatusBadRequest, wantReason: UnreadableEmpty},
		{name: "not json", body: "{{{", wantStatus: http.StatusBadRequest, wantReason: UnreadableDecode},
		{name: "yaml", body: "apiVersion: admission.k8s.io/v1\nkind: AdmissionReview\n", wantStatus: http.StatusBadRequest, wantReason: UnreadableDecode},
		{name: "wrong type", body: `{"request": 5}`, wantStatus: http.StatusBadRequest, wantReason: UnreadableDecode},
		{name: "truncated before the uid", body: `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionRev`, wantStatus: http.StatusBadRequest, wantReason: UnreadableDecode},
		{name: "truncated after the uid", body: head + `,"kind":{"group":"apps","vers`, wantStatus: http.StatusOK, wantReason: UnreadableDecode, wantUID: "u-1", wantVersion: "admission.k8s.io/v1"},
		{name: "too deep", body: head + `,"object":{"a":` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + `}}}`,
			wantStatus: http.StatusOK, wantReason: UnreadableTooDeep, wantUID: "u-1", wantVersion: "admission.k8s.io/v1"},
		{name: "too large", body: head + `,"object":{"a":"` + strings.Repeat("x", MaxReviewSize) + `"}}}`,
			wantStatus: http.StatusOK, wantReason: UnreadableTooLarge, wantUID: "u-1", wantVersion: "admission.k8s.io/v1"},
		{name: "wrong content type", body: valid, contentType: "application/yaml", wantStatus: http.StatusOK, wantReason: UnreadableContentType,
			wantUID: "req-1", wantVersion: "admission.k8s.io/v1"},
		{name: "no content type", body: valid, contentType: "-", wantStatus: http.StatusOK, wantReason: UnreadableContentType,
			wantUID: "req-1", wantVersion: "admission.k8s.io/v1"},
		{name: "unknown review version", body: `{"apiVersion":"admission.k8s.io/v2","kind":"AdmissionReview","request":{"uid":"u-2","kind":{"group":"apps","version":"v1","kind":"Deployment"}}}`,
			wantStatus: http.StatusOK, wantReason: UnreadableVersion, wantUID: "u-2", wantVersion: "admission.k8s.io/v2"},
		{name: "unknown group", body: `{"apiVersion":"example.com/v1","kind":"AdmissionReview","request":{"uid":"u-3"}}`,
			wantStatus: http.StatusBadRequest, wantReason: UnreadableVersion, wantUID: "u-3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			for _, srv := range []*httptest.Server{f.valSrv, f.mutSrv} {
				req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL, strings.NewReader(tt.body))
				require.NoError(t, err)
				switch tt.contentType {
				case "":
					req.Header.Set("Content-Type", "application/json")
				case "-":
				default:
					req.Header.Set("Content-Type", tt.contentType)
				}
				resp, err := http.DefaultClient.Do(req)
				require.NoError(t, err)
				var r admissionv1.AdmissionReview
				err = json.NewDecoder(resp.Body).Decode(&r)
				resp.Body.Close()
				require.NoError(t, err)
				require.NotNil(t, r.Response)
				assert.Equal(t, tt.wantStatus, resp.StatusCode)
				assert.True(t, r.Response.Allowed, "never a denial")
				assert.Equal(t, types.UID(tt.wantUID), r.Response.UID)
				if tt.wantStatus == http.StatusOK {
					assert.Equal(t, tt.wantVersion, r.APIVersion)
					assert.Equal(t, "AdmissionReview", r.Kind)
					require.Len(t, r.Response.Warnings, 1)
					assert.Contains(t, r.Response.Warnings[0], "("+tt.wantReason+")")
				}
			}
			assert.Equal(t, 1.0, testutil.ToFloat64(f.metrics.unreadable.WithLabelValues("validate", tt.wantReason)))
			assert.Equal(t, 1.0, testutil.ToFloat64(f.metrics.unreadable.WithLabelValues("mutate", tt.wantReason)))
			assert.Empty(t, f.pub.published())
		})
	}
}

func TestLargeObject(t *testing.T) {
	f := newFixture(t)
	d := deployment("nginx:1.27")
	// ~1 MiB of environment: large but within what etcd accepts.
	for i := range 1000 {
		d.Spec.Template.Spec.Containers[0].Env = append(d.Spec.Template.Spec.Containers[0].Env,
			corev1.EnvVar{Name: fmt.Sprintf("VAR_%04d", i), Value: strings.Repeat("x", 1000)})
	}
	resp := post(t, f.valSrv, review(t, request(t, admissionv1.Create, d, nil)))
	assert.True(t, resp.Allowed)
	assert.Len(t, f.pub.published(), 1)
}

// TestBatchKindsThroughTheWebhooks: Jobs and CronJobs are handled in the
// batch group (never in another), counted under their kind, and a
// CronJob's enforcement patches its job template.
func TestBatchKindsThroughTheWebhooks(t *testing.T) {
	cj := cronJob("report:1")
	j := job("migrate:1")
	count := func(f *fixture, webhook, kind string, op admissionv1.Operation, out Handling) float64 {
		return testutil.ToFloat64(f.metrics.requests.WithLabelValues(webhook, kind, string(op), string(out)))
	}
	tests := []struct {
		name     string
		req      func(t *testing.T) admission.Request
		kind     string
		wantOut  Handling
		wantJobs []string // kinds published
	}{
		{name: "cronjob create", kind: "CronJob", wantOut: HandlingQueued, wantJobs: []string{"CronJob"},
			req: func(t *testing.T) admission.Request { return request(t, admissionv1.Create, cj, nil, cronJobKind) }},
		{name: "cronjob template change", kind: "CronJob", wantOut: HandlingQueued, wantJobs: []string{"CronJob"},
			req: func(t *testing.T) admission.Request {
				return request(t, admissionv1.Update, cronJob("report:2"), cj, cronJobKind)
			}},
		{name: "job create", kind: "Job", wantOut: HandlingQueued, wantJobs: []string{"Job"},
			req: func(t *testing.T) admission.Request { return request(t, admissionv1.Create, j, nil, jobKind) }},
		{name: "job update", kind: "Job", wantOut: HandlingImmutable,
			req: func(t *testing.T) admission.Request { return request(t, admissionv1.Update, j, j, jobKind) }},
		{name: "job of a cronjob", kind: "Job", wantOut: HandlingOwned,
			req: func(t *testing.T) admission.Request {
				return request(t, admissionv1.Create, ownedBy(j, cj), nil, jobKind)
			}},
		{name: "job status", kind: "Job", wantOut: HandlingIgnored,
			req: func(t *testing.T) admission.Request {
				r := request(t, admissionv1.Update, j, j, jobKind)
				r.SubResource = "status"
				return r
			}},
		{name: "a Job kind in the apps group", kind: "Job", wantOut: HandlingIgnored,
			req: func(t *testing.T) admission.Request {
				r := request(t, admissionv1.Create, j, nil, jobKind)
				r.Kind.Group = "apps"
				return r
			}},
		{name: "a Deployment kind in the batch group", kind: "Deployment", wantOut: HandlingIgnored,
			req: func(t *testing.T) admission.Request {
				r := request(t, admissionv1.Create, deployment("nginx:1.27"), nil)
				r.Kind.Group = "batch"
				return r
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			req := tt.req(t)
			resp := post(t, f.valSrv, review(t, req))
			assert.True(t, resp.Allowed)
			assert.Empty(t, resp.Warnings)
			assert.Equal(t, 1.0, count(f, "validate", tt.kind, req.Operation, tt.wantOut))
			var kinds []string
			for _, j := range f.pub.published() {
				kinds = append(kinds, j.Kind)
			}
			assert.Equal(t, tt.wantJobs, kinds)
		})
	}

	t.Run("cronjob enforcement", func(t *testing.T) {
		f := newFixture(t)
		obj := cj.DeepCopy()
		obj.Namespace = "strict"
		rec := verifiedAnnotations(t, &obj.ObjectMeta, obj.Spec.JobTemplate.Spec.Template)
		req := request(t, admissionv1.Update, obj, obj, cronJobKind)
		req.Namespace = "strict"
		resp := post(t, f.mutSrv, review(t, req))
		assert.True(t, resp.Allowed)
		assert.Equal(t, 1.0, count(f, "mutate", "CronJob", admissionv1.Update, HandlingPatched))
		var ops []struct {
			Op    string          `json:"op"`
			Path  string          `json:"path"`
			Value json.RawMessage `json:"value"`
		}
		require.NoError(t, json.Unmarshal(resp.Patch, &ops))
		require.Greater(t, len(ops), 1)
		last := ops[len(ops)-1]
		assert.Equal(t, "/metadata/annotations/cinch.dev~1enforced-template-hash", last.Path)
		assert.JSONEq(t, `"`+hardening.TemplateHash(rec.Apply(&obj.Spec.JobTemplate.Spec.Template))+`"`, string(last.Value))
		for _, op := range ops[:len(ops)-1] {
			assert.True(t, strings.HasPrefix(op.Path, "/spec/jobTemplate/spec/template/spec/"), op.Path)
		}
	})
	t.Run("job update is never mutated", func(t *testing.T) {
		f := newFixture(t)
		obj := j.DeepCopy()
		obj.Namespace = "strict"
		verifiedAnnotations(t, &obj.ObjectMeta, obj.Spec.Template)
		req := request(t, admissionv1.Update, obj, obj, jobKind)
		req.Namespace = "strict"
		resp := post(t, f.mutSrv, review(t, req))
		assert.True(t, resp.Allowed)
		assert.Empty(t, resp.Patch)
		assert.Equal(t, 1.0, count(f, "mutate", "Job", admissionv1.Update, HandlingImmutable))
	})
}
