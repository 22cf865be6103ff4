package report

import (
	"sync"
	"time"

	"github.com/glocust/glocust/stats"
)

// Point is one sample of the run's chart history (Locust's stats.history):
// the Aggregated row's current RPS and failures/s, its current 50th and
// 95th percentiles (PERCENTILES_TO_CHART; 0 when unknown), its average
// response time, and the user count.
type Point struct {
	Time       time.Time
	RPS        float64
	FailPerSec float64
	P50, P95   float64
	AvgRT      float64
	Users      int64
}

// DefaultHistoryCap is the number of points a History keeps: 24 h at one
// point per second.
const DefaultHistoryCap = 24 * 60 * 60

// History is the chart history of a run, with bounded memory: one point
// per second (a sample in the same second replaces the previous one) until
// the history holds its maximum number of points; then the resolution
// doubles (2 s, 4 s, ...) and neighbouring points are merged (averages,
// maxima for P95 and users), so the whole run stays covered. With the
// default cap, a 24 h run keeps every second. It is safe for concurrent use.
type History struct {
	mu     sync.Mutex
	cap    int
	step   int64 // seconds per point
	points []Point
	weight []int // samples merged into each point
}

// NewHistory returns an empty history holding at most DefaultHistoryCap points.
func NewHistory() *History { return NewHistoryCap(DefaultHistoryCap) }

// NewHistoryCap returns an empty history holding at most max(n, 4) points.
func NewHistoryCap(n int) *History { return &History{cap: max(n, 4), step: 1} }

// Add samples a (Locust's update_stats_history) at now with userCount
// users. It reads a, so call it from the goroutine that owns a.
func (h *History) Add(now time.Time, a *stats.Aggregate, userCount int64) {
	t := a.Total()
	p50, _ := t.CurrentPercentile(0.5, now)
	p95, _ := t.CurrentPercentile(0.95, now)
	h.AddPoint(Point{
		Time: now, RPS: t.CurrentRPS(now), FailPerSec: t.CurrentFailPerSec(now),
		P50: float64(p50), P95: float64(p95), AvgRT: t.Avg(), Users: userCount,
	})
}

// AddPoint appends p (see History). Points must come in time order.
func (h *History) AddPoint(p Point) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if n := len(h.points); n > 0 && h.bucket(h.points[n-1]) == h.bucket(p) {
		if h.step == 1 {
			h.points[n-1] = p
		} else {
			h.points[n-1] = mergePoints(h.points[n-1], h.weight[n-1], p, 1)
			h.weight[n-1]++
		}
		return
	}
	h.points = append(h.points, p)
	h.weight = append(h.weight, 1)
	for len(h.points) > h.cap {
		h.coarsen()
	}
}

func (h *History) bucket(p Point) int64 {
	s := p.Time.Unix()
	if s < 0 {
		return (s - h.step + 1) / h.step
	}
	return s / h.step
}

// coarsen doubles the resolution step and merges points sharing a bucket.
func (h *History) coarsen() {
	h.step *= 2
	pts, ws := h.points[:1], h.weight[:1]
	for i := 1; i < len(h.points); i++ {
		p, w := h.points[i], h.weight[i]
		if last := len(pts) - 1; h.bucket(pts[last]) == h.bucket(p) {
			pts[last] = mergePoints(pts[last], ws[last], p, w)
			ws[last] += w
			continue
		}
		pts, ws = append(pts, p), append(ws, w)
	}
	clear(h.points[len(pts):])
	h.points, h.weight = pts, ws
}

// mergePoints merges b (weight wb) into a (weight wa): weighted averages,
// maxima for P95 and users, the later time.
func mergePoints(a Point, wa int, b Point, wb int) Point {
	avg := func(x, y float64) float64 { return (x*float64(wa) + y*float64(wb)) / float64(wa+wb) }
	return Point{
		Time: b.Time, RPS: avg(a.RPS, b.RPS), FailPerSec: avg(a.FailPerSec, b.FailPerSec),
		P50: avg(a.P50, b.P50), P95: max(a.P95, b.P95), AvgRT: avg(a.AvgRT, b.AvgRT),
		Users: max(a.Users, b.Users),
	}
}

// Points returns a copy of the points, oldest first.
func (h *History) Points() []Point {
	if h == nil {
		return nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]Point(nil), h.points...)
}

// Len returns the number of points.
func (h *History) Len() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.points)
}

// Reset drops every point (Locust clears the history on a stats reset).
func (h *History) Reset() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.points, h.weight, h.step = nil, nil, 1
}
