package stats

import (
	"math"
	"sync/atomic"
	"time"
)

// buffer is one side (hot or cold) of a shard's double buffer: the counters
// of one report interval. While hot, its one writer at a time (see Entry)
// updates it with plain loads and stores, and count atomically last; once
// cold and cooled down, the reporter reads and zeroes it.
type buffer struct {
	count    atomic.Uint64 // finished records (num_requests); incremented last
	none     int64         // records without a response time
	failures int64
	sumNs    int64
	minNs    int64 // math.MaxInt64: no timed record
	maxNs    int64 // starts at 0, as Locust's max_response_time
	lastNs   int64 // math.MinInt64: no record
	content  int64
	reqSec   secRing
	failSec  secRing
	low      [lowBuckets]int64
	high     *[highBuckets]int64 // allocated on first use
	over     overflow
}

// overflow holds the rare values the counters above cannot take.
type overflow struct {
	rt      map[int64]int64 // bucket keys without a counter
	reqSec  map[int64]int64 // seconds without a free ring slot
	failSec map[int64]int64
}

func (b *buffer) init() {
	b.minNs = math.MaxInt64
	b.lastNs = math.MinInt64
	b.reqSec.reset()
	b.failSec.reset()
}

// observe records one request (log in Locust) except the completion count.
func (b *buffer) observe(nowNs int64, rt time.Duration, contentLength int64) {
	ns := int64(rt)
	b.sumNs += ns
	if ns < b.minNs {
		b.minNs = ns
	}
	if ns > b.maxNs {
		b.maxNs = ns
	}
	if uint64(ns) < 9_950_000_000 { // 0 <= ns, keys below 10000 ms
		b.low[lowIndexNanos(ns)]++
	} else {
		b.observeSlow(ns)
	}
	b.stamp(nowNs, contentLength)
}

// stamp records the time and size parts shared by timed and untimed records.
func (b *buffer) stamp(nowNs int64, contentLength int64) {
	if nowNs > b.lastNs {
		b.lastNs = nowNs
	}
	b.content += contentLength
	if sec := floorSeconds(nowNs); !b.reqSec.add(sec) {
		addTo(&b.over.reqSec, sec)
	}
}

func (b *buffer) fail(nowNs int64) {
	b.failures++
	if sec := floorSeconds(nowNs); !b.failSec.add(sec) {
		addTo(&b.over.failSec, sec)
	}
}

func (b *buffer) observeSlow(ns int64) {
	if ns >= 0 {
		if i := bucketIndex(bucketKeyNanos(ns)); i >= 0 {
			if b.high == nil {
				b.high = new([highBuckets]int64)
			}
			b.high[i-lowBuckets]++
			return
		}
	}
	addTo(&b.over.rt, BucketResponseTime(float64(ns)/1e6))
}

// addTo counts one at key in *m, allocating the map on first use.
func addTo(m *map[int64]int64, key int64) {
	if *m == nil {
		*m = make(map[int64]int64)
	}
	(*m)[key]++
}

// floorSeconds converts epoch ns to epoch seconds, rounding down as
// time.Time.Unix does.
func floorSeconds(ns int64) int64 {
	sec := ns / 1e9
	return sec + (ns-sec*1e9)>>63 // minus one if the remainder is negative
}

// drain adds the buffer into a and zeroes it. The buffer must be cold and
// cooled down: no writer touches it.
func (b *buffer) drain(a *accum) {
	a.numRequests += int64(b.count.Swap(0))
	a.numNone += b.none
	a.numFailures += b.failures
	a.sumNs += b.sumNs
	a.minNs = min(a.minNs, b.minNs)
	a.maxNs = max(a.maxNs, b.maxNs)
	a.lastNs = max(a.lastNs, b.lastNs)
	a.content += b.content
	b.none, b.failures, b.sumNs, b.content = 0, 0, 0, 0
	b.minNs, b.maxNs, b.lastNs = math.MaxInt64, 0, math.MinInt64
	for i, n := range b.low {
		if n != 0 {
			a.rt[i] += n
			b.low[i] = 0
		}
	}
	if h := b.high; h != nil {
		for i, n := range h {
			if n != 0 {
				a.rt[lowBuckets+i] += n
				h[i] = 0
			}
		}
	}
	b.reqSec.drain(a.reqSec)
	b.failSec.drain(a.failSec)
	mergeInto(a.rtOver, b.over.rt)
	mergeInto(a.reqSec, b.over.reqSec)
	mergeInto(a.failSec, b.over.failSec)
	b.over = overflow{}
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
