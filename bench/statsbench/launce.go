package statsbench

import (
	"sync"
	"time"

	launcestats "github.com/qitoi/launce/stats"
)

// launce's LoadGenerator defaults (generator.go in launce v1.4.1): one
// stats aggregator per 100 users, each notifying the worker every 100 ms.
const (
	LaunceAggregationUsers = 100
	LaunceNotifyInterval   = 100 * time.Millisecond
)

// launceRec reproduces what launce's LoadGenerator and Worker do around the
// stats package, with launce's own public types: users are handed out to
// aggregators in blocks of LaunceAggregationUsers (each aggregator is
// retained once by the generator and once per user, as spawnFunc does), and
// the worker goroutine merges every notified *stats.Stats into its own.
type launceRec struct {
	statsCh chan *launcestats.Stats
	aggs    []*launcestats.Aggregator

	mu     sync.Mutex
	merged *launcestats.Stats
}

func newLaunce(goroutines int) *launceRec {
	r := &launceRec{statsCh: make(chan *launcestats.Stats), merged: launcestats.New()}
	n := (max(goroutines, 1) + LaunceAggregationUsers - 1) / LaunceAggregationUsers
	for range n {
		a := launcestats.NewCollector(r.statsCh, LaunceNotifyInterval)
		a.Retain() // the generator's reference
		r.aggs = append(r.aggs, a)
	}
	// The worker's merge loop. It is never stopped: an aggregator may still
	// send its final (empty) stats after Close, and must not block.
	go func() {
		for s := range r.statsCh {
			r.mu.Lock()
			r.merged.Merge(s)
			r.mu.Unlock()
		}
	}()
	return r
}

func (r *launceRec) Handle(w int) Handle {
	a := r.aggs[w/LaunceAggregationUsers]
	a.Retain() // the user's reference
	return launceHandle{a}
}

func (r *launceRec) totals() Totals {
	r.mu.Lock()
	defer r.mu.Unlock()
	t := Totals{PerName: map[string]int64{}}
	for k, e := range r.merged.Entries {
		t.Requests += e.NumRequests
		t.Content += e.TotalContentLength
		t.PerName[key(k.Method, k.Name)] += e.NumRequests
	}
	return t
}

func (r *launceRec) Close(want int64, timeout time.Duration) (Totals, error) {
	for _, a := range r.aggs {
		a.Release() // the generator lets go, as at the end of a test
	}
	pollUntil(timeout, func() bool { return r.totals().Requests >= want })
	time.Sleep(3 * LaunceNotifyInterval) // let a double count show up
	return r.totals(), nil
}

type launceHandle struct{ a *launcestats.Aggregator }

func (h launceHandle) Record(_ int, method, name string, rt time.Duration, length int64) {
	h.a.Report(method, name, rt, length, nil)
}

func (h launceHandle) Done() { h.a.Release() }
