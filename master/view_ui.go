package master

import (
	"time"

	"github.com/glocust/glocust/protocol"
)

// WorkerDetail is one worker as the web UI's Workers tab shows it: beyond
// WorkerInfo, how long ago it last sent a heartbeat, how long it has been
// missing, and the users the master dispatched to it (its spawn target).
type WorkerDetail struct {
	WorkerInfo
	// HeartbeatAge is the time since its last heartbeat, to one heartbeat
	// interval: the liveness counter (section 4.2 of docs/protocol.md)
	// counts the ticks since then.
	HeartbeatAge time.Duration
	// MissingFor is how long it has been missing (0 unless State is
	// missing), to one heartbeat interval.
	MissingFor time.Duration
	// Target is the users of the last spawn message sent to it, and
	// HasTarget whether one was sent in the current dispatch.
	Target    int64
	HasTarget bool
	// CPUWarning: its CPU usage is above the 90% Locust warns about once.
	CPUWarning bool
}

// WorkerDetails lists every known worker, missing ones included, in
// arrival order.
func (v *View) WorkerDetails() []WorkerDetail {
	c := v.c
	tick := c.cfg.HeartbeatInterval
	out := make([]WorkerDetail, 0, c.reg.len())
	for _, w := range c.reg.all() {
		d := WorkerDetail{
			WorkerInfo: WorkerInfo{ID: w.id, State: w.state, UserCount: w.userCount(), CPUUsage: w.cpu,
				Memory: w.mem, Index: c.reg.index(w.id), TakenBack: w.takenBack},
			CPUWarning: w.cpu > cpuWarningThreshold,
		}
		// A heartbeat sets the counter to HeartbeatLiveness; each tick
		// takes one off, except the tick that finds it below 0 and marks
		// the worker missing.
		ticks := HeartbeatLiveness - w.heartbeat
		if w.state == protocol.StateMissing {
			ticks++
			d.MissingFor = time.Duration(-1-w.heartbeat) * tick
		}
		d.HeartbeatAge = time.Duration(max(ticks, 0)) * tick
		if sent, ok := c.lastSent[w.id]; ok {
			d.HasTarget = true
			for _, n := range sent {
				d.Target += int64(n)
			}
		}
		out = append(out, d)
	}
	return out
}

// Now is the master's clock (Config.Now).
func (v *View) Now() time.Time { return v.c.cfg.Now() }

// RunClasses is the run's user classes with their current weights and
// fixed counts (POST /user changes them), in configuration order.
func (v *View) RunClasses() []UserClass { return append([]UserClass(nil), v.c.cfg.Classes...) }

// PickedClasses is the --class-picker selection (nil: all classes).
func (v *View) PickedClasses() []string { return append([]string(nil), v.c.picked...) }
