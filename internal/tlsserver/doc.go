// Package tlsserver serves an http.Handler over TLS with a certificate that
// is reloaded from its files when they change (controller-runtime's cert
// watcher: fsnotify plus a poll), HTTP/1.1 only, and the HTTP server's own
// errors (TLS handshake failures, ...) logged through the structured logger
// of the context instead of the standard library's plain-text log.
package tlsserver
