package hardening

import (
	"reflect"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"
)

func TestPlannedChecks(t *testing.T) {
	allButPriv := slices.DeleteFunc(AllChecks(), func(c CheckID) bool { return c == CheckNotPrivileged })
	tests := []struct {
		name string
		t    *corev1.PodTemplateSpec
		opts Options
		want []CheckID
	}{
		{"nginx stock: everything but not-privileged", nginxStock(), DefaultOptions(), allButPriv},
		{"already restricted: nothing", restricted(), DefaultOptions(), nil},
		{"multi-container with init", multi(), DefaultOptions(), allButPriv},
		{"privileged node agent: no-privesc waits for not-privileged", privileged(), DefaultOptions(), slices.DeleteFunc(AllChecks(), func(c CheckID) bool { return c == CheckNoPrivilegeEscalation })},
		{"statefulset db: localhost seccomp kept", statefulDB(), DefaultOptions(), []CheckID{
			CheckRunAsNonRoot, CheckRunAsGroup, CheckReadOnlyRootFilesystem, CheckNoPrivilegeEscalation, CheckDropAllCapabilities,
		}},
		{"pod-level root", podRoot(), DefaultOptions(), allButPriv},
		{"restricted to two checks", nginxStock(), Options{Checks: []CheckID{CheckSeccompRuntimeDefault, CheckReadOnlyRootFilesystem}},
			[]CheckID{CheckReadOnlyRootFilesystem, CheckSeccompRuntimeDefault}},
		{"windows pod: nothing", func() *corev1.PodTemplateSpec {
			p := nginxStock()
			p.Spec.OS = &corev1.PodOS{Name: corev1.Windows}
			return p
		}(), DefaultOptions(), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, PlannedChecks(tt.t, tt.opts))
		})
	}
}

func TestPlanTrials(t *testing.T) {
	tests := []struct {
		name      string
		t         *corev1.PodTemplateSpec
		opts      Options
		wantNames []string
	}{
		{"nginx", nginxStock(), DefaultOptions(), []string{
			"baseline-1", "baseline-2", "non-root", "group", "ro-rootfs", "no-privesc", "drop-caps", "seccomp", "everything"}},
		{"restricted: empty plan", restricted(), DefaultOptions(), nil},
		{"one check: no everything trial", nginxStock(), Options{Checks: []CheckID{CheckSeccompRuntimeDefault}},
			[]string{"baseline-1", "baseline-2", "seccomp"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			orig := tt.t.DeepCopy()
			p := PlanTrials(tt.t, tt.opts)
			var names []string
			for _, tr := range p.Trials {
				names = append(names, tr.Name)
				assert.Empty(t, validation.IsDNS1123Label(tr.Name), tr.Name)
				require.NotNil(t, tr.Template, tr.Name)
				assert.NotSame(t, tt.t, tr.Template, "trial template must be a copy")
				switch tr.Kind {
				case TrialBaseline:
					assert.Equal(t, orig, tr.Template, tr.Name)
					assert.Empty(t, tr.Checks)
				case TrialSingle:
					assert.Len(t, tr.Checks, 1)
				case TrialEverything:
					assert.Equal(t, p.Checks, tr.Checks)
				default:
					t.Errorf("unexpected kind %s", tr.Kind)
				}
			}
			assert.Equal(t, tt.wantNames, names)
			assert.Equal(t, orig, tt.t, "PlanTrials must not modify its input")
		})
	}
}

// strongerOrEqual lists the ways variant is looser than orig for one
// container's effective settings.
func loosened(orig, v settings) []string {
	var out []string
	if isTrue(orig.RunAsNonRoot) && !isTrue(v.RunAsNonRoot) {
		out = append(out, "runAsNonRoot")
	}
	for name, pair := range map[string][2]*int64{"runAsUser": {orig.RunAsUser, v.RunAsUser}, "runAsGroup": {orig.RunAsGroup, v.RunAsGroup}, "fsGroup": {orig.FSGroup, v.FSGroup}} {
		o, n := pair[0], pair[1]
		switch {
		case o != nil && *o != 0 && (n == nil || *n != *o):
			out = append(out, name+" overwritten")
		case o != nil && *o == 0 && n == nil:
			out = append(out, name+" removed")
		case o == nil && n != nil && *n == 0 && name == "runAsUser":
			// Pinning uid 0 is only allowed when the image user is known to
			// be root; checked separately.
		}
	}
	if orig.Seccomp != "" && orig.Seccomp != string(corev1.SeccompProfileTypeUnconfined) && v.Seccomp != orig.Seccomp {
		out = append(out, "seccomp")
	}
	if isTrue(orig.ReadOnlyRootFS) && !isTrue(v.ReadOnlyRootFS) {
		out = append(out, "readOnlyRootFilesystem")
	}
	if isFalse(orig.AllowPrivEsc) && !isFalse(v.AllowPrivEsc) {
		out = append(out, "allowPrivilegeEscalation")
	}
	if !isTrue(orig.Privileged) && isTrue(v.Privileged) {
		out = append(out, "privileged")
	}
	for _, d := range orig.Drop {
		if !slices.Contains(v.Drop, d) {
			out = append(out, "drop "+string(d))
		}
	}
	for _, a := range v.Add {
		if !slices.Contains(orig.Add, a) && (slices.Contains(orig.Drop, "ALL") || !slices.Contains(RuntimeDefaultCapabilities, a)) {
			out = append(out, "add "+string(a))
		}
	}
	return out
}

func assertNotLoosened(t *testing.T, orig, v *corev1.PodTemplateSpec, label string) {
	t.Helper()
	ro, rv := containersOf(&orig.Spec), containersOf(&v.Spec)
	require.Len(t, rv, len(ro))
	for i := range ro {
		assert.Empty(t, loosened(effective(orig.Spec.SecurityContext, ro[i].c), effective(v.Spec.SecurityContext, rv[i].c)),
			"%s: container %s", label, ro[i].c.Name)
	}
	// Nothing but securityContexts changes.
	a, b := orig.DeepCopy(), v.DeepCopy()
	for _, s := range []*corev1.PodTemplateSpec{a, b} {
		s.Spec.SecurityContext = nil
		for _, r := range containersOf(&s.Spec) {
			r.c.SecurityContext = nil
		}
	}
	assert.Equal(t, a, b, "%s: only securityContexts may change", label)
}

var imageUserCases = map[string]Options{
	"default": DefaultOptions(),
	"image users known": {ImageUsers: map[string]ImageUser{
		"nginx": {UID: 0, GID: ptr(int64(0))}, "app": {UID: 10001, GID: ptr(int64(10001))},
		"migrate": {UID: 0}, "proxy": {UID: 101, GID: ptr(int64(101))}, "agent": {UID: 0},
		"postgres": {UID: 999, GID: ptr(int64(999))}, "root": {UID: 0}, "user": {UID: 0},
	}},
}

func TestVariantsNeverLoosen(t *testing.T) {
	for optName, opts := range imageUserCases {
		for _, f := range fixtures {
			t.Run(optName+"/"+f.name, func(t *testing.T) {
				orig := f.t()
				for _, tr := range PlanTrials(orig, opts).Trials {
					assertNotLoosened(t, orig, tr.Template, tr.Name)
				}
			})
		}
	}
}

// owned lists the effective fields each check may change.
var owned = map[CheckID][]string{
	CheckRunAsNonRoot:           {"RunAsNonRoot", "RunAsUser"},
	CheckRunAsGroup:             {"RunAsGroup", "FSGroup", "RunAsUser"},
	CheckReadOnlyRootFilesystem: {"ReadOnlyRootFS"},
	CheckNoPrivilegeEscalation:  {"AllowPrivEsc"},
	CheckDropAllCapabilities:    {"Drop", "Add"},
	CheckSeccompRuntimeDefault:  {"Seccomp"},
	CheckNotPrivileged:          {"Privileged"},
}

func settingsFields() []string {
	var out []string
	rt := reflect.TypeFor[settings]()
	for i := range rt.NumField() {
		out = append(out, rt.Field(i).Name)
	}
	return out
}

func field(s settings, name string) any {
	return reflect.ValueOf(s).FieldByName(name).Interface()
}

func TestSingleVariantsChangeOnlyTheirOwnFieldsAndSatisfyTheCheck(t *testing.T) {
	for optName, opts := range imageUserCases {
		for _, f := range fixtures {
			t.Run(optName+"/"+f.name, func(t *testing.T) {
				orig := f.t()
				p := PlanTrials(orig, opts)
				for _, id := range p.Checks {
					info, _ := id.Info()
					tr, ok := p.Trial(info.Short)
					require.True(t, ok)
					ro, rv := containersOf(&orig.Spec), containersOf(&tr.Template.Spec)
					changed := false
					for i := range ro {
						so := effective(orig.Spec.SecurityContext, ro[i].c)
						sv := effective(tr.Template.Spec.SecurityContext, rv[i].c)
						for _, fn := range settingsFields() {
							if !reflect.DeepEqual(field(so, fn), field(sv, fn)) {
								changed = true
								assert.Contains(t, owned[id], fn, "%s changed %s of %s", id, fn, ro[i].c.Name)
							}
						}
					}
					assert.True(t, changed, "planned check %s changed nothing", id)
					// After the variant, no container lacks the setting any more,
					// except no-privesc for privileged containers (see ctrLacks).
					assert.False(t, specLacks(id, &tr.Template.Spec), "%s still lacking after its variant", id)
				}
			})
		}
	}
}

func TestEverythingIsUnionOfSingles(t *testing.T) {
	for optName, opts := range imageUserCases {
		for _, f := range fixtures {
			t.Run(optName+"/"+f.name, func(t *testing.T) {
				orig := f.t()
				p := PlanTrials(orig, opts)
				ev, ok := p.Trial(TrialNameEverything)
				if len(p.Checks) < 2 {
					assert.False(t, ok)
					return
				}
				require.True(t, ok)
				ro, re := containersOf(&orig.Spec), containersOf(&ev.Template.Spec)
				for i := range ro {
					so := effective(orig.Spec.SecurityContext, ro[i].c)
					se := effective(ev.Template.Spec.SecurityContext, re[i].c)
					for _, fn := range settingsFields() {
						// The value the union of the single variants gives: the
						// first single (catalogue order) that changed the field.
						want := field(so, fn)
						for _, id := range p.Checks {
							info, _ := id.Info()
							st, _ := p.Trial(info.Short)
							sv := effective(st.Template.Spec.SecurityContext, containersOf(&st.Template.Spec)[i].c)
							if !reflect.DeepEqual(field(so, fn), field(sv, fn)) {
								want = field(sv, fn)
								break
							}
						}
						assert.Equal(t, want, field(se, fn), "container %s field %s", ro[i].c.Name, fn)
					}
				}
			})
		}
	}
}

func TestCheckValues(t *testing.T) {
	known := Options{ImageUsers: map[string]ImageUser{"nginx": {UID: 101, GID: ptr(int64(101))}}}
	rootImage := Options{ImageUsers: map[string]ImageUser{"nginx": {UID: 0, GID: ptr(int64(0))}}}
	tests := []struct {
		name  string
		t     *corev1.PodTemplateSpec
		check CheckID
		opts  Options
		// want: effective settings of the first regular container.
		wantNonRoot *bool
		wantUser    *int64
		wantGroup   *int64
		wantFS      *int64
	}{
		{"non-root, unknown image: default uid", nginxStock(), CheckRunAsNonRoot, DefaultOptions(), ptr(true), ptr(int64(65532)), nil, nil},
		{"non-root, configured uid", nginxStock(), CheckRunAsNonRoot, Options{RunAsUser: 4242}, ptr(true), ptr(int64(4242)), nil, nil},
		{"non-root, image uid 101 kept", nginxStock(), CheckRunAsNonRoot, known, ptr(true), ptr(int64(101)), nil, nil},
		{"non-root, root image: default uid", nginxStock(), CheckRunAsNonRoot, rootImage, ptr(true), ptr(int64(65532)), nil, nil},
		{"group, unknown image: user untouched", nginxStock(), CheckRunAsGroup, DefaultOptions(), nil, nil, ptr(int64(65532)), ptr(int64(65532))},
		{"group, image 101:101 pinned", nginxStock(), CheckRunAsGroup, known, nil, ptr(int64(101)), ptr(int64(101)), ptr(int64(101))},
		{"group, root image: uid 0 pinned, non-zero gid", nginxStock(), CheckRunAsGroup, rootImage, nil, ptr(int64(0)), ptr(int64(65532)), ptr(int64(65532))},
		{"group, root image but runAsNonRoot: no uid 0", func() *corev1.PodTemplateSpec {
			p := nginxStock()
			p.Spec.SecurityContext = &corev1.PodSecurityContext{RunAsNonRoot: ptr(true)}
			return p
		}(), CheckRunAsGroup, rootImage, ptr(true), nil, ptr(int64(65532)), ptr(int64(65532))},
		{"group, existing runAsUser kept", statefulDB(), CheckRunAsGroup, rootImage, nil, ptr(int64(999)), ptr(int64(65532)), ptr(int64(999))},
		{"non-root, pod-level uid 0 tightened at container level", podRoot(), CheckRunAsNonRoot, DefaultOptions(), ptr(true), ptr(int64(65532)), ptr(int64(0)), ptr(int64(0))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := Variant(tt.t, []CheckID{tt.check}, tt.opts, nil)
			s := effective(v.Spec.SecurityContext, &v.Spec.Containers[0])
			assert.Equal(t, tt.wantNonRoot, s.RunAsNonRoot, "runAsNonRoot")
			assert.Equal(t, tt.wantUser, s.RunAsUser, "runAsUser")
			assert.Equal(t, tt.wantGroup, s.RunAsGroup, "runAsGroup")
			assert.Equal(t, tt.wantFS, s.FSGroup, "fsGroup")
		})
	}
}

func TestNoPrivescSkipsPrivilegedContainers(t *testing.T) {
	v := Variant(privileged(), []CheckID{CheckNoPrivilegeEscalation, CheckNotPrivileged}, DefaultOptions(), nil)
	agent, exporter := v.Spec.Containers[0].SecurityContext, v.Spec.Containers[1].SecurityContext
	assert.Equal(t, ptr(false), agent.Privileged)
	assert.Nil(t, agent.AllowPrivilegeEscalation, "was privileged when planned: the API server would reject false")
	assert.Nil(t, exporter.AllowPrivilegeEscalation, "adds SYS_ADMIN: the API server would reject false")
	// The next round, on the template with privileged=false, plans it.
	assert.Contains(t, PlannedChecks(v, DefaultOptions()), CheckNoPrivilegeEscalation)
}

func TestEphemeralContainersUntouched(t *testing.T) {
	p := nginxStock()
	p.Spec.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "debug", Image: "busybox"}}}
	v := Variant(p, AllChecks(), DefaultOptions(), nil)
	assert.Equal(t, p.Spec.EphemeralContainers, v.Spec.EphemeralContainers)
}

func TestOptionsValidate(t *testing.T) {
	tests := []struct {
		name    string
		opts    Options
		wantErr bool
	}{
		{"defaults", DefaultOptions(), false},
		{"zero uid", Options{RunAsUser: 0, RunAsGroup: 1}, true},
		{"negative gid", Options{RunAsUser: 1, RunAsGroup: -1}, true},
		{"unknown check", Options{RunAsUser: 1, RunAsGroup: 1, Checks: []CheckID{"nope"}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.opts.Validate()
			if tt.wantErr {
				assert.ErrorIs(t, err, ErrInvalidOptions)
			} else {
				assert.NoError(t, err)
			}
		})
	}
}

func TestCatalogue(t *testing.T) {
	cat := Catalogue()
	require.Len(t, cat, 7)
	seen := map[string]bool{}
	for _, c := range cat {
		assert.True(t, c.ID.Valid())
		assert.Empty(t, validation.IsDNS1123Label(c.Short), c.Short)
		assert.False(t, seen[c.Short], "duplicate short name %s", c.Short)
		seen[c.Short] = true
		assert.NotEmpty(t, c.Description)
	}
	assert.False(t, CheckID("run-as-root").Valid())
	_, ok := CheckID("nope").Info()
	assert.False(t, ok)
}
