package statsbench

import (
	"sync"
	"time"

	"github.com/glocust/glocust/stats"
)

// ReportInterval is how often the glocust recorder's reporter calls
// Registry.Report during a run, as the worker does for each stats message.
var ReportInterval = 3 * time.Second

// glocust variants (see recorders.go).
const (
	glocustObserve = iota // cached *Entry per request definition, Entry.Observe
	glocustCached         // cached *Entry per request definition, Entry.Record(time.Now(), ...)
	glocustLookup         // Registry.Entry(method, name).Record(time.Now(), ...) per record
)

type glocustRec struct {
	reg     *stats.Registry
	variant int

	stop     chan struct{}
	reporter sync.WaitGroup
	mu       sync.Mutex
	totals   Totals
}

func newGlocust(variant int) *glocustRec {
	r := &glocustRec{reg: stats.NewRegistry(), variant: variant, stop: make(chan struct{}),
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
	switch r.variant {
	case glocustCached:
		return &glocustCachedHandle{reg: r.reg}
	case glocustLookup:
		return glocustLookupHandle{r.reg}
	}
	return &glocustHandle{reg: r.reg}
}

func (r *glocustRec) Close(int64, time.Duration) (Totals, error) {
	close(r.stop)
	r.reporter.Wait()
	r.add(r.reg.Report(time.Now()))
	r.reg.Close() // stops the coarse clock goroutine Observe started
	return r.totals, nil
}

// glocustHandle is how glocust's worker records: the *stats.Entry is
// resolved once per request definition (the scenario's HTTP client keeps it
// in the prepared request) and the record is stamped by the registry's
// coarse clock (Entry.Observe), so the record path reads no clock.
type glocustHandle struct {
	reg     *stats.Registry
	entries [NumNames]*stats.Entry
}

func (h *glocustHandle) Record(def int, method, name string, rt time.Duration, length int64) {
	e := h.entries[def]
	if e == nil {
		e = h.reg.Entry(method, name)
		h.entries[def] = e
	}
	e.Observe(rt, length)
}

func (*glocustHandle) Done() {}

// glocustCachedHandle: the same cached entries, recorded with the caller's
// time.Now() (Entry.Record), as the scenario runner does today.
type glocustCachedHandle struct {
	reg     *stats.Registry
	entries [NumNames]*stats.Entry
}

func (h *glocustCachedHandle) Record(def int, method, name string, rt time.Duration, length int64) {
	e := h.entries[def]
	if e == nil {
		e = h.reg.Entry(method, name)
		h.entries[def] = e
	}
	e.Record(time.Now(), rt, length)
}

func (*glocustCachedHandle) Done() {}

// glocustLookupHandle looks the entry up in the registry on every record
// and stamps it with time.Now().
type glocustLookupHandle struct{ reg *stats.Registry }

func (h glocustLookupHandle) Record(_ int, method, name string, rt time.Duration, length int64) {
	h.reg.Entry(method, name).Record(time.Now(), rt, length)
}

func (glocustLookupHandle) Done() {}
