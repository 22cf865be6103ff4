// Command uicost measures what the master's dashboard costs (issue 15), in
// the master and in a real browser: a glocust master (the binary, its own
// process) with -workers simulated workers (bench/fanin's simulator, real
// ZMTP connections) that report -names request names each, and the page
// in Chromium (master/webui/browsertest).
//
//	uicost -glocust bin/glocust -workers 500 -names 1000 -history 3600
//
// The master runs with GLOCUST_UI_INTERVAL=-interval (default 250 ms), so
// -history updates (3,600: two hours at the default 2 s) go through the
// page in minutes; an update's content does not depend on the interval. In
// order, it measures:
//
//  1. the master without a page, over -window: its CPU per update, the
//     dashboard's own time per update on the master's loop (inside Do) and
//     off it (encoding), and the bytes of one update (GET ui/cost);
//  2. the page: first contentful paint (Paint Timing) and the time until
//     the table shows its rows; then, with the Statistics, Charts and
//     Workers tabs shown in turn, the main-thread time per live update:
//     Chromium's ThreadTime (the renderer's main thread's CPU time) over
//     -window, divided by the updates sent, and TaskDuration (the wall time
//     of its tasks, which a busy machine stretches); and the master's CPU
//     per update with the page connected;
//  3. the page's memory while the history grows to -history updates:
//     JSHeapUsedSize and DOM nodes after a forced garbage collection, at
//     ten points.
//
// It prints one JSON object (and writes it to -json). Every wait has a
// deadline; the processes it starts are stopped by their pid.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/chromedp/cdproto/heapprofiler"
	"github.com/chromedp/cdproto/performance"
	"github.com/chromedp/chromedp"
	"github.com/glocust/glocust/bench/fanin"
	"github.com/glocust/glocust/master/webui/browsertest"
)

// Result is what uicost measures.
type Result struct {
	Workers, Names, HistoryUpdates int
	IntervalMS                     int64

	// 1. the master without a page
	MasterCPUmsPerUpdateNoPage float64 // process CPU over the window / updates
	LoopMSPerUpdate            float64 // the sampler's time inside Do (the master's loop waits)
	EncodeMSPerUpdate          float64 // the sampler's time off the loop
	UpdateBytes                float64 // one update (sent once per page)
	InitBytes                  int     // the init a page gets on connecting

	// 2. the page
	FirstContentfulPaintMS float64
	RowsShownMS            float64            // from navigation to the table's rows
	MainThreadMSPerUpdate  map[string]float64 // by tab: the main thread's CPU time (ThreadTime) / updates
	TaskMSPerUpdate        map[string]float64 // by tab: the wall time of its tasks (TaskDuration) / updates
	ScriptMSPerUpdate      map[string]float64
	LayoutMSPerUpdate      map[string]float64 // layout and style recalculation
	MasterCPUmsPerUpdate   float64            // with one page connected
	// 3. memory
	HeapMB        []float64 // JSHeapUsedSize after GC, at ten points of the history
	DOMNodes      []float64
	HeapAtUpdates []int // the updates received at each point
	HistoryPoints int   // the page's history cap: it stops growing there
	MasterRSSMB   float64
	ConsoleError  []string `json:",omitempty"`
}

func main() {
	bin := flag.String("glocust", "bin/glocust", "the glocust binary")
	workers := flag.Int("workers", 500, "simulated workers")
	names := flag.Int("names", 1000, "request names each worker reports")
	history := flag.Int("history", 3600, "updates the page receives in the memory phase (3600: 2 h at 2 s)")
	interval := flag.Duration("interval", 250*time.Millisecond, "the dashboard's update period (GLOCUST_UI_INTERVAL)")
	window := flag.Duration("window", 10*time.Second, "each measured window")
	out := flag.String("json", "", "also write the result here")
	flag.Parse()
	logger := log.New(os.Stderr, "uicost: ", log.Ltime)
	res, err := run(*bin, *workers, *names, *history, *interval, *window, logger)
	if err != nil {
		logger.Fatal(err)
	}
	b, _ := json.Marshal(res)
	fmt.Println(string(b))
	if *out != "" {
		if err := os.WriteFile(*out, append(b, '\n'), 0o644); err != nil {
			logger.Fatal(err)
		}
	}
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// cost is the dashboard's ui/cost document.
type cost struct {
	Updates   int64 `json:"updates"`
	LoopNS    int64 `json:"loop_ns"`
	EncodeNS  int64 `json:"encode_ns"`
	Bytes     int64 `json:"update_bytes"`
	InitBytes int   `json:"last_init_bytes"`
}

func run(bin string, workers, names, history int, interval, window time.Duration, logger *log.Logger) (*Result, error) {
	res := &Result{Workers: workers, Names: names, HistoryUpdates: history, IntervalMS: interval.Milliseconds(),
		MainThreadMSPerUpdate: map[string]float64{}, TaskMSPerUpdate: map[string]float64{}, ScriptMSPerUpdate: map[string]float64{},
		LayoutMSPerUpdate: map[string]float64{}}
	webPort, err := freePort()
	if err != nil {
		return nil, err
	}
	zmqPort, err := freePort()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "uicost-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	// The simulated workers run a class of this name; the scenario only
	// names it (they send what they send).
	scenario := "users:\n  - class: U\n    tasks:\n      - request: {path: /}\n"
	if err := os.WriteFile(filepath.Join(dir, "s.yaml"), []byte(scenario), 0o644); err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "--master", "-f", "s.yaml", "-H", "http://127.0.0.1:9", "--web-host", "127.0.0.1",
		"--web-port", strconv.Itoa(webPort), "--master-bind-host", "127.0.0.1", "--master-bind-port", strconv.Itoa(zmqPort),
		"--loglevel", "WARNING")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GLOCUST_UI_INTERVAL="+interval.String())
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	pid := strconv.Itoa(cmd.Process.Pid)
	web := fmt.Sprintf("http://127.0.0.1:%d", webPort)
	if err := until(20*time.Second, func() bool { _, err := get(web + "/healthz"); return err == nil }); err != nil {
		return nil, fmt.Errorf("the master's web port: %w", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sim, err := fanin.New(fanin.Config{Addr: fmt.Sprintf("127.0.0.1:%d", zmqPort), N: workers, Entries: names,
		Window: 24 * time.Hour, Warmup: time.Second, Logf: logger.Printf})
	if err != nil {
		return nil, err
	}
	simDone := make(chan error, 1)
	go func() { _, err := sim.Run(ctx); simDone <- err }()
	defer func() { cancel(); <-simDone; sim.Close() }()
	if err := until(3*time.Minute, func() bool {
		b, err := get(web + "/worker-count")
		var wc struct {
			WorkerCount int `json:"worker_count"`
		}
		return err == nil && json.Unmarshal(b, &wc) == nil && wc.WorkerCount >= workers
	}); err != nil {
		return nil, fmt.Errorf("waiting for %d workers: %w", workers, err)
	}
	resp, err := http.PostForm(web+"/swarm", url.Values{"user_count": {strconv.Itoa(workers)}, "spawn_rate": {strconv.Itoa(workers)}})
	if err != nil {
		return nil, err
	}
	resp.Body.Close()
	logger.Printf("%d workers, %d names each: a test runs", workers, names)

	// 1. The master without a page.
	if err := until(time.Minute, func() bool { c, err := readCost(web); return err == nil && c.Updates > 2 }); err != nil {
		return nil, err
	}
	cpu0, _ := fanin.ProcCPU(pid)
	c0, err := readCost(web)
	if err != nil {
		return nil, err
	}
	time.Sleep(window) // a measured window, not a wait for a state
	cpu1, _ := fanin.ProcCPU(pid)
	c1, err := readCost(web)
	if err != nil {
		return nil, err
	}
	n := float64(c1.Updates - c0.Updates)
	if n < 1 {
		return nil, fmt.Errorf("no update in %v", window)
	}
	res.MasterCPUmsPerUpdateNoPage = round((cpu1 - cpu0) * 1000 / n)
	res.LoopMSPerUpdate = round(float64(c1.LoopNS-c0.LoopNS) / 1e6 / n)
	res.EncodeMSPerUpdate = round(float64(c1.EncodeNS-c0.EncodeNS) / 1e6 / n)
	res.UpdateBytes = round(float64(c1.Bytes-c0.Bytes) / n)

	// 2. The page.
	b, err := browsertest.Start(context.Background(), browsertest.Options{})
	if err != nil {
		return nil, err
	}
	defer b.Close()
	bctx, bcancel := context.WithTimeout(b.Ctx, 2*time.Hour)
	defer bcancel()
	t0 := time.Now()
	if err := chromedp.Run(bctx, performance.Enable(), chromedp.Navigate(web+"/")); err != nil {
		return nil, err
	}
	if err := browsertest.WaitJS(bctx, `document.querySelectorAll('#p-stats tbody tr:not(.pad)').length > 0`, time.Minute); err != nil {
		return nil, fmt.Errorf("the table's rows: %w", err)
	}
	res.RowsShownMS = round(float64(time.Since(t0).Microseconds()) / 1000)
	var fcp float64
	if err := chromedp.Run(bctx, chromedp.Evaluate(`(performance.getEntriesByName('first-contentful-paint')[0] || {startTime: -1}).startTime`, &fcp)); err != nil {
		return nil, err
	}
	res.FirstContentfulPaintMS = round(fcp)
	if err := chromedp.Run(bctx, chromedp.Evaluate(`JSON.parse(document.querySelector('#boot').textContent).history_points`, &res.HistoryPoints)); err != nil {
		return nil, err
	}
	c, err := readCost(web)
	if err != nil {
		return nil, err
	}
	res.InitBytes = c.InitBytes
	startUpdates := c.Updates
	cpuPage0, _ := fanin.ProcCPU(pid)
	for _, tab := range []string{"stats", "charts", "workers"} {
		if err := chromedp.Run(bctx, chromedp.Click("#t-"+tab, chromedp.ByQuery)); err != nil {
			return nil, err
		}
		m0, err := browsertest.Metrics(bctx)
		if err != nil {
			return nil, err
		}
		c0, _ := readCost(web)
		time.Sleep(window) // a measured window
		m1, err := browsertest.Metrics(bctx)
		if err != nil {
			return nil, err
		}
		c1, _ := readCost(web)
		n := float64(c1.Updates - c0.Updates)
		res.MainThreadMSPerUpdate[tab] = round((m1["ThreadTime"] - m0["ThreadTime"]) * 1000 / n)
		res.TaskMSPerUpdate[tab] = round((m1["TaskDuration"] - m0["TaskDuration"]) * 1000 / n)
		res.ScriptMSPerUpdate[tab] = round((m1["ScriptDuration"] - m0["ScriptDuration"]) * 1000 / n)
		res.LayoutMSPerUpdate[tab] = round((m1["LayoutDuration"] + m1["RecalcStyleDuration"] - m0["LayoutDuration"] - m0["RecalcStyleDuration"]) * 1000 / n)
		logger.Printf("tab %s: %.2f ms main thread per update", tab, res.MainThreadMSPerUpdate[tab])
	}
	cpuPage1, _ := fanin.ProcCPU(pid)
	c, _ = readCost(web)
	res.MasterCPUmsPerUpdate = round((cpuPage1 - cpuPage0) * 1000 / float64(c.Updates-startUpdates))

	// 3. Memory while the history grows (the Charts tab shows it all).
	if err := chromedp.Run(bctx, chromedp.Click("#t-charts", chromedp.ByQuery)); err != nil {
		return nil, err
	}
	if c, err = readCost(web); err != nil {
		return nil, err
	}
	startUpdates = c.Updates
	for i := 1; i <= 10; i++ {
		target := startUpdates + int64(history*i/10)
		if err := until(time.Duration(history)*interval*3+time.Minute, func() bool {
			c, err := readCost(web)
			return err == nil && c.Updates >= target
		}); err != nil {
			return nil, err
		}
		if err := chromedp.Run(bctx, heapprofiler.CollectGarbage()); err != nil {
			return nil, err
		}
		m, err := browsertest.Metrics(bctx)
		if err != nil {
			return nil, err
		}
		res.HeapMB = append(res.HeapMB, round(m["JSHeapUsedSize"]/1e6))
		res.DOMNodes = append(res.DOMNodes, m["Nodes"])
		res.HeapAtUpdates = append(res.HeapAtUpdates, history*i/10)
		logger.Printf("%d updates: heap %.1f MB, %v nodes", history*i/10, m["JSHeapUsedSize"]/1e6, m["Nodes"])
	}
	res.MasterRSSMB = round(fanin.ProcRSS(pid))
	res.ConsoleError = b.Console.Errors()
	return res, nil
}

func round(v float64) float64 { return float64(int64(v*1000+0.5)) / 1000 }

func get(u string) ([]byte, error) {
	resp, err := http.Get(u)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return b, fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	return b, err
}

func readCost(web string) (cost, error) {
	var c cost
	b, err := get(web + "/ui/cost")
	if err == nil {
		err = json.Unmarshal(b, &c)
	}
	return c, err
}

// until waits for ok with browsertest.Until.
func until(timeout time.Duration, ok func() bool) error {
	return browsertest.Until(timeout, func() (bool, error) { return ok(), nil })
}
