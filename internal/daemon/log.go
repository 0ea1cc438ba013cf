package daemon

import (
	"io"
	"log/slog"

	"github.com/go-logr/logr"
)

// NewLogger is the binaries' logger: one JSON object per line (log/slog's
// encoder, which escapes every byte of any input, NUL and invalid UTF-8
// included), V(n) enabled up to verbosity.
func NewLogger(w io.Writer, verbosity int) logr.Logger {
	return logr.FromSlogHandler(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.Level(-verbosity)}))
}
