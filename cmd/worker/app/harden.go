package app

import (
	"context"
	"io"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/cinch-dev/cinch/internal/pipeline"
	"github.com/cinch-dev/cinch/internal/results"
	"github.com/cinch-dev/cinch/internal/worker"
)

// Harden is the one-shot mode: the whole pipeline for one workload, the
// result printed to stdout. It returns the exit code: 0 when a
// recommendation was verified, else 1.
func Harden(ctx context.Context, cfg Config, stdout io.Writer) int {
	log := logr.FromContextOrDiscard(ctx)
	st, err := newStack(cfg, prometheus.NewRegistry())
	if err != nil {
		log.Error(err, "setup")
		return 1
	}
	ref := results.Ref{Namespace: cfg.Namespace, Kind: cfg.Kind, Name: cfg.Name}
	res, ann, err := st.handler.Once(ctx, ref, cfg.Write)
	if err != nil {
		log.Error(err, "harden", "workload", ref.String())
		return 1
	}
	if err := worker.Print(stdout, cfg.Output, ref, res, ann); err != nil {
		log.Error(err, "print")
		return 1
	}
	if res.Outcome != pipeline.OutcomeVerified {
		return 1
	}
	return 0
}
