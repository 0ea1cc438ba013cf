// Package admission holds Cinch's admission handlers for apps/v1
// Deployments, StatefulSets and DaemonSets.
//
// The validating handler is the fast path of continuous hardening: on every
// CREATE, and on every UPDATE that changes the pod-template hash, in a
// namespace labelled cinch.dev/harden=enabled|enforce, it publishes one
// hardening job (deduplicated by the workload uid + template hash). It always
// allows the request: publishing waits at most a short bound and a failure is
// counted and logged, never returned; the worker's resync catches up. Dry runs
// publish nothing. When the workload carries a verified recommendation and
// the incoming template is weaker, the response carries admission warnings
// with the kubectl patch command.
//
// The mutating handler is a no-op unless the namespace is labelled
// cinch.dev/harden=enforce; there it applies the verified recommendation to a
// template whose hash is the one the recommendation was verified for.
//
// The decisions (Decide, DecideMutation) are pure functions of the request;
// the handlers gather their inputs (namespace labels through a small
// NamespaceLabels interface) and act on them (a small Publisher interface).
package admission
