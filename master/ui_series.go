package master

import (
	"math"
	"time"
)

// series is a chart history of fixed columns with bounded memory, for the
// web UI (dashboard.go). Each sample is one value per column; while the
// series holds at most its capacity of points, one point is one sample.
// When a sample would go past the capacity, neighbouring points are merged
// in pairs and each point holds twice as many samples from then on (its
// stride): a run of any length keeps at most cap points that cover all of
// it. A merged point has the time of its last sample and, per column, the
// mean of its samples, or their maximum for the columns marked so.
//
// The page keeps its copy with the same rule (ui/history.js), from the
// points and stride an init message gives it. series is not safe for
// concurrent use.
type series struct {
	cap    int
	stride int     // samples per point, a power of two
	maxCol []bool  // per column: merge by maximum instead of mean
	t      []int64 // unix milliseconds of each point's last sample
	n      []int   // samples in each point
	cols   [][]float32
}

// newSeries returns an empty series of len(maxCol) columns holding at most
// max(capacity, 2) points.
func newSeries(capacity int, maxCol []bool) *series {
	return &series{cap: max(capacity, 2), stride: 1, maxCol: maxCol, cols: make([][]float32, len(maxCol))}
}

// len is the number of points.
func (s *series) len() int { return len(s.t) }

// add appends one sample at t; vals has one value per column.
func (s *series) add(t time.Time, vals []float64) {
	ms := t.UnixMilli()
	if last := len(s.t) - 1; last >= 0 && s.n[last] < s.stride {
		k := s.n[last]
		for c, col := range s.cols {
			col[last] = s.merge(c, col[last], k, float32(vals[c]), 1)
		}
		s.t[last], s.n[last] = ms, k+1
		return
	}
	if len(s.t) == s.cap {
		s.halve()
		s.add(t, vals)
		return
	}
	s.t, s.n = append(s.t, ms), append(s.n, 1)
	for c := range s.cols {
		s.cols[c] = append(s.cols[c], float32(vals[c]))
	}
}

// merge combines column c's value a (of wa samples) with b (of wb
// samples). An unknown value (NaN) takes the other.
func (s *series) merge(c int, a float32, wa int, b float32, wb int) float32 {
	switch {
	case math.IsNaN(float64(a)):
		return b
	case math.IsNaN(float64(b)):
		return a
	case s.maxCol[c]:
		return max(a, b)
	}
	return (a*float32(wa) + b*float32(wb)) / float32(wa+wb)
}

// halve merges the points in pairs and doubles the stride. A last point
// without a partner stays alone (and fills up to the new stride).
func (s *series) halve() {
	s.stride *= 2
	j := 0
	for i := 0; i < len(s.t); i += 2 {
		s.t[j], s.n[j] = s.t[i], s.n[i]
		for _, col := range s.cols {
			col[j] = col[i]
		}
		if i+1 < len(s.t) {
			for c, col := range s.cols {
				col[j] = s.merge(c, col[j], s.n[j], col[i+1], s.n[i+1])
			}
			s.t[j], s.n[j] = s.t[i+1], s.n[j]+s.n[i+1]
		}
		j++
	}
	s.t, s.n = s.t[:j], s.n[:j]
	for c := range s.cols {
		s.cols[c] = s.cols[c][:j]
	}
}

// reset drops every point and returns to one sample per point.
func (s *series) reset() {
	s.stride = 1
	s.t, s.n = s.t[:0], s.n[:0]
	for c := range s.cols {
		s.cols[c] = s.cols[c][:0]
	}
}
