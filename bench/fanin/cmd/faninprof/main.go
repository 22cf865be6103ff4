// Command faninprof runs glocust's master in this process (master.New over
// the real guarded ZeroMQ ROUTER on 127.0.0.1, as `glocust --master` builds
// it) against the fan-in simulator, and writes a CPU profile of the window.
// The master's goroutines carry the pprof label side=master, the
// simulator's side=sim:
//
//	faninprof -n 1000 -cpuprofile m.prof
//	go tool pprof -tagfocus side=master -top m.prof
//
// It also reports the CPU split by label (samples), so the master's share
// can be read without a second process.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"log"
	"os"
	"runtime"
	"runtime/pprof"
	"time"

	"github.com/glocust/glocust/bench/fanin"
	"github.com/glocust/glocust/master"
	"github.com/glocust/glocust/protocol/zmq"
)

func main() {
	var cfg fanin.Config
	var profPath, memProf string
	flag.IntVar(&cfg.N, "n", 1000, "simulated workers")
	flag.IntVar(&cfg.Entries, "entries", fanin.DefaultEntries, "stats entries per report")
	flag.DurationVar(&cfg.StatsInterval, "stats-interval", 3*time.Second, "report period (huge: heartbeats only)")
	flag.DurationVar(&cfg.Warmup, "warmup", 3*time.Second, "after the last ack, before the window")
	flag.DurationVar(&cfg.Window, "window", 20*time.Second, "profiled window")
	flag.DurationVar(&cfg.Drain, "drain", 3*time.Second, "after the window")
	flag.StringVar(&profPath, "cpuprofile", "fanin-master.prof", "CPU profile of the window")
	flag.StringVar(&memProf, "memprofile", "", "allocation profile (whole run)")
	waitLoop := flag.Bool("wait-workers", true, "run WaitForWorkers(100000) as the headless master does")
	flag.Parse()
	logger := log.New(os.Stderr, "faninprof: ", log.Ltime)
	cfg.Logf = logger.Printf
	if memProf != "" {
		runtime.MemProfileRate = 64 << 10
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	var m *master.Master
	var router *zmq.Router
	pprof.Do(ctx, pprof.Labels("side", "master"), func(ctx context.Context) {
		var err error
		router, err = zmq.ListenRouter("tcp://127.0.0.1:0")
		if err != nil {
			logger.Fatal(err)
		}
		m = master.New(router, master.Config{Classes: []master.UserClass{{Name: "U", Weight: 1}}, Headless: true})
		go func() { _ = m.Run(ctx) }()
		if *waitLoop {
			go func() { _ = m.WaitForWorkers(ctx, 100000, 0) }()
		}
	})
	cfg.Addr = router.Addr()
	cfg.MasterPID = fanin.SelfPID

	f, err := os.Create(profPath)
	if err != nil {
		logger.Fatal(err)
	}
	var res *fanin.Result
	pprof.Do(ctx, pprof.Labels("side", "sim"), func(ctx context.Context) {
		s, err := fanin.New(cfg)
		if err != nil {
			logger.Fatal(err)
		}
		// Profile the window only: start after registration + warm-up.
		go func() {
			deadline := time.Now().Add(2 * time.Minute)
			for time.Now().Before(deadline) {
				var n int
				m.Do(func(v *master.View) { n = len(v.Workers()) })
				if n >= cfg.N+1 {
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
			time.Sleep(cfg.Warmup)
			_ = pprof.StartCPUProfile(f)
			time.Sleep(cfg.Window)
			pprof.StopCPUProfile()
		}()
		res, err = s.Run(ctx)
		if err != nil {
			logger.Printf("run: %v", err)
		}
		var total int64
		m.Do(func(v *master.View) { total = v.Stats().Total().NumRequests })
		logger.Printf("master merged %d requests; simulator sent %d", total, res.RequestsSent)
		s.Close()
	})
	f.Close()
	if memProf != "" {
		mf, _ := os.Create(memProf)
		_ = pprof.Lookup("allocs").WriteTo(mf, 0)
		mf.Close()
	}
	b, _ := json.MarshalIndent(res, "", " ")
	os.Stdout.Write(append(b, '\n'))
	cancel()
	router.Close()
}
