package master

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/glocust/glocust/protocol"
)

// Generator health: a worker whose heartbeats say it is saturated (CPU,
// its cgroup's CPU quota, its memory limit) limits the test more than the
// target does, and its response times include its own pauses. The
// thresholds are the worker package's (worker.CPUWarningPercent,
// ThrottledWarningRatio, MemoryWarningRatio); master does not import it.
const (
	throttledWarningRatio = 0.1
	memoryWarningRatio    = 0.9
	// maxOverloads bounds the workers remembered as overloaded per test.
	maxOverloads = 1024
)

// WorkerHealth is one worker's load as its last heartbeat gave it
// (GET /worker-health, /metrics). The cgroup's figures are those of a
// glocust worker that found its cgroup (HasCgroup, docs/protocol.md
// section 9); Locust workers send only the CPU and RSS.
type WorkerHealth struct {
	ID    string `json:"id"`
	Index int    `json:"index"`
	State string `json:"state"`
	// CPUUsage is percent of the worker's cores (glocust) or of one core
	// (Locust); Memory its RSS in bytes.
	CPUUsage  float64 `json:"cpu_usage"`
	Memory    int64   `json:"memory_usage"`
	HasCgroup bool    `json:"cgroup"`
	// CPUThrottled is the fraction of the last interval's CFS periods in
	// which the cgroup was throttled; CPUThrottledSeconds its total.
	CPUThrottled        float64 `json:"cpu_throttled"`
	CPUThrottledSeconds float64 `json:"cpu_throttled_seconds"`
	// MemoryWorkingSet and MemoryLimit are the cgroup's, in bytes (limit
	// 0: none).
	MemoryWorkingSet int64 `json:"memory_working_set"`
	MemoryLimit      int64 `json:"memory_limit"`
	// Overloaded names what is above its threshold now: "cpu",
	// "throttled", "memory".
	Overloaded []string `json:"overloaded"`
}

// Overload is a worker that was overloaded during the current test, with
// its worst figures and the number of heartbeats (about seconds) each
// threshold was passed in.
type Overload struct {
	ID                  string  `json:"id"`
	Index               int     `json:"index"`
	MaxCPUUsage         float64 `json:"max_cpu_usage"`
	HighCPUHeartbeats   int     `json:"high_cpu_heartbeats"`
	MaxCPUThrottled     float64 `json:"max_cpu_throttled"`
	ThrottledHeartbeats int     `json:"throttled_heartbeats"`
	MaxMemoryRatio      float64 `json:"max_memory_ratio"`
	HighMemHeartbeats   int     `json:"high_memory_heartbeats"`
	MemoryLimit         int64   `json:"memory_limit"`
}

// Summary is the overload in one line: what was passed, how often, how
// far.
func (o *Overload) Summary() string {
	var parts []string
	if o.HighCPUHeartbeats > 0 {
		parts = append(parts, fmt.Sprintf("CPU above %g%% in %d heartbeats (max %.0f%%)", cpuWarningThreshold, o.HighCPUHeartbeats, o.MaxCPUUsage))
	}
	if o.ThrottledHeartbeats > 0 {
		parts = append(parts, fmt.Sprintf("CPU-throttled by its cgroup in %d heartbeats (max %.0f%% of the periods)", o.ThrottledHeartbeats, 100*o.MaxCPUThrottled))
	}
	if o.HighMemHeartbeats > 0 {
		parts = append(parts, fmt.Sprintf("memory at %.0f%% of its %s limit", 100*o.MaxMemoryRatio, formatBytes(o.MemoryLimit)))
	}
	return fmt.Sprintf("%s (index %d): %s", o.ID, o.Index, strings.Join(parts, "; "))
}

// formatBytes is n in MiB or GiB.
func formatBytes(n int64) string {
	if n >= 1<<30 {
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	}
	return fmt.Sprintf("%d MiB", n>>20)
}

// memoryRatio is the working set over the limit (0 without a limit).
func memoryRatio(h *protocol.WorkerHealth) float64 {
	if h.MemoryLimit <= 0 {
		return 0
	}
	return float64(h.MemoryWorkingSet) / float64(h.MemoryLimit)
}

// overloaded reports whether a heartbeat passes a threshold: the only
// test a heartbeat pays for (core.heartbeat).
func overloaded(m *protocol.Heartbeat) bool {
	return m.CurrentCPUUsage > cpuWarningThreshold ||
		m.HasHealth && (m.Health.CPUThrottled >= throttledWarningRatio || memoryRatio(&m.Health) >= memoryWarningRatio)
}

// overloadedBeat handles a heartbeat that passes a threshold: each
// warning once per worker (the CPU one in Locust's words), and the test's
// record of the worker when a test runs.
func (c *core) overloadedBeat(id string, w *worker, m *protocol.Heartbeat) {
	h := &m.Health
	cpu, throttled, mem := m.CurrentCPUUsage > cpuWarningThreshold, m.HasHealth && h.CPUThrottled >= throttledWarningRatio,
		m.HasHealth && memoryRatio(h) >= memoryWarningRatio
	index := c.reg.index(id)
	if cpu && !w.cpuWarned {
		w.cpuWarned = true
		c.log.Warn(fmt.Sprintf("Worker %s (index %d) exceeded cpu threshold (will only log this once per worker)", id, index))
	}
	if throttled && !w.throttleWarned {
		w.throttleWarned = true
		c.log.Warn(fmt.Sprintf("Worker %s (index %d) is CPU-throttled by its cgroup in %.0f%% of the last second: its response times "+
			"include the pauses (will only log this once per worker)", id, index, 100*h.CPUThrottled))
	}
	if mem && !w.memWarned {
		w.memWarned = true
		c.log.Warn(fmt.Sprintf("Worker %s (index %d) uses %.0f%% of its memory limit (%s) (will only log this once per worker)",
			id, index, 100*memoryRatio(h), formatBytes(h.MemoryLimit)))
	}
	if c.state != StateSpawning && c.state != StateRunning {
		return
	}
	o := c.overloads[id]
	if o == nil {
		if len(c.overloads) >= maxOverloads {
			return
		}
		o = &Overload{ID: id, Index: index}
		c.overloads[id] = o
	}
	if cpu {
		o.HighCPUHeartbeats++
		o.MaxCPUUsage = max(o.MaxCPUUsage, m.CurrentCPUUsage)
	}
	if throttled {
		o.ThrottledHeartbeats++
		o.MaxCPUThrottled = max(o.MaxCPUThrottled, h.CPUThrottled)
	}
	if mem {
		o.HighMemHeartbeats++
		o.MaxMemoryRatio, o.MemoryLimit = max(o.MaxMemoryRatio, memoryRatio(h)), h.MemoryLimit
	}
}

// logOverloads is Locust's cpu_log_warning of a master at the end of a
// test, and glocust's line for the other thresholds.
func (c *core) logOverloads() {
	var cpu, other bool
	for _, o := range c.overloads {
		cpu = cpu || o.HighCPUHeartbeats > 0
		other = other || o.ThrottledHeartbeats > 0 || o.HighMemHeartbeats > 0
	}
	if cpu {
		c.log.Warn("CPU usage threshold was exceeded on workers during the test!")
	}
	if other {
		c.log.Warn("Workers were CPU-throttled or near their memory limit during the test (GET /worker-health, the final summary)")
	}
}

// Health returns every known worker's last figures, in arrival order.
func (v *View) Health() []WorkerHealth {
	ws := v.c.reg.all()
	out := make([]WorkerHealth, 0, len(ws))
	for _, w := range ws {
		h := WorkerHealth{ID: w.id, Index: v.c.reg.index(w.id), State: w.state, CPUUsage: w.cpu, Memory: w.mem,
			HasCgroup: w.hasHealth, CPUThrottled: w.health.CPUThrottled, CPUThrottledSeconds: w.health.CPUThrottledSeconds,
			MemoryWorkingSet: w.health.MemoryWorkingSet, MemoryLimit: w.health.MemoryLimit, Overloaded: []string{}}
		if w.cpu > cpuWarningThreshold {
			h.Overloaded = append(h.Overloaded, "cpu")
		}
		if w.hasHealth && w.health.CPUThrottled >= throttledWarningRatio {
			h.Overloaded = append(h.Overloaded, "throttled")
		}
		if w.hasHealth && memoryRatio(&w.health) >= memoryWarningRatio {
			h.Overloaded = append(h.Overloaded, "memory")
		}
		out = append(out, h)
	}
	return out
}

// Overloads returns the workers that were overloaded during the current
// test (while it spawned or ran), by index then node id.
func (v *View) Overloads() []Overload {
	out := make([]Overload, 0, len(v.c.overloads))
	for _, o := range v.c.overloads {
		out = append(out, *o)
	}
	slices.SortFunc(out, func(a, b Overload) int {
		if a.Index != b.Index {
			return a.Index - b.Index
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out
}

// workerHealth serves GET /worker-health (glocust's endpoint; Locust's
// /stats/requests keeps only its own cpu_usage and memory_usage per
// worker): every worker's last figures and the current test's overloaded
// workers.
func (w *Web) workerHealth(rw http.ResponseWriter, r *http.Request) {
	var doc map[string]any
	w.m.Do(func(v *View) { doc = map[string]any{"workers": v.Health(), "overloaded": v.Overloads()} })
	writeJSON(rw, doc)
}
