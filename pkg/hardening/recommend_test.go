package hardening

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
)

// subsets returns every subset of ids (ids is small).
func subsets(ids []CheckID) [][]CheckID {
	out := [][]CheckID{nil}
	for _, id := range ids {
		n := len(out)
		for i := range n {
			out = append(out, append(slices.Clone(out[i]), id))
		}
	}
	return out
}

func TestCombineAppliedEqualsVariant(t *testing.T) {
	for optName, opts := range imageUserCases {
		for _, f := range fixtures {
			t.Run(optName+"/"+f.name, func(t *testing.T) {
				orig := f.t()
				for _, passed := range subsets(PlannedChecks(orig, opts)) {
					rec := Combine(orig, passed, opts, nil)
					applied := rec.Apply(orig)
					assert.True(t, SameSettings(Variant(orig, passed, opts, nil), applied), "passed %v", passed)
					assertNotLoosened(t, orig, applied, "apply")
					// Applying twice changes nothing.
					assert.Equal(t, applied, rec.Apply(applied), "passed %v", passed)
					assert.Empty(t, Weaker(rec, applied), "passed %v", passed)
				}
			})
		}
	}
}

func TestCombineNginxAllPassed(t *testing.T) {
	orig := nginxStock()
	rec := Combine(orig, PlannedChecks(orig, DefaultOptions()), DefaultOptions(), nil)
	want := Recommendation{
		Version: 1,
		Pod: &corev1.PodSecurityContext{
			RunAsNonRoot:   ptr(true),
			RunAsUser:      ptr(int64(65532)),
			RunAsGroup:     ptr(int64(65532)),
			FSGroup:        ptr(int64(65532)),
			SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
		},
		Containers: map[string]*corev1.SecurityContext{"nginx": {
			ReadOnlyRootFilesystem:   ptr(true),
			AllowPrivilegeEscalation: ptr(false),
			Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		}},
	}
	assert.Equal(t, want, rec)
	level, err := PodSecurityLevel(rec.Apply(orig))
	require.NoError(t, err)
	assert.Equal(t, LevelRestricted, level)
}

// TestCombineNoPodGroupWithoutUser: a root image whose user Cinch does not
// know passes run-as-group but not run-as-non-root. The group must stay per
// container: containerd 1.6 refuses a pod sandbox with runAsGroup and no
// runAsUser.
func TestCombineNoPodGroupWithoutUser(t *testing.T) {
	orig := nginxStock()
	passed := []CheckID{CheckRunAsGroup, CheckReadOnlyRootFilesystem}
	rec := Combine(orig, passed, DefaultOptions(), nil)
	applied := rec.Apply(orig)
	if pod := applied.Spec.SecurityContext; pod != nil {
		assert.True(t, pod.RunAsGroup == nil || pod.RunAsUser != nil, "pod-level runAsGroup without runAsUser: %+v", pod)
	}
	for _, c := range applied.Spec.Containers {
		require.NotNil(t, c.SecurityContext)
		require.NotNil(t, c.SecurityContext.RunAsGroup, "container %s keeps its group", c.Name)
		assert.Equal(t, int64(65532), *c.SecurityContext.RunAsGroup)
	}
	assert.True(t, SameSettings(Variant(orig, passed, DefaultOptions(), nil), applied))
}

func TestCombinePerContainer(t *testing.T) {
	orig := multi()
	opts := Options{ImageUsers: map[string]ImageUser{"app": {UID: 10001, GID: ptr(int64(10001))}}}
	passed := []CheckID{CheckRunAsNonRoot, CheckRunAsGroup, CheckReadOnlyRootFilesystem, CheckSeccompRuntimeDefault}
	rec := Combine(orig, passed, opts, nil)

	require.Contains(t, rec.InitContainers, "migrate")
	require.Contains(t, rec.Containers, "app")
	require.Contains(t, rec.Containers, "proxy")
	// Every container ends up non-root: hoisted to the pod; the proxy had an
	// explicit false and keeps an explicit (tightened) value.
	assert.Equal(t, ptr(true), rec.Pod.RunAsNonRoot)
	assert.Nil(t, rec.Containers["app"].RunAsNonRoot)
	assert.Equal(t, ptr(true), rec.Containers["proxy"].RunAsNonRoot)
	// Users differ per container: pod keeps its 1000, migrate's explicit
	// root is replaced by the default non-root uid.
	assert.Equal(t, ptr(int64(1000)), rec.Pod.RunAsUser)
	assert.Equal(t, ptr(int64(65532)), rec.InitContainers["migrate"].RunAsUser)
	// Groups differ (the app image's own gid): per container.
	assert.Nil(t, rec.Pod.RunAsGroup)
	assert.Equal(t, ptr(int64(10001)), rec.Containers["app"].RunAsGroup)
	assert.Equal(t, ptr(int64(65532)), rec.Containers["proxy"].RunAsGroup)
	assert.Equal(t, ptr(int64(10001)), rec.Pod.FSGroup)
	// Seccomp: pod-level RuntimeDefault already; proxy's Unconfined tightened.
	assert.Equal(t, corev1.SeccompProfileTypeRuntimeDefault, rec.Containers["proxy"].SeccompProfile.Type)
	// Existing settings are merged in, not dropped.
	assert.Equal(t, ptr(true), rec.Containers["app"].ReadOnlyRootFilesystem)
	assert.Equal(t, []corev1.Capability{"NET_RAW"}, rec.Containers["app"].Capabilities.Drop)
	assert.Equal(t, ptr(true), rec.Containers["proxy"].AllowPrivilegeEscalation, "no-privesc did not pass: kept as it is")
}

func TestCombineWithAddBack(t *testing.T) {
	orig := nginxStock()
	passed := []CheckID{CheckRunAsGroup, CheckReadOnlyRootFilesystem, CheckNoPrivilegeEscalation, CheckSeccompRuntimeDefault}
	rec := Combine(orig, passed, DefaultOptions(), map[string][]corev1.Capability{"nginx": {"CHOWN", "SETGID", "SETUID", "NET_BIND_SERVICE"}})
	assert.Equal(t, &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}, Add: []corev1.Capability{"CHOWN", "SETGID", "SETUID", "NET_BIND_SERVICE"}},
		rec.Containers["nginx"].Capabilities)
	level, err := PodSecurityLevel(rec.Apply(orig))
	require.NoError(t, err)
	assert.Equal(t, LevelBaseline, level, "root and added capabilities stay below restricted")
}

func TestApplyNeverLoosensAStrongerTemplate(t *testing.T) {
	orig := nginxStock()
	rec := Combine(orig, AllChecks(), DefaultOptions(), map[string][]corev1.Capability{"nginx": {"CHOWN"}})
	stronger := restricted()
	stronger.Spec.Containers[0].Name = "nginx"
	stronger.Spec.SecurityContext.SeccompProfile = &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeLocalhost, LocalhostProfile: ptr("x.json")}
	applied := rec.Apply(stronger)
	assert.Equal(t, stronger, applied)
	assert.Empty(t, Weaker(rec, stronger))
}

func TestWeaker(t *testing.T) {
	orig := nginxStock()
	rec := Combine(orig, []CheckID{CheckReadOnlyRootFilesystem, CheckRunAsGroup}, DefaultOptions(), nil)
	assert.Equal(t, []string{
		"spec.securityContext.fsGroup is unset, recommended 65532",
		`container "nginx": runAsGroup is unset, recommended 65532`,
		`container "nginx": readOnlyRootFilesystem is unset, recommended true`,
	}, Weaker(rec, orig))

	// A partly hardened template only gets the rest.
	partly := orig.DeepCopy()
	partly.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{ReadOnlyRootFilesystem: ptr(true)}
	assert.Equal(t, []string{
		"spec.securityContext.fsGroup is unset, recommended 65532",
		`container "nginx": runAsGroup is unset, recommended 65532`,
	}, Weaker(rec, partly))

	// Init containers are named as such.
	m := multi()
	recM := Combine(m, []CheckID{CheckRunAsNonRoot}, DefaultOptions(), nil)
	assert.Contains(t, Weaker(recM, m), `init container "migrate": runAsUser is 0, recommended 65532`)
}

func TestVerificationTrial(t *testing.T) {
	orig := nginxStock()
	opts := DefaultOptions()
	p := PlanTrials(orig, opts)
	everything, _ := p.Trial(TrialNameEverything)
	single, _ := p.Trial("seccomp")

	t.Run("everything passed: nothing to verify", func(t *testing.T) {
		rec := Combine(orig, p.Checks, opts, nil)
		tr, needed := VerificationTrial(orig, rec, p.Checks, []Trial{single, everything})
		assert.False(t, needed)
		assert.Equal(t, TrialNameEverything, tr.Name)
	})
	t.Run("only one check passed: its single trial verified it", func(t *testing.T) {
		rec := Combine(orig, []CheckID{CheckSeccompRuntimeDefault}, opts, nil)
		tr, needed := VerificationTrial(orig, rec, []CheckID{CheckSeccompRuntimeDefault}, []Trial{single})
		assert.False(t, needed)
		assert.Equal(t, "seccomp", tr.Name)
	})
	t.Run("a combination needs its own trial", func(t *testing.T) {
		passed := []CheckID{CheckSeccompRuntimeDefault, CheckReadOnlyRootFilesystem}
		rec := Combine(orig, passed, opts, nil)
		ro, _ := p.Trial("ro-rootfs")
		tr, needed := VerificationTrial(orig, rec, passed, []Trial{single, ro})
		require.True(t, needed)
		assert.Equal(t, TrialNameCombination, tr.Name)
		assert.Equal(t, TrialCombination, tr.Kind)
		assert.Equal(t, []CheckID{CheckReadOnlyRootFilesystem, CheckSeccompRuntimeDefault}, tr.Checks)
		assert.True(t, SameSettings(rec.Apply(orig), tr.Template))
	})
}

func TestPodSecurityLevel(t *testing.T) {
	tests := []struct {
		name string
		t    *corev1.PodTemplateSpec
		want string
	}{
		{"nginx stock", nginxStock(), LevelBaseline},
		{"already restricted", restricted(), LevelRestricted},
		{"privileged daemon", privileged(), LevelPrivileged},
		{"host network only", func() *corev1.PodTemplateSpec {
			p := restricted()
			p.Spec.HostNetwork = true
			return p
		}(), LevelPrivileged},
		{"restricted but CHOWN added", func() *corev1.PodTemplateSpec {
			p := restricted()
			p.Spec.Containers[0].SecurityContext.Capabilities.Add = []corev1.Capability{"CHOWN"}
			return p
		}(), LevelBaseline},
		{"restricted but NET_RAW added: not even baseline", func() *corev1.PodTemplateSpec {
			p := restricted()
			p.Spec.Containers[0].SecurityContext.Capabilities.Add = []corev1.Capability{"NET_RAW"}
			return p
		}(), LevelPrivileged},
		{"restricted with NET_BIND_SERVICE added", func() *corev1.PodTemplateSpec {
			p := restricted()
			p.Spec.Containers[0].SecurityContext.Capabilities.Add = []corev1.Capability{"NET_BIND_SERVICE"}
			return p
		}(), LevelRestricted},
		{"multi with everything applied", Variant(multi(), AllChecks(), DefaultOptions(), nil), LevelRestricted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := PodSecurityLevel(tt.t)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestPodSecurityViolations(t *testing.T) {
	v, err := PodSecurityViolations(nginxStock(), LevelRestricted)
	require.NoError(t, err)
	assert.NotEmpty(t, v)
	v, err = PodSecurityViolations(restricted(), LevelRestricted)
	require.NoError(t, err)
	assert.Empty(t, v)
	_, err = PodSecurityViolations(restricted(), "bogus")
	assert.Error(t, err)
}
