package daemon

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// Off reports whether addr turns a server off: "0" or empty.
func Off(addr string) bool { return addr == "0" || addr == "" }

// ServeHTTP serves h on addr (off when Off(addr)) until ctx ends, then shuts
// down within timeout.
func ServeHTTP(ctx context.Context, addr string, h http.Handler, timeout time.Duration) error {
	if Off(addr) {
		<-ctx.Done()
		return nil
	}
	srv := &http.Server{Addr: addr, Handler: h, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	select {
	case err := <-errc:
		return fmt.Errorf("listen %s: %w", addr, err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shut down %s: %w", addr, err)
	}
	return nil
}
