package kubectlcinch

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cinch-dev/cinch/pkg/hardening"
)

// TestEveryKindDescribed fails when pkg/hardening gains a kind that
// kinds.go does not describe yet.
func TestEveryKindDescribed(t *testing.T) {
	for _, name := range hardening.Kinds() {
		k, ok := kindNamed(name)
		require.True(t, ok, "kinds.go has no entry for %s", name)
		_, ok = hardening.TemplatePath(name)
		assert.True(t, ok, "hardening.TemplatePath(%s)", name)
		assert.NotNil(t, k.Schema())
		assert.NotEmpty(t, k.Resource.Resource)
	}
	assert.Len(t, kindsInOrder(), len(hardening.Kinds()))
}

func TestParseTarget(t *testing.T) {
	tests := []struct {
		args    []string
		want    Target
		wantErr string
	}{
		{[]string{"deploy/web"}, Target{hardening.KindDeployment, "web"}, ""},
		{[]string{"Deployment/web"}, Target{hardening.KindDeployment, "web"}, ""},
		{[]string{"deployments.apps/web"}, Target{hardening.KindDeployment, "web"}, ""},
		{[]string{"sts", "db"}, Target{hardening.KindStatefulSet, "db"}, ""},
		{[]string{"statefulset/db"}, Target{hardening.KindStatefulSet, "db"}, ""},
		{[]string{"ds/agent"}, Target{hardening.KindDaemonSet, "agent"}, ""},
		{[]string{"DaemonSets", "agent"}, Target{hardening.KindDaemonSet, "agent"}, ""},
		{[]string{"pod/web"}, Target{}, "unknown workload kind"},
		{[]string{"web"}, Target{}, "want KIND/NAME"},
		{[]string{"deploy/"}, Target{}, "name is empty"},
		{[]string{"deploy", "a/b"}, Target{}, "want KIND/NAME"},
		{[]string{"a", "b", "c"}, Target{}, "3 arguments"},
	}
	for _, tt := range tests {
		got, err := ParseTarget(tt.args)
		if tt.wantErr != "" {
			assert.ErrorContains(t, err, tt.wantErr, tt.args)
			continue
		}
		require.NoError(t, err, tt.args)
		assert.Equal(t, tt.want, got, tt.args)
	}
}
