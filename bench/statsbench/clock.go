package statsbench

import (
	"sync"
	"time"
)

// clockRec is a baseline, not a stats recorder: each record only reads the
// clock (as every recorder here does once per record: glocust's caller,
// launce's Aggregator.Report, boomer's stats goroutine) and counts in the
// goroutine's own handle. It is the floor under any recorder that reads the
// clock per record.
type clockRec struct {
	mu     sync.Mutex
	totals Totals
}

func newClock() *clockRec { return &clockRec{totals: Totals{PerName: map[string]int64{}}} }

func (r *clockRec) Handle(int) Handle { return &clockHandle{r: r} }

func (r *clockRec) Close(int64, time.Duration) (Totals, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.totals, nil
}

type clockHandle struct {
	r                 *clockRec
	last              time.Time
	requests, content int64
	perName           [NumNames]int64 // by request definition
}

func (h *clockHandle) Record(def int, method, name string, rt time.Duration, length int64) {
	h.last = time.Now()
	h.requests++
	h.content += length
	h.perName[def]++
}

func (h *clockHandle) Done() {
	h.r.mu.Lock()
	defer h.r.mu.Unlock()
	h.r.totals.Requests += h.requests
	h.r.totals.Content += h.content
	for i, n := range h.perName {
		if n != 0 {
			h.r.totals.PerName[key(Method, Names[i])] += n
		}
	}
}
