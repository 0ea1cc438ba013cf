package hardening

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
)

func TestRecommendationRoundTrip(t *testing.T) {
	for optName, opts := range imageUserCases {
		for _, f := range fixtures {
			t.Run(optName+"/"+f.name, func(t *testing.T) {
				orig := f.t()
				rec := Combine(orig, PlannedChecks(orig, opts), opts, map[string][]corev1.Capability{})
				s, err := EncodeRecommendation(rec)
				require.NoError(t, err)
				got, err := DecodeRecommendation(s)
				require.NoError(t, err)
				assert.Equal(t, rec, got)
			})
		}
	}
}

func TestRecommendationEncoding(t *testing.T) {
	rec := Combine(nginxStock(), AllChecks(), DefaultOptions(), nil)
	s, err := EncodeRecommendation(rec)
	require.NoError(t, err)
	assert.JSONEq(t, `{"version":1,
	  "pod":{"runAsNonRoot":true,"runAsUser":65532,"runAsGroup":65532,"fsGroup":65532,"seccompProfile":{"type":"RuntimeDefault"}},
	  "containers":{"nginx":{"readOnlyRootFilesystem":true,"allowPrivilegeEscalation":false,"capabilities":{"drop":["ALL"]}}}}`, s)
}

func TestChecksRoundTrip(t *testing.T) {
	in := []CheckResult{
		{Trial: "baseline-1", Pass: true},
		{ID: CheckReadOnlyRootFilesystem, Trial: "ro-rootfs", Pass: false, Reason: "new log templates",
			Evidence: json.RawMessage(`{"templates":["open() <*> failed (30: Read-only file system)"]}`)},
		{ID: CheckDropAllCapabilities, Trial: "caps-c0-no-chown", Pass: true},
	}
	s, err := EncodeChecks(in)
	require.NoError(t, err)
	got, err := DecodeChecks(s)
	require.NoError(t, err)
	assert.Equal(t, in, got)

	s, err = EncodeChecks(nil)
	require.NoError(t, err)
	assert.JSONEq(t, `{"version":1,"checks":[]}`, s)
	got, err = DecodeChecks(s)
	require.NoError(t, err)
	assert.Equal(t, []CheckResult{}, got)
}

func TestEncodeRejectsInvalid(t *testing.T) {
	_, err := EncodeChecks([]CheckResult{{Trial: "Not A Label"}})
	assert.ErrorIs(t, err, ErrMalformed)
	_, err = EncodeChecks([]CheckResult{{Trial: "x", ID: "made-up"}})
	assert.ErrorIs(t, err, ErrMalformed)
	_, err = EncodeRecommendation(Recommendation{Containers: map[string]*corev1.SecurityContext{"Bad_Name": {}}})
	assert.ErrorIs(t, err, ErrMalformed)
}

func TestDecodeRecommendationErrors(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		wantErr error
	}{
		{"empty", ``, ErrMalformed},
		{"not json", `cinch`, ErrMalformed},
		{"null", `null`, ErrUnsupportedVersion},
		{"array", `[]`, ErrMalformed},
		{"no version", `{"containers":{}}`, ErrUnsupportedVersion},
		{"future version", `{"version":2}`, ErrUnsupportedVersion},
		{"unknown field", `{"version":1,"extra":true}`, ErrMalformed},
		{"unknown nested field", `{"version":1,"pod":{"runAsUser":1,"evil":1}}`, ErrMalformed},
		{"wrong type", `{"version":1,"pod":{"runAsUser":"root"}}`, ErrMalformed},
		{"trailing data", `{"version":1}{"version":1}`, ErrMalformed},
		{"bad container name", `{"version":1,"containers":{"../etc":{}}}`, ErrMalformed},
		{"too large", `{"version":1,"containers":{` + strings.Repeat(" ", MaxAnnotationBytes) + `}}`, ErrMalformed},
		{"deep nesting", strings.Repeat("[", 100000), ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeRecommendation(tt.in)
			assert.ErrorIs(t, err, tt.wantErr)
		})
	}
}

func TestDecodeChecksErrors(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		wantErr error
	}{
		{"not json", `{`, ErrMalformed},
		{"future version", `{"version":9,"checks":[]}`, ErrUnsupportedVersion},
		{"unknown check", `{"version":1,"checks":[{"id":"nope","trial":"x","pass":true}]}`, ErrMalformed},
		{"missing trial", `{"version":1,"checks":[{"pass":true}]}`, ErrMalformed},
		{"bad trial name", `{"version":1,"checks":[{"trial":"A B","pass":true}]}`, ErrMalformed},
		{"unknown field", `{"version":1,"checks":[{"trial":"x","pass":true,"score":3}]}`, ErrMalformed},
		{"checks not a list", `{"version":1,"checks":{}}`, ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeChecks(tt.in)
			assert.ErrorIs(t, err, tt.wantErr)
		})
	}
}

func FuzzDecodeRecommendation(f *testing.F) {
	for _, fx := range fixtures {
		s, err := EncodeRecommendation(Combine(fx.t(), AllChecks(), DefaultOptions(), nil))
		require.NoError(f, err)
		f.Add(s)
	}
	f.Add(`{"version":1,"pod":null,"containers":{"a":null}}`)
	f.Add(`{"version":1,"containers":{"a":{"capabilities":{"add":["CHOWN"],"drop":["ALL"]}}}}`)
	f.Fuzz(func(t *testing.T, s string) {
		rec, err := DecodeRecommendation(s)
		if err != nil {
			return
		}
		enc, err := EncodeRecommendation(rec)
		require.NoError(t, err)
		again, err := DecodeRecommendation(enc)
		require.NoError(t, err)
		assert.Equal(t, rec, again)
		// Whatever decodes can be applied and patched without panicking.
		_ = rec.Apply(nginxStock())
		_ = Weaker(rec, multi())
		_, err = StrategicMergePatch("Deployment", rec)
		require.NoError(t, err)
	})
}

func FuzzDecodeChecks(f *testing.F) {
	s, err := EncodeChecks([]CheckResult{
		{Trial: "baseline-1", Pass: true},
		{ID: CheckSeccompRuntimeDefault, Trial: "seccomp", Reason: "restarts", Evidence: json.RawMessage(`{"restarts":3}`)},
	})
	require.NoError(f, err)
	f.Add(s)
	f.Add(`{"version":1,"checks":[{"trial":"x","pass":true,"evidence":[1,2,{"a":null}]}]}`)
	f.Fuzz(func(t *testing.T, s string) {
		res, err := DecodeChecks(s)
		if err != nil {
			return
		}
		enc, err := EncodeChecks(res)
		require.NoError(t, err)
		again, err := DecodeChecks(enc)
		require.NoError(t, err)
		require.Len(t, again, len(res))
		enc2, err := EncodeChecks(again)
		require.NoError(t, err)
		assert.Equal(t, enc, enc2)
	})
}
