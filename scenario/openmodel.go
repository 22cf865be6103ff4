package scenario

import "time"

// Latency correction (coordinated omission).
//
// A closed-loop user waits for each response before it sends the next
// request, so when the target stalls it also stops sending: the requests it
// would have sent during the stall are never made and never measured, and
// the percentiles hide the stall ("coordinated omission"). With
// WithLatencyCorrection, users whose wait_time is ConstantPacing or
// ConstantThroughput follow a fixed schedule instead, as wrk2 does: the k-th
// task of a user is due at its first task's start plus k periods, a task
// that is late starts at once (missed starts are caught up back to back),
// and every request is recorded with the time from its intended start: its
// response time plus how late its task started. Other wait times are not
// scheduled and record as usual.

// WithLatencyCorrection turns latency correction on (see above). The
// corrected response times go to the runner's Stats; raw, if not nil,
// receives every request with its uncorrected response time (measured from
// the actual send, as Locust does), so both can be shown side by side.
func WithLatencyCorrection(raw Stats) RunnerOption {
	return func(r *Runner) {
		r.correct = true
		r.rawStats = raw
	}
}

// LatencyCorrection reports whether the runner corrects latencies.
func (r *Runner) LatencyCorrection() bool { return r.correct }

// wrapCorrected makes the runner's Stats hand out pairs that record into
// both the corrected and the raw entry, once the options are applied.
func (r *Runner) wrapCorrected() {
	if r.correct && r.rawStats != nil {
		r.stats = pairStats{main: r.stats, raw: r.rawStats}
	}
}

// pairStats looks up the corrected and the raw entry of a name together.
type pairStats struct{ main, raw Stats }

func (p pairStats) Lookup(method, name string) EntryRecorder {
	return &pairEntry{main: p.main.Lookup(method, name), raw: p.raw.Lookup(method, name)}
}

// pairEntry records into both entries; a user's lag goes only to main
// (see UserContext.record).
type pairEntry struct{ main, raw EntryRecorder }

func (p *pairEntry) Record(now time.Time, rt time.Duration, n int64) {
	p.main.Record(now, rt, n)
	p.raw.Record(now, rt, n)
}

func (p *pairEntry) RecordFailure(now time.Time, rt time.Duration, n int64, err string) {
	p.main.RecordFailure(now, rt, n, err)
	p.raw.RecordFailure(now, rt, n, err)
}

// beginTask is called before each task when correcting: it fixes the task's
// intended start (the schedule's next start, or now when unscheduled) and
// the user's lag behind it.
func (u *UserContext) beginTask() {
	now := u.now()
	if u.nextStart.IsZero() {
		u.intended, u.lag = now, 0
		return
	}
	u.intended, u.lag = u.nextStart, max(now.Sub(u.nextStart), 0)
	u.nextStart = time.Time{}
}

// scheduledWait returns the wait until the next start of a fixed schedule
// with period d, counted from the current task's intended start.
func (u *UserContext) scheduledWait(d time.Duration) time.Duration {
	base := u.intended
	if base.IsZero() { // a wait outside the task loop (a direct call)
		base = u.now()
	}
	u.nextStart = base.Add(d)
	return max(u.nextStart.Sub(u.now()), 0)
}

// Lag is how late the current task started behind its schedule when the
// runner corrects latencies (0 otherwise). Requests recorded by the user
// add it to their response times.
func (u *UserContext) Lag() time.Duration { return u.lag }

// record records a success into e, adding the user's lag to the corrected
// entry only.
func (u *UserContext) record(e EntryRecorder, now time.Time, rt time.Duration, n int64) {
	if u.lag > 0 {
		if p, ok := e.(*pairEntry); ok {
			p.main.Record(now, rt+u.lag, n)
			p.raw.Record(now, rt, n)
			return
		}
		rt += u.lag
	}
	e.Record(now, rt, n)
}

// recordFailure is record for a failure.
func (u *UserContext) recordFailure(e EntryRecorder, now time.Time, rt time.Duration, n int64, err string) {
	if u.lag > 0 {
		if p, ok := e.(*pairEntry); ok {
			p.main.RecordFailure(now, rt+u.lag, n, err)
			p.raw.RecordFailure(now, rt, n, err)
			return
		}
		rt += u.lag
	}
	e.RecordFailure(now, rt, n, err)
}
