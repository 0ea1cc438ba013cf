// Package jobstest runs an in-process NATS server with JetStream for tests
// and benchmarks of job producers and consumers. It is not used in
// production binaries.
package jobstest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// StartServer starts a JetStream-enabled NATS server on 127.0.0.1:port
// (port -1 picks a free one) storing in dir. Stop it with Shutdown and
// WaitForShutdown.
func StartServer(dir string, port int) (*server.Server, error) {
	opts := &server.Options{
		Host:      "127.0.0.1",
		Port:      port,
		JetStream: true,
		StoreDir:  dir,
		NoLog:     true,
		NoSigs:    true,
	}
	s, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("new nats server: %w", err)
	}
	s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		s.Shutdown()
		return nil, errors.New("nats server not ready within 10s")
	}
	return s, nil
}

// Server starts a NATS server for t in a temporary directory and stops it
// when t ends.
func Server(t testing.TB) *server.Server {
	t.Helper()
	s, err := StartServer(t.TempDir(), -1)
	if err != nil {
		t.Fatalf("start nats: %v", err)
	}
	t.Cleanup(func() {
		s.Shutdown()
		s.WaitForShutdown()
	})
	return s
}

// Connect opens a client connection to s for t (closed when t ends) that
// retries forever in the background when s goes away.
func Connect(t testing.TB, s *server.Server) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(s.ClientURL(), nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		t.Fatalf("connect nats: %v", err)
	}
	t.Cleanup(nc.Close)
	return nc
}
