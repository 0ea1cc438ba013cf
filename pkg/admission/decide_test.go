package admission

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gomodules.xyz/jsonpatch/v2"
	admissionv1 "k8s.io/api/admission/v1"
	appsv1 "k8s.io/api/apps/v1"

	"github.com/cinch-dev/cinch/pkg/hardening"
)

func enabled() map[string]string {
	return map[string]string{hardening.LabelHarden: hardening.HardenEnabled}
}

func enforce() map[string]string {
	return map[string]string{hardening.LabelHarden: hardening.HardenEnforce}
}

func TestDecide(t *testing.T) {
	base := deployment("nginx:1.27")
	newImage := deployment("nginx:1.28")
	scaled := base.DeepCopy()
	scaled.Spec.Replicas = ptr(int32(5))
	annotated := base.DeepCopy()
	annotated.Annotations = map[string]string{"team": "shop", hardening.AnnotationStatus: "Running"}
	optedOut := newImage.DeepCopy()
	optedOut.Annotations = map[string]string{hardening.LabelHarden: hardening.HardenDisabled}
	verifiedBase := withVerified(t, base)
	verifiedNewImage := verifiedBase.DeepCopy()
	verifiedNewImage.Spec.Template = newImage.Spec.Template
	rec := recommendationFor(t, base.Spec.Template)
	enforced := verifiedBase.DeepCopy()
	enforced.Spec.Template = *rec.Apply(&base.Spec.Template)
	hardenedNewImage := verifiedBase.DeepCopy()
	hardenedNewImage.Spec.Template = *rec.Apply(&newImage.Spec.Template)

	hash := func(d *appsv1.Deployment) string { return hardening.TemplateHash(&d.Spec.Template) }

	tests := []struct {
		name        string
		op          admissionv1.Operation
		dryRun      bool
		namespace   string
		labels      map[string]string
		obj, old    *appsv1.Deployment
		wantOutcome Outcome
		wantHash    string // of the published job; "" = no job
		wantWarn    bool
	}{
		{name: "create publishes", op: admissionv1.Create, labels: enabled(), obj: base, wantOutcome: OutcomePublished, wantHash: hash(base)},
		{name: "enforce namespace publishes", op: admissionv1.Create, labels: enforce(), obj: base, wantOutcome: OutcomePublished, wantHash: hash(base)},
		{name: "template change publishes", op: admissionv1.Update, labels: enabled(), obj: newImage, old: base, wantOutcome: OutcomePublished, wantHash: hash(newImage)},
		{name: "scale does not publish", op: admissionv1.Update, labels: enabled(), obj: scaled, old: base, wantOutcome: OutcomeUnchanged},
		{name: "annotation-only does not publish", op: admissionv1.Update, labels: enabled(), obj: annotated, old: base, wantOutcome: OutcomeUnchanged},
		{name: "cinch results do not publish", op: admissionv1.Update, labels: enabled(), obj: verifiedBase, old: base, wantOutcome: OutcomeUnchanged},
		{name: "dry run create", op: admissionv1.Create, dryRun: true, labels: enabled(), obj: base, wantOutcome: OutcomeDryRun},
		{name: "dry run update", op: admissionv1.Update, dryRun: true, labels: enabled(), obj: newImage, old: base, wantOutcome: OutcomeDryRun},
		{name: "namespace not labelled", op: admissionv1.Create, labels: map[string]string{"team": "x"}, obj: base, wantOutcome: OutcomeNotOptedIn},
		{name: "namespace label other value", op: admissionv1.Create, labels: map[string]string{hardening.LabelHarden: "yes"}, obj: base, wantOutcome: OutcomeNotOptedIn},
		{name: "no labels", op: admissionv1.Create, obj: base, wantOutcome: OutcomeNotOptedIn},
		{name: "clone namespace", op: admissionv1.Create, labels: map[string]string{hardening.LabelHarden: hardening.HardenEnabled, hardening.LabelCloneOf: "shop"}, obj: base, wantOutcome: OutcomeExcluded},
		{name: "own namespace", op: admissionv1.Create, namespace: "cinch-system", labels: enabled(), obj: base, wantOutcome: OutcomeExcluded},
		{name: "workload opted out", op: admissionv1.Update, labels: enabled(), obj: optedOut, old: base, wantOutcome: OutcomeOptedOut},
		{name: "update without old object", op: admissionv1.Update, labels: enabled(), obj: newImage, wantOutcome: OutcomeError},
		{name: "weaker new template warns and publishes", op: admissionv1.Update, labels: enabled(), obj: verifiedNewImage, old: verifiedBase, wantOutcome: OutcomePublished, wantHash: hash(verifiedNewImage), wantWarn: true},
		{name: "dry run still warns", op: admissionv1.Update, dryRun: true, labels: enabled(), obj: verifiedNewImage, old: verifiedBase, wantOutcome: OutcomeDryRun, wantWarn: true},
		{name: "hardened new template does not warn", op: admissionv1.Update, labels: enabled(), obj: hardenedNewImage, old: verifiedBase, wantOutcome: OutcomePublished, wantHash: hash(hardenedNewImage)},
		{name: "enforcement result is not re-hardened", op: admissionv1.Update, labels: enforce(), obj: enforced, old: verifiedBase, wantOutcome: OutcomeEnforced},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ns := tt.namespace
			if ns == "" {
				ns = "shop"
			}
			in := Input{
				Kind: "Deployment", Operation: tt.op, DryRun: tt.dryRun,
				Namespace: ns, NamespaceLabels: tt.labels, OwnNamespace: "cinch-system",
				Object: toWorkload(t, tt.obj), Now: testNow,
			}
			if tt.old != nil {
				in.OldObject = toWorkload(t, tt.old)
			}
			d := Decide(in)
			assert.Equal(t, tt.wantOutcome, d.Outcome)
			if tt.wantHash == "" {
				assert.Nil(t, d.Job)
			} else {
				require.NotNil(t, d.Job)
				assert.Equal(t, Job{
					Namespace: "shop", Kind: "Deployment", Name: "web",
					UID: "uid-web", TemplateHash: tt.wantHash, EnqueuedAt: testNow,
				}, *d.Job)
			}
			if tt.wantWarn {
				require.Len(t, d.Warnings, 2)
				assert.Contains(t, d.Warnings[0], "deployment shop/web is less hardened than its verified recommendation")
				assert.Contains(t, d.Warnings[0], "runAsNonRoot")
				assert.Contains(t, d.Warnings[1], "kubectl patch deployment/web -n shop --type strategic -p ")
			} else {
				assert.Empty(t, d.Warnings)
			}
		})
	}
}

func TestDecideIgnoresUndecodableRecommendation(t *testing.T) {
	base := deployment("nginx:1.27")
	obj := withVerified(t, deployment("nginx:1.28"))
	obj.Annotations[hardening.AnnotationRecommendation] = "{not json"
	d := Decide(Input{
		Kind: "Deployment", Operation: admissionv1.Update, Namespace: "shop", NamespaceLabels: enabled(),
		Object: toWorkload(t, obj), OldObject: toWorkload(t, base), Now: testNow,
	})
	assert.Equal(t, OutcomePublished, d.Outcome)
	assert.Empty(t, d.Warnings)
}

func TestDecideMutation(t *testing.T) {
	base := deployment("nginx:1.27")
	verifiedBase := withVerified(t, base)
	rec := recommendationFor(t, base.Spec.Template)
	hardened := verifiedBase.DeepCopy()
	hardened.Spec.Template = *rec.Apply(&base.Spec.Template)
	otherImage := verifiedBase.DeepCopy()
	otherImage.Spec.Template = deployment("nginx:1.28").Spec.Template
	notVerified := verifiedBase.DeepCopy()
	notVerified.Annotations[hardening.AnnotationStatus] = string(hardening.StatusRunning)
	optedOut := verifiedBase.DeepCopy()
	optedOut.Annotations[hardening.LabelHarden] = hardening.HardenDisabled

	tests := []struct {
		name        string
		labels      map[string]string
		obj         *appsv1.Deployment
		wantOutcome Outcome
		wantApplied bool
	}{
		{name: "enforce applies verified", labels: enforce(), obj: verifiedBase, wantOutcome: OutcomePatched, wantApplied: true},
		{name: "enabled only is a no-op", labels: enabled(), obj: verifiedBase, wantOutcome: OutcomeNoop},
		{name: "not opted in", labels: nil, obj: verifiedBase, wantOutcome: OutcomeNotOptedIn},
		{name: "already hardened is idempotent", labels: enforce(), obj: hardened, wantOutcome: OutcomeNoop},
		{name: "other template is not touched", labels: enforce(), obj: otherImage, wantOutcome: OutcomeNoop},
		{name: "not verified", labels: enforce(), obj: notVerified, wantOutcome: OutcomeNoop},
		{name: "no annotations", labels: enforce(), obj: base, wantOutcome: OutcomeNoop},
		{name: "opted out", labels: enforce(), obj: optedOut, wantOutcome: OutcomeOptedOut},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, applied := DecideMutation(Input{
				Kind: "Deployment", Operation: admissionv1.Update, Namespace: "shop",
				NamespaceLabels: tt.labels, Object: toWorkload(t, tt.obj), Now: testNow,
			})
			assert.Equal(t, tt.wantOutcome, out)
			if !tt.wantApplied {
				assert.Nil(t, applied)
				return
			}
			require.NotNil(t, applied)
			assert.Equal(t, hardening.TemplateHash(&hardened.Spec.Template), hardening.TemplateHash(applied))
			assert.Empty(t, hardening.Weaker(rec, applied))
		})
	}
}

func ptr[T any](v T) *T { return &v }

// TestDecideEnforcedWorkload: once the mutating webhook enforced a verified
// recommendation, the stored template hashes to the enforced hash while
// cinch.dev/template-hash keeps the verified one; later changes that land
// on either hash publish nothing, anything else does.
func TestDecideEnforcedWorkload(t *testing.T) {
	base := deployment("nginx:1.27")
	verifiedBase := withVerified(t, base)
	rec := recommendationFor(t, base.Spec.Template)
	enforced := verifiedBase.DeepCopy()
	enforced.Spec.Template = *rec.Apply(&base.Spec.Template)
	enforcedHash := hardening.TemplateHash(&enforced.Spec.Template)
	enforced.Annotations[hardening.AnnotationEnforcedTemplateHash] = enforcedHash
	// A further change on top of the enforced template (new image).
	changed := enforced.DeepCopy()
	changed.Spec.Template.Spec.Containers[0].Image = "nginx:1.28"
	// Back from an unrelated template to the enforced one: the stored object
	// had another template, the incoming one is the enforced template again.
	other := enforced.DeepCopy()
	other.Spec.Template.Spec.Containers[0].Image = "nginx:1.29"
	failedObj := verifiedBase.DeepCopy()
	failedObj.Annotations[hardening.AnnotationStatus] = string(hardening.StatusFailed)
	running := enforced.DeepCopy()
	running.Annotations[hardening.AnnotationStatus] = string(hardening.StatusRunning)

	tests := []struct {
		name     string
		obj, old *appsv1.Deployment
		want     Outcome
	}{
		{name: "enforced template back from another", obj: enforced, old: other, want: OutcomeEnforced},
		{name: "verified template back from another", obj: verifiedBase, old: other, want: OutcomeDescribed},
		{name: "failed result for the template", obj: failedObj, old: other, want: OutcomeDescribed},
		{name: "change on top of the enforced template", obj: changed, old: enforced, want: OutcomePublished},
		{name: "enforced hash without a Verified status", obj: running, old: other, want: OutcomePublished},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Decide(Input{
				Kind: "Deployment", Operation: admissionv1.Update, Namespace: "shop", NamespaceLabels: enforce(),
				Object: toWorkload(t, tt.obj), OldObject: toWorkload(t, tt.old), Now: testNow,
			})
			assert.Equal(t, tt.want, d.Outcome)
			assert.Equal(t, tt.want == OutcomePublished, d.Job != nil)
		})
	}
}

func TestAnnotationPatch(t *testing.T) {
	tests := []struct {
		name string
		ann  map[string]string
		want jsonpatch.JsonPatchOperation
	}{
		{name: "no annotations", ann: nil, want: jsonpatch.JsonPatchOperation{
			Operation: "add", Path: "/metadata/annotations", Value: map[string]string{"cinch.dev/x~y": "v"}}},
		{name: "annotations", ann: map[string]string{"a": "b"}, want: jsonpatch.JsonPatchOperation{
			Operation: "add", Path: "/metadata/annotations/cinch.dev~1x~0y", Value: "v"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, annotationPatch(tt.ann, "cinch.dev/x~y", "v"))
		})
	}
}
