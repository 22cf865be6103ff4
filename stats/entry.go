package stats

import (
	"runtime"
	"sync/atomic"
	"time"
)

const cacheLine = 64

// Entry is the recording side of one (method, name) pair. Get it once from
// Registry.Entry and keep it: Record and RecordFailure are lock-free and do
// not allocate.
type Entry struct {
	name, method string
	shards       []shard // len is a power of two
	mask         int
	errs         errorSet

	// Guarded by the registry's report mutex.
	start float64 // epoch seconds of the last reset (or creation)
}

// shard is a hot/cold double buffer selected by word, as the prometheus
// histogram does: bit 63 is the hot index, the lower bits count records
// started. A record adds 1 to word, updates the hot buffer, and increments
// that buffer's count last; the reporter flips bit 63 and waits until the
// cold buffer's count matches the records started on it.
type shard struct {
	_           [cacheLine]byte
	word        atomic.Uint64
	lastStarted uint64 // guarded by the report mutex: word's count at the last flip
	cold        uint8  // guarded by the report mutex: cold index after the last flip
	bufs        [2]buffer
}

func newEntry(method, name string, shards int, start float64) *Entry {
	e := &Entry{name: name, method: method, shards: make([]shard, shards), mask: shards - 1, start: start}
	for i := range e.shards {
		e.shards[i].bufs[0].init()
		e.shards[i].bufs[1].init()
	}
	e.errs.init(shards)
	return e
}

// Name returns the entry's name.
func (e *Entry) Name() string { return e.name }

// Method returns the entry's method (request type).
func (e *Entry) Method() string { return e.method }

// Record counts a successful request that completed at now, took
// responseTime and returned contentLength bytes.
func (e *Entry) Record(now time.Time, responseTime time.Duration, contentLength int64) {
	nowNs := now.UnixNano()
	sec := now.Unix()
	s := &e.shards[shardHint()&e.mask]
	b := &s.bufs[s.word.Add(1)>>63]
	b.observe(nowNs, sec, responseTime, contentLength)
	b.count.Add(1)
}

// RecordFailure counts a failed request, as Locust's request event with an
// exception: the request is counted as by Record, and also as a failure with
// the error text err. Only the first occurrence of a new err on this entry
// allocates.
func (e *Entry) RecordFailure(now time.Time, responseTime time.Duration, contentLength int64, err string) {
	nowNs := now.UnixNano()
	sec := now.Unix()
	c := e.errs.lookup(err)
	id := shardHint() & e.mask
	s := &e.shards[id]
	n := s.word.Add(1)
	hot := int(n >> 63)
	b := &s.bufs[hot]
	b.observe(nowNs, sec, responseTime, contentLength)
	b.fail(sec)
	if c != nil {
		c.sides[id<<1|hot].add(nowNs)
	} else {
		e.errs.addSlow(e, err, id<<1|hot, nowNs)
	}
	b.count.Add(1)
}

// RecordUntimed counts a successful request without a response time (a
// None response_time in Locust): it counts in num_requests and
// num_none_requests but not in the response-time statistics.
func (e *Entry) RecordUntimed(now time.Time, contentLength int64) {
	nowNs := now.UnixNano()
	sec := now.Unix()
	s := &e.shards[shardHint()&e.mask]
	b := &s.bufs[s.word.Add(1)>>63]
	b.none.Add(1)
	b.stamp(nowNs, sec, contentLength)
	b.count.Add(1)
}

// collect flips every shard, waits for the records in flight on the cold
// side, and drains the cold buffers and errors into a. The caller holds the
// registry's report mutex.
func (e *Entry) collect(a *accum, errs *errorAccum) {
	for i := range e.shards {
		s := &e.shards[i]
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
	e.errs.drain(e, errs)
}
