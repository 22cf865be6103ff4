package master

import (
	"maps"
	"slices"
	"time"

	"github.com/glocust/glocust/master/report"
	"github.com/glocust/glocust/stats"
)

// View is read access to the master's state inside Do. It and everything
// it returns are valid only during the Do call.
type View struct{ c *core }

// WorkerInfo is one worker as /stats/requests lists it.
type WorkerInfo struct {
	ID        string  `json:"id"`
	State     string  `json:"state"`
	UserCount int64   `json:"user_count"`
	CPUUsage  float64 `json:"cpu_usage"`
	Memory    int64   `json:"memory_usage"`
	Index     int     `json:"-"`
	TakenBack bool    `json:"-"`
}

// Stats is the merged stats of the current test.
func (v *View) Stats() *stats.Aggregate { return v.c.agg }

// Exceptions is the merged user exceptions of the current test.
func (v *View) Exceptions() *report.Exceptions { return v.c.exceptions }

// WorkerLogs returns the last log lines each worker sent (Locust's "logs"
// message), by node id; workers that left keep theirs, as in Locust.
func (v *View) WorkerLogs() map[string][]string { return v.c.logs.all() }

// History is the per-second history for charts.
func (v *View) History() *report.History { return v.c.history }

// State is the master's state: ready, spawning, running, stopping, stopped.
func (v *View) State() string { return v.c.state }

// UserCount is the sum of the users the workers reported.
func (v *View) UserCount() int64 { return v.c.reg.userCount() }

// TargetUserCount is the user count of the last start.
func (v *View) TargetUserCount() int { return v.c.target }

// SpawnRate is the spawn rate of the last start.
func (v *View) SpawnRate() float64 { return v.c.rate }

// WorkerCount is ready + spawning + running workers.
func (v *View) WorkerCount() int { return v.c.reg.workerCount() }

// Host is the host sent in spawn messages.
func (v *View) Host() string { return v.c.host }

// ClassCounts is reported_user_classes_count.
func (v *View) ClassCounts() map[string]int64 { return v.c.reg.reportedClassCounts() }

// Workers lists every known worker, missing ones included, in arrival order.
func (v *View) Workers() []WorkerInfo {
	ws := v.c.reg.all()
	out := make([]WorkerInfo, 0, len(ws))
	for _, w := range ws {
		out = append(out, WorkerInfo{ID: w.id, State: w.state, UserCount: w.userCount(), CPUUsage: w.cpu,
			Memory: w.mem, Index: v.c.reg.index(w.id), TakenBack: w.takenBack})
	}
	return out
}

// WorkersByState counts workers per state (missing included).
func (v *View) WorkersByState() map[string]int {
	out := map[string]int{}
	for _, w := range v.c.reg.all() {
		out[w.state]++
	}
	return out
}

// HasErrors reports whether the test had failures or user exceptions
// (Locust's exit-code condition).
func (v *View) HasErrors() bool {
	return len(v.c.agg.ErrorsByArrival()) > 0 || v.c.anyException || len(v.c.exceptions.List()) > 0
}

// StartTime and EndTime bound the current test (zero when not started).
func (v *View) StartTime() time.Time { return v.c.started }

// EndTime is when the test stopped (zero while it runs).
func (v *View) EndTime() time.Time { return v.c.stopped }

// Classes lists the user class names, sorted.
func (v *View) Classes() []string {
	out := make([]string, 0, len(v.c.cfg.Classes))
	for _, c := range v.c.cfg.Classes {
		out = append(out, c.Name)
	}
	slices.Sort(out)
	return out
}

// Tasks returns the configured tasks per class.
func (v *View) Tasks() map[string][]TaskInfo { return maps.Clone(v.c.cfg.Tasks) }

// Counters returns internal event counters (for /metrics and tests).
func (v *View) Counters() Counters {
	k := v.c.counters
	return Counters{BadFrames: k.badFrames, RogueFrames: k.rogueFrames, SpawnsSent: k.spawnsSent,
		HeartbeatsReplied: k.heartbeatsReplied, TakenBack: k.takenBack, Missing: k.missing,
		DuplicateReports: k.duplicateReports, SeqGaps: k.seqGaps}
}

// Counters are cumulative event counts since the master started.
// DuplicateReports counts glocust stats reports dropped because their seq
// was counted already; SeqGaps, reports whose seq skipped numbers
// (docs/protocol.md section 9).
type Counters struct {
	BadFrames, RogueFrames, SpawnsSent, HeartbeatsReplied, TakenBack, Missing int64
	DuplicateReports, SeqGaps                                                 int64
}
