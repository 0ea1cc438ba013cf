// Package daemon is the process plumbing the webhook and the worker share:
// the JSON logger, the Kubernetes client configuration, a group that runs
// long-running parts and bounds their shutdown, and a plain HTTP server for
// metrics and probes.
package daemon
