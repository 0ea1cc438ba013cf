// Package kinds reads and annotates the workloads Cinch hardens, one
// accessor per kind, through the typed clientset: get, list, patch, create,
// delete, where the typed object keeps its pod template, the selector its
// pods are found by and its replica count (for internal/clone, which copies
// workloads into trial clones through them). Each kind's accessor is
// one small file, registered once in All; what a kind is (API group,
// resource, template path, batch or not) comes from pkg/hardening's table
// of kinds, and the accessors are checked against it.
//
// The accessors are plain access: which of the objects Cinch hardens (the
// opt-in rule, Jobs a CronJob made) is decided by their callers with
// pkg/hardening's rules.
package kinds
