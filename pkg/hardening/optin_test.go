package hardening

import (
	"testing"

	"github.com/stretchr/testify/assert"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

func TestOptIn(t *testing.T) {
	tests := []struct {
		name     string
		ns       map[string]string
		ann      map[string]string
		clone    bool
		nsIn     bool
		enforces bool
		optedIn  bool
	}{
		{name: "no labels"},
		{name: "enabled", ns: map[string]string{LabelHarden: HardenEnabled}, nsIn: true, optedIn: true},
		{name: "enforce", ns: map[string]string{LabelHarden: HardenEnforce}, nsIn: true, enforces: true, optedIn: true},
		{name: "other value", ns: map[string]string{LabelHarden: "yes"}},
		{name: "disabled on the namespace", ns: map[string]string{LabelHarden: HardenDisabled}},
		{name: "workload opted out", ns: map[string]string{LabelHarden: HardenEnabled}, ann: map[string]string{LabelHarden: HardenDisabled}, nsIn: true},
		{name: "workload annotation other value", ns: map[string]string{LabelHarden: HardenEnabled}, ann: map[string]string{LabelHarden: "enabled"}, nsIn: true, optedIn: true},
		{name: "clone", ns: map[string]string{LabelCloneOf: "shop"}, clone: true},
		{name: "clone with the opt-in label", ns: map[string]string{LabelHarden: HardenEnforce, LabelCloneOf: "shop"}, clone: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.clone, IsClone(tt.ns), "IsClone")
			assert.Equal(t, tt.nsIn, NamespaceOptedIn(tt.ns), "NamespaceOptedIn")
			assert.Equal(t, tt.enforces, NamespaceEnforces(tt.ns), "NamespaceEnforces")
			assert.Equal(t, tt.optedIn, OptedIn(tt.ns, tt.ann), "OptedIn")
		})
	}
}

func TestOptInSelectorMatchesTheRule(t *testing.T) {
	sel, err := labels.Parse(OptInSelector)
	assert.NoError(t, err)
	for _, v := range []string{"", HardenEnabled, HardenEnforce, HardenDisabled, "yes"} {
		ns := map[string]string{}
		if v != "" {
			ns[LabelHarden] = v
		}
		assert.Equal(t, NamespaceOptedIn(ns), sel.Matches(labels.Set(ns)), v)
	}
}

func TestHardenedByOwner(t *testing.T) {
	ref := func(apiVersion, kind string, controller bool) metav1.OwnerReference {
		return metav1.OwnerReference{APIVersion: apiVersion, Kind: kind, Name: "nightly", UID: "u", Controller: &controller}
	}
	tests := []struct {
		name   string
		kind   string
		owners []metav1.OwnerReference
		want   bool
	}{
		{name: "job of a cronjob", kind: KindJob, owners: []metav1.OwnerReference{ref("batch/v1", KindCronJob, true)}, want: true},
		{name: "job of an older cronjob version", kind: KindJob, owners: []metav1.OwnerReference{ref("batch/v1beta1", KindCronJob, true)}, want: true},
		{name: "job without owner", kind: KindJob},
		{name: "cronjob owner that is not the controller", kind: KindJob, owners: []metav1.OwnerReference{ref("batch/v1", KindCronJob, false)}},
		{name: "controller reference without the controller field", kind: KindJob,
			owners: []metav1.OwnerReference{{APIVersion: "batch/v1", Kind: KindCronJob, Name: "n", UID: "u"}}},
		{name: "job of another controller", kind: KindJob, owners: []metav1.OwnerReference{ref("example.com/v1", "Workflow", true)}},
		{name: "a CronJob kind of another group", kind: KindJob, owners: []metav1.OwnerReference{ref("example.com/v1", KindCronJob, true)}},
		{name: "second reference is the cronjob", kind: KindJob,
			owners: []metav1.OwnerReference{ref("example.com/v1", "Workflow", false), ref("batch/v1", KindCronJob, true)}, want: true},
		{name: "deployment owned by something", kind: KindDeployment, owners: []metav1.OwnerReference{ref("batch/v1", KindCronJob, true)}},
		{name: "cronjob", kind: KindCronJob, owners: []metav1.OwnerReference{ref("batch/v1", KindCronJob, true)}},
		{name: "unknown kind", kind: "Pod", owners: []metav1.OwnerReference{ref("batch/v1", KindJob, true)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, HardenedByOwner(tt.kind, tt.owners))
		})
	}
}
