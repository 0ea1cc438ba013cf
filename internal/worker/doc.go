// Package worker is the worker daemon's machinery around the trial
// pipeline (internal/pipeline) and the result writer (internal/results):
//
//   - Handler processes one hardening job: it reads the workload, checks
//     that the job is still current, sets the status, runs the pipeline,
//     writes the annotations and Events. Once is the one-shot mode.
//   - Consumer pulls jobs from the JetStream work queue with explicit acks,
//     heartbeats (InProgress) while a job runs, naks transient failures with
//     a delay, terminates poison, and drains gracefully on shutdown.
//   - Resyncer periodically enqueues every opted-in workload whose
//     annotations do not describe its current template, and keeps the
//     coverage metrics.
//   - Sweeper deletes trial clones left behind by a crashed worker.
//
// Every long-running part is Start(ctx) error.
package worker
