// Command worker runs Cinch's hardening worker.
//
//	worker run --nats-url URL [--concurrency N] ...     the daemon
//	worker harden --namespace NS --kind KIND --name NAME [-o json|yaml|table] ...
//
// Run `worker run -h` or `worker harden -h` for the flags.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/cinch-dev/cinch/cmd/worker/app"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	code := app.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
