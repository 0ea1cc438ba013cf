// Command kubectl-cinch is the kubectl plugin of Cinch: put it on PATH and
// run `kubectl cinch`.
//
//	kubectl cinch status [-n NS | -A] [-o wide|json|yaml] [--fail-below baseline|restricted]
//	kubectl cinch explain KIND/NAME
//	kubectl cinch diff KIND/NAME
//	kubectl cinch apply KIND/NAME [--dry-run=client|server]
//
// It takes kubectl's connection flags (--kubeconfig, --context, -n, ...).
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/cinch-dev/cinch/internal/kubectlcinch"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	app := &kubectlcinch.App{Streams: genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}}
	code := app.Main(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}
