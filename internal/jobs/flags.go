package jobs

import (
	"errors"
	"flag"

	"github.com/go-logr/logr"
	"github.com/nats-io/nats.go"
)

// NATSConfig is how a binary reaches NATS, set by the same flags in every
// binary: --nats-url, --nats-creds and --nats-ca. Embed it in a binary's
// Config and register its flags with BindFlags.
type NATSConfig struct {
	// NATSURL of the servers (comma-separated for several).
	NATSURL string
	// NATSCreds is an optional credentials file.
	NATSCreds string
	// NATSCA is an optional CA file for NATS TLS.
	NATSCA string
}

// BindFlags registers the NATS flags on fs, with c's values as defaults;
// urlUsage is the help of --nats-url.
func (c *NATSConfig) BindFlags(fs *flag.FlagSet, urlUsage string) {
	fs.StringVar(&c.NATSURL, "nats-url", c.NATSURL, urlUsage)
	fs.StringVar(&c.NATSCreds, "nats-creds", c.NATSCreds, "NATS credentials file (optional)")
	fs.StringVar(&c.NATSCA, "nats-ca", c.NATSCA, "CA file for NATS TLS (optional)")
}

// Validate checks that a URL is set.
func (c NATSConfig) Validate() error {
	if c.NATSURL == "" {
		return errors.New("--nats-url is required")
	}
	return nil
}

// Connect connects as component name (see Connect).
func (c NATSConfig) Connect(name string, log logr.Logger) (*nats.Conn, error) {
	return Connect(ConnectOptions{URL: c.NATSURL, Name: name, Creds: c.NATSCreds, CA: c.NATSCA}, log)
}
