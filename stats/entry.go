package stats

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

const cacheLine = 64

// Entry is the recording side of one (method, name) pair. Get it once from
// Registry.Entry and keep it: the Record* and Observe* methods are
// lock-free on their fast path and do not allocate.
//
// # Recording
//
// Each entry has one shard per P (the scheduler's processor), up to the
// registry's shard count, allocated by the first record on that P: an
// entry that only a few Ps record into (a name seen a few times) costs one
// shard or two, not the registry's shard count. A record holds one shard alone for the whole
// update (see shard.go: by default it pins its goroutine to its P with
// runtime.procPin, as sync.Pool does, so no other goroutine runs on that
// P; built with glocust_nolinkname it locks the shard), so the shard has
// exactly one writer at a time and its counters are plain memory, not
// atomics. Two atomic operations order the record with the reporter: the
// shard's started count (word) and the hot buffer's completion count (see
// shard). Records that find no shard to hold (a P without a shard of its
// own: more Ps than shards, from WithShards or GOMAXPROCS raised after the
// entry was created; or, in the glocust_nolinkname build, every shard
// held), and records that need to block (a new error text beyond the
// copy-on-write map), take a mutex-guarded spill shard instead.
//
// The race detector agrees with this: consecutive writers of a shard are
// ordered by the completion count (each writer loads it before writing and
// adds to it after) or by the shard's mutex, and the reporter by the
// started word and the completion count.
type Entry struct {
	name, method string
	shards       []atomic.Pointer[shard] // one per P id, nil until first used; len is a power of two
	mask         int
	spill        atomic.Pointer[[]spillShard] // len(shards) locked shards, allocated on first use
	spillMu      sync.Mutex                   // serialises the spill allocation
	errs         errorSet
	clk          *coarseClock // the registry's, for Observe*

	// Guarded by the registry's report mutex.
	start float64 // epoch seconds of the last reset (or creation)
}

// shard is a hot/cold double buffer selected by word, as the prometheus
// histogram does: bit 63 is the hot index, the lower bits count records
// started. A record adds 1 to word, updates the hot buffer, and increments
// that buffer's count last; the reporter flips bit 63 and waits until the
// cold buffer's count matches the records started on it. Only one writer
// updates a shard at a time (the record that holds it: see Entry.acquire,
// or the holder of a spill shard's mutex), so the buffer is plain memory
// besides count.
type shard struct {
	_           [cacheLine]byte // keep the previous shard's tail off word's line
	shardLock                   // empty unless built with glocust_nolinkname
	word        atomic.Uint64
	lastStarted uint64 // guarded by the report mutex: word's count at the last flip
	cold        uint8  // guarded by the report mutex: cold index after the last flip
	bufs        [2]buffer
	_           [cacheLine]byte
}

// spillShard is a shard shared by several Ps, guarded by mu.
type spillShard struct {
	mu sync.Mutex
	shard
}

// begin starts a record on s and returns the hot buffer and its index. The
// caller must be s's only writer until it calls b.count.Add(1).
func (s *shard) begin() (*buffer, int) {
	hot := int(s.word.Add(1) >> 63)
	b := &s.bufs[hot]
	// Acquire the previous writer's completion (another goroutine that ran
	// on this P, or held the shard's mutex): its plain writes happen before
	// ours. The runtime's scheduling (or the mutex) already orders them; this
	// load makes the order visible to the Go memory model and the race
	// detector.
	b.count.Load()
	return b, hot
}

func newEntry(method, name string, shards int, start float64) *Entry {
	e := &Entry{name: name, method: method, shards: make([]atomic.Pointer[shard], shards), mask: shards - 1, start: start}
	if eagerShards {
		for i := range e.shards {
			e.shards[i].Store(newShard())
		}
	}
	e.errs.init(2 * shards) // sides of the own shards, then of the spill shards
	return e
}

// shard returns own shard si, allocating it on its first record. The caller
// holds si (acquire), so no other record allocates it at the same time;
// allocating while pinned to a P is allowed (the runtime then neither
// assists the GC nor starts it, as for buffer.high).
func (e *Entry) shard(si int) *shard {
	if s := e.shards[si].Load(); s != nil {
		return s
	}
	s := newShard()
	e.shards[si].Store(s)
	return s
}

func newShard() *shard {
	s := new(shard)
	s.init()
	return s
}

func (s *shard) init() {
	s.bufs[0].init()
	s.bufs[1].init()
	// Buffer 0 is hot until the first flip: the cold one is 1, so that a
	// report that drains errors of a shard allocated after it flipped the
	// others reads the side nobody writes.
	s.cold = 1
}

// Name returns the entry's name.
func (e *Entry) Name() string { return e.name }

// Method returns the entry's method (request type).
func (e *Entry) Method() string { return e.method }

// Record counts a successful request that completed at now, took
// responseTime and returned contentLength bytes.
func (e *Entry) Record(now time.Time, responseTime time.Duration, contentLength int64) {
	e.record(now.UnixNano(), responseTime, contentLength)
}

// Observe is Record at the registry's coarse clock (CoarseClockTick
// resolution): the cheapest way to record, with no clock read by the
// caller or here. The clock's goroutine starts on first use; stop it with
// Registry.Close.
func (e *Entry) Observe(responseTime time.Duration, contentLength int64) {
	e.record(e.clk.nowNs(), responseTime, contentLength)
}

func (e *Entry) record(nowNs int64, rt time.Duration, contentLength int64) {
	si := e.acquire()
	if si < len(e.shards) {
		b, _ := e.shard(si).begin()
		b.observe(nowNs, rt, contentLength)
		b.count.Add(1)
		e.release(si)
		return
	}
	e.release(si)
	sp := e.spillShard(si)
	sp.mu.Lock()
	b, _ := sp.begin()
	b.observe(nowNs, rt, contentLength)
	b.count.Add(1)
	sp.mu.Unlock()
}

// RecordFailure counts a failed request, as Locust's request event with an
// exception: the request is counted as by Record, and also as a failure with
// the error text err. Only the first occurrence of a new err on this entry
// allocates.
func (e *Entry) RecordFailure(now time.Time, responseTime time.Duration, contentLength int64, err string) {
	e.recordFailure(now.UnixNano(), responseTime, contentLength, err)
}

// ObserveFailure is RecordFailure at the registry's coarse clock, as
// Observe is to Record.
func (e *Entry) ObserveFailure(responseTime time.Duration, contentLength int64, err string) {
	e.recordFailure(e.clk.nowNs(), responseTime, contentLength, err)
}

func (e *Entry) recordFailure(nowNs int64, rt time.Duration, contentLength int64, err string) {
	c := e.errs.lookup(err)
	if c == nil {
		c = e.errs.create(e, err) // nil: a text beyond the copy-on-write map
	}
	si := e.acquire()
	if si < len(e.shards) && c != nil {
		b, hot := e.shard(si).begin()
		b.observe(nowNs, rt, contentLength)
		b.fail(nowNs)
		c.sides[si<<1|hot].add(nowNs)
		b.count.Add(1)
		e.release(si)
		return
	}
	e.release(si)
	id := si & e.mask
	sp := &(*e.spillShards())[id]
	sp.mu.Lock()
	b, hot := sp.begin()
	b.observe(nowNs, rt, contentLength)
	b.fail(nowNs)
	side := (len(e.shards)+id)<<1 | hot
	if c != nil {
		c.sides[side].add(nowNs)
	} else {
		e.errs.addSlow(e, err, side, nowNs)
	}
	b.count.Add(1)
	sp.mu.Unlock()
}

// RecordUntimed counts a successful request without a response time (a
// None response_time in Locust): it counts in num_requests and
// num_none_requests but not in the response-time statistics.
func (e *Entry) RecordUntimed(now time.Time, contentLength int64) {
	e.recordUntimed(now.UnixNano(), contentLength)
}

// ObserveUntimed is RecordUntimed at the registry's coarse clock.
func (e *Entry) ObserveUntimed(contentLength int64) {
	e.recordUntimed(e.clk.nowNs(), contentLength)
}

func (e *Entry) recordUntimed(nowNs int64, contentLength int64) {
	si := e.acquire()
	if si < len(e.shards) {
		b, _ := e.shard(si).begin()
		b.none++
		b.stamp(nowNs, contentLength)
		b.count.Add(1)
		e.release(si)
		return
	}
	e.release(si)
	sp := e.spillShard(si)
	sp.mu.Lock()
	b, _ := sp.begin()
	b.none++
	b.stamp(nowNs, contentLength)
	b.count.Add(1)
	sp.mu.Unlock()
}

// spillShard returns the spill shard for acquire's index si.
func (e *Entry) spillShard(si int) *spillShard {
	return &(*e.spillShards())[si&e.mask]
}

func (e *Entry) spillShards() *[]spillShard {
	if sp := e.spill.Load(); sp != nil {
		return sp
	}
	e.spillMu.Lock()
	defer e.spillMu.Unlock()
	if sp := e.spill.Load(); sp != nil {
		return sp
	}
	sp := make([]spillShard, len(e.shards))
	for i := range sp {
		sp[i].init()
	}
	e.spill.Store(&sp)
	return &sp
}

// collect flips every shard, waits for the records in flight on the cold
// side, and drains the cold buffers and errors into a. The caller holds the
// registry's report mutex.
func (e *Entry) collect(a *accum, errs *errorAccum) {
	for i := range e.shards {
		if s := e.shards[i].Load(); s != nil {
			s.collect(a)
		}
	}
	var spill []spillShard
	if sp := e.spill.Load(); sp != nil {
		spill = *sp
		for i := range spill {
			spill[i].collect(a)
		}
	}
	e.errs.drain(e, spill, errs)
}

func (s *shard) collect(a *accum) {
	n := s.word.Add(1 << 63)
	started := n &^ (1 << 63)
	want := started - s.lastStarted
	s.lastStarted = started
	s.cold = uint8(n>>63) ^ 1
	cold := &s.bufs[s.cold]
	for cold.count.Load() != want {
		runtime.Gosched()
	}
	cold.drain(a)
}
