package procstat

import (
	"bytes"
	"os"
	"strconv"
	"sync"
	"time"
)

// Sampler computes CPU usage as a percentage of one core over the interval
// between two calls to CPUPercent.
type Sampler struct {
	mu       sync.Mutex
	lastCPU  time.Duration
	lastWall time.Time
	now      func() time.Time
}

// New returns a sampler whose first CPUPercent covers the time since New.
func New() *Sampler {
	s := &Sampler{now: time.Now}
	s.lastCPU, _ = cpuTime()
	s.lastWall = s.now()
	return s
}

// CPUPercent returns the CPU used by this process since the previous call,
// in percent of one core (100 = one full core).
func (s *Sampler) CPUPercent() float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	cpu, ok := cpuTime()
	now := s.now()
	if !ok {
		return 0
	}
	wall := now.Sub(s.lastWall)
	used := cpu - s.lastCPU
	s.lastCPU, s.lastWall = cpu, now
	if wall <= 0 || used < 0 {
		return 0
	}
	return float64(used) / float64(wall) * 100
}

// RSS returns the resident set size in bytes.
func RSS() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := bytes.Fields(b)
	if len(f) < 2 {
		return 0
	}
	pages, err := strconv.ParseInt(string(f[1]), 10, 64)
	if err != nil {
		return 0
	}
	return pages * int64(os.Getpagesize())
}

// clockTicks is USER_HZ, 100 on every Linux platform Go supports.
const clockTicks = 100

// cpuTime returns user+system time from /proc/self/stat.
func cpuTime() (time.Duration, bool) {
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return 0, false
	}
	// The command name may contain spaces: fields start after the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, false
	}
	f := bytes.Fields(b[i+1:])
	// After ")": state(0) ppid(1) ... utime(11) stime(12).
	if len(f) < 13 {
		return 0, false
	}
	ut, err1 := strconv.ParseInt(string(f[11]), 10, 64)
	st, err2 := strconv.ParseInt(string(f[12]), 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return time.Duration(ut+st) * time.Second / clockTicks, true
}
