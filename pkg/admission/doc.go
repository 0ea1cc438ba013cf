// Package admission holds Cinch's admission handlers for the workload kinds
// of pkg/hardening's table (apps/v1 Deployments, StatefulSets and
// DaemonSets, batch/v1 Jobs and CronJobs), each read at its API group and
// its pod template's path (a CronJob's is spec.jobTemplate.spec.template).
//
// The validating handler is the fast path of continuous hardening: on every
// CREATE, and on every UPDATE that changes the pod-template hash, in a
// namespace labelled cinch.dev/harden=enabled|enforce, it publishes one
// hardening job (deduplicated by the workload uid + template hash). A Job
// UPDATE never does (its template cannot change), and a Job its CronJob
// created is hardened through the CronJob, never on its own. It always
// allows the request: publishing waits at most a short bound and a failure is
// counted and logged, never returned; the worker's resync catches up. Dry runs
// publish nothing. When the workload carries a verified recommendation and
// the incoming template is weaker, the response carries admission warnings
// with the kubectl patch command.
//
// The mutating handler is a no-op unless the namespace is labelled
// cinch.dev/harden=enforce; there it applies the verified recommendation to a
// template whose hash is the one the recommendation was verified for (for a
// CronJob its job template, so every Job it makes runs the verified
// settings; never on a Job UPDATE).
//
// The decisions (Decide, DecideMutation) are pure functions of the request;
// the handlers gather their inputs (namespace labels through a small
// NamespaceLabels interface) and act on them (a small Publisher interface).
package admission
