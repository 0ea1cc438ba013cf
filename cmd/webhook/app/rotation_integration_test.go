//go:build integration

package app

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cinch-dev/cinch/internal/daemon"
	"github.com/cinch-dev/cinch/internal/jobs/jobstest"
	"github.com/cinch-dev/cinch/internal/kubetest"
	"github.com/cinch-dev/cinch/pkg/admission/admissiontest"
)

// syncBuffer is an io.Writer safe for concurrent log writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// secretVolume lays out dir as the kubelet mounts a Secret: the files are
// symlinks through ..data, which is swapped atomically on an update.
func secretVolume(t *testing.T, dir string, version string) []byte {
	t.Helper()
	vdir := filepath.Join(dir, "..v"+version)
	require.NoError(t, os.Mkdir(vdir, 0o700))
	ca, err := admissiontest.WriteServingCert(vdir, "127.0.0.1")
	require.NoError(t, err)
	tmp := filepath.Join(dir, "..data_tmp")
	require.NoError(t, os.Symlink("..v"+version, tmp))
	require.NoError(t, os.Rename(tmp, filepath.Join(dir, "..data")))
	for _, f := range []string{"tls.crt", "tls.key"} {
		if _, err := os.Lstat(filepath.Join(dir, f)); os.IsNotExist(err) {
			require.NoError(t, os.Symlink(filepath.Join("..data", f), filepath.Join(dir, f)))
		}
	}
	return ca
}

func leafOf(t *testing.T, certFile string) []byte {
	t.Helper()
	b, err := os.ReadFile(certFile)
	require.NoError(t, err)
	block, _ := pem.Decode(b)
	require.NotNil(t, block)
	return block.Bytes
}

// TestIntegrationCertRotationUnderLoad replaces the serving certificate
// (as the kubelet updates a Secret volume) while reviews flow over fresh TLS
// connections: no request fails, and the new certificate is served without a
// restart. It also checks that the server's own errors (a TLS handshake
// failure) are logged as JSON through the structured logger.
func TestIntegrationCertRotationUnderLoad(t *testing.T) {
	kubeconfig := kubetest.Kubeconfig(t, kubetest.EnvIntegration)
	ns := jobstest.Server(t)
	certDir := t.TempDir()
	ca1 := secretVolume(t, certDir, "1")
	oldLeaf := leafOf(t, filepath.Join(certDir, "tls.crt"))

	cfg := DefaultConfig()
	cfg.Host = "127.0.0.1"
	_, cfg.Port = freeAddr(t)
	cfg.HealthAddr, _ = freeAddr(t)
	cfg.MetricsAddr = "0"
	cfg.CertDir = certDir
	cfg.Kubeconfig = kubeconfig
	cfg.NATSURL = ns.ClientURL()
	cfg.ShutdownTimeout = 10 * time.Second
	require.NoError(t, cfg.Validate())

	logs := &syncBuffer{}
	startRun(t, daemon.NewLogger(logs, 1), cfg)
	require.Eventually(t, func() bool {
		resp, err := http.Get("http://" + cfg.HealthAddr + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 30*time.Second, 50*time.Millisecond, "never ready")

	// The next certificate comes from another CA; the client trusts both.
	next := t.TempDir()
	ca2, err := admissiontest.WriteServingCert(next, "127.0.0.1")
	require.NoError(t, err)
	newLeaf := leafOf(t, filepath.Join(next, "tls.crt"))
	pool := x509.NewCertPool()
	require.True(t, pool.AppendCertsFromPEM(ca1))
	require.True(t, pool.AppendCertsFromPEM(ca2))
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: pool},
		DisableKeepAlives: true, // a handshake per request
	}}
	url := fmt.Sprintf("https://127.0.0.1:%d%s", cfg.Port, ValidatePath)
	body := []byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u1",` +
		`"kind":{"group":"apps","version":"v1","kind":"Deployment"},"namespace":"no-such-namespace-xyz","operation":"CREATE",` +
		`"object":{"metadata":{"name":"a","uid":"x"},"spec":{"template":{"spec":{"containers":[{"name":"c","image":"i"}]}}}}}}`)

	var total, failed, servedNew atomic.Int64
	var firstErr atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				total.Add(1)
				resp, err := client.Post(url, "application/json", bytes.NewReader(body))
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), `"allowed":true`) {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, fmt.Sprintf("status %d: %s", resp.StatusCode, b))
					continue
				}
				if bytes.Equal(resp.TLS.PeerCertificates[0].Raw, newLeaf) {
					servedNew.Add(1)
				} else if !bytes.Equal(resp.TLS.PeerCertificates[0].Raw, oldLeaf) {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, "unknown certificate served")
				}
			}
		})
	}
	time.Sleep(time.Second)
	rotated := time.Now()
	vdir := filepath.Join(certDir, "..v2")
	require.NoError(t, os.Mkdir(vdir, 0o700))
	for _, f := range []string{"tls.crt", "tls.key"} {
		b, err := os.ReadFile(filepath.Join(next, f))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(vdir, f), b, 0o600))
	}
	require.NoError(t, os.Symlink("..v2", filepath.Join(certDir, "..data_tmp")))
	require.NoError(t, os.Rename(filepath.Join(certDir, "..data_tmp"), filepath.Join(certDir, "..data")))
	require.NoError(t, os.RemoveAll(filepath.Join(certDir, "..v1")))
	assert.Eventually(t, func() bool { return servedNew.Load() > 0 }, 15*time.Second, 10*time.Millisecond, "new certificate never served")
	switched := time.Since(rotated)
	time.Sleep(time.Second)
	close(stop)
	wg.Wait()
	t.Logf("certificate rotated under load: %d requests, %d failed, new certificate served %s after the swap (%d requests with it)",
		total.Load(), failed.Load(), switched.Round(time.Millisecond), servedNew.Load())
	assert.Zero(t, failed.Load(), "first failure: %v", firstErr.Load())
	assert.Positive(t, total.Load())

	// A client that does not speak TLS: the server's error goes through the
	// structured logger.
	conn, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", cfg.Port))
	require.NoError(t, err)
	_, _ = conn.Write([]byte("GET / HTTP/1.0\r\n\r\n"))
	_, _ = io.ReadAll(conn)
	conn.Close()
	assert.Eventually(t, func() bool { return strings.Contains(logs.String(), `"msg":"TLS handshake failed"`) }, 5*time.Second, 10*time.Millisecond)
	assert.Contains(t, logs.String(), `"msg":"Serving certificate reloaded"`)
	sc := bufio.NewScanner(strings.NewReader(logs.String()))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	lines := 0
	for sc.Scan() {
		lines++
		assert.True(t, json.Valid(sc.Bytes()), "log line is not JSON: %q", sc.Text())
	}
	assert.Positive(t, lines)
}
