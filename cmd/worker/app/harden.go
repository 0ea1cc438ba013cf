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

// Harden is the one-shot mode: the whole pipeline for one workload, or for
// every workload of the namespace together without --name, each result
// printed to stdout. It returns the exit code: 0 when every recommendation
// was verified, else 1.
func Harden(ctx context.Context, cfg Config, stdout io.Writer) int {
	log := logr.FromContextOrDiscard(ctx)
	st, err := newStack(cfg, prometheus.NewRegistry())
	if err != nil {
		log.Error(err, "setup")
		return 1
	}
	var out []worker.WorkloadResult
	if cfg.Name == "" {
		out, err = st.handler().OnceNamespace(ctx, cfg.Namespace, cfg.Write)
	} else {
		ref := results.Ref{Namespace: cfg.Namespace, Kind: cfg.Kind, Name: cfg.Name}
		var wr worker.WorkloadResult
		wr.Ref = ref
		wr.Result, wr.Annotations, err = st.handler().Once(ctx, ref, cfg.Write)
		out = []worker.WorkloadResult{wr}
	}
	if err != nil {
		log.Error(err, "harden", "namespace", cfg.Namespace, "name", cfg.Name)
		return 1
	}
	code := 0
	for _, wr := range out {
		if err := worker.Print(stdout, cfg.Output, wr.Ref, wr.Result, wr.Annotations); err != nil {
			log.Error(err, "print")
			return 1
		}
		if wr.Result.Outcome != pipeline.OutcomeVerified {
			code = 1
		}
	}
	return code
}
