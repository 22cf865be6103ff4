// Command statsbench runs each stats recorder (glocust, launce, boomer) for
// a fixed time with many goroutines, checks that each one reports exactly
// what was recorded, and prints records/s, so that the ratios come from one
// run on one machine state. Rounds are interleaved (every recorder runs
// once, then the next round), and the summary gives the median of each.
//
//	go run ./cmd/statsbench -g 1000 -d 5s -rounds 3
//	taskset -c 0,1 ./statsbench -recorders glocust -rounds 1 -json
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/glocust/glocust/bench/statsbench"
)

// Run is one recorder's run, printed as a JSON line with -json.
type Run struct {
	Recorder         string  `json:"recorder"`
	Round            int     `json:"round"`
	Goroutines       int     `json:"goroutines"`
	GOMAXPROCS       int     `json:"gomaxprocs"`
	Seconds          float64 `json:"seconds"`
	Records          int64   `json:"records"`
	RecordsPerSecond float64 `json:"records_per_s"`
	AllocsPerRecord  float64 `json:"allocs_per_record"`
	CPUSeconds       float64 `json:"cpu_s"`
	CPUNsPerRecord   float64 `json:"cpu_ns_per_record"`
	LoadAvg1         float64 `json:"loadavg1"` // 1-minute load average when the run started (/proc/loadavg)
	Verified         bool    `json:"verified"`
	Error            string  `json:"error,omitempty"`
}

func main() { os.Exit(run()) }

func run() int {
	recorders := flag.String("recorders", strings.Join(statsbench.Kinds, ","), "comma-separated recorders: "+strings.Join(statsbench.Kinds, ", "))
	goroutines := flag.Int("g", 1000, "concurrent recording goroutines")
	dur := flag.Duration("d", 5*time.Second, "recording time per run")
	rounds := flag.Int("rounds", 1, "interleaved rounds")
	asJSON := flag.Bool("json", false, "print one JSON line per run (and no table)")
	timeout := flag.Duration("flush-timeout", 15*time.Second, "how long to wait for a recorder's reports to add up")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of all runs to this file")
	flag.Parse()

	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "statsbench:", err)
			return 2
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, "statsbench:", err)
			return 2
		}
		defer func() {
			pprof.StopCPUProfile()
			f.Close()
		}()
	}

	kinds := strings.Split(*recorders, ",")
	for _, k := range kinds {
		if !slices.Contains(statsbench.Kinds, k) {
			fmt.Fprintf(os.Stderr, "statsbench: unknown recorder %q\n", k)
			return 2
		}
	}
	var runs []Run
	failed := false
	for round := range *rounds {
		for _, kind := range kinds {
			r := runOne(kind, round, *goroutines, *dur, *timeout)
			runs = append(runs, r)
			if !r.Verified {
				failed = true
			}
			if *asJSON {
				b, _ := json.Marshal(r)
				fmt.Println(string(b))
			} else {
				fmt.Fprintf(os.Stderr, "round %d %-15s %14.0f records/s  %6.2f allocs/rec  %7.1f CPU-ns/rec  load %.2f  verified=%v %s\n",
					round+1, kind, r.RecordsPerSecond, r.AllocsPerRecord, r.CPUNsPerRecord, r.LoadAvg1, r.Verified, r.Error)
			}
		}
	}
	if !*asJSON {
		summary(runs, kinds, *goroutines, *dur)
	}
	if failed {
		return 1
	}
	return 0
}

func runOne(kind string, round, g int, d, timeout time.Duration) Run {
	runtime.GC()
	time.Sleep(200 * time.Millisecond) // let the previous recorder's goroutines settle
	r := Run{Recorder: kind, Round: round + 1, Goroutines: g, GOMAXPROCS: runtime.GOMAXPROCS(0), LoadAvg1: loadAvg1()}
	rec, err := statsbench.New(kind, g)
	if err != nil {
		r.Error = err.Error()
		return r
	}
	var ms0, ms1 runtime.MemStats
	var ru0, ru1 syscall.Rusage
	res := statsbench.Drive(rec, statsbench.Load{Goroutines: g, Duration: d, Ready: func() {
		runtime.ReadMemStats(&ms0)
		_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	}})
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	runtime.ReadMemStats(&ms1)
	r.Seconds = res.Elapsed.Seconds()
	r.Records = res.Records
	r.RecordsPerSecond = res.RecordsPerSecond()
	if res.Records > 0 {
		r.AllocsPerRecord = float64(ms1.Mallocs-ms0.Mallocs) / float64(res.Records)
		r.CPUSeconds = cpu(ru1) - cpu(ru0)
		r.CPUNsPerRecord = r.CPUSeconds * 1e9 / float64(res.Records)
	}
	tot, err := rec.Close(res.Records, timeout)
	if err == nil {
		err = tot.Check(res)
	}
	if err != nil {
		r.Error = err.Error()
	} else {
		r.Verified = true
	}
	return r
}

// loadAvg1 is the 1-minute load average (0 if unknown): the machine may be
// shared, and the figures only mean something next to it.
func loadAvg1() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	var l float64
	fmt.Sscan(string(b), &l)
	return l
}

func cpu(ru syscall.Rusage) float64 {
	return float64(ru.Utime.Sec+ru.Stime.Sec) + float64(ru.Utime.Usec+ru.Stime.Usec)/1e6
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func summary(runs []Run, kinds []string, g int, d time.Duration) {
	med, medCPU := map[string]float64{}, map[string]float64{}
	fmt.Printf("%d goroutines, GOMAXPROCS=%d, %s per run, %d names\n\n", g, runtime.GOMAXPROCS(0), d, statsbench.NumNames)
	fmt.Println("| recorder | records/s min / median / max | allocs/record | CPU-ns/record (median) | records/s per core | load avg (1 min) at the runs | totals verified |")
	fmt.Println("|---|---|---|---|---|---|---|")
	for _, k := range kinds {
		var rps, allocs, cpuns []float64
		var loads []string
		ok := true
		for _, r := range runs {
			if r.Recorder == k {
				rps = append(rps, r.RecordsPerSecond)
				allocs = append(allocs, r.AllocsPerRecord)
				cpuns = append(cpuns, r.CPUNsPerRecord)
				loads = append(loads, fmt.Sprintf("%.1f", r.LoadAvg1))
				ok = ok && r.Verified
			}
		}
		med[k], medCPU[k] = median(rps), median(cpuns)
		perCore := 0.0
		if medCPU[k] > 0 {
			perCore = 1e9 / medCPU[k]
		}
		fmt.Printf("| %s | %.3gM / **%.3gM** / %.3gM | %.2f | %.1f | %.3gM | %s | %v |\n", k,
			slices.Min(rps)/1e6, med[k]/1e6, slices.Max(rps)/1e6, median(allocs), medCPU[k], perCore/1e6,
			strings.Join(loads, ", "), ok)
	}
	if g := med["glocust"]; g > 0 {
		fmt.Println()
		for _, k := range []string{"launce", "boomer"} {
			if med[k] > 0 && medCPU["glocust"] > 0 {
				fmt.Printf("glocust / %s: %.1fx by records/s, %.1fx by CPU per record\n", k, g/med[k], medCPU[k]/medCPU["glocust"])
			}
		}
	}
}
