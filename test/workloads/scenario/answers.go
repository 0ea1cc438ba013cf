package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"
)

// Modes whose breakage only a client of their ports sees: the pod stays
// Ready, restarts nothing and logs nothing new.
func init() {
	modes["empty-body"] = emptyBody
	modes["udp-dns"] = udpDNS
}

// emptyBody renders a page per GET on :8081 (its host name, the time, the
// client's address, a request id and number, how long it took: a page that
// differs from request to request in harmless ways) into a cache file in
// /tmp of the root filesystem (1777: any user may write there) and serves
// the cache. When it cannot write the cache it serves what the cache holds,
// nothing: 200, the same headers, an empty body. /healthz on :8080 (its
// readiness probe) keeps answering.
func emptyBody() error {
	host, _ := os.Hostname()
	var n atomic.Int64
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		i := n.Add(1)
		id := make([]byte, 8)
		_, _ = rand.Read(id)
		page := fmt.Sprintf("<!doctype html>\n<html><head><title>scenario page</title></head>\n<body>\n<h1>Hello from %s</h1>\n<p>Rendered at %s for %s (request %s, number %d) in %s.</p>\n</body></html>\n",
			host, start.UTC().Format(time.RFC3339Nano), r.RemoteAddr, hex.EncodeToString(id), i, time.Since(start))
		cache := filepath.Join("/tmp/scenario-cache", fmt.Sprintf("page-%d.html", i))
		var body []byte
		if err := os.MkdirAll(filepath.Dir(cache), 0o755); err == nil {
			if err := os.WriteFile(cache, []byte(page), 0o644); err == nil {
				body, _ = os.ReadFile(cache)
				_ = os.Remove(cache)
			}
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write(body)
	})
	errc := make(chan error, 1)
	go func() { errc <- serve(":8081", h) }()
	go func() { errc <- loop(nil) }()
	return <-errc
}

// udpDNS is a small DNS server on UDP :5353 and a statsd-like sink on UDP
// :8125. The DNS server answers every query (NOERROR, no records) after
// appending it to its journal in /tmp of the root filesystem; when it
// cannot, it answers SERVFAIL. The sink spools to /tmp too and, when it
// cannot create its spool, never opens its port (ICMP port unreachable).
// Neither says a word about it; /healthz on :8080 keeps answering.
func udpDNS() error {
	pc, err := net.ListenPacket("udp", ":5353")
	if err != nil {
		return err
	}
	go serveDNS(pc, func(q []byte) bool {
		const journal = "/tmp/scenario-dns/journal"
		if err := os.MkdirAll(filepath.Dir(journal), 0o755); err != nil {
			return false
		}
		f, err := os.OpenFile(journal, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			return false
		}
		defer f.Close()
		_, err = fmt.Fprintf(f, "%s %x\n", time.Now().UTC().Format(time.RFC3339Nano), q)
		return err == nil
	})
	const spool = "/tmp/scenario-stats/spool"
	if err := os.MkdirAll(filepath.Dir(spool), 0o755); err == nil && os.WriteFile(spool, nil, 0o644) == nil {
		sink, err := net.ListenPacket("udp", ":8125")
		if err != nil {
			return err
		}
		go func() {
			buf := make([]byte, 2048)
			for {
				if _, _, err := sink.ReadFrom(buf); err != nil {
					return
				}
			}
		}()
	}
	return loop(nil)
}

// serveDNS answers each DNS query on pc with its question and no records:
// NOERROR when ok(query) holds, SERVFAIL otherwise. Anything that is not a
// query with one question is dropped.
func serveDNS(pc net.PacketConn, ok func(q []byte) bool) {
	buf := make([]byte, 512)
	for {
		n, from, err := pc.ReadFrom(buf)
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			continue
		}
		q := buf[:n]
		end, valid := questionEnd(q)
		if !valid {
			continue
		}
		r := append([]byte(nil), q[:end]...)
		r[2] = 0x84 | q[2]&0x01 // QR, AA, the query's RD
		r[3] = 0x00             // RA=0, NOERROR
		if !ok(q) {
			r[3] = 0x02 // SERVFAIL
		}
		copy(r[6:12], []byte{0, 0, 0, 0, 0, 0}) // no records
		_, _ = pc.WriteTo(r, from)
	}
}

// questionEnd returns where the one question of DNS query q ends.
func questionEnd(q []byte) (int, bool) {
	if len(q) < 12 || q[2]&0x80 != 0 || q[4] != 0 || q[5] != 1 {
		return 0, false
	}
	i := 12
	for i < len(q) && q[i] != 0 {
		if q[i]&0xc0 != 0 {
			return 0, false
		}
		i += int(q[i]) + 1
	}
	i += 1 + 4 // the root label, QTYPE, QCLASS
	if i > len(q) {
		return 0, false
	}
	return i, true
}
