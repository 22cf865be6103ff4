package stats

import (
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// buffer is one side (hot or cold) of a shard's double buffer: the counters
// of one report interval. While hot, writers update it with atomics only;
// once cold and cooled down, the reporter reads and zeroes it.
type buffer struct {
	count    atomic.Uint64 // finished records (num_requests); incremented last
	none     atomic.Int64  // records without a response time
	failures atomic.Int64
	sumNs    atomic.Int64
	minNs    atomic.Int64 // math.MaxInt64: no timed record
	maxNs    atomic.Int64 // starts at 0, as Locust's max_response_time
	lastNs   atomic.Int64 // math.MinInt64: no record
	content  atomic.Int64
	reqSec   secRing
	failSec  secRing
	low      [lowBuckets]atomic.Int64
	high     atomic.Pointer[[highBuckets]atomic.Int64] // allocated on first use
	mu       sync.Mutex                                // guards over
	over     overflow
}

// overflow holds the rare values the lock-free counters cannot take.
type overflow struct {
	rt      map[int64]int64 // bucket keys without a counter
	reqSec  map[int64]int64 // seconds without a free ring slot
	failSec map[int64]int64
}

func (b *buffer) init() {
	b.minNs.Store(math.MaxInt64)
	b.lastNs.Store(math.MinInt64)
	b.reqSec.reset()
	b.failSec.reset()
}

// observe records one request (log in Locust) except the completion count.
func (b *buffer) observe(nowNs, sec int64, rt time.Duration, contentLength int64) {
	ns := int64(rt)
	b.sumNs.Add(ns)
	if ns < b.minNs.Load() {
		casMin(&b.minNs, ns)
	}
	if ns > b.maxNs.Load() {
		casMax(&b.maxNs, ns)
	}
	if ns >= 0 && ns < 9_950_000_000 { // keys below 10000 ms
		b.low[bucketIndex(bucketKeyNanos(ns))].Add(1)
	} else {
		b.observeSlow(ns)
	}
	b.stamp(nowNs, sec, contentLength)
}

// stamp records the time and size parts shared by timed and untimed records.
func (b *buffer) stamp(nowNs, sec int64, contentLength int64) {
	if nowNs > b.lastNs.Load() {
		casMax(&b.lastNs, nowNs)
	}
	if contentLength != 0 {
		b.content.Add(contentLength)
	}
	if !b.reqSec.add(sec) {
		b.overflowSecond(&b.over.reqSec, sec)
	}
}

func (b *buffer) fail(sec int64) {
	b.failures.Add(1)
	if !b.failSec.add(sec) {
		b.overflowSecond(&b.over.failSec, sec)
	}
}

func (b *buffer) observeSlow(ns int64) {
	if ns >= 0 {
		key := bucketKeyNanos(ns)
		if i := bucketIndex(key); i >= 0 {
			h := b.high.Load()
			if h == nil {
				h = new([highBuckets]atomic.Int64)
				if !b.high.CompareAndSwap(nil, h) {
					h = b.high.Load()
				}
			}
			h[i-lowBuckets].Add(1)
			return
		}
	}
	key := BucketResponseTime(float64(ns) / 1e6)
	b.mu.Lock()
	if b.over.rt == nil {
		b.over.rt = make(map[int64]int64)
	}
	b.over.rt[key]++
	b.mu.Unlock()
}

func (b *buffer) overflowSecond(m *map[int64]int64, sec int64) {
	b.mu.Lock()
	if *m == nil {
		*m = make(map[int64]int64)
	}
	(*m)[sec]++
	b.mu.Unlock()
}

// drain adds the buffer into a and zeroes it. The buffer must be cold and
// cooled down: no writer touches it.
func (b *buffer) drain(a *accum) {
	a.numRequests += int64(b.count.Swap(0))
	a.numNone += b.none.Swap(0)
	a.numFailures += b.failures.Swap(0)
	a.sumNs += b.sumNs.Swap(0)
	a.minNs = min(a.minNs, b.minNs.Swap(math.MaxInt64))
	a.maxNs = max(a.maxNs, b.maxNs.Swap(0))
	a.lastNs = max(a.lastNs, b.lastNs.Swap(math.MinInt64))
	a.content += b.content.Swap(0)
	for i := range b.low {
		if n := b.low[i].Load(); n != 0 {
			a.rt[i] += n
			b.low[i].Store(0)
		}
	}
	if h := b.high.Load(); h != nil {
		for i := range h {
			if n := h[i].Load(); n != 0 {
				a.rt[lowBuckets+i] += n
				h[i].Store(0)
			}
		}
	}
	b.reqSec.drain(a.reqSec)
	b.failSec.drain(a.failSec)
	b.mu.Lock()
	mergeInto(a.rtOver, b.over.rt)
	mergeInto(a.reqSec, b.over.reqSec)
	mergeInto(a.failSec, b.over.failSec)
	b.over = overflow{}
	b.mu.Unlock()
}

func mergeInto(dst, src map[int64]int64) {
	for k, v := range src {
		dst[k] += v
	}
}

func casMin(p *atomic.Int64, v int64) {
	for {
		old := p.Load()
		if v >= old || p.CompareAndSwap(old, v) {
			return
		}
	}
}

func casMax(p *atomic.Int64, v int64) {
	for {
		old := p.Load()
		if v <= old || p.CompareAndSwap(old, v) {
			return
		}
	}
}
