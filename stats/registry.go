package stats

import (
	"log/slog"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/glocust/glocust/protocol"
)

// DefaultMaxEntries is the default cap on distinct (method, name) entries.
const DefaultMaxEntries = 10000

// Requests for new names beyond the entry cap are recorded in one entry
// with this name and method.
const (
	OverflowName   = "(other: too many names)"
	OverflowMethod = ""
)

// Name and method of the total entry, as Locust sends stats_total.
const (
	TotalName   = "Aggregated"
	TotalMethod = ""
)

// Option configures a Registry.
type Option func(*Registry)

// WithClock sets the clock used for the start time of the registry and of
// new entries, and read by Entry.Observe* per record instead of the coarse
// clock (for tests). The default is time.Now.
func WithClock(now func() time.Time) Option {
	return func(r *Registry) { r.clock, r.customClock = now, now != nil }
}

// WithMaxEntries caps the number of distinct entries (DefaultMaxEntries).
// Beyond it, new names share one entry named OverflowName, and a warning
// is logged once.
func WithMaxEntries(n int) Option { return func(r *Registry) { r.maxEntries = max(n, 1) } }

// WithLogger sets the logger for the entry-cap warning (slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(r *Registry) { r.logger = l } }

// WithShards sets the number of recording shards per entry, rounded up to a
// power of two. The default is GOMAXPROCS at creation, at most 16. More
// shards cost memory (about 5 KB each per entry) and report time, and
// save cross-core traffic when many cores record into the same entry.
func WithShards(n int) Option { return func(r *Registry) { r.shards = n } }

type entryKey struct{ method, name string }

// Registry holds the worker-side entries and produces delta reports.
// Entry, Record* and Report/Reset may be called concurrently.
type Registry struct {
	clock       func() time.Time
	customClock bool
	maxEntries  int
	logger      *slog.Logger
	shards      int

	entries  atomic.Pointer[map[entryKey]*Entry] // copy-on-write
	full     atomic.Bool                         // cap reached: unknown names go to overflow
	createMu sync.Mutex                          // serialises entry creation
	overflow *Entry                              // guarded by createMu

	clk *coarseClock // for Entry.Observe*; stopped by Close

	mu      sync.Mutex // report mutex: serialises Report and Reset
	start   float64    // guarded by mu: epoch seconds of the last report or reset
	scratch accum      // guarded by mu
	total   accum      // guarded by mu
}

// NewRegistry returns an empty registry.
func NewRegistry(opts ...Option) *Registry {
	r := &Registry{clock: time.Now, maxEntries: DefaultMaxEntries, logger: slog.Default()}
	for _, o := range opts {
		o(r)
	}
	r.clk = &coarseClock{}
	if r.clock == nil {
		r.clock = time.Now
	} else if r.customClock {
		r.clk.custom = r.clock
	}
	// A registry dropped without Close stops its clock goroutine when it
	// becomes garbage (the goroutine does not reference the registry).
	runtime.AddCleanup(r, func(c *coarseClock) { c.close() }, r.clk)
	if r.shards <= 0 {
		r.shards = min(runtime.GOMAXPROCS(0), 16)
	}
	s := 1
	for s < r.shards {
		s <<= 1
	}
	r.shards = s
	m := map[entryKey]*Entry{}
	r.entries.Store(&m)
	r.start = timeToSeconds(r.clock())
	return r
}

// Close stops the registry's coarse clock goroutine (started by the first
// Entry.Observe* call), and waits for it to exit. The registry and its
// entries stay usable: Observe* then read time.Now per record. Close is
// idempotent and safe to call concurrently with recording and reports.
func (r *Registry) Close() {
	r.clk.close()
}

// Entry returns the entry for (method, name), creating it if needed. It is
// cheap for existing entries; keep the result to record.
func (r *Registry) Entry(method, name string) *Entry {
	k := entryKey{method, name}
	if e := (*r.entries.Load())[k]; e != nil {
		return e
	}
	if r.full.Load() {
		return r.overflowEntry()
	}
	r.createMu.Lock()
	defer r.createMu.Unlock()
	old := *r.entries.Load()
	if e := old[k]; e != nil {
		return e
	}
	if len(old) >= r.maxEntries {
		r.full.Store(true)
		r.logger.Warn("stats: too many distinct request names; recording further ones as one entry",
			"max_entries", r.maxEntries, "name", OverflowName)
		return r.overflowLocked(old)
	}
	return r.addLocked(old, k)
}

func (r *Registry) addLocked(old map[entryKey]*Entry, k entryKey) *Entry {
	e := newEntry(k.method, k.name, r.shards, timeToSeconds(r.clock()))
	e.clk = r.clk
	m := make(map[entryKey]*Entry, len(old)+1)
	for k, v := range old {
		m[k] = v
	}
	m[k] = e
	r.entries.Store(&m)
	return e
}

func (r *Registry) overflowEntry() *Entry {
	r.createMu.Lock()
	defer r.createMu.Unlock()
	return r.overflowLocked(*r.entries.Load())
}

func (r *Registry) overflowLocked(m map[entryKey]*Entry) *Entry {
	if r.overflow == nil {
		k := entryKey{OverflowMethod, OverflowName}
		if e := m[k]; e != nil {
			r.overflow = e
		} else {
			r.overflow = r.addLocked(m, k)
		}
	}
	return r.overflow
}

// Report is one delta report: what was recorded since the previous Report
// or Reset.
type Report struct {
	// Entries that had requests or failures, sorted by (name, method).
	Entries []protocol.StatsEntry
	// Total aggregates all entries: name "Aggregated", method "".
	Total protocol.StatsEntry
	// Errors by Locust key, sorted by key.
	Errors []protocol.StatsError
}

// Report returns what was recorded since the previous Report or Reset and
// starts a new interval, as Locust's worker does for every stats message
// (get_stripped_report). Entries that had no request keep their start time.
func (r *Registry) Report(now time.Time) Report {
	r.mu.Lock()
	defer r.mu.Unlock()
	nowSec := timeToSeconds(now)
	var rep Report
	var errs errorAccum
	r.total.reset()
	for _, e := range r.sorted() {
		r.scratch.reset()
		e.collect(&r.scratch, &errs)
		if r.scratch.numRequests == 0 && r.scratch.numFailures == 0 {
			continue
		}
		rep.Entries = append(rep.Entries, r.scratch.wire(e.name, e.method, e.start))
		r.total.merge(&r.scratch)
		e.start = nowSec
	}
	rep.Total = r.total.wire(TotalName, TotalMethod, r.start)
	rep.Errors = errs.list()
	r.start = nowSec
	return rep
}

// Reset drops everything recorded so far and restarts every entry's interval
// at now (Locust's reset_all, e.g. for --reset-stats).
func (r *Registry) Reset(now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	nowSec := timeToSeconds(now)
	var errs errorAccum
	for _, e := range *r.entries.Load() {
		r.scratch.reset()
		e.collect(&r.scratch, &errs)
		e.start = nowSec
	}
	r.start = nowSec
}

// sorted returns the entries sorted by (name, method).
func (r *Registry) sorted() []*Entry {
	m := *r.entries.Load()
	out := make([]*Entry, 0, len(m))
	for _, e := range m {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return entryLess(out[i].name, out[i].method, out[j].name, out[j].method) })
	return out
}

func entryLess(n1, m1, n2, m2 string) bool {
	if n1 != n2 {
		return n1 < n2
	}
	return m1 < m2
}

func timeToSeconds(t time.Time) float64 { return nsToSeconds(t.UnixNano()) }
