package statsbench

import (
	"sync"
	"time"

	"github.com/glocust/glocust/stats"
)

// ReportInterval is how often the glocust recorder's reporter calls
// Registry.Report during a run, as the worker does for each stats message.
var ReportInterval = 3 * time.Second

type glocustRec struct {
	reg    *stats.Registry
	cached bool

	stop     chan struct{}
	reporter sync.WaitGroup
	mu       sync.Mutex
	totals   Totals
}

func newGlocust(cached bool) *glocustRec {
	r := &glocustRec{reg: stats.NewRegistry(), cached: cached, stop: make(chan struct{}),
		totals: Totals{PerName: map[string]int64{}}}
	interval := ReportInterval
	r.reporter.Add(1)
	go func() {
		defer r.reporter.Done()
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-r.stop:
				return
			case now := <-t.C:
				r.add(r.reg.Report(now))
			}
		}
	}()
	return r
}

func (r *glocustRec) add(rep stats.Report) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.totals.Requests += rep.Total.NumRequests
	r.totals.Content += rep.Total.TotalContentLength
	for _, e := range rep.Entries {
		r.totals.PerName[key(e.Method, e.Name)] += e.NumRequests
	}
}

func (r *glocustRec) Handle(int) Handle {
	if r.cached {
		return &glocustCached{reg: r.reg}
	}
	return glocustHandle{r.reg}
}

func (r *glocustRec) Close(int64, time.Duration) (Totals, error) {
	close(r.stop)
	r.reporter.Wait()
	r.add(r.reg.Report(time.Now()))
	return r.totals, nil
}

// glocustHandle looks the entry up in the registry on every record.
type glocustHandle struct{ reg *stats.Registry }

func (h glocustHandle) Record(method, name string, rt time.Duration, length int64) {
	h.reg.Entry(method, name).Record(time.Now(), rt, length)
}

func (glocustHandle) Done() {}

// glocustCached keeps the entries it used, as a glocust user does.
type glocustCached struct {
	reg     *stats.Registry
	entries map[[2]string]*stats.Entry
}

func (h *glocustCached) Record(method, name string, rt time.Duration, length int64) {
	k := [2]string{method, name}
	e := h.entries[k]
	if e == nil {
		if h.entries == nil {
			h.entries = make(map[[2]string]*stats.Entry, NumNames)
		}
		e = h.reg.Entry(method, name)
		h.entries[k] = e
	}
	e.Record(time.Now(), rt, length)
}

func (*glocustCached) Done() {}
