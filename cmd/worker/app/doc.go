// Package app builds and runs the worker binary: one typed Config filled
// from the flags of a subcommand and checked by Validate; Run, the daemon
// (`worker run`: job consumer, resync, clone sweeper, metrics server); and
// Harden, the one-shot mode (`worker harden`: the whole pipeline for one
// workload, result printed).
package app
