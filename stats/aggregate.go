package stats

import (
	"sort"
	"time"

	"github.com/glocust/glocust/protocol"
)

// Aggregate is the master's merged view of worker reports (Locust's
// RequestStats on a master). One goroutine owns it: it is not safe for
// concurrent use, and Summaries it returns change on the next Merge/Reset.
type Aggregate struct {
	entries map[entryKey]*Summary
	total   *Summary
	errors  map[string]*protocol.StatsError
	order   []string // error keys in arrival order
}

// NewAggregate returns an empty aggregate whose start time is now.
func NewAggregate(now time.Time) *Aggregate {
	a := &Aggregate{}
	a.Clear(now)
	return a
}

// Merge adds one worker report, as Locust's master does on "stats"
// (on_worker_report): entries are extended per (name, method), errors are
// summed per key (min first_seen, max last_seen), and the total is extended
// with the worker's stats_total.
func (a *Aggregate) Merge(s *protocol.Stats, now time.Time) {
	for i := range s.Stats {
		se := &s.Stats[i]
		k := entryKey{se.Method, se.Name}
		e := a.entries[k]
		if e == nil {
			e = newSummary(a, se.Name, se.Method, now)
			a.entries[k] = e
		}
		e.extend(se)
	}
	for _, in := range s.Errors {
		a.mergeError(in)
	}
	a.total.extend(&s.Total)
}

func (a *Aggregate) mergeError(in protocol.StatsError) {
	ex := a.errors[in.Key]
	if ex == nil {
		c := in
		a.errors[in.Key] = &c
		a.order = append(a.order, in.Key)
		return
	}
	mergeStatsError(ex, in)
}

// Reset zeroes every entry, the total and the errors, keeping the entries
// (Locust's reset_all, used by --reset-stats).
func (a *Aggregate) Reset(now time.Time) {
	for _, e := range a.entries {
		e.reset(now)
	}
	a.total.reset(now)
	a.errors = map[string]*protocol.StatsError{}
	a.order = nil
}

// Clear drops every entry and error and starts a new total (Locust's
// clear_all, used by the master when a new test starts).
func (a *Aggregate) Clear(now time.Time) {
	a.entries = map[entryKey]*Summary{}
	a.total = newSummary(a, TotalName, TotalMethod, now)
	a.errors = map[string]*protocol.StatsError{}
	a.order = nil
}

// Entries returns the entries sorted by (name, method).
func (a *Aggregate) Entries() []*Summary {
	out := make([]*Summary, 0, len(a.entries))
	for _, e := range a.entries {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return entryLess(out[i].Name, out[i].Method, out[j].Name, out[j].Method) })
	return out
}

// Entry returns the summary for (method, name), or nil.
func (a *Aggregate) Entry(method, name string) *Summary { return a.entries[entryKey{method, name}] }

// Total returns the aggregated total ("Aggregated").
func (a *Aggregate) Total() *Summary { return a.total }

// Errors returns the merged errors sorted by key, the order of Locust's
// failures CSV and HTML report (sort_stats over the errors dict).
func (a *Aggregate) Errors() []protocol.StatsError {
	out := a.ErrorsByArrival()
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// ErrorsByArrival returns the merged errors in the order their keys first
// arrived, the order of Locust's /stats/requests and console error report.
func (a *Aggregate) ErrorsByArrival() []protocol.StatsError {
	out := make([]protocol.StatsError, 0, len(a.order))
	for _, k := range a.order {
		out = append(out, *a.errors[k])
	}
	return out
}
