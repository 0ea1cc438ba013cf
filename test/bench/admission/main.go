// Command admission benchmarks the admission webhook end to end on loopback:
// the production handlers behind controller-runtime's TLS webhook server
// (HTTP/2 off, as in production) publishing to an in-process NATS JetStream.
// It drives CREATE reviews of Deployments at fixed rates (every request is a
// new workload, so every request publishes a job), first with NATS up, then
// with NATS stopped, and prints p50/p99/max latency and the allowed ratio.
// With -burst N it instead sends N reviews, -burst-concurrency at a time,
// while NATS (behind a proxy) is stalled for -stall, and prints latency and
// how long after the burst every job was in the stream.
//
// -publisher sync publishes during admission with the -publish-timeout bound
// (Cinch before the job buffer, kept for comparison); buffer (the default)
// hands jobs to the production jobs.Buffer.
//
//	go run ./test/bench/admission [-duration 30s] [-rates 200,500,1000] [-publisher buffer|sync]
//	go run ./test/bench/admission -burst 500 -burst-concurrency 100 -stall 3s [-publisher buffer|sync]
//
// Latency is measured from each request's scheduled send time to the end of
// its answer (open loop: a slow answer does not delay later requests, so
// queueing shows up in the figures).
package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/go-logr/logr"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	admissionv1 "k8s.io/api/admission/v1"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/cinch-dev/cinch/cmd/webhook/app"
	"github.com/cinch-dev/cinch/internal/jobs"
	"github.com/cinch-dev/cinch/internal/jobs/admissionjobs"
	"github.com/cinch-dev/cinch/internal/jobs/jobstest"
	"github.com/cinch-dev/cinch/internal/tlsserver"
	"github.com/cinch-dev/cinch/pkg/admission"
	"github.com/cinch-dev/cinch/pkg/admission/admissiontest"
	"github.com/cinch-dev/cinch/pkg/hardening"
)

type config struct {
	duration       time.Duration
	warmup         time.Duration
	rates          []int
	publishTimeout time.Duration
	modes          string
	publisher      string
	burst          int
	burstConc      int
	stall          time.Duration
	bufferSize     int
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	cfg := config{}
	fs := flag.NewFlagSet("bench-admission", flag.ExitOnError)
	fs.DurationVar(&cfg.duration, "duration", 30*time.Second, "duration of each rate step")
	fs.DurationVar(&cfg.warmup, "warmup", 2*time.Second, "unmeasured warm-up at the first rate of each mode")
	rates := fs.String("rates", "200,500,1000", "request rates (per second), comma separated")
	fs.DurationVar(&cfg.publishTimeout, "publish-timeout", 0, "bound of one publish (default: 100ms with -publisher sync, the webhook's default with buffer)")
	fs.StringVar(&cfg.publisher, "publisher", "buffer", "buffer (background publishing, production) or sync (publish during admission, before the buffer)")
	fs.IntVar(&cfg.burst, "burst", 0, "send this many reviews as a burst instead of the rate steps")
	fs.IntVar(&cfg.burstConc, "burst-concurrency", 100, "reviews in flight at once during a burst")
	fs.DurationVar(&cfg.stall, "stall", 0, "stall NATS for this long from the start of the burst")
	fs.IntVar(&cfg.bufferSize, "job-buffer", app.DefaultConfig().JobBuffer, "the job buffer's bound")
	fs.StringVar(&cfg.modes, "modes", "up,down", "NATS modes to run: up, down")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	_ = fs.Parse(os.Args[1:])
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "cpu profile:", err)
			os.Exit(2)
		}
		defer pprof.StopCPUProfile()
	}
	for _, r := range strings.Split(*rates, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(r))
		if err != nil || n <= 0 {
			fmt.Fprintf(os.Stderr, "bad rate %q\n", r)
			os.Exit(2)
		}
		cfg.rates = append(cfg.rates, n)
	}
	if cfg.publishTimeout == 0 {
		cfg.publishTimeout = app.DefaultConfig().PublishTimeout
		if cfg.publisher == "sync" {
			cfg.publishTimeout = 100 * time.Millisecond
		}
	}
	if err := run(ctx, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "bench-admission:", err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

type result struct {
	mode          string
	rate          int
	sent          int
	allowed       int
	failed        int // transport errors or non-200
	p50, p99, max time.Duration
	achieved      float64
	cpuPerReq     time.Duration // process CPU (client + webhook + NATS) per request
	load          string        // 1-minute load average at the end of the step
}

func run(ctx context.Context, cfg config) error {
	ctrllog.SetLogger(logr.Discard())
	dir, err := os.MkdirTemp("", "bench-admission-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	certDir := dir + "/certs"
	if err := os.Mkdir(certDir, 0o700); err != nil {
		return err
	}
	caPEM, err := admissiontest.WriteServingCert(certDir, "127.0.0.1")
	if err != nil {
		return err
	}

	ns, err := jobstest.StartServer(dir+"/nats", -1)
	if err != nil {
		return err
	}
	defer ns.Shutdown()
	proxy, err := jobstest.NewProxy(ns.Addr().String())
	if err != nil {
		return err
	}
	defer proxy.Close()
	nc, err := nats.Connect(proxy.URL(), nats.MaxReconnects(-1), nats.ReconnectWait(time.Second), nats.ReconnectBufSize(-1))
	if err != nil {
		return fmt.Errorf("connect nats: %w", err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	sc := jobs.DefaultStreamConfig()
	sc.MaxMsgs = -1
	stream, err := jobs.EnsureStream(ctx, js, sc)
	if err != nil {
		return err
	}
	reg := prometheus.NewRegistry()
	jp := jobs.NewPublisher(js, jobs.PublisherOptions{Timeout: cfg.publishTimeout, Stream: sc.Name})
	var pub admission.Publisher
	var buffer *jobs.Buffer
	sp := &syncPublisher{pub: jp}
	switch cfg.publisher {
	case "sync":
		pub = admissionjobs.NewPublisher(sp)
	case "buffer":
		bc := jobs.DefaultBufferConfig()
		bc.Size = cfg.bufferSize
		buffer, err = jobs.NewBuffer(bc, jp, jobs.NewMetrics(reg))
		if err != nil {
			return err
		}
		bctx, stopBuffer := context.WithCancel(ctx)
		defer stopBuffer()
		go func() { _ = buffer.Start(bctx) }()
		pub = admissionjobs.NewPublisher(buffer)
	default:
		return fmt.Errorf("unknown publisher %q", cfg.publisher)
	}
	handlers := admission.New(pub, admissiontest.StaticNamespaces{"shop": {hardening.LabelHarden: hardening.HardenEnabled}},
		admission.NewMetrics(reg), admission.Options{OwnNamespace: "cinch-system"})

	port, err := freePort()
	if err != nil {
		return err
	}
	validate, _ := handlers.Webhooks()
	mux := http.NewServeMux()
	mux.Handle(app.ValidatePath, validate)
	srv := tlsserver.New(tlsserver.Config{Host: "127.0.0.1", Port: port, CertDir: certDir, CertName: "tls.crt", KeyName: "tls.key", ShutdownTimeout: time.Second}, mux)
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { _ = srv.Start(sctx) }()

	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	client := &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
			// Like the API server's webhook client, reuse connections; the cap
			// keeps a latency spike from turning into a storm of TLS
			// handshakes (requests beyond it wait, and that wait counts).
			MaxConnsPerHost:     64,
			MaxIdleConnsPerHost: 64,
			IdleConnTimeout:     90 * time.Second,
		},
	}
	url := fmt.Sprintf("https://127.0.0.1:%d%s", port, app.ValidatePath)
	if err := waitReady(ctx, client, url); err != nil {
		return err
	}

	if cfg.burst > 0 {
		return runBurst(ctx, cfg, client, url, proxy, stream, reg, sp)
	}
	fmt.Printf("admission benchmark: %d CPUs (load %s at start), %s per step, publisher %s, publish bound %s, every request a new Deployment (publishes a job)\n",
		cpus(), loadAvg(), cfg.duration, cfg.publisher, cfg.publishTimeout)
	var results []result
	var seq atomic.Uint64
	for _, mode := range strings.Split(cfg.modes, ",") {
		switch mode {
		case "up":
		case "down":
			ns.Shutdown()
			ns.WaitForShutdown()
			deadline := time.Now().Add(10 * time.Second)
			for nc.IsConnected() && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
		default:
			return fmt.Errorf("unknown mode %q", mode)
		}
		if cfg.warmup > 0 {
			drive(ctx, client, url, cfg.rates[0], cfg.warmup, &seq)
		}
		for _, rate := range cfg.rates {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			r := drive(ctx, client, url, rate, cfg.duration, &seq)
			r.mode = "NATS " + mode
			results = append(results, r)
			fmt.Fprintf(os.Stderr, "%s %d req/s: p50 %s p99 %s max %s allowed %d/%d\n", r.mode, r.rate, r.p50, r.p99, r.max, r.allowed, r.sent)
		}
		if mode == "up" {
			info, err := stream.Info(ctx)
			if err == nil {
				fmt.Printf("jobs stored in the stream with NATS up: %d\n", info.State.Msgs)
			}
		}
	}

	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "mode\trate/s\tachieved/s\trequests\tp50\tp99\tmax\tallowed\terrors\tcpu/req\tload1\t")
	for _, r := range results {
		fmt.Fprintf(tw, "%s\t%d\t%.0f\t%d\t%s\t%s\t%s\t%.2f%%\t%d\t%dµs\t%s\t\n", r.mode, r.rate, r.achieved, r.sent,
			ms(r.p50), ms(r.p99), ms(r.max), 100*float64(r.allowed)/float64(max(r.sent, 1)), r.failed,
			r.cpuPerReq.Microseconds(), r.load)
	}
	return tw.Flush()
}

// syncPublisher publishes during admission, bounded by the publisher's
// timeout: how the webhook worked before the job buffer.
type syncPublisher struct {
	pub    *jobs.JetStreamPublisher
	failed atomic.Int64
}

func (p *syncPublisher) Enqueue(ctx context.Context, j jobs.Job) error {
	if _, err := p.pub.Publish(ctx, j); err != nil {
		p.failed.Add(1)
		return err
	}
	return nil
}

// runBurst sends cfg.burst reviews, cfg.burstConc at a time, with NATS
// stalled for cfg.stall from the start, and reports latency, the allowed
// ratio and when every job was in the stream.
func runBurst(ctx context.Context, cfg config, client *http.Client, url string, proxy *jobstest.Proxy, stream jetstream.Stream, reg *prometheus.Registry, sp *syncPublisher) error {
	info, err := stream.Info(ctx)
	if err != nil {
		return err
	}
	before := info.State.Msgs
	var seq atomic.Uint64
	seq.Store(1 << 20)
	lat := make([]time.Duration, cfg.burst)
	var allowed, failed atomic.Int64
	next := atomic.Int64{}
	start := time.Now()
	if cfg.stall > 0 {
		proxy.Stall()
		time.AfterFunc(cfg.stall, proxy.Resume)
	}
	var wg sync.WaitGroup
	for range cfg.burstConc {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= cfg.burst || ctx.Err() != nil {
					return
				}
				body := fmt.Appendf(nil, reviewTemplate, seq.Add(1))
				t0 := time.Now()
				ok, err := send(client, url, body)
				lat[i] = time.Since(t0)
				switch {
				case err != nil:
					failed.Add(1)
				case ok:
					allowed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	burstTook := time.Since(start)
	var inStream uint64
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		info, err := stream.Info(ctx)
		if err == nil {
			inStream = info.State.Msgs - before
		}
		if inStream >= uint64(cfg.burst) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	allIn := time.Since(start) - burstTook
	slices.Sort(lat)
	fmt.Printf("burst: %d CPUs, load %s, publisher %s, publish bound %s, %d reviews %d at a time, NATS stalled %s\n",
		cpus(), loadAvg(), cfg.publisher, cfg.publishTimeout, cfg.burst, cfg.burstConc, cfg.stall)
	fmt.Printf("  burst took %s; allowed %d/%d (%d transport errors); latency p50 %s p99 %s max %s\n",
		burstTook.Round(time.Millisecond), allowed.Load(), cfg.burst, failed.Load(),
		ms(lat[cfg.burst*50/100]), ms(lat[min(cfg.burst-1, cfg.burst*99/100)]), ms(lat[cfg.burst-1]))
	if inStream >= uint64(cfg.burst) {
		fmt.Printf("  jobs in the stream: %d/%d, all of them %s after the burst ended\n", inStream, cfg.burst, allIn.Round(time.Millisecond))
	} else {
		fmt.Printf("  jobs in the stream: %d/%d 30s after the burst ended (the rest is left to resync)\n", inStream, cfg.burst)
	}
	if cfg.publisher == "sync" {
		fmt.Printf("  publishes counted as failed during admission: %d\n", sp.failed.Load())
	}
	mfs, err := reg.Gather()
	if err != nil {
		return err
	}
	for _, mf := range mfs {
		switch mf.GetName() {
		case "cinch_admission_jobs_dropped_total", "cinch_admission_publish_retries_total", "cinch_admission_jobs_published_total":
			for _, m := range mf.GetMetric() {
				var labels []string
				for _, l := range m.GetLabel() {
					labels = append(labels, l.GetName()+"="+l.GetValue())
				}
				fmt.Printf("  %s{%s} %.0f\n", mf.GetName(), strings.Join(labels, ","), m.GetCounter().GetValue())
			}
		}
	}
	return nil
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond)) }

func cpus() int {
	n := 0
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		n = bytes.Count(b, []byte("processor\t:"))
	}
	return n
}

// processCPU is the user + system CPU time of this process so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// loadAvg is the 1-minute load average: the machine is shared, and the
// figures only mean something next to it.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return "?"
	}
	return f[0]
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func waitReady(ctx context.Context, client *http.Client, url string) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := client.Post(url, "application/json", bytes.NewReader([]byte("{}")))
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("webhook not ready: %w", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

const reviewTemplate = `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"req-%[1]d",` +
	`"kind":{"group":"apps","version":"v1","kind":"Deployment"},"resource":{"group":"apps","version":"v1","resource":"deployments"},` +
	`"name":"web-%[1]d","namespace":"shop","operation":"CREATE","userInfo":{"username":"bench"},` +
	`"object":{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web-%[1]d","namespace":"shop","uid":"uid-%[1]d",` +
	`"labels":{"app":"web"}},"spec":{"replicas":2,"selector":{"matchLabels":{"app":"web"}},"template":{"metadata":{"labels":{"app":"web"}},` +
	`"spec":{"containers":[{"name":"web","image":"nginx:1.27","ports":[{"containerPort":8080}],"env":[{"name":"MODE","value":"prod"}],` +
	`"resources":{"requests":{"cpu":"100m","memory":"64Mi"}}}]}}}},"oldObject":null,"dryRun":false}}`

// drive sends rate requests per second for d and summarises the answers.
func drive(ctx context.Context, client *http.Client, url string, rate int, d time.Duration, seq *atomic.Uint64) result {
	interval := time.Second / time.Duration(rate)
	n := int(d / interval)
	lat := make([]time.Duration, n)
	var allowed, failed atomic.Int64
	var wg sync.WaitGroup
	cpu0 := processCPU()
	start := time.Now()
	sent := 0
	for i := 0; i < n && ctx.Err() == nil; i++ {
		at := start.Add(time.Duration(i) * interval)
		if wait := time.Until(at); wait > 0 {
			time.Sleep(wait)
		}
		id := seq.Add(1)
		body := fmt.Appendf(nil, reviewTemplate, id)
		sent++
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			ok, err := send(client, url, body)
			lat[i] = time.Since(at)
			if err != nil {
				failed.Add(1)
				return
			}
			if ok {
				allowed.Add(1)
			}
		}(i)
	}
	elapsed := time.Since(start)
	wg.Wait()
	cpu := processCPU() - cpu0
	lat = lat[:sent]
	slices.Sort(lat)
	r := result{rate: rate, sent: sent, allowed: int(allowed.Load()), failed: int(failed.Load()), achieved: float64(sent) / elapsed.Seconds(), load: loadAvg()}
	if sent > 0 {
		r.cpuPerReq = cpu / time.Duration(sent)
	}
	if sent > 0 {
		r.p50 = lat[sent*50/100]
		r.p99 = lat[min(sent-1, sent*99/100)]
		r.max = lat[sent-1]
	}
	return r
}

func send(client *http.Client, url string, body []byte) (bool, error) {
	resp, err := client.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return false, fmt.Errorf("status %d", resp.StatusCode)
	}
	var review admissionv1.AdmissionReview
	if err := json.NewDecoder(resp.Body).Decode(&review); err != nil {
		return false, err
	}
	if review.Response == nil {
		return false, errors.New("no response")
	}
	return review.Response.Allowed, nil
}
