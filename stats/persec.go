package stats

import "math"

// secRing counts events per epoch second. Each slot holds a (second,
// count) pair; a free slot is claimed by the first second that maps to it.
// A report interval normally spans a few seconds, so collisions (a slot
// still tagged with another second of the same interval, or times far in
// the past or future) are rare: those counts go to the buffer's overflow
// map and are never lost. Like the rest of a buffer, the ring has one
// writer at a time and is plain memory.
const (
	secSlots = 8 // power of two
	noSecond = math.MinInt64
)

type secSlot struct {
	sec int64 // noSecond when free
	n   int64
}

type secRing [secSlots]secSlot

func (r *secRing) reset() {
	for i := range r {
		r[i] = secSlot{sec: noSecond}
	}
}

// add counts one event at sec; it reports false when no slot is available.
func (r *secRing) add(sec int64) bool {
	s := &r[sec&(secSlots-1)]
	if s.sec != sec {
		if s.sec != noSecond {
			return false
		}
		s.sec = sec
	}
	s.n++
	return true
}

// drain adds the counts to m and frees the slots. The ring must be cold.
func (r *secRing) drain(m map[int64]int64) {
	for i := range r {
		s := &r[i]
		if s.sec != noSecond {
			if s.n != 0 {
				m[s.sec] += s.n
			}
			*s = secSlot{sec: noSecond}
		}
	}
}
