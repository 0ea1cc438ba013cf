// Package pipeline runs the trials of one hardening job and decides the
// verified recommendation. It is the scheduling core of the worker:
//
//	plan (hardening.PlanTrials) → clone + record each trial (Cloner, Recorder)
//	→ judge it against the two baselines (oracle.Judge, oracle.EarlyFailure)
//	→ capability add-back rounds (hardening.CapabilityPlan)
//	→ combination (hardening.Combine) → verification (hardening.VerificationTrial)
//
// The package talks to the cluster only through two small interfaces,
// Cloner and Recorder, that the worker binds to internal/clone and
// pkg/signals; tests use hand-written fakes. Writing results to the workload
// is internal/results' job, consuming jobs internal/worker's.
//
// Three strategies schedule the trials (see Strategy): frugal (default)
// starts the baselines and the "everything" trial first and the single-check
// trials only when "everything" fails; parallel starts every first-round
// trial at once; sequential runs one trial at a time. In every strategy a
// trial that fails a hard test beyond doubt (oracle.EarlyFailure) ends at
// once and its clone is deleted; follow-up rounds start as soon as the
// verdicts they depend on are known.
//
// A namespace run (RunNamespace) shares every clone between the workloads
// that need the same trial (schedule.go). A workload leaves a shared clone
// as soon as its trial is over and nothing still recorded there depends on
// it (lifetime.go), and is judged then when its verdict cannot be another
// workload's fault, so it moves on while the clone runs for the others.
package pipeline
