// Command stalltarget is an HTTP target that stalls: in every period (1 s by
// default) it answers nothing for the first stall (100 ms) of it, as a
// server in a GC pause or a blocked event loop would. Requests that arrive
// during a stall, or are being served when it begins, are answered when it
// ends; at other times it answers at once with "ok". It is the target of
// bench/latency.py (issue 5, goal 5): a closed-loop generator measures few
// slow requests on it, while the requests that should have been sent during
// each stall were in fact delayed by up to the stall's length.
//
//	stalltarget -addr 127.0.0.1:8090 -period 1s -stall 100ms
//
// GET /stats returns the requests served and the stalls seen so far as
// JSON, so a benchmark can check what the target received.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8090", "listen address (loopback only)")
	period := flag.Duration("period", time.Second, "one stall per period")
	stall := flag.Duration("stall", 100*time.Millisecond, "length of each stall, from the start of every period")
	maxLife := flag.Duration("max-life", 30*time.Minute, "exit after this long, whatever happens")
	flag.Parse()
	if *stall < 0 || *stall >= *period {
		log.Fatalf("stalltarget: -stall must be in [0, -period)")
	}
	host, _, err := net.SplitHostPort(*addr)
	if err != nil {
		log.Fatalf("stalltarget: %v", err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		log.Fatalf("stalltarget: %s is not a loopback address", host)
	}

	epoch := time.Now()
	var served, delayed atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("/stats", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{
			"served": served.Load(), "delayed": delayed.Load(),
			"period_s": period.Seconds(), "stall_s": stall.Seconds(),
		})
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		// The phase within the current period; in the stall window the
		// answer waits for its end.
		if phase := time.Since(epoch) % *period; phase < *stall {
			delayed.Add(1)
			time.Sleep(*stall - phase)
		}
		served.Add(1)
		w.Header().Set("Content-Type", "text/plain")
		w.Write([]byte("ok"))
	})
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatalf("stalltarget: %v", err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		select {
		case <-ctx.Done():
		case <-time.After(*maxLife):
		}
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	log.Printf("stalltarget: %s, %v stall every %v", ln.Addr(), *stall, *period)
	if err := srv.Serve(ln); err != nil && err != http.ErrServerClosed {
		log.Fatalf("stalltarget: %v", err)
	}
}
