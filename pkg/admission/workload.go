package admission

import (
	"fmt"
	"reflect"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utiljson "k8s.io/apimachinery/pkg/util/json"

	"github.com/cinch-dev/cinch/pkg/hardening"
)

// DecodeWorkload reads the metadata and the pod template of an object of
// kind (hardening.Kinds) from its JSON, the template at the kind's
// hardening.TemplatePath, in one pass as a typed decoding would: a missing or
// null field on the way leaves the template empty, a field of the wrong type
// is an error, and field names are case-sensitive, as for the API server.
func DecodeWorkload(kind string, raw []byte) (*Workload, error) {
	t, ok := workloadTypes[kind]
	if !ok {
		return nil, fmt.Errorf("%w: %q", hardening.ErrUnsupportedKind, kind)
	}
	v := reflect.New(t)
	if err := utiljson.Unmarshal(raw, v.Interface()); err != nil {
		return nil, fmt.Errorf("decode %s: %w", kind, err)
	}
	s := v.Elem()
	f := s.Field(1)
	for f.Type() != podTemplateType {
		f = f.Field(0)
	}
	return &Workload{
		Metadata: *s.Field(0).Addr().Interface().(*metav1.ObjectMeta),
		Template: *f.Addr().Interface().(*corev1.PodTemplateSpec),
	}, nil
}

var podTemplateType = reflect.TypeFor[corev1.PodTemplateSpec]()

// workloadTypes holds, per kind, the struct type DecodeWorkload decodes
// into: the object's metadata and one nested struct per field of its
// template path, e.g. for a CronJob
//
//	struct {
//		Metadata metav1.ObjectMeta `json:"metadata"`
//		F struct { F struct { F struct { F corev1.PodTemplateSpec `json:"template"` } `json:"spec"` } `json:"jobTemplate"` } `json:"spec"`
//	}
//
// so nothing else of the object is decoded.
var workloadTypes = func() map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for _, kind := range hardening.Kinds() {
		path, _ := hardening.TemplatePath(kind)
		t := podTemplateType
		for i := len(path) - 1; i >= 0; i-- {
			t = reflect.StructOf([]reflect.StructField{{Name: "F", Type: t, Tag: reflect.StructTag(`json:"` + path[i] + `"`)}})
		}
		out[kind] = reflect.StructOf([]reflect.StructField{
			{Name: "Metadata", Type: reflect.TypeFor[metav1.ObjectMeta](), Tag: `json:"metadata"`},
			{Name: "Spec", Type: t.Field(0).Type, Tag: t.Field(0).Tag},
		})
	}
	return out
}()

// templatePointer is the JSON pointer (RFC 6901) of the pod template of an
// object of kind, e.g. /spec/jobTemplate/spec/template for a CronJob.
func templatePointer(kind string) (string, error) {
	path, ok := hardening.TemplatePath(kind)
	if !ok {
		return "", fmt.Errorf("%w: %q", hardening.ErrUnsupportedKind, kind)
	}
	var b strings.Builder
	for _, f := range path {
		b.WriteString("/" + pointerEscaper.Replace(f))
	}
	return b.String(), nil
}

// pointerEscaper escapes a JSON pointer segment: "~" is "~0", "/" is "~1".
var pointerEscaper = strings.NewReplacer("~", "~0", "/", "~1")
