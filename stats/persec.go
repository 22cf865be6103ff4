package stats

import (
	"math"
	"sync/atomic"
)

// secRing counts events per epoch second without locks. Each slot holds a
// (second, count) pair; a slot is claimed by CAS on its tag. A report
// interval normally spans a few seconds, so collisions (a slot still
// tagged with another second of the same interval, or times far in the
// past or future) are rare: those counts go to the buffer's locked
// overflow map and are never lost.
const (
	secSlots = 8 // power of two
	noSecond = math.MinInt64
)

type secSlot struct {
	sec atomic.Int64 // noSecond when free
	n   atomic.Int64
}

type secRing [secSlots]secSlot

func (r *secRing) reset() {
	for i := range r {
		r[i].sec.Store(noSecond)
		r[i].n.Store(0)
	}
}

// add counts one event at sec; it reports false when no slot is available.
func (r *secRing) add(sec int64) bool {
	s := &r[sec&(secSlots-1)]
	tag := s.sec.Load()
	if tag != sec {
		if tag != noSecond || (!s.sec.CompareAndSwap(noSecond, sec) && s.sec.Load() != sec) {
			return false
		}
	}
	s.n.Add(1)
	return true
}

// drain adds the counts to m and frees the slots. The ring must be cold.
func (r *secRing) drain(m map[int64]int64) {
	for i := range r {
		s := &r[i]
		if sec := s.sec.Load(); sec != noSecond {
			if n := s.n.Load(); n != 0 {
				m[sec] += n
			}
			s.sec.Store(noSecond)
			s.n.Store(0)
		}
	}
}
