package stats

import (
	"log/slog"
	"math"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/glocust/glocust/protocol"
)

// maxFastErrors bounds the copy-on-write map of error texts per entry.
// Texts beyond it (e.g. errors carrying a unique id) are counted under a
// mutex in a map that is pruned at every report, so memory stays bounded.
const maxFastErrors = 1024

// errSide counts one error text on one side of one shard.
type errSide struct {
	occ   atomic.Int64
	first atomic.Int64 // epoch ns; math.MaxInt64: none
	last  atomic.Int64 // epoch ns; math.MinInt64: none
}

func (s *errSide) add(nowNs int64) {
	s.occ.Add(1)
	if nowNs < s.first.Load() {
		casMin(&s.first, nowNs)
	}
	if nowNs > s.last.Load() {
		casMax(&s.last, nowNs)
	}
}

func (s *errSide) reset() {
	s.occ.Store(0)
	s.first.Store(math.MaxInt64)
	s.last.Store(math.MinInt64)
}

// errCounter counts one error text of one entry: sides[shard<<1|bufferIndex].
type errCounter struct {
	key    string // Locust's key
	parsed string // the error as sent: ParseError of the sanitized text
	sides  []errSide
}

// errorSet maps error texts to counters. Lookups of known texts read an
// immutable map through an atomic pointer; new texts take the mutex. A
// new text takes a unit of the registry's budget (errBudget), given back
// when a slow counter is forgotten; with none left, the failure is counted
// under OtherErrors, whose counter every entry may have besides.
type errorSet struct {
	fast   atomic.Pointer[map[string]*errCounter]
	nsides int
	budget *errBudget // the registry's; nil: no cap (an entry made outside a registry)
	mu     sync.Mutex
	slow   map[string]*errCounter // guarded by mu; updated only under mu
}

// errBudget is the cap on a registry's distinct error texts: the counters
// its entries keep.
type errBudget struct {
	left   atomic.Int64
	max    int
	warned atomic.Bool
	logger *slog.Logger
}

func (b *errBudget) init(n int, logger *slog.Logger) {
	b.left.Store(int64(n))
	b.max, b.logger = n, logger
}

// take reserves room for one more text; false when there is none.
func (b *errBudget) take() bool {
	if b == nil {
		return true
	}
	if b.left.Add(-1) >= 0 {
		return true
	}
	b.left.Add(1)
	return false
}

// give returns the room of a forgotten text.
func (b *errBudget) give() {
	if b != nil {
		b.left.Add(1)
	}
}

// init sizes the counters for shards shards (two sides each).
func (s *errorSet) init(shards int) {
	m := map[string]*errCounter{}
	s.fast.Store(&m)
	s.nsides = 2 * shards
}

func (s *errorSet) lookup(err string) *errCounter {
	return (*s.fast.Load())[err]
}

// create returns err's counter in the copy-on-write map, creating it if
// the map has room, or nil if err is (or must be) in the slow map. The
// caller must not be pinned: this takes the mutex.
func (s *errorSet) create(e *Entry, err string) *errCounter {
	s.mu.Lock()
	defer s.mu.Unlock()
	fm := *s.fast.Load()
	if c := fm[err]; c != nil {
		return c
	}
	if len(fm) >= maxFastErrors || s.slow[err] != nil {
		return nil
	}
	if !s.budget.take() {
		return s.otherLocked(e, err)
	}
	return s.addFastLocked(e, err)
}

// addFastLocked adds a counter for err to the copy-on-write map.
func (s *errorSet) addFastLocked(e *Entry, err string) *errCounter {
	fm := *s.fast.Load()
	c := s.newCounter(e, err)
	m := make(map[string]*errCounter, len(fm)+1)
	for k, v := range fm {
		m[k] = v
	}
	m[err] = c
	s.fast.Store(&m)
	return c
}

// otherLocked returns the OtherErrors counter, in the copy-on-write map
// whatever its size (one per entry), for a failure with text err beyond
// the cap; the first such failure of the registry logs a warning.
func (s *errorSet) otherLocked(e *Entry, err string) *errCounter {
	if b := s.budget; !b.warned.Swap(true) {
		b.logger.Warn(errorsWarning(b.max, e.method, e.name, err))
	}
	if c := (*s.fast.Load())[OtherErrors]; c != nil {
		return c
	}
	return s.addFastLocked(e, OtherErrors)
}

func (s *errorSet) newCounter(e *Entry, err string) *errCounter {
	text := SanitizeError(err)
	c := &errCounter{
		key:    ErrorKey(e.method, e.name, text),
		parsed: ParseError(text),
		sides:  make([]errSide, s.nsides),
	}
	for i := range c.sides {
		c.sides[i].reset()
	}
	return c
}

// addSlow counts err on side, creating its counter in the slow map if it
// is in neither map. Called inside the record's started/finished bracket,
// unpinned (the caller holds a spill shard's mutex).
func (s *errorSet) addSlow(e *Entry, err string, side int, nowNs int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := (*s.fast.Load())[err]; c != nil {
		c.sides[side].add(nowNs)
		return
	}
	c := s.slow[err]
	if c == nil && !s.budget.take() {
		c = s.otherLocked(e, err)
	}
	if c == nil {
		c = s.newCounter(e, err)
		if s.slow == nil {
			s.slow = make(map[string]*errCounter)
		}
		s.slow[err] = c
	}
	c.sides[side].add(nowNs)
}

// drain moves the cold sides of every counter into acc. Every shard of e,
// and every spill shard in spill (nil: none), must be flipped and cooled
// down.
func (s *errorSet) drain(e *Entry, spill []spillShard, acc *errorAccum) {
	for _, c := range *s.fast.Load() {
		s.drainCounter(e, spill, c, acc)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for text, c := range s.slow {
		s.drainCounter(e, spill, c, acc)
		idle := true
		for i := range c.sides {
			idle = idle && c.sides[i].occ.Load() == 0
		}
		if idle { // nobody holds c outside mu: safe to forget
			delete(s.slow, text)
			s.budget.give()
		}
	}
}

func (s *errorSet) drainCounter(e *Entry, spill []spillShard, c *errCounter, acc *errorAccum) {
	for i := range e.shards {
		if sh := e.shards[i].Load(); sh != nil {
			drainSide(e, c, &c.sides[i<<1|int(sh.cold)], acc)
		}
	}
	for i := range spill {
		drainSide(e, c, &c.sides[(len(e.shards)+i)<<1|int(spill[i].cold)], acc)
	}
}

func drainSide(e *Entry, c *errCounter, side *errSide, acc *errorAccum) {
	n := side.occ.Load()
	if n == 0 {
		return
	}
	acc.add(e, c, n, side.first.Load(), side.last.Load())
	side.reset()
}

// errorAccum merges error counts by Locust key for one report.
type errorAccum struct {
	m map[string]*protocol.StatsError
}

func (a *errorAccum) add(e *Entry, c *errCounter, n, firstNs, lastNs int64) {
	if a.m == nil {
		a.m = make(map[string]*protocol.StatsError)
	}
	first, last := nsToSeconds(firstNs), nsToSeconds(lastNs)
	if se := a.m[c.key]; se != nil {
		se.Occurrences += n
		se.FirstSeen = min(se.FirstSeen, first)
		se.LastSeen = max(se.LastSeen, last)
		return
	}
	a.m[c.key] = &protocol.StatsError{
		Key: c.key, Name: e.name, Method: e.method, Error: c.parsed,
		Occurrences: n, FirstSeen: first, LastSeen: last, HasSeen: true,
	}
}

// list returns the errors sorted by key (the order of Locust's CSV).
func (a *errorAccum) list() []protocol.StatsError {
	out := make([]protocol.StatsError, 0, len(a.m))
	for _, se := range a.m {
		out = append(out, *se)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// nsToSeconds converts epoch nanoseconds to float seconds, rounding once
// (float64(ns)/1e9 would round twice and can be off by hundreds of ns).
func nsToSeconds(ns int64) float64 {
	sec, rem := ns/1e9, ns%1e9
	return float64(sec) + float64(rem)/1e9
}
