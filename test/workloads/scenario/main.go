// Command scenario is Cinch's purpose-built scenario workload. Each mode does
// one thing that a securityContext setting may forbid, and shows the effect
// the way real programs do: by exiting, by logging an error, or by answering
// its clients with an error. See test/workloads/README.md for the ground truth.
//
//	scenario MODE
//
// Every mode logs a heartbeat line with a timestamp and a counter every
// second and serves GET /healthz on :8080 (bind-80 serves it on :80).
package main

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

var modes = map[string]func() error{
	"fine":         func() error { return loop(nil) },
	"write-root":   func() error { return loop(writeFile("/var/lib/scenario/state")) },
	"tmp-writer":   func() error { return loop(writeFile("/tmp/scenario/state")) },
	"chown":        func() error { return loop(chownFile) },
	"startup-warn": startupWarn,
	"setuid":       func() error { return loop(viaSetuid) },
	"need-root":    needRoot,
	"bind-80":      func() error { return serve(":80", nil) },
	"conn-spool":   connSpool,
	"http-500":     http500,
	"suid-check":   suidCheck,
	"fragile":      fragile,
	"api-reader":   apiReader,
}

func main() {
	log.SetFlags(0)
	log.SetOutput(os.Stdout)
	if len(os.Args) != 2 || modes[os.Args[1]] == nil {
		fmt.Fprintln(os.Stderr, "usage: scenario fine|write-root|tmp-writer|chown|startup-warn|setuid|need-root|bind-80|conn-spool|http-500|fragile|api-reader")
		os.Exit(2)
	}
	if err := modes[os.Args[1]](); err != nil {
		logf("fatal: %v", err)
		os.Exit(1)
	}
}

func logf(format string, args ...any) {
	log.Printf("%s pid=%d "+format, append([]any{time.Now().UTC().Format(time.RFC3339Nano), os.Getpid()}, args...)...)
}

// loop serves /healthz and runs step every second; a failing step is fatal,
// as it is for programs that cannot write their state.
func loop(step func() error) error {
	errc := make(chan error, 1)
	go func() { errc <- serve(":8080", nil) }()
	logf("started uid=%d gid=%d euid=%d", os.Getuid(), os.Getgid(), os.Geteuid())
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for n := 1; ; n++ {
		if step != nil {
			if err := step(); err != nil {
				return err
			}
		}
		logf("heartbeat n=%d", n)
		select {
		case err := <-errc:
			return err
		case <-stop:
			logf("shutting down")
			return nil
		case <-tick.C:
		}
	}
}

func serve(addr string, h http.Handler) error {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	if h != nil {
		mux.Handle("/", h)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", addr, err)
	}
	logf("listening on %s", addr)
	if addr == ":80" {
		go func() { _ = loop(nil) }()
	}
	return http.Serve(ln, mux)
}

func writeFile(path string) func() error {
	return func() error {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		return os.WriteFile(path, []byte(time.Now().String()), 0o644)
	}
}

func chownFile() error {
	const p = "/tmp/owned"
	_ = os.Remove(p) // owned by 1234 after the last round: unlink, don't overwrite
	if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
		return err
	}
	return os.Chown(p, 1234, 1234)
}

// startupWarn hands a PID file to another owner once at start-up, as real
// servers do, and only warns when that is not permitted (no CAP_CHOWN, or
// not root): the warning appears once, at start-up, and the program keeps
// serving as before. A harmless log line, for cinch.dev/ignore-logs.
func startupWarn() error {
	const p = "/tmp/scenario.pid"
	_ = os.Remove(p)
	if err := os.WriteFile(p, []byte(fmt.Sprint(os.Getpid())), 0o644); err != nil {
		return err
	}
	if err := os.Chown(p, 1234, 1234); err != nil {
		logf("warning: %v (continuing)", err)
	}
	return loop(nil)
}

// viaSetuid runs the setuid-root copy of this program, which succeeds only if
// exec really made it root (no_new_privs forbids that).
func viaSetuid() error {
	out, err := exec.Command("/usr/local/bin/scenario-suid", "suid-check").CombinedOutput()
	if err != nil {
		return fmt.Errorf("setuid helper: %v: %s", err, out)
	}
	return nil
}

func suidCheck() error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("not privileged: euid=%d", os.Geteuid())
	}
	return nil
}

func needRoot() error {
	if os.Getuid() != 0 {
		return fmt.Errorf("must run as root, uid=%d", os.Getuid())
	}
	return loop(nil)
}

// fragile exits at start-up under every tighter setting Cinch tries: it
// insists on uid 0, gid 0, a writable root filesystem, no no_new_privs and
// no seccomp filter. (Its manifest already drops every capability, so that
// check is not planned.)
func fragile() error {
	if os.Getuid() != 0 || os.Getgid() != 0 {
		return fmt.Errorf("must run as root:root, uid=%d gid=%d", os.Getuid(), os.Getgid())
	}
	if err := writeFile("/var/lib/scenario/fragile")(); err != nil {
		return err
	}
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return err
	}
	for line := range strings.Lines(string(status)) {
		k, v, _ := strings.Cut(strings.TrimSpace(line), ":")
		v = strings.TrimSpace(v)
		if (k == "NoNewPrivs" || k == "Seccomp") && v != "0" {
			return fmt.Errorf("refusing to run with %s=%s", k, v)
		}
	}
	return loop(nil)
}

// connSpool is a line-protocol server on :7000 that opens a spool file in the
// root filesystem for every connection. When it cannot, it answers the client
// with an error and logs nothing; its pod stays Ready.
func connSpool() error {
	ln, err := net.Listen("tcp", ":7000")
	if err != nil {
		return err
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func(c net.Conn) {
				defer c.Close()
				f, err := os.OpenFile(filepath.Join("/var/spool/scenario", fmt.Sprintf("conn-%d", time.Now().UnixNano())), os.O_CREATE|os.O_WRONLY, 0o600)
				if err != nil {
					fmt.Fprintf(c, "-ERR spool unavailable\r\n")
					return
				}
				defer os.Remove(f.Name())
				defer f.Close()
				fmt.Fprintf(c, "+OK scenario spool ready\r\n")
				_, _ = bufio.NewReader(c).ReadString('\n')
			}(c)
		}
	}()
	if err := os.MkdirAll("/var/spool/scenario", 0o755); err != nil && !errors.Is(err, os.ErrExist) && !errors.Is(err, syscall.EROFS) {
		logf("spool dir: %v", err)
	}
	return loop(nil)
}

// http500 answers GET / with 500 when it cannot write its cache in the root
// filesystem; /healthz (its readiness probe) keeps answering 200.
func http500() error {
	h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if err := writeFile("/var/cache/scenario/page")(); err != nil {
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(w, "hello")
	})
	errc := make(chan error, 1)
	go func() { errc <- serve(":8081", h) }()
	go func() { errc <- loop(nil) }()
	return <-errc
}

// apiReader lists the cluster's nodes through the API server every second
// with its service account, as controllers and exporters do. Nodes are
// cluster-scoped: the account needs a ClusterRole through a
// ClusterRoleBinding. When the request is refused it logs the error and
// keeps going (its pod stays Ready). It finds the API server by its cluster
// DNS name.
func apiReader() error {
	const sa = "/var/run/secrets/kubernetes.io/serviceaccount"
	ca, err := os.ReadFile(sa + "/ca.crt")
	if err != nil {
		return err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca) {
		return errors.New("no certificate in " + sa + "/ca.crt")
	}
	client := &http.Client{
		Timeout:   5 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}},
	}
	return loop(func() error {
		// The token is re-read: the kubelet rotates it.
		token, err := os.ReadFile(sa + "/token")
		if err != nil {
			return err
		}
		req, err := http.NewRequest(http.MethodGet, "https://kubernetes.default.svc.cluster.local/api/v1/nodes", nil)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
		resp, err := client.Do(req)
		if err != nil {
			logf("list nodes: %v", err)
			return nil
		}
		defer resp.Body.Close()
		var list struct {
			Items  []json.RawMessage `json:"items"`
			Reason string            `json:"reason"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
			logf("list nodes: %s: %v", resp.Status, err)
			return nil
		}
		if resp.StatusCode != http.StatusOK {
			logf("list nodes: %s (%s)", resp.Status, list.Reason)
			return nil
		}
		logf("listed nodes count=%d", len(list.Items))
		return nil
	})
}
