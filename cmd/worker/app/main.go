package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/go-logr/logr"

	"github.com/cinch-dev/cinch/internal/daemon"
)

// Usage is the binary's one-line usage.
const Usage = `usage: worker run|harden [flags]   (worker run -h, worker harden -h)`

// Main dispatches the subcommand in args[0], parses and validates its
// flags and runs it until ctx ends. It returns the process exit code: 2 on
// usage errors; for run 1 when the daemon failed; for harden 0 when a
// recommendation was verified, else 1.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, Usage)
		return 2
	}
	switch cmd := Command(args[0]); cmd {
	case CommandRun, CommandHarden:
		cfg, err := Parse(cmd, args[1:], stderr)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 2
		}
		ctx = logr.NewContext(ctx, daemon.NewLogger(stderr, cfg.Verbosity))
		if cmd == CommandHarden {
			return Harden(ctx, cfg, stdout)
		}
		if err := Run(ctx, cfg); err != nil {
			fmt.Fprintln(stderr, "worker run:", err)
			return 1
		}
		return 0
	case "-h", "--help", "help":
		fmt.Fprintln(stdout, Usage)
		return 0
	}
	fmt.Fprintf(stderr, "unknown command %q\n%s\n", args[0], Usage)
	return 2
}

// Parse fills the Config of command from its flags in args and validates
// it. Flag errors and -h of worker run go to stderr with the flags;
// worker harden prints its flags to stderr only for -h.
func Parse(command Command, args []string, stderr io.Writer) (Config, error) {
	cfg := DefaultConfig(command)
	fs := flag.NewFlagSet("worker "+string(command), flag.ContinueOnError)
	if command == CommandHarden {
		fs.SetOutput(io.Discard)
	} else {
		fs.SetOutput(stderr)
	}
	cfg.Bind(fs)
	if err := fs.Parse(args); err != nil {
		if command == CommandHarden && errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stderr)
			fs.PrintDefaults()
		}
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected arguments %v", fs.Args())
	}
	return cfg, cfg.Validate()
}
