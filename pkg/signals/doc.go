// Package signals observes one running trial (or baseline) of a workload and
// records it as a plain oracle.Recording: pod phase, readiness transitions,
// restarts, waiting and termination reasons per container; CPU and memory
// from the kubelet stats summary through the API server's node proxy;
// container logs (current and previous instance) bounded per container; and
// the Events of the trial's namespace.
//
// The conversions (pod status → observation, stats summary → sample, log
// stream → bounded lines, Events → oracle events) are pure functions; only
// the small source interface touches the API server, so the recording loop
// is tested with a hand-written fake and end to end on a real cluster.
package signals
