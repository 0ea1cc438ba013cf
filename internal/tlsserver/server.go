package tlsserver

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	"sigs.k8s.io/controller-runtime/pkg/certwatcher"
)

// Config configures a Server.
type Config struct {
	// Host and Port to listen on (all addresses when Host is empty).
	Host string
	Port int
	// CertDir holds CertName and KeyName (PEM).
	CertDir, CertName, KeyName string
	// CertPoll is the cert watcher's poll interval, a fallback to its file
	// events (10s when zero).
	CertPoll time.Duration
	// ShutdownTimeout bounds the graceful shutdown.
	ShutdownTimeout time.Duration
}

// Server is a TLS HTTP server whose certificate follows its files.
type Server struct {
	cfg     Config
	handler http.Handler
	started atomic.Bool
	addr    atomic.Value // net.Addr once listening
}

// New returns a server of h.
func New(cfg Config, h http.Handler) *Server {
	return &Server{cfg: cfg, handler: h}
}

// TLSConfig is the server's TLS policy: TLS 1.2 or newer, HTTP/1.1 only
// (no HTTP/2: CVE-2023-44487 and CVE-2023-39325).
func TLSConfig(getCert func(*tls.ClientHelloInfo) (*tls.Certificate, error)) *tls.Config {
	return &tls.Config{GetCertificate: getCert, NextProtos: []string{"http/1.1"}, MinVersion: tls.VersionTLS12}
}

// Start serves until ctx ends, then shuts down within ShutdownTimeout.
func (s *Server) Start(ctx context.Context) error {
	lg := logr.FromContextOrDiscard(ctx)
	cw, err := certwatcher.New(filepath.Join(s.cfg.CertDir, s.cfg.CertName), filepath.Join(s.cfg.CertDir, s.cfg.KeyName))
	if err != nil {
		return fmt.Errorf("serving certificate: %w", err)
	}
	if s.cfg.CertPoll > 0 {
		cw = cw.WithWatchInterval(s.cfg.CertPoll)
	}
	cw.RegisterCallback(func(c tls.Certificate) {
		if c.Leaf != nil {
			lg.Info("Serving certificate reloaded", "notAfter", c.Leaf.NotAfter, "serial", c.Leaf.SerialNumber.String())
			return
		}
		lg.Info("Serving certificate reloaded")
	})
	watchErr := make(chan error, 1)
	go func() { watchErr <- cw.Start(ctx) }()

	ln, err := net.Listen("tcp", net.JoinHostPort(s.cfg.Host, strconv.Itoa(s.cfg.Port)))
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	s.addr.Store(ln.Addr())
	srv := &http.Server{
		Handler:           s.handler,
		TLSConfig:         TLSConfig(cw.GetCertificate),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       90 * time.Second,
		ErrorLog:          ErrorLog(lg),
		// Handlers take their logger from the request's context.
		BaseContext: func(net.Listener) context.Context { return logr.NewContext(context.WithoutCancel(ctx), lg) },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.ServeTLS(ln, "", "") }()
	s.started.Store(true)
	lg.Info("Serving webhook", "addr", ln.Addr().String())
	select {
	case err := <-errc:
		s.started.Store(false)
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	s.started.Store(false)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shut down: %w", err)
	}
	if err := <-watchErr; err != nil {
		lg.V(1).Info("Certificate watcher stopped", "error", err.Error())
	}
	return nil
}

// Addr is the address the server listens on (nil before Start listens).
func (s *Server) Addr() net.Addr {
	a, _ := s.addr.Load().(net.Addr)
	return a
}

// Ready is a readiness check: the server is serving.
func (s *Server) Ready(*http.Request) error {
	if !s.started.Load() {
		return errors.New("webhook server not serving")
	}
	return nil
}

// ErrorLog is a standard-library logger for http.Server.ErrorLog that writes
// each line through l as a structured entry with a constant message.
func ErrorLog(l logr.Logger) *log.Logger {
	return log.New(errorWriter{l}, "", 0)
}

type errorWriter struct{ l logr.Logger }

func (w errorWriter) Write(p []byte) (int, error) {
	line := strings.TrimSpace(string(p))
	switch {
	case strings.HasPrefix(line, "http: TLS handshake error"):
		w.l.Info("TLS handshake failed", "detail", line)
	default:
		w.l.Info("HTTP server error", "detail", line)
	}
	return len(p), nil
}
