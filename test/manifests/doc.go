// Package manifests tests what the kustomize manifests under manifests/
// grant and forbid, against a real API server: the worker's RBAC and its
// guard policies, renamed for a test identity so that they never touch an
// installed Cinch. It holds tests only.
package manifests
