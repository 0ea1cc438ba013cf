// Package hardening is Cinch's pure hardening core: the check catalogue, trial
// planning, pod-spec variants, the combination of passing checks into
// per-container recommendations, the PodSecurity level they reach, the
// pod-template hash and the annotation codec. It uses no client-go and no
// NATS: plain data in, plain data out.
//
// The flow a worker drives:
//
//	plan := PlanTrials(tmpl, opts)            // baselines, one trial per check, "everything"
//	... run and judge plan.Trials ...
//	if drop-all-capabilities failed:
//	    for r := CapabilityPlan(tmpl, opts, verdicts); !r.Done; ... // rounds in parallel
//	rec := Combine(tmpl, passedChecks, opts, r.AddBack)
//	if tr, needed := VerificationTrial(tmpl, rec, passedChecks, passedTrials); needed { run tr }
//	level, _ := PodSecurityLevel(rec.Apply(tmpl))
//	EncodeRecommendation(rec), EncodeChecks(results)
//
// Rules every variant follows: a check is planned only where some container
// or init container lacks its setting; it changes a field only where the
// field is unset or weaker than its target, so settings the workload already
// has are never loosened and hardened values are never overwritten; each
// check changes only its own fields (see the catalogue); ephemeral containers
// are never touched.
package hardening
