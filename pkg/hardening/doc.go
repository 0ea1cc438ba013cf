// Package hardening is Cinch's pure hardening core: the check catalogue, trial
// planning, pod-spec variants, the combination of passing checks into
// per-container recommendations, the PodSecurity level they reach, the
// pod-template hash and the annotation codec. It uses no client-go and no
// NATS: plain data in, plain data out.
package hardening
