// Command worker runs Cinch's hardening worker.
//
//	worker run --nats-url URL [--concurrency N] ...     the daemon
//	worker harden --namespace NS --kind KIND --name NAME [-o json|yaml|table] ...
//
// Run `worker run -h` or `worker harden -h` for the flags.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	code := execute(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}

// execute dispatches a subcommand and returns the exit code.
func execute(ctx context.Context, args []string) int {
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, usage)
		return 2
	}
	switch args[0] {
	case "run":
		cfg, err := parseRun(args[1:])
		if err != nil {
			return usageError(err)
		}
		if err := runDaemon(ctx, cfg); err != nil {
			fmt.Fprintln(os.Stderr, "worker run:", err)
			return 1
		}
		return 0
	case "harden":
		cfg, err := parseHarden(args[1:])
		if err != nil {
			return usageError(err)
		}
		return runHarden(ctx, cfg, os.Stdout)
	case "-h", "--help", "help":
		fmt.Println(usage)
		return 0
	}
	fmt.Fprintf(os.Stderr, "unknown command %q\n%s\n", args[0], usage)
	return 2
}

const usage = `usage: worker run|harden [flags]   (worker run -h, worker harden -h)`

func usageError(err error) int {
	fmt.Fprintln(os.Stderr, err)
	return 2
}
