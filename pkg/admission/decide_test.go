package admission

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gomodules.xyz/jsonpatch/v2"
	admissionv1 "k8s.io/api/admission/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

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
		name         string
		op           admissionv1.Operation
		dryRun       bool
		namespace    string
		labels       map[string]string
		obj, old     *appsv1.Deployment
		wantHandling Handling
		wantHash     string // of the published job; "" = no job
		wantWarn     bool
	}{
		{name: "create publishes", op: admissionv1.Create, labels: enabled(), obj: base, wantHandling: HandlingPublished, wantHash: hash(base)},
		{name: "enforce namespace publishes", op: admissionv1.Create, labels: enforce(), obj: base, wantHandling: HandlingPublished, wantHash: hash(base)},
		{name: "template change publishes", op: admissionv1.Update, labels: enabled(), obj: newImage, old: base, wantHandling: HandlingPublished, wantHash: hash(newImage)},
		{name: "scale does not publish", op: admissionv1.Update, labels: enabled(), obj: scaled, old: base, wantHandling: HandlingUnchanged},
		{name: "annotation-only does not publish", op: admissionv1.Update, labels: enabled(), obj: annotated, old: base, wantHandling: HandlingUnchanged},
		{name: "cinch results do not publish", op: admissionv1.Update, labels: enabled(), obj: verifiedBase, old: base, wantHandling: HandlingUnchanged},
		{name: "dry run create", op: admissionv1.Create, dryRun: true, labels: enabled(), obj: base, wantHandling: HandlingDryRun},
		{name: "dry run update", op: admissionv1.Update, dryRun: true, labels: enabled(), obj: newImage, old: base, wantHandling: HandlingDryRun},
		{name: "namespace not labelled", op: admissionv1.Create, labels: map[string]string{"team": "x"}, obj: base, wantHandling: HandlingNotOptedIn},
		{name: "namespace label other value", op: admissionv1.Create, labels: map[string]string{hardening.LabelHarden: "yes"}, obj: base, wantHandling: HandlingNotOptedIn},
		{name: "no labels", op: admissionv1.Create, obj: base, wantHandling: HandlingNotOptedIn},
		{name: "clone namespace", op: admissionv1.Create, labels: map[string]string{hardening.LabelHarden: hardening.HardenEnabled, hardening.LabelCloneOf: "shop"}, obj: base, wantHandling: HandlingExcluded},
		{name: "own namespace", op: admissionv1.Create, namespace: "cinch-system", labels: enabled(), obj: base, wantHandling: HandlingExcluded},
		{name: "workload opted out", op: admissionv1.Update, labels: enabled(), obj: optedOut, old: base, wantHandling: HandlingOptedOut},
		{name: "update without old object", op: admissionv1.Update, labels: enabled(), obj: newImage, wantHandling: HandlingError},
		{name: "weaker new template warns and publishes", op: admissionv1.Update, labels: enabled(), obj: verifiedNewImage, old: verifiedBase, wantHandling: HandlingPublished, wantHash: hash(verifiedNewImage), wantWarn: true},
		{name: "dry run still warns", op: admissionv1.Update, dryRun: true, labels: enabled(), obj: verifiedNewImage, old: verifiedBase, wantHandling: HandlingDryRun, wantWarn: true},
		{name: "hardened new template does not warn", op: admissionv1.Update, labels: enabled(), obj: hardenedNewImage, old: verifiedBase, wantHandling: HandlingPublished, wantHash: hash(hardenedNewImage)},
		{name: "enforcement result is not re-hardened", op: admissionv1.Update, labels: enforce(), obj: enforced, old: verifiedBase, wantHandling: HandlingEnforced},
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
			assert.Equal(t, tt.wantHandling, d.Handling)
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
	assert.Equal(t, HandlingPublished, d.Handling)
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
		name         string
		labels       map[string]string
		obj          *appsv1.Deployment
		wantHandling Handling
		wantApplied  bool
	}{
		{name: "enforce applies verified", labels: enforce(), obj: verifiedBase, wantHandling: HandlingPatched, wantApplied: true},
		{name: "enabled only is a no-op", labels: enabled(), obj: verifiedBase, wantHandling: HandlingNoop},
		{name: "not opted in", labels: nil, obj: verifiedBase, wantHandling: HandlingNotOptedIn},
		{name: "already hardened is idempotent", labels: enforce(), obj: hardened, wantHandling: HandlingNoop},
		{name: "other template is not touched", labels: enforce(), obj: otherImage, wantHandling: HandlingNoop},
		{name: "not verified", labels: enforce(), obj: notVerified, wantHandling: HandlingNoop},
		{name: "no annotations", labels: enforce(), obj: base, wantHandling: HandlingNoop},
		{name: "opted out", labels: enforce(), obj: optedOut, wantHandling: HandlingOptedOut},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, applied := DecideMutation(Input{
				Kind: "Deployment", Operation: admissionv1.Update, Namespace: "shop",
				NamespaceLabels: tt.labels, Object: toWorkload(t, tt.obj), Now: testNow,
			})
			assert.Equal(t, tt.wantHandling, out)
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
		want     Handling
	}{
		{name: "enforced template back from another", obj: enforced, old: other, want: HandlingEnforced},
		{name: "verified template back from another", obj: verifiedBase, old: other, want: HandlingDescribed},
		{name: "failed result for the template", obj: failedObj, old: other, want: HandlingDescribed},
		{name: "change on top of the enforced template", obj: changed, old: enforced, want: HandlingPublished},
		{name: "enforced hash without a Verified status", obj: running, old: other, want: HandlingPublished},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Decide(Input{
				Kind: "Deployment", Operation: admissionv1.Update, Namespace: "shop", NamespaceLabels: enforce(),
				Object: toWorkload(t, tt.obj), OldObject: toWorkload(t, tt.old), Now: testNow,
			})
			assert.Equal(t, tt.want, d.Handling)
			assert.Equal(t, tt.want == HandlingPublished, d.Job != nil)
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

// TestDecideBatch: Jobs and CronJobs are decided on the pod template at
// their kind's template path (a CronJob's jobTemplate), a Job UPDATE never
// publishes (its template cannot change) and a Job its CronJob created is
// hardened through the CronJob.
func TestDecideBatch(t *testing.T) {
	cj := cronJob("report:1")
	cjNewImage := cronJob("report:2")
	cjSchedule := cj.DeepCopy()
	cjSchedule.Spec.Schedule = "0 4 * * *"
	cjBackoff := cj.DeepCopy()
	cjBackoff.Spec.JobTemplate.Spec.BackoffLimit = ptr(int32(1))
	cjVerified := cj.DeepCopy()
	rec := verifiedAnnotations(t, &cjVerified.ObjectMeta, cj.Spec.JobTemplate.Spec.Template)
	cjVerifiedNewImage := cjVerified.DeepCopy()
	cjVerifiedNewImage.Spec.JobTemplate.Spec.Template = cjNewImage.Spec.JobTemplate.Spec.Template
	cjEnforced := cjVerified.DeepCopy()
	cjEnforced.Spec.JobTemplate.Spec.Template = *rec.Apply(&cj.Spec.JobTemplate.Spec.Template)

	j := job("migrate:1")
	jSuspendedRelabelled := j.DeepCopy() // the only template change the API server allows
	jSuspendedRelabelled.Spec.Template.Labels["zone"] = "b"
	jOwned := ownedBy(j, cj)
	jOtherOwner := jOwned.DeepCopy()
	jOtherOwner.OwnerReferences[0].Controller = ptr(false)
	jOptedOutOwned := jOwned.DeepCopy()
	jOptedOutOwned.Annotations = map[string]string{hardening.LabelHarden: hardening.HardenDisabled}

	cjHash := hardening.TemplateHash(&cj.Spec.JobTemplate.Spec.Template)
	tests := []struct {
		name         string
		kind         string
		op           admissionv1.Operation
		obj, old     any
		wantHandling Handling
		wantJob      *Job
		wantWarn     bool
	}{
		{name: "cronjob create publishes its job template", kind: hardening.KindCronJob, op: admissionv1.Create, obj: cj, wantHandling: HandlingPublished,
			wantJob: &Job{Namespace: "shop", Kind: "CronJob", Name: "nightly", UID: "uid-nightly", TemplateHash: cjHash, EnqueuedAt: testNow}},
		{name: "cronjob template change publishes", kind: hardening.KindCronJob, op: admissionv1.Update, obj: cjNewImage, old: cj, wantHandling: HandlingPublished,
			wantJob: &Job{Namespace: "shop", Kind: "CronJob", Name: "nightly", UID: "uid-nightly",
				TemplateHash: hardening.TemplateHash(&cjNewImage.Spec.JobTemplate.Spec.Template), EnqueuedAt: testNow}},
		{name: "cronjob schedule change does not publish", kind: hardening.KindCronJob, op: admissionv1.Update, obj: cjSchedule, old: cj, wantHandling: HandlingUnchanged},
		{name: "cronjob job spec change outside the pod template does not publish", kind: hardening.KindCronJob, op: admissionv1.Update, obj: cjBackoff, old: cj, wantHandling: HandlingUnchanged},
		{name: "cronjob results do not publish", kind: hardening.KindCronJob, op: admissionv1.Update, obj: cjVerified, old: cj, wantHandling: HandlingUnchanged},
		{name: "weaker cronjob template warns and publishes", kind: hardening.KindCronJob, op: admissionv1.Update, obj: cjVerifiedNewImage, old: cjVerified, wantHandling: HandlingPublished,
			wantJob: &Job{Namespace: "shop", Kind: "CronJob", Name: "nightly", UID: "uid-nightly",
				TemplateHash: hardening.TemplateHash(&cjNewImage.Spec.JobTemplate.Spec.Template), EnqueuedAt: testNow}, wantWarn: true},
		{name: "cronjob enforcement is not re-hardened", kind: hardening.KindCronJob, op: admissionv1.Update, obj: cjEnforced, old: cjVerified, wantHandling: HandlingEnforced},
		{name: "job create publishes", kind: hardening.KindJob, op: admissionv1.Create, obj: j, wantHandling: HandlingPublished,
			wantJob: &Job{Namespace: "shop", Kind: "Job", Name: "migrate", UID: "uid-migrate", TemplateHash: hardening.TemplateHash(&j.Spec.Template), EnqueuedAt: testNow}},
		{name: "job update does not publish", kind: hardening.KindJob, op: admissionv1.Update, obj: j, old: j, wantHandling: HandlingImmutable},
		{name: "suspended job template labels do not publish", kind: hardening.KindJob, op: admissionv1.Update, obj: jSuspendedRelabelled, old: j, wantHandling: HandlingImmutable},
		{name: "job of a cronjob is hardened through it", kind: hardening.KindJob, op: admissionv1.Create, obj: jOwned, wantHandling: HandlingOwned},
		{name: "job of a cronjob that is not its controller publishes", kind: hardening.KindJob, op: admissionv1.Create, obj: jOtherOwner, wantHandling: HandlingPublished,
			wantJob: &Job{Namespace: "shop", Kind: "Job", Name: jOtherOwner.Name, UID: "uid-migrate", TemplateHash: cjHash, EnqueuedAt: testNow}},
		{name: "opting out wins", kind: hardening.KindJob, op: admissionv1.Create, obj: jOptedOutOwned, wantHandling: HandlingOptedOut},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Decide(Input{
				Kind: tt.kind, Operation: tt.op, Namespace: "shop", NamespaceLabels: enabled(), OwnNamespace: "cinch-system",
				Object: toWorkload(t, tt.obj), OldObject: toWorkload(t, tt.old), Now: testNow,
			})
			assert.Equal(t, tt.wantHandling, d.Handling)
			assert.Equal(t, tt.wantJob, d.Job)
			if !tt.wantWarn {
				assert.Empty(t, d.Warnings)
				return
			}
			require.Len(t, d.Warnings, 2)
			assert.Contains(t, d.Warnings[0], "cronjob shop/nightly is less hardened than its verified recommendation")
			assert.Contains(t, d.Warnings[1], `kubectl patch cronjob/nightly -n shop --type strategic -p '{"spec":{"jobTemplate":{"spec":{"template":{"spec":`)
		})
	}
}

// TestDecideMutationBatch: enforce mode applies the verified settings to a
// CronJob's job template (so the next Job it makes runs them) and to a Job
// on CREATE, never to a Job UPDATE (the API server would refuse the update)
// nor to a Job its CronJob made (it has its CronJob's template).
func TestDecideMutationBatch(t *testing.T) {
	cj := cronJob("report:1")
	cjVerified := cj.DeepCopy()
	rec := verifiedAnnotations(t, &cjVerified.ObjectMeta, cj.Spec.JobTemplate.Spec.Template)
	cjHardened := cjVerified.DeepCopy()
	cjHardened.Spec.JobTemplate.Spec.Template = *rec.Apply(&cj.Spec.JobTemplate.Spec.Template)
	j := job("migrate:1")
	jVerified := j.DeepCopy()
	jRec := verifiedAnnotations(t, &jVerified.ObjectMeta, j.Spec.Template)
	jOwned := ownedBy(jVerified, cj)
	jOwned.Annotations = cjVerified.Annotations

	tests := []struct {
		name         string
		kind         string
		op           admissionv1.Operation
		obj          any
		wantHandling Handling
		wantApplied  *corev1.PodTemplateSpec
	}{
		{name: "cronjob update", kind: hardening.KindCronJob, op: admissionv1.Update, obj: cjVerified, wantHandling: HandlingPatched,
			wantApplied: rec.Apply(&cj.Spec.JobTemplate.Spec.Template)},
		{name: "cronjob create", kind: hardening.KindCronJob, op: admissionv1.Create, obj: cjVerified, wantHandling: HandlingPatched,
			wantApplied: rec.Apply(&cj.Spec.JobTemplate.Spec.Template)},
		{name: "hardened cronjob is idempotent", kind: hardening.KindCronJob, op: admissionv1.Update, obj: cjHardened, wantHandling: HandlingNoop},
		{name: "job create", kind: hardening.KindJob, op: admissionv1.Create, obj: jVerified, wantHandling: HandlingPatched, wantApplied: jRec.Apply(&j.Spec.Template)},
		{name: "job update", kind: hardening.KindJob, op: admissionv1.Update, obj: jVerified, wantHandling: HandlingImmutable},
		{name: "job of a cronjob", kind: hardening.KindJob, op: admissionv1.Create, obj: jOwned, wantHandling: HandlingOwned},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, applied := DecideMutation(Input{
				Kind: tt.kind, Operation: tt.op, Namespace: "shop", NamespaceLabels: enforce(), Object: toWorkload(t, tt.obj), Now: testNow,
			})
			assert.Equal(t, tt.wantHandling, out)
			assert.Equal(t, tt.wantApplied, applied)
		})
	}
}

func TestDecodeWorkload(t *testing.T) {
	const tmpl = `{"metadata":{"labels":{"app":"x"}},"spec":{"containers":[{"name":"c","image":"i"}]}}`
	want := corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "x"}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "i"}}},
	}
	tests := []struct {
		name    string
		kind    string
		raw     string
		want    corev1.PodTemplateSpec
		wantErr bool
	}{
		{name: "deployment", kind: "Deployment", raw: `{"metadata":{"name":"w"},"spec":{"replicas":2,"template":` + tmpl + `},"status":{}}`, want: want},
		{name: "job", kind: "Job", raw: `{"metadata":{"name":"w"},"spec":{"template":` + tmpl + `}}`, want: want},
		{name: "cronjob", kind: "CronJob", raw: `{"metadata":{"name":"w"},"spec":{"schedule":"@daily","jobTemplate":{"metadata":{"labels":{"a":"b"}},"spec":{"template":` + tmpl + `}}}}`, want: want},
		{name: "cronjob read at spec.template", kind: "CronJob", raw: `{"metadata":{"name":"w"},"spec":{"template":` + tmpl + `}}`},
		{name: "missing spec", kind: "CronJob", raw: `{"metadata":{"name":"w"}}`},
		{name: "null on the way", kind: "CronJob", raw: `{"metadata":{"name":"w"},"spec":{"jobTemplate":null}}`},
		{name: "null object", kind: "Job", raw: `null`},
		{name: "field names are case-sensitive", kind: "Deployment", raw: `{"metadata":{"name":"w"},"Spec":{"Template":` + tmpl + `}}`},
		{name: "wrong type on the way", kind: "CronJob", raw: `{"spec":{"jobTemplate":5}}`, wantErr: true},
		{name: "wrong template type", kind: "Deployment", raw: `{"spec":{"template":"nope"}}`, wantErr: true},
		{name: "not an object", kind: "Deployment", raw: `[]`, wantErr: true},
		{name: "unknown kind", kind: "ReplicaSet", raw: `{}`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, err := DecodeWorkload(tt.kind, []byte(tt.raw))
			if tt.wantErr {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, w.Template)
			if tt.raw != "null" && tt.name != "missing spec" {
				assert.Equal(t, "w", w.Metadata.Name)
			}
		})
	}
}

func TestTemplatePointer(t *testing.T) {
	for kind, want := range map[string]string{
		"Deployment": "/spec/template", "StatefulSet": "/spec/template", "DaemonSet": "/spec/template",
		"Job": "/spec/template", "CronJob": "/spec/jobTemplate/spec/template",
	} {
		got, err := templatePointer(kind)
		require.NoError(t, err)
		assert.Equal(t, want, got, kind)
	}
	_, err := templatePointer("Pod")
	require.Error(t, err)
}
