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

// WithMaxNames caps the distinct (method, name) entries, and the distinct
// error texts, at n (DefaultMaxNames; n < 1 means 1). Requests with a
// further name are counted in their method's OverflowName entry, failures
// with a further text under OtherErrors; the first of each logs a warning
// (see namecap.go).
func WithMaxNames(n int) Option { return func(r *Registry) { r.maxNames = max(n, 1) } }

// WithLogger sets the logger for the cap warnings (slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(r *Registry) { r.logger = l } }

// WithShards sets the number of recording shards per entry, rounded up to a
// power of two. The default is GOMAXPROCS at creation, at most 16. More
// shards cost memory (about 5 KB each per entry) and report time, and
// save cross-core traffic when many cores record into the same entry.
func WithShards(n int) Option { return func(r *Registry) { r.shards = n } }

type entryKey struct{ method, name string }

// Registry holds the worker-side entries and produces delta reports.
// Entry, Record* and Report/Reset may be called concurrently.
//
// Entries are found in an immutable map read through an atomic pointer
// (no lock). A new entry goes into a mutable copy of it (dirty, under
// createMu), which replaces the immutable map once lookups have missed it
// often enough (an eighth of its size) or at the next report, as sync.Map
// promotes its dirty map: creating n entries copies O(n) of them in all,
// not O(n²).
type Registry struct {
	clock       func() time.Time
	customClock bool
	maxNames    int
	logger      *slog.Logger
	shards      int

	entries  atomic.Pointer[map[entryKey]*Entry] // immutable; every entry but those only in dirty
	full     atomic.Bool                         // the name cap is reached: new names fold
	createMu sync.Mutex                          // guards the fields below
	dirty    map[entryKey]*Entry                 // nil, or every entry (a superset of entries)
	misses   int                                 // lookups that needed createMu since dirty was made
	named    int                                 // entries of names, not overflow entries
	folds    int                                 // overflow entries
	errs     errBudget                           // the error-text cap, shared by the entries

	clk *coarseClock // for Entry.Observe*; stopped by Close

	mu      sync.Mutex // report mutex: serialises Report and Reset
	start   float64    // guarded by mu: epoch seconds of the last report or reset
	scratch accum      // guarded by mu
	total   accum      // guarded by mu
}

// NewRegistry returns an empty registry.
func NewRegistry(opts ...Option) *Registry {
	r := &Registry{clock: time.Now, maxNames: DefaultMaxNames, logger: slog.Default()}
	for _, o := range opts {
		o(r)
	}
	r.errs.init(r.maxNames, r.logger)
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

// Entry returns the entry for (method, name), creating it if needed, or
// the overflow entry of method if the name cap is reached. It takes no lock
// and does not allocate for an existing entry, nor for a name folded into
// an existing overflow entry; keep the result to record.
func (r *Registry) Entry(method, name string) *Entry {
	m := *r.entries.Load()
	if e := m[entryKey{method, name}]; e != nil {
		return e
	}
	if r.full.Load() {
		if e := m[entryKey{method, OverflowName}]; e != nil {
			return e
		}
	}
	return r.entrySlow(entryKey{method, name})
}

// entrySlow is Entry's cold path: a name not in the immutable map.
func (r *Registry) entrySlow(k entryKey) *Entry {
	r.createMu.Lock()
	defer r.createMu.Unlock()
	defer r.missLocked()
	if e := r.lookupLocked(k); e != nil {
		return e
	}
	if k.name != OverflowName {
		if r.named < r.maxNames {
			r.named++
			return r.addLocked(k)
		}
		if !r.full.Swap(true) {
			r.logger.Warn(namesWarning(r.maxNames, k, r.keysLocked))
		}
	}
	fk := foldKey(k.method, func(k entryKey) bool { return r.lookupLocked(k) != nil }, r.folds)
	if e := r.lookupLocked(fk); e != nil {
		return e
	}
	r.folds++
	return r.addLocked(fk)
}

func (r *Registry) lookupLocked(k entryKey) *Entry {
	if r.dirty != nil {
		return r.dirty[k]
	}
	return (*r.entries.Load())[k]
}

// keysLocked yields the key of every entry.
func (r *Registry) keysLocked(yield func(entryKey) bool) {
	for k := range r.allLocked() {
		if !yield(k) {
			return
		}
	}
}

func (r *Registry) addLocked(k entryKey) *Entry {
	e := newEntry(k.method, k.name, r.shards, timeToSeconds(r.clock()))
	e.clk = r.clk
	e.errs.budget = &r.errs
	if r.dirty == nil {
		old := *r.entries.Load()
		r.dirty = make(map[entryKey]*Entry, len(old)+1)
		for k, v := range old {
			r.dirty[k] = v
		}
	}
	r.dirty[k] = e
	return e
}

// missLocked counts a lookup that needed createMu and promotes dirty once
// they reach an eighth of its size.
func (r *Registry) missLocked() {
	r.misses++
	if r.dirty != nil && r.misses >= len(r.dirty)/8 {
		r.allLocked()
	}
}

// allLocked promotes dirty, if any, and returns the map of every entry.
func (r *Registry) allLocked() map[entryKey]*Entry {
	if r.dirty != nil {
		m := r.dirty
		r.entries.Store(&m)
		r.dirty, r.misses = nil, 0
	}
	return *r.entries.Load()
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
	for _, e := range r.all() {
		r.scratch.reset()
		e.collect(&r.scratch, &errs)
		e.start = nowSec
	}
	r.start = nowSec
}

// all returns the map of every entry.
func (r *Registry) all() map[entryKey]*Entry {
	r.createMu.Lock()
	defer r.createMu.Unlock()
	return r.allLocked()
}

// sorted returns the entries sorted by (name, method).
func (r *Registry) sorted() []*Entry {
	m := r.all()
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
