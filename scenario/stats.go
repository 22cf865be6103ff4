package scenario

import "time"

// EntryRecorder records the outcome of requests of one (method, name) pair.
// *stats.Entry satisfies it. Implementations must be safe for concurrent use:
// every user of a class records into the same entry.
type EntryRecorder interface {
	Record(now time.Time, responseTime time.Duration, contentLength int64)
	RecordFailure(now time.Time, responseTime time.Duration, contentLength int64, err string)
}

// Stats hands out the entry of a (method, name) pair. The runner looks an
// entry up once per request definition (or once per user for names built at
// run time) and caches it, never once per request. Implementations must be
// safe for concurrent use.
type Stats interface {
	Lookup(method, name string) EntryRecorder
}

// StatsFunc adapts a function to Stats, e.g. to wire a *stats.Registry:
//
//	scenario.StatsFunc(func(m, n string) scenario.EntryRecorder { return reg.Entry(m, n) })
type StatsFunc func(method, name string) EntryRecorder

// Lookup calls f.
func (f StatsFunc) Lookup(method, name string) EntryRecorder { return f(method, name) }

// discardStats is used when the runner is given nil Stats.
type discardStats struct{}

type discardEntry struct{}

func (discardStats) Lookup(string, string) EntryRecorder                   { return discardEntry{} }
func (discardEntry) Record(time.Time, time.Duration, int64)                {}
func (discardEntry) RecordFailure(time.Time, time.Duration, int64, string) {}

var (
	_ Stats         = StatsFunc(nil)
	_ Stats         = discardStats{}
	_ EntryRecorder = discardEntry{}
)
