package admissiontest

import (
	"context"
	"fmt"

	"github.com/cinch-dev/cinch/pkg/admission"
)

// StaticNamespaces serves namespace labels from a map (namespace -> labels).
type StaticNamespaces map[string]map[string]string

var _ admission.NamespaceLabels = StaticNamespaces(nil)

// NamespaceLabels returns the labels of name, or ErrNamespaceNotFound.
func (s StaticNamespaces) NamespaceLabels(_ context.Context, name string) (map[string]string, error) {
	l, ok := s[name]
	if !ok {
		return nil, fmt.Errorf("%s: %w", name, admission.ErrNamespaceNotFound)
	}
	return l, nil
}
