package admissionjobs

import (
	"context"

	"github.com/cinch-dev/cinch/internal/jobs"
	"github.com/cinch-dev/cinch/pkg/admission"
)

// Queue accepts a wire job without waiting; *jobs.Buffer is one.
type Queue interface {
	Enqueue(ctx context.Context, j jobs.Job) error
}

var _ Queue = (*jobs.Buffer)(nil)

// Publisher hands admission jobs to a Queue.
type Publisher struct {
	q Queue
}

var _ admission.Publisher = (*Publisher)(nil)

// NewPublisher returns a publisher that enqueues on q.
func NewPublisher(q Queue) *Publisher { return &Publisher{q: q} }

// Enqueue enqueues the wire form of j; the queue's error (e.g.
// jobs.ErrBufferFull) is returned unchanged.
func (p *Publisher) Enqueue(ctx context.Context, j admission.Job) error {
	return p.q.Enqueue(ctx, Job(j))
}

// Job is the wire form of an admission job.
func Job(j admission.Job) jobs.Job {
	return jobs.Job{
		Version:      jobs.Version,
		Namespace:    j.Namespace,
		Kind:         j.Kind,
		Name:         j.Name,
		UID:          j.UID,
		TemplateHash: j.TemplateHash,
		Reason:       jobs.ReasonAdmission,
		EnqueuedAt:   j.EnqueuedAt,
	}
}
