// Package jobs is the hardening-job message schema shared by the admission
// webhook (producer) and the worker (consumer): the Job type and its wire
// encoding, subject and message-id naming, and the JetStream stream and
// consumer that carry jobs.
//
// A job says "the pod template of this workload changed; harden it". It names
// the workload and the template hash it saw, never the spec itself: the worker
// reads the current object from the API server, so a job is small and a stale
// job is harmless.
//
// The stream uses WorkQueue retention (a job is deleted once acknowledged)
// and a duplicate window: the message id is the workload uid plus the template
// hash, so repeated admission calls for the same change, and a resync racing
// an admission call, store one job.
package jobs
