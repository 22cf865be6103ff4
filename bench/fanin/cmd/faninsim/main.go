// Command faninsim simulates N Locust workers (real ZMTP DEALER
// connections, one process) against a master and measures the master's CPU
// and reply latencies over a window. Pin it to its own core (taskset -c 1).
//
//	faninsim -addr 127.0.0.1:5557 -n 1000 -master-pid 1234 -json out.json
//
// After the window it stops sending reports, heartbeats for -drain, writes
// the JSON result, prints "FANIN-DONE" and keeps heartbeating (so the master
// sees no missing worker while the driver reads its counts) until SIGTERM or
// -hold runs out.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/glocust/glocust/bench/fanin"
)

func main() {
	var cfg fanin.Config
	var out string
	var hold time.Duration
	var verbose bool
	flag.StringVar(&cfg.Addr, "addr", "127.0.0.1:5557", "the master's ROUTER address")
	flag.IntVar(&cfg.N, "n", 100, "simulated workers (plus one probe)")
	flag.IntVar(&cfg.Entries, "entries", fanin.DefaultEntries, "stats entries per report")
	flag.DurationVar(&cfg.StatsInterval, "stats-interval", 3*time.Second, "report period")
	flag.DurationVar(&cfg.RegTimeout, "reg-timeout", 90*time.Second, "bound on registering every worker")
	flag.DurationVar(&cfg.Warmup, "warmup", 5*time.Second, "after the last ack, before the window")
	flag.DurationVar(&cfg.Window, "window", 30*time.Second, "measured window")
	flag.DurationVar(&cfg.Drain, "drain", 5*time.Second, "after the window: heartbeats only")
	flag.StringVar(&cfg.MasterPID, "master-pid", "", "the master's pid (CPU from /proc)")
	flag.StringVar(&out, "json", "", "write the result here (default stdout)")
	flag.DurationVar(&hold, "hold", 30*time.Second, "keep heartbeating this long after the result (until SIGTERM)")
	flag.BoolVar(&verbose, "v", false, "log connection errors")
	flag.Parse()
	logger := log.New(os.Stderr, "faninsim: ", log.Ltime|log.Lmicroseconds)
	cfg.Logf = func(f string, a ...any) { logger.Printf(f, a...) }
	quiet := cfg.Logf
	if !verbose {
		n := 0
		cfg.Logf = func(f string, a ...any) {
			if n < 20 { // bounded: a dying master would flood the log
				n++
				quiet(f, a...)
			}
		}
	}

	limit := cfg.RegTimeout + cfg.Warmup + cfg.Window + cfg.Drain + hold + 30*time.Second
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)

	s, err := fanin.New(cfg)
	if err != nil {
		logger.Fatal(err)
	}
	done := make(chan struct{})
	var res *fanin.Result
	var runErr error
	go func() { res, runErr = s.Run(ctx); close(done) }()
	select {
	case <-done:
	case <-sigs:
		cancel()
		time.AfterFunc(5*time.Second, func() { os.Exit(3) })
		<-done
	}
	code := 0
	if runErr != nil {
		logger.Printf("run: %v", runErr)
		code = 1
	}
	if res != nil {
		b, _ := json.MarshalIndent(struct {
			*fanin.Result
			Error string `json:"error,omitempty"`
		}{res, errString(runErr)}, "", " ")
		if out == "" {
			os.Stdout.Write(append(b, '\n'))
		} else if err := os.WriteFile(out+".tmp", b, 0o644); err != nil {
			logger.Printf("write %s: %v", out, err)
		} else {
			_ = os.Rename(out+".tmp", out)
		}
	}
	fmt.Println("FANIN-DONE")
	if code == 0 {
		select {
		case <-sigs:
		case <-time.After(hold):
		case <-ctx.Done():
		}
	}
	cancel()
	time.AfterFunc(5*time.Second, func() { os.Exit(code | 2) }) // bounded shutdown
	s.Close()
	os.Exit(code)
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
