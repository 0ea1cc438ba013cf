// Command webhook is Cinch's admission webhook: it publishes a hardening job
// for every pod-template change in an opted-in namespace and never slows or
// denies a deploy.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/cinch-dev/cinch/cmd/webhook/app"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := app.Main(ctx, os.Args[1:], os.Stderr)
	stop()
	os.Exit(code)
}
