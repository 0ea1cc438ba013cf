//go:build integration

package app

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cinch-dev/cinch/internal/jobs"
	"github.com/cinch-dev/cinch/internal/jobs/jobstest"
	"github.com/cinch-dev/cinch/internal/kubetest"
	"github.com/cinch-dev/cinch/pkg/admission/admissiontest"
)

func freeAddr(t *testing.T) (string, int) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	a := l.Addr().(*net.TCPAddr)
	return a.String(), a.Port
}

// TestIntegrationRun runs the whole binary wiring against the local API
// server and an in-process NATS: it becomes ready, creates the job stream,
// serves reviews over TLS without HTTP/2, and exposes metrics.
func TestIntegrationRun(t *testing.T) {
	kubeconfig := kubetest.Kubeconfig(t, kubetest.EnvIntegration)
	ns := jobstest.Server(t)
	certDir := t.TempDir()
	caPEM, err := admissiontest.WriteServingCert(certDir, "127.0.0.1")
	require.NoError(t, err)

	cfg := DefaultConfig()
	cfg.Host = "127.0.0.1"
	_, cfg.Port = freeAddr(t)
	cfg.HealthAddr, _ = freeAddr(t)
	cfg.MetricsAddr, _ = freeAddr(t)
	cfg.CertDir = certDir
	cfg.Kubeconfig = kubeconfig
	cfg.NATSURL = ns.ClientURL()
	cfg.ShutdownTimeout = 10 * time.Second
	require.NoError(t, cfg.Validate())

	startRun(t, funcr.New(func(p, a string) { t.Log(p, a) }, funcr.Options{}), cfg)

	get := func(url string) (int, string) {
		resp, err := http.Get(url)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if !assert.Eventually(t, func() bool { code, _ := get("http://" + cfg.HealthAddr + "/readyz"); return code == http.StatusOK },
		30*time.Second, 50*time.Millisecond) {
		_, readyz := get("http://" + cfg.HealthAddr + "/readyz?verbose")
		t.Fatalf("never ready: %s", readyz)
	}
	code, _ := get("http://" + cfg.HealthAddr + "/healthz")
	assert.Equal(t, http.StatusOK, code)

	// The stream is set up in the background.
	nc := jobstest.Connect(t, ns)
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		_, err := js.Stream(t.Context(), jobs.DefaultStreamConfig().Name)
		return err == nil
	}, 30*time.Second, 50*time.Millisecond, "stream never created")

	// TLS with the served certificate, HTTP/1.1 only.
	pool := x509.NewCertPool()
	require.True(t, pool.AppendCertsFromPEM(caPEM))
	client := &http.Client{Transport: &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: pool, NextProtos: []string{"h2", "http/1.1"}},
		ForceAttemptHTTP2: true,
	}}
	body := []byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u1",` +
		`"kind":{"group":"apps","version":"v1","kind":"Deployment"},"namespace":"no-such-namespace-xyz","operation":"CREATE",` +
		`"object":{"metadata":{"name":"a","uid":"x"},"spec":{"template":{"spec":{"containers":[{"name":"c","image":"i"}]}}}}}}`)
	for _, path := range []string{ValidatePath, MutatePath} {
		resp, err := client.Post(fmt.Sprintf("https://127.0.0.1:%d%s", cfg.Port, path), "application/json", bytes.NewReader(body))
		require.NoError(t, err)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Equal(t, "HTTP/1.1", resp.Proto, "HTTP/2 is off")
		assert.Contains(t, string(b), `"allowed":true`)
	}

	code, metrics := get("http://" + cfg.MetricsAddr + "/metrics")
	require.Equal(t, http.StatusOK, code)
	assert.Contains(t, metrics, `cinch_admission_requests_total{kind="Deployment",operation="CREATE",outcome="not-opted-in",webhook="validate"} 1`)
	assert.Contains(t, metrics, "cinch_admission_request_duration_seconds_bucket")
	assert.Contains(t, metrics, "go_goroutines")
}

// startRun runs the webhook with cfg and logger log until t ends; Run must
// then return nil within 20 s.
func startRun(t *testing.T, log logr.Logger, cfg Config) {
	t.Helper()
	ctx, cancel := context.WithCancel(logr.NewContext(t.Context(), log))
	done := make(chan error, 1)
	go func() { done <- Run(ctx, cfg) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			assert.NoError(t, err)
		case <-time.After(20 * time.Second):
			t.Error("Run did not return after cancel")
		}
	})
}
