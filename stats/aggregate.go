package stats

import (
	"io"
	"log/slog"
	"sort"
	"time"

	"github.com/glocust/glocust/protocol"
)

// Aggregate is the master's merged view of worker reports (Locust's
// RequestStats on a master). One goroutine owns it: it is not safe for
// concurrent use, and Summaries it returns change on the next Merge/Reset.
//
// It keeps at most maxNames entries of names and as many error texts
// (see namecap.go): a report's entries beyond them are merged into the
// overflow entries, as a glocust worker folds them, so that a worker that
// does not cap its names cannot exhaust the master's memory.
type Aggregate struct {
	entries map[entryKey]*Summary
	total   *Summary
	errors  map[string]*protocol.StatsError
	order   []string // error keys in arrival order

	maxNames     int
	logger       *slog.Logger
	named, folds int  // entries of names; overflow entries
	texts        int  // errors with a text other than OtherErrors
	warnedNames  bool // the cap warnings of the current test were logged
	warnedErrors bool
}

// AggregateOption configures an Aggregate.
type AggregateOption func(*Aggregate)

// AggregateMaxNames caps the distinct entries and error texts at n
// (DefaultMaxNames; n < 1 means 1), as WithMaxNames does a Registry's.
func AggregateMaxNames(n int) AggregateOption { return func(a *Aggregate) { a.maxNames = max(n, 1) } }

// AggregateLogger sets the logger for the cap warnings (default: discarded).
func AggregateLogger(l *slog.Logger) AggregateOption { return func(a *Aggregate) { a.logger = l } }

// NewAggregate returns an empty aggregate whose start time is now.
func NewAggregate(now time.Time, opts ...AggregateOption) *Aggregate {
	a := &Aggregate{maxNames: DefaultMaxNames}
	for _, o := range opts {
		o(a)
	}
	if a.logger == nil {
		a.logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
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
		e := a.entries[entryKey{se.Method, se.Name}]
		if e == nil {
			e = a.add(se.Method, se.Name, now)
		}
		e.extend(se)
	}
	for _, in := range s.Errors {
		a.mergeError(in)
	}
	a.total.extend(&s.Total)
}

// add returns the entry that a name not yet seen is counted in: a new
// entry, or its overflow entry past the cap.
func (a *Aggregate) add(method, name string, now time.Time) *Summary {
	k := a.keyOf(method, name)
	if k.name == OverflowName && name != OverflowName && !a.warnedNames {
		a.warnedNames = true
		a.logger.Warn(namesWarning(a.maxNames, entryKey{method, name}, a.keys))
	}
	if e := a.entries[k]; e != nil {
		return e
	}
	if k.name == OverflowName {
		a.folds++
	} else {
		a.named++
	}
	e := newSummary(a, k.name, k.method, now)
	a.entries[k] = e
	return e
}

// keyOf returns the entry (method, name) is counted in: its own while it
// exists or there is room for it, else its overflow entry.
func (a *Aggregate) keyOf(method, name string) entryKey {
	k := entryKey{method, name}
	if name != OverflowName && (a.named < a.maxNames || a.entries[k] != nil) {
		return k
	}
	return foldKey(method, a.has, a.folds)
}

func (a *Aggregate) has(k entryKey) bool { return a.entries[k] != nil }

// keys yields the key of every entry.
func (a *Aggregate) keys(yield func(entryKey) bool) {
	for k := range a.entries {
		if !yield(k) {
			return
		}
	}
}

func (a *Aggregate) mergeError(in protocol.StatsError) {
	ex := a.errors[in.Key]
	if ex == nil {
		ex = a.addError(&in)
		if ex == nil {
			return
		}
	}
	mergeStatsError(ex, in)
}

// addError returns the error that in is merged into when its key is new,
// or nil after adding in itself. An error of a folded name is counted
// under the overflow entry's name, and past the cap on error texts under
// OtherErrors, with the key Locust would give that (method, name, error).
func (a *Aggregate) addError(in *protocol.StatsError) *protocol.StatsError {
	k := a.keyOf(in.Method, in.Name)
	text := in.Error
	if text != OtherErrors && a.texts >= a.maxNames {
		if !a.warnedErrors {
			a.warnedErrors = true
			a.logger.Warn(errorsWarning(a.maxNames, in.Method, in.Name, text))
		}
		text = OtherErrors
	}
	key := in.Key
	if k != (entryKey{in.Method, in.Name}) || text != in.Error {
		key = ErrorKey(k.method, k.name, text)
		if ex := a.errors[key]; ex != nil {
			return ex
		}
	}
	if text != OtherErrors {
		a.texts++
	}
	c := *in
	c.Key, c.Method, c.Name, c.Error = key, k.method, k.name, text
	a.errors[key] = &c
	a.order = append(a.order, key)
	return nil
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
	a.texts = 0
}

// Clear drops every entry and error and starts a new total (Locust's
// clear_all, used by the master when a new test starts).
func (a *Aggregate) Clear(now time.Time) {
	a.entries = map[entryKey]*Summary{}
	a.total = newSummary(a, TotalName, TotalMethod, now)
	a.errors = map[string]*protocol.StatsError{}
	a.order = nil
	a.named, a.folds, a.texts = 0, 0, 0
	a.warnedNames, a.warnedErrors = false, false
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
