package worker

import (
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"time"

	"github.com/glocust/glocust/internal/procstat"
	"github.com/glocust/glocust/protocol"
)

// Generator health thresholds: a worker above them is more likely to
// limit the test than the target is.
const (
	// CPUWarningPercent is Locust's CPU_WARNING_THRESHOLD (90 %): of the
	// worker's cores (GOMAXPROCS) for a glocust worker, of one core for a
	// Python one.
	CPUWarningPercent = 90.0
	// ThrottledWarningRatio is the fraction of a heartbeat interval's CFS
	// periods in which the cgroup was throttled that counts as throttled:
	// one period of the ten in a second (the kernel's default period is
	// 100 ms). A throttled worker's users stop mid-request, which adds up
	// to a period to the response times it measures.
	ThrottledWarningRatio = 0.1
	// MemoryWarningRatio is the share of the cgroup's memory limit whose
	// use counts as near the limit (the kernel kills the worker at it).
	MemoryWarningRatio = 0.9
)

// WithCgroupRoot reads the worker's cgroup (its CPU throttling and its
// memory against its limit, sent in heartbeats) from the files under root
// instead of "/" (tests).
func WithCgroupRoot(root string) Option { return func(w *Worker) { w.cgroupRoot = root } }

// generator samples the worker's own load for its heartbeats: the
// process's CPU and memory (Locust's keys) and its cgroup's throttling
// and memory (glocust's, docs/protocol.md section 9). It also logs, once
// per process each, that the worker itself is saturated, as Locust's
// worker does for its CPU (monitor_cpu_and_memory; the message is
// Locust's but for its last sentence, which points at Locust's
// documentation). Owned by the worker's loop goroutine.
type generator struct {
	mu                        sync.Mutex
	load                      Load // the last sample, for Worker.Load
	log                       *slog.Logger
	cpu                       *procstat.Sampler
	cgroup                    *procstat.Cgroup // nil: none found
	last                      procstat.CgroupStat
	read                      bool // last holds a reading
	warnedCPU, warnedThrottle bool
	warnedMemory, warnedRead  bool
}

func newGenerator(root string, log *slog.Logger) *generator {
	g := &generator{log: log, cpu: procstat.New()}
	if root == "" {
		root = "/"
	}
	cg, err := procstat.OpenCgroup(root)
	if err != nil {
		log.Debug("no cgroup: heartbeats carry no throttling or memory limit", "err", err)
		return g
	}
	g.cgroup = cg
	g.last, err = cg.Read()
	g.read = err == nil
	return g
}

// Load is the worker's own load as its last heartbeat sampled it (for an
// exporter: internal/otelexport's --otel on a worker).
type Load struct {
	// Time is when it was sampled (zero before the first heartbeat).
	Time time.Time
	// CPUPercent is percent of the worker's cores (GOMAXPROCS), RSS its
	// resident memory in bytes.
	CPUPercent float64
	RSS        int64
	// Cgroup is the cgroup's throttling and memory, when HasCgroup.
	Cgroup    protocol.WorkerHealth
	HasCgroup bool
	// Users is the users the worker runs.
	Users int64
}

// Load returns the worker's own load at its last heartbeat. Safe for
// concurrent use.
func (w *Worker) Load() Load {
	w.gen.mu.Lock()
	defer w.gen.mu.Unlock()
	return w.gen.load
}

// record keeps h's figures for Load.
func (g *generator) record(h *protocol.Heartbeat, users int64, now time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.load = Load{Time: now, CPUPercent: h.CurrentCPUUsage, RSS: h.CurrentMemoryUsage, Cgroup: h.Health, HasCgroup: h.HasHealth, Users: users}
}

// sample fills h with the CPU used since the previous sample (percent of
// GOMAXPROCS cores), the RSS and, when a cgroup was found, the cgroup's
// health over the same interval.
func (g *generator) sample(h *protocol.Heartbeat) {
	h.CurrentCPUUsage = g.cpu.CPUPercent() / float64(runtime.GOMAXPROCS(0))
	h.CurrentMemoryUsage = procstat.RSS()
	if !g.warnedCPU && h.CurrentCPUUsage > CPUWarningPercent {
		g.warnedCPU = true
		g.log.Warn(fmt.Sprintf("CPU usage above %g%%! This may constrain your throughput and may even give inconsistent "+
			"response time measurements! Distribute the load over more workers (README.md, Operating a run)", CPUWarningPercent))
	}
	if g.cgroup == nil {
		return
	}
	now, err := g.cgroup.Read()
	if err != nil {
		if !g.warnedRead {
			g.warnedRead = true
			g.log.Warn("cannot read the worker's cgroup; heartbeats carry no throttling or memory limit", "err", err)
		}
		return
	}
	hl := protocol.WorkerHealth{CPUThrottledSeconds: now.Throttled.Seconds(),
		MemoryWorkingSet: now.MemoryWorkingSet, MemoryLimit: now.MemoryLimit}
	if g.read && now.Periods > g.last.Periods && now.ThrottledPeriods >= g.last.ThrottledPeriods {
		hl.CPUThrottled = float64(now.ThrottledPeriods-g.last.ThrottledPeriods) / float64(now.Periods-g.last.Periods)
	}
	g.last, g.read = now, true
	h.Health, h.HasHealth = hl, true
	if !g.warnedThrottle && hl.CPUThrottled >= ThrottledWarningRatio {
		g.warnedThrottle = true
		g.log.Warn(fmt.Sprintf("CPU-throttled by the cgroup's limit (%g cores) in %.0f%% of the last second: response times "+
			"include the pauses. Raise the CPU limit or add workers (will only log this once)", now.CPULimit, 100*hl.CPUThrottled))
	}
	if !g.warnedMemory && hl.MemoryLimit > 0 && float64(hl.MemoryWorkingSet) >= MemoryWarningRatio*float64(hl.MemoryLimit) {
		g.warnedMemory = true
		g.log.Warn(fmt.Sprintf("Memory at %.0f%% of the cgroup's limit (%d of %d bytes): the kernel kills the worker at the limit "+
			"(will only log this once)", 100*float64(hl.MemoryWorkingSet)/float64(hl.MemoryLimit), hl.MemoryWorkingSet, hl.MemoryLimit))
	}
}
