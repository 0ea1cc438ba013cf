// Package app builds and runs the webhook binary: one typed Config filled
// from flags and checked by Validate, and Run, which wires the admission
// handlers to a TLS webhook server, a namespace cache and a NATS JetStream
// publisher.
package app
