package fanin

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// clkTck is USER_HZ; Linux exposes 100 on every architecture Go supports.
const clkTck = 100

// procCPU returns utime+stime of pid (all its threads) in seconds, from
// /proc/<pid>/stat ("self" for this process).
func procCPU(pid string) (float64, bool) {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0, false
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(string(b[i+2:]))
	if len(f) < 13 {
		return 0, false
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	s, _ := strconv.ParseInt(f[12], 10, 64)
	return float64(u+s) / clkTck, true
}

// procSched sums the scheduler runtime and run-queue wait (ns) of pid's
// live threads from /proc/<pid>/task/*/schedstat. Runtime is finer than
// utime+stime (a cross-check); the wait is time spent runnable but not
// running: on a pinned core, how much another process took from it.
func procSched(pid string) (run, wait int64) {
	dirs, _ := filepath.Glob("/proc/" + pid + "/task/*/schedstat")
	for _, d := range dirs {
		b, err := os.ReadFile(d)
		if err != nil {
			continue
		}
		f := strings.Fields(string(b))
		if len(f) > 1 {
			n, _ := strconv.ParseInt(f[0], 10, 64)
			w, _ := strconv.ParseInt(f[1], 10, 64)
			run += n
			wait += w
		}
	}
	return run, wait
}

// procRSS returns VmRSS of pid in MiB.
func procRSS(pid string) float64 {
	b, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				kb, _ := strconv.ParseFloat(f[0], 64)
				return kb / 1024
			}
		}
	}
	return 0
}

// busyCPU returns the machine's busy CPU seconds (all cores) from
// /proc/stat: user+nice+system+irq+softirq+steal... minus idle and iowait.
func busyCPU() float64 {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	var busy int64
	for i, s := range f[1:] {
		if i == 3 || i == 4 || i >= 8 { // idle, iowait; guest counted in user
			continue
		}
		n, _ := strconv.ParseInt(s, 10, 64)
		busy += n
	}
	return float64(busy) / clkTck
}

// ProcCPU is the CPU seconds (utime+stime, all threads) of process pid
// ("self": this one) so far, from /proc/<pid>/stat.
func ProcCPU(pid string) (float64, bool) { return procCPU(pid) }

// ProcRSS is the resident memory (MB) of process pid.
func ProcRSS(pid string) float64 { return procRSS(pid) }
