// Package results reads the workloads Cinch hardens and writes what it found
// back to them: the cinch.dev/* annotations of the user contract (a JSON merge
// patch of annotations only, guarded by the object's resourceVersion and
// retried on conflict with a fresh read) and Kubernetes Events on the
// original workload.
//
// A result is written only while the workload's current pod template is the
// one the job hardened (hardening.TemplateHash); otherwise the status becomes
// Superseded, and only when the annotations still describe the job's
// template (a newer job owns them otherwise).
package results
