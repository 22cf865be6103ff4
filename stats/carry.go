package stats

import (
	"sort"

	"github.com/glocust/glocust/protocol"
)

// Carry sums delta reports that were not delivered, so that the next
// report delivers them: a worker whose report could not be handed to a
// live connection adds it to its Carry, and merges the Carry into the
// report it sends next. The sum of reports is a report, with Locust's
// StatsEntry.extend per (name, method) and for the total, and the error
// merge of the master (occurrences summed, earliest first_seen, latest
// last_seen), so a master that merges the sum ends with exactly what it
// would have had from each report.
//
// Memory is bounded by what the reports hold: one entry per (name,
// method), Locust's response-time buckets, one per-second count per second
// carried, one error per key.
//
// The zero Carry is empty and ready to use. A Carry is not safe for
// concurrent use (the worker's loop owns it).
type Carry struct {
	entries map[entryKey]*protocol.StatsEntry
	total   protocol.StatsEntry
	errors  map[string]*protocol.StatsError
	reports int
}

// Empty reports whether nothing is carried.
func (c *Carry) Empty() bool { return c.reports == 0 }

// Reports returns how many reports were added since the carry was last
// emptied.
func (c *Carry) Reports() int { return c.reports }

// Requests returns the requests carried (the total's num_requests).
func (c *Carry) Requests() int64 { return c.total.NumRequests }

// Add adds r to the carry.
func (c *Carry) Add(r Report) {
	if c.reports == 0 {
		c.entries = map[entryKey]*protocol.StatsEntry{}
		c.errors = map[string]*protocol.StatsError{}
		c.total = cloneEntry(&r.Total)
	} else {
		extendEntry(&c.total, &r.Total)
	}
	c.reports++
	for i := range r.Entries {
		in := &r.Entries[i]
		k := entryKey{in.Method, in.Name}
		if e := c.entries[k]; e != nil {
			extendEntry(e, in)
		} else {
			e := cloneEntry(in)
			c.entries[k] = &e
		}
	}
	for _, in := range r.Errors {
		if ex := c.errors[in.Key]; ex != nil {
			mergeStatsError(ex, in)
		} else {
			e := in
			c.errors[in.Key] = &e
		}
	}
}

// Take returns everything carried as one report, entries sorted by (name,
// method) and errors by key as Registry.Report sorts them, and empties the
// carry. An empty carry returns the zero Report.
func (c *Carry) Take() Report {
	if c.reports == 0 {
		return Report{}
	}
	r := Report{Total: c.total}
	for _, e := range c.entries {
		r.Entries = append(r.Entries, *e)
	}
	sort.Slice(r.Entries, func(i, j int) bool {
		a, b := &r.Entries[i], &r.Entries[j]
		return entryLess(a.Name, a.Method, b.Name, b.Method)
	})
	for _, e := range c.errors {
		r.Errors = append(r.Errors, *e)
	}
	sort.Slice(r.Errors, func(i, j int) bool { return r.Errors[i].Key < r.Errors[j].Key })
	c.Clear()
	return r
}

// Merge returns r plus everything carried, and empties the carry; with
// nothing carried it returns r as it is.
func (c *Carry) Merge(r Report) Report {
	if c.reports == 0 {
		return r
	}
	c.Add(r)
	return c.Take()
}

// Clear drops everything carried.
func (c *Carry) Clear() { *c = Carry{} }

// cloneEntry copies e with buckets of its own, so that extending the copy
// never writes into the report it came from.
func cloneEntry(e *protocol.StatsEntry) protocol.StatsEntry {
	c := *e
	c.ResponseTimes = append([]protocol.Bucket(nil), e.ResponseTimes...)
	c.NumReqsPerSec = append([]protocol.Bucket(nil), e.NumReqsPerSec...)
	c.NumFailPerSec = append([]protocol.Bucket(nil), e.NumFailPerSec...)
	return c
}

// extendEntry is Locust's StatsEntry.extend on the wire form. The merged
// times are floats (IntTimings is cleared): glocust's workers send floats.
func extendEntry(dst, src *protocol.StatsEntry) {
	if src.LastRequestTimestamp != 0 && (dst.LastRequestTimestamp == 0 || src.LastRequestTimestamp > dst.LastRequestTimestamp) {
		dst.LastRequestTimestamp = src.LastRequestTimestamp
	}
	dst.StartTime = min(dst.StartTime, src.StartTime)
	dst.NumRequests += src.NumRequests
	dst.NumNoneRequests += src.NumNoneRequests
	dst.NumFailures += src.NumFailures
	dst.TotalResponseTime += src.TotalResponseTime
	dst.MaxResponseTime = max(dst.MaxResponseTime, src.MaxResponseTime)
	if src.HasTimings && (!dst.HasTimings || src.MinResponseTime < dst.MinResponseTime) {
		dst.MinResponseTime = src.MinResponseTime
	}
	dst.HasTimings = dst.HasTimings || src.HasTimings
	dst.IntTimings = 0
	dst.TotalContentLength += src.TotalContentLength
	dst.ResponseTimes = addBuckets(dst.ResponseTimes, src.ResponseTimes)
	dst.NumReqsPerSec = addBuckets(dst.NumReqsPerSec, src.NumReqsPerSec)
	dst.NumFailPerSec = addBuckets(dst.NumFailPerSec, src.NumFailPerSec)
}

// addBuckets returns the per-key sum of a and b, in ascending key order.
func addBuckets(a, b []protocol.Bucket) []protocol.Bucket {
	if len(b) == 0 {
		return a
	}
	m := make(map[int64]int64, len(a)+len(b))
	for _, x := range a {
		m[x.Key] += x.Count
	}
	for _, x := range b {
		m[x.Key] += x.Count
	}
	return sortedBuckets(m)
}

// mergeStatsError adds in to ex as Locust's master does (on_worker_report):
// occurrences summed, the earliest first_seen and the latest last_seen
// kept (0, None, is no time).
func mergeStatsError(ex *protocol.StatsError, in protocol.StatsError) {
	ex.Occurrences += in.Occurrences
	ex.HasSeen = ex.HasSeen || in.HasSeen
	if in.FirstSeen != 0 {
		if ex.FirstSeen == 0 {
			ex.FirstSeen = in.FirstSeen
		} else {
			ex.FirstSeen = min(ex.FirstSeen, in.FirstSeen)
		}
	}
	if in.LastSeen != 0 {
		if ex.LastSeen == 0 {
			ex.LastSeen = in.LastSeen
		} else {
			ex.LastSeen = max(ex.LastSeen, in.LastSeen)
		}
	}
}
