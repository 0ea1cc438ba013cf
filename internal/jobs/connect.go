package jobs

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/go-logr/logr"
	"github.com/nats-io/nats.go"
)

// ConnectOptions says how a component connects to NATS.
type ConnectOptions struct {
	// URL of the NATS servers (comma-separated for several).
	URL string
	// Name is the connection name the server shows (the component).
	Name string
	// Creds is an optional NATS credentials file.
	Creds string
	// CA is an optional CA file for NATS TLS.
	CA string
}

// Connect connects without waiting for the server: it returns at once even
// when NATS is down, reconnects forever and logs every state change. A
// component started before NATS (a fresh install) then needs no restart;
// publishes fail fast while disconnected (nothing is buffered), and setup
// that needs the server goes through Retry.
func Connect(o ConnectOptions, log logr.Logger) (*nats.Conn, error) {
	opts := []nats.Option{
		nats.Name(o.Name),
		nats.RetryOnFailedConnect(true),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(time.Second),
		nats.ReconnectBufSize(-1),
		nats.ConnectHandler(func(c *nats.Conn) { log.Info("NATS connected", "server", c.ConnectedUrlRedacted()) }),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			log.Info("NATS disconnected; reconnecting", "error", fmt.Sprint(err))
		}),
		nats.ReconnectHandler(func(c *nats.Conn) { log.Info("NATS reconnected", "server", c.ConnectedUrlRedacted()) }),
	}
	if o.Creds != "" {
		opts = append(opts, nats.UserCredentials(o.Creds))
	}
	if o.CA != "" {
		opts = append(opts, nats.RootCAs(o.CA))
	}
	nc, err := nats.Connect(strings.TrimSpace(o.URL), opts...)
	if err != nil {
		return nil, fmt.Errorf("nats %s: %w", o.URL, err)
	}
	return nc, nil
}

// RetryPolicy bounds Retry: each attempt gets Attempt; the waits between
// attempts double from First up to Max.
type RetryPolicy struct {
	Attempt, First, Max time.Duration
}

// DefaultRetry suits setup against a server that may still be starting.
var DefaultRetry = RetryPolicy{Attempt: 10 * time.Second, First: time.Second, Max: 30 * time.Second}

// Retry calls f until it succeeds or ctx ends, logging each failure as
// "cannot <what>". It returns nil on success and ctx's error otherwise.
func Retry(ctx context.Context, p RetryPolicy, what string, f func(context.Context) error) error {
	log := logr.FromContextOrDiscard(ctx)
	for delay := p.First; ; delay = min(2*delay, p.Max) {
		attempt, cancel := context.WithTimeout(ctx, p.Attempt)
		err := f(attempt)
		cancel()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("%s: %w (last error: %v)", what, ctx.Err(), err)
		}
		log.Error(err, "Cannot "+what+"; retrying", "retryIn", delay)
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %w (last error: %v)", what, ctx.Err(), err)
		case <-time.After(delay):
		}
	}
}
