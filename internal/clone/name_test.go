package clone

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"k8s.io/apimachinery/pkg/util/validation"
)

func TestCloneName(t *testing.T) {
	tests := []struct {
		name                          string
		prefix, source, trial, suffix string
		want                          string
	}{
		{name: "short", prefix: "cinch-", source: "shop", trial: "baseline-1", suffix: "x7k2p", want: "cinch-shop-baseline-1-x7k2p"},
		{name: "long trial and source share the budget", prefix: "cinch-", source: "payments-production-eu-west-1", trial: "read-only-root-filesystem", suffix: "x7k2p",
			want: "cinch-payments-production-eu-we-read-only-root-filesystem-x7k2p"},
		{name: "very long source keeps the trial", prefix: "cinch-", source: strings.Repeat("a", 63), trial: "run-as-non-root", suffix: "x7k2p",
			want: "cinch-" + strings.Repeat("a", 35) + "-run-as-non-root-x7k2p"},
		{name: "odd characters", prefix: "cinch-", source: "team_a", trial: "Drop ALL caps", suffix: "x7k2p", want: "cinch-team-a-drop-all-caps-x7k2p"},
		{name: "cut leaves no trailing dash", prefix: "cinch-", source: strings.Repeat("ab-", 30), trial: strings.Repeat("cd-", 30), suffix: "x7k2p",
			want: "cinch-ab-ab-ab-ab-ab-ab-ab-ab-a-cd-cd-cd-cd-cd-cd-cd-cd-c-x7k2p"},
		{name: "empty trial", prefix: "cinch-", source: "shop", trial: "", suffix: "x7k2p", want: "cinch-shop-x7k2p"},
		{name: "long prefix", prefix: strings.Repeat("p", 70) + "-", source: "shop", trial: "t", suffix: "x7k2p", want: strings.Repeat("p", 54) + "-t-x7k2p"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := cloneName(tt.prefix, tt.source, tt.trial, tt.suffix)
			assert.Equal(t, tt.want, got)
			assert.Empty(t, validation.IsDNS1123Label(got), "a valid namespace name: %q", got)
			assert.True(t, strings.HasSuffix(got, "-"+tt.suffix))
		})
	}
}

func TestLabelValue(t *testing.T) {
	tests := []struct{ in, want string }{
		{"read-only-root-filesystem", "read-only-root-filesystem"},
		{"baseline/1", "baseline-1"},
		{"-x-", "x"},
		{strings.Repeat("a", 70), strings.Repeat("a", 63)},
	}
	for _, tt := range tests {
		got := labelValue(tt.in)
		assert.Equal(t, tt.want, got)
		assert.Empty(t, validation.IsValidLabelValue(got))
	}
}
