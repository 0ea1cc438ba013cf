// Package kubectlcinch is the kubectl plugin kubectl-cinch: it reads the
// cinch.dev/* annotations Cinch writes on workloads and shows them (status,
// explain, diff), and applies a verified recommendation through the API
// server (apply) when the annotations describe the workload's current pod
// template.
//
// The decisions and the formatting are pure functions of a Workload (see
// NewRow, Explain, Diff, DecideApply); only Client talks to the API server.
// The workload kinds are described once, in kinds.go.
package kubectlcinch
