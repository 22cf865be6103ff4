package stats

import (
	"math/bits"
	"slices"

	"github.com/glocust/glocust/protocol"
)

// countsWindow is how many recent seconds a per-second Counts keeps in its
// ring (a power of two).
const countsWindow = 64

// Counts is one of a Summary's bucket dicts (Locust's response_times,
// num_reqs_per_sec or num_fail_per_sec on the master): key → count. As in
// Locust's dict, a key once merged stays present, even with a zero count.
//
// The master merges every worker report into these, so the usual keys are
// not hashed: response-time keys that Locust's rounding produces below
// 10 s have a slot in a dense array indexed like the recording side's
// buckets, and per-second keys of the latest countsWindow seconds have a
// slot in a ring. Other keys (keys no Locust rounding produces, slower
// buckets, older seconds) live in a map. A key is in exactly one place.
type Counts struct {
	sec   bool     // per-second keys (ring) rather than response times (dense)
	slots []int64  // rt: lowBuckets slots by bucketIndex; sec: the ring, key mod countsWindow
	has   []uint64 // presence bits of slots
	base  int64    // sec: the ring holds the keys in [base, base+countsWindow)
	n     int      // keys present in slots
	other map[int64]int64
}

// newSecondCounts returns an empty per-second Counts.
func newSecondCounts() Counts { return Counts{sec: true} }

// Len is the number of keys.
func (m *Counts) Len() int { return m.n + len(m.other) }

// Get returns the count of key k and whether k is present.
func (m *Counts) Get(k int64) (int64, bool) {
	if i, ok := m.index(k); ok {
		if m.has[i>>6]&(1<<(i&63)) == 0 {
			return 0, false
		}
		return m.slots[i], true
	}
	n, ok := m.other[k]
	return n, ok
}

// Add adds c to key k (Locust's d[k] = d.get(k, 0) + c).
func (m *Counts) Add(k, c int64) {
	if m.slots == nil {
		m.init(k)
	}
	if m.sec && k >= m.base && uint64(k)-uint64(m.base) >= countsWindow {
		m.advance(k - countsWindow + 1)
	}
	if i, ok := m.index(k); ok {
		w, bit := i>>6, uint64(1)<<(i&63)
		if m.has[w]&bit == 0 {
			m.has[w] |= bit
			m.n++
		}
		m.slots[i] += c
		return
	}
	if m.other == nil {
		m.other = map[int64]int64{}
	}
	m.other[k] += c
}

// AddAll adds every bucket of bs, as Add does one by one. A report's
// response times go through here (the master merges about 1,600 a
// report): the dense slots are written in a loop without calls.
func (m *Counts) AddAll(bs []protocol.Bucket) {
	if len(bs) == 0 {
		return
	}
	if m.sec {
		for _, b := range bs {
			m.Add(b.Key, b.Count)
		}
		return
	}
	if m.slots == nil {
		m.init(0)
	}
	slots, has := m.slots[:lowBuckets], m.has[:(lowBuckets+63)/64]
	for _, b := range bs {
		i, ok := rtIndex(b.Key)
		if !ok {
			if m.other == nil {
				m.other = map[int64]int64{}
			}
			m.other[b.Key] += b.Count
			continue
		}
		w, bit := i>>6, uint64(1)<<(i&63)
		if has[w]&bit == 0 {
			has[w] |= bit
			m.n++
		}
		slots[i] += b.Count
	}
}

func (m *Counts) init(first int64) {
	if m.sec {
		m.slots = make([]int64, countsWindow)
		m.has = make([]uint64, countsWindow/64)
		// Leave room below the first second for workers whose clocks lag.
		m.base = first - countsWindow/2
		if first < minInt64+countsWindow/2 {
			m.base = minInt64
		}
		return
	}
	m.slots = make([]int64, lowBuckets)
	m.has = make([]uint64, (lowBuckets+63)/64)
}

const minInt64 = -1 << 63

// index returns the slot of key k, if it has one.
func (m *Counts) index(k int64) (int, bool) {
	if m.slots == nil {
		return 0, false
	}
	if m.sec {
		if k >= m.base && uint64(k)-uint64(m.base) < countsWindow {
			return int(k & (countsWindow - 1)), true
		}
		return 0, false
	}
	return rtIndex(k)
}

// rtIndex is the dense slot of response-time key k, if it has one: the
// keys Locust's rounding produces below 10 s.
func rtIndex(k int64) (int, bool) {
	switch {
	case uint64(k) < 100:
		return int(k), true
	case k < 100:
		return 0, false // negative
	case k < 1000:
		if k%10 == 0 {
			return 100 + int(k-100)/10, true
		}
	case k < 10000:
		if k%100 == 0 {
			return 190 + int(k-1000)/100, true
		}
	}
	return 0, false
}

// advance moves the ring's window up to start at newBase (> base); the
// seconds that leave it move to the map. Keys above the window always move
// it up first, and keys below it go to the map, so a key never is in both.
func (m *Counts) advance(newBase int64) {
	if m.n > 0 {
		end := newBase
		if uint64(end)-uint64(m.base) > countsWindow { // the whole ring leaves
			end = m.base + countsWindow
		}
		for k := m.base; k != end; k++ {
			i := int(k & (countsWindow - 1))
			w, bit := i>>6, uint64(1)<<(i&63)
			if m.has[w]&bit == 0 {
				continue
			}
			if m.other == nil {
				m.other = map[int64]int64{}
			}
			m.other[k] = m.slots[i]
			m.has[w] &^= bit
			m.slots[i] = 0
			m.n--
		}
	}
	m.base = newBase
}

// Each calls f with every (key, count) pair, in no particular order. It
// does not allocate, so a reader that only sums or folds the buckets (the
// master's /metrics histograms, at scrape time) need not sort them.
func (m *Counts) Each(f func(key, count int64)) {
	if m.n > 0 {
		for w, word := range m.has {
			for word != 0 {
				i := w<<6 | bits.TrailingZeros64(word)
				word &= word - 1
				if m.sec {
					f(m.base+int64((uint64(i)-uint64(m.base))&(countsWindow-1)), m.slots[i])
				} else {
					f(bucketKey(i), m.slots[i])
				}
			}
		}
	}
	for k, c := range m.other {
		f(k, c)
	}
}

// Sorted returns the (key, count) pairs in ascending key order.
func (m *Counts) Sorted() []protocol.Bucket { return m.appendSorted(nil) }

// appendSorted appends the (key, count) pairs to dst in ascending key order.
func (m *Counts) appendSorted(dst []protocol.Bucket) []protocol.Bucket {
	var others []protocol.Bucket
	if len(m.other) > 0 {
		others = make([]protocol.Bucket, 0, len(m.other))
		for k, c := range m.other {
			others = append(others, protocol.Bucket{Key: k, Count: c})
		}
		slices.SortFunc(others, func(a, b protocol.Bucket) int {
			if a.Key < b.Key {
				return -1
			}
			if a.Key > b.Key {
				return 1
			}
			return 0
		})
	}
	j := 0
	emit := func(k, c int64) {
		for j < len(others) && others[j].Key < k {
			dst = append(dst, others[j])
			j++
		}
		dst = append(dst, protocol.Bucket{Key: k, Count: c})
	}
	if m.n > 0 {
		if m.sec {
			for d := int64(0); d < countsWindow; d++ {
				k := m.base + d
				i := int(k & (countsWindow - 1))
				if m.has[i>>6]&(1<<(i&63)) != 0 {
					emit(k, m.slots[i])
				}
			}
		} else {
			for w, word := range m.has {
				for word != 0 {
					i := w<<6 | bits.TrailingZeros64(word)
					word &= word - 1
					emit(bucketKey(i), m.slots[i])
				}
			}
		}
	}
	return append(dst, others[j:]...)
}
