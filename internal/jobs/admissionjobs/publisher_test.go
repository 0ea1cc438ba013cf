package admissionjobs

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cinch-dev/cinch/internal/jobs"
	"github.com/cinch-dev/cinch/pkg/admission"
)

// fakeQueue records enqueued jobs; err, when set, is returned instead.
type fakeQueue struct {
	got []jobs.Job
	err error
}

func (f *fakeQueue) Enqueue(_ context.Context, j jobs.Job) error {
	if f.err != nil {
		return f.err
	}
	f.got = append(f.got, j)
	return nil
}

var _ Queue = (*fakeQueue)(nil)

func TestPublisherEnqueuesTheWireJob(t *testing.T) {
	at := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	q := &fakeQueue{}
	err := NewPublisher(q).Enqueue(t.Context(), admission.Job{
		Namespace: "shop", Kind: "Deployment", Name: "web", UID: "uid-web", TemplateHash: "0123abcd", EnqueuedAt: at,
	})
	require.NoError(t, err)
	want := jobs.Job{
		Version: jobs.Version, Namespace: "shop", Kind: "Deployment", Name: "web",
		UID: "uid-web", TemplateHash: "0123abcd", Reason: jobs.ReasonAdmission, EnqueuedAt: at,
	}
	require.Len(t, q.got, 1)
	assert.Equal(t, want, q.got[0])
	assert.NoError(t, q.got[0].Validate())
}

func TestPublisherReturnsTheQueueError(t *testing.T) {
	q := &fakeQueue{err: jobs.ErrBufferFull}
	err := NewPublisher(q).Enqueue(t.Context(), admission.Job{Namespace: "shop", Kind: "Deployment", Name: "web"})
	assert.ErrorIs(t, err, jobs.ErrBufferFull)
}
