package main

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
)

// A mode whose breakage only its own metrics show: it answers its clients
// as always, stays Ready, restarts nothing and logs nothing new.
func init() {
	modes["metrics-errors"] = metricsErrors
}

// metricsErrors serves a page on :8081 (every path but /metrics; its
// readiness probe asks for / every 2 s) and writes a cache file of each
// page it serves to /tmp of the root filesystem (1777: any user may write
// there). When it cannot write the cache it serves the page all the same
// and counts the failure in app_cache_write_errors_total on /metrics
// (Prometheus text format, :8081), without a word in its log. /healthz on
// :8080 keeps answering.
func metricsErrors() error {
	const page = "<!doctype html>\n<html><head><title>scenario metrics</title></head>\n<body><h1>Hello from the metrics scenario</h1></body></html>\n"
	var served, cacheErrors atomic.Int64
	h := http.NewServeMux()
	h.HandleFunc("/metrics", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		fmt.Fprintf(w, "# HELP app_requests_total Pages served, by status code.\n# TYPE app_requests_total counter\napp_requests_total{code=\"200\"} %d\n", served.Load())
		fmt.Fprintf(w, "# HELP app_cache_write_errors_total Page cache files that could not be written.\n# TYPE app_cache_write_errors_total counter\napp_cache_write_errors_total %d\n", cacheErrors.Load())
	})
	h.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		i := served.Add(1)
		cache := filepath.Join("/tmp/scenario-metrics", fmt.Sprintf("page-%d.html", i))
		if err := os.MkdirAll(filepath.Dir(cache), 0o755); err != nil {
			cacheErrors.Add(1)
		} else if err := os.WriteFile(cache, []byte(page), 0o644); err != nil {
			cacheErrors.Add(1)
		} else {
			_ = os.Remove(cache)
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, page)
	})
	errc := make(chan error, 1)
	go func() { errc <- serve(":8081", h) }()
	go func() { errc <- loop(nil) }()
	return <-errc
}
