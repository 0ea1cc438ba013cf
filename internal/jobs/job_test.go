package jobs

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cinch-dev/cinch/pkg/hardening"
)

func validJob() Job {
	return Job{
		Version:      Version,
		Namespace:    "shop",
		Kind:         hardening.KindDeployment,
		Name:         "web",
		UID:          "6f1c2b1e-0000-4000-8000-000000000001",
		TemplateHash: "5d8f7c9b",
		Reason:       ReasonAdmission,
		EnqueuedAt:   time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(*Job)
		wantErr string
	}{
		{name: "valid", mutate: func(*Job) {}},
		{name: "resync", mutate: func(j *Job) { j.Reason = ReasonResync }},
		{name: "statefulset", mutate: func(j *Job) { j.Kind = hardening.KindStatefulSet }},
		{name: "daemonset", mutate: func(j *Job) { j.Kind = hardening.KindDaemonSet }},
		{name: "dotted name", mutate: func(j *Job) { j.Name = "web.v2" }},
		{name: "version zero", mutate: func(j *Job) { j.Version = 0 }, wantErr: "unsupported version 0"},
		{name: "future version", mutate: func(j *Job) { j.Version = Version + 1 }, wantErr: "unsupported version"},
		{name: "empty namespace", mutate: func(j *Job) { j.Namespace = "" }, wantErr: "namespace"},
		{name: "namespace with dot", mutate: func(j *Job) { j.Namespace = "a.b" }, wantErr: "namespace"},
		{name: "namespace wildcard", mutate: func(j *Job) { j.Namespace = "*" }, wantErr: "namespace"},
		{name: "pod kind", mutate: func(j *Job) { j.Kind = "Pod" }, wantErr: "kind \"Pod\""},
		{name: "empty name", mutate: func(j *Job) { j.Name = "" }, wantErr: "name"},
		{name: "empty uid", mutate: func(j *Job) { j.UID = "" }, wantErr: "uid"},
		{name: "uid with space", mutate: func(j *Job) { j.UID = "a b" }, wantErr: "uid"},
		{name: "empty hash", mutate: func(j *Job) { j.TemplateHash = "" }, wantErr: "templateHash"},
		{name: "long hash", mutate: func(j *Job) { j.TemplateHash = strings.Repeat("a", 129) }, wantErr: "templateHash"},
		{name: "bad reason", mutate: func(j *Job) { j.Reason = "manual" }, wantErr: "reason"},
		{name: "zero time", mutate: func(j *Job) { j.EnqueuedAt = time.Time{} }, wantErr: "enqueuedAt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := validJob()
			tt.mutate(&j)
			err := j.Validate()
			if tt.wantErr == "" {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.True(t, errors.Is(err, ErrInvalid), "error %v does not wrap ErrInvalid", err)
			assert.Contains(t, err.Error(), tt.wantErr)
		})
	}
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	j := validJob()
	j.Version = 0 // Encode fills it in
	b, err := Encode(j)
	require.NoError(t, err)

	got, err := Decode(b)
	require.NoError(t, err)
	want := validJob()
	assert.Equal(t, want, got)
}

func TestEncodeRejectsInvalid(t *testing.T) {
	j := validJob()
	j.Kind = "ReplicaSet"
	_, err := Encode(j)
	assert.ErrorIs(t, err, ErrInvalid)
}

func TestWireFormat(t *testing.T) {
	b, err := Encode(validJob())
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m))
	assert.Equal(t, map[string]any{
		"version":      float64(1),
		"namespace":    "shop",
		"kind":         "Deployment",
		"name":         "web",
		"uid":          "6f1c2b1e-0000-4000-8000-000000000001",
		"templateHash": "5d8f7c9b",
		"reason":       "admission",
		"enqueuedAt":   "2026-01-02T03:04:05Z",
	}, m)
}

func TestDecodePoison(t *testing.T) {
	good, err := Encode(validJob())
	require.NoError(t, err)
	tests := []struct {
		name string
		in   string
	}{
		{name: "empty", in: ""},
		{name: "not json", in: "hello"},
		{name: "array", in: "[]"},
		{name: "null", in: "null"},
		{name: "trailing data", in: string(good) + "{}"},
		{name: "wrong type", in: `{"version":"1"}`},
		{name: "missing fields", in: `{"version":1}`},
		{name: "future version", in: strings.Replace(string(good), `"version":1`, `"version":2`, 1)},
		{name: "bad time", in: strings.Replace(string(good), `2026-01-02T03:04:05Z`, `yesterday`, 1)},
		{name: "too large", in: `{"name":"` + strings.Repeat("x", MaxEncodedSize) + `"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode([]byte(tt.in))
			require.Error(t, err)
			assert.ErrorIs(t, err, ErrPoison)
		})
	}
}

func TestDecodeToleratesUnknownFields(t *testing.T) {
	good, err := Encode(validJob())
	require.NoError(t, err)
	in := strings.Replace(string(good), "{", `{"priority":3,`, 1)
	got, err := Decode([]byte(in))
	require.NoError(t, err)
	assert.Equal(t, validJob(), got)
}

func TestNaming(t *testing.T) {
	assert.Equal(t, "cinch.jobs.shop", Subject("shop"))
	assert.Equal(t, "cinch.jobs.>", SubjectAll)
	assert.Equal(t, "uid-1:abc", MsgID("uid-1", "abc"))
	assert.NotEqual(t, MsgID("a", "bc"), MsgID("ab", "c"))
}

func FuzzDecode(f *testing.F) {
	good, err := Encode(validJob())
	require.NoError(f, err)
	f.Add(good)
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"version":1,"namespace":"a","kind":"DaemonSet","name":"b","uid":"u","templateHash":"h","reason":"resync","enqueuedAt":"2026-01-01T00:00:00Z"}`))
	f.Add([]byte(`not json`))
	f.Fuzz(func(t *testing.T, b []byte) {
		j, err := Decode(b)
		if err != nil {
			if !errors.Is(err, ErrPoison) {
				t.Fatalf("decode error %v does not wrap ErrPoison", err)
			}
			return
		}
		// Anything that decodes is valid and survives a round trip.
		if err := j.Validate(); err != nil {
			t.Fatalf("decoded job is invalid: %v", err)
		}
		again, err := Encode(j)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		j2, err := Decode(again)
		if err != nil {
			t.Fatalf("decode re-encoded: %v", err)
		}
		if !j2.EnqueuedAt.Equal(j.EnqueuedAt) {
			t.Fatalf("time changed: %v vs %v", j.EnqueuedAt, j2.EnqueuedAt)
		}
		j2.EnqueuedAt = j.EnqueuedAt
		if j2 != j {
			t.Fatalf("round trip changed job: %+v vs %+v", j, j2)
		}
	})
}
