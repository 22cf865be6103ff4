package master

import (
	"maps"
	"slices"
	"time"

	"github.com/glocust/glocust/protocol"
)

// LatencyBoundsMs returns the upper bounds (ms) of the latency histograms'
// buckets, shared by /metrics and Snapshot (a copy).
func LatencyBoundsMs() []int64 { return slices.Clone(latencyBoundsMs) }

// Snapshot is the run's metrics at one moment, for an exporter that is
// not Prometheus (OpenTelemetry, internal/otelexport). Like /metrics it is
// computed when asked, from the merged stats: the loop only copies
// counters and folds each entry's response times into the histogram
// buckets.
type Snapshot struct {
	Run  Run
	Time time.Time
	// StatsStart is when the stats were last cleared or reset: the start
	// of the cumulative counts.
	StatsStart time.Time
	// Endpoints are the merged stats per name and method (as many as
	// --max-request-names keeps), Total the aggregated row.
	Endpoints []EndpointSnapshot
	Total     EndpointSnapshot
	// ClassUsers are the users the workers report per class (every
	// configured class, 0 included), Users their sum, TargetUsers the
	// target of the current test.
	ClassUsers  map[string]int64
	Users       int64
	TargetUsers int
	// Workers counts the workers by state (ready, spawning, running,
	// missing, each present).
	Workers map[string]int
	// State is the master's state.
	State string
}

// EndpointSnapshot is one row of the stats.
type EndpointSnapshot struct {
	Name, Method       string
	Requests, Failures int64
	// Latency's BucketCounts has one count per LatencyBoundsMs bound (not
	// cumulative) and a last one above the last bound; Count is the
	// requests with a response time, SumSeconds their total.
	Latency LatencySnapshot
}

// LatencySnapshot is a latency histogram over LatencyBoundsMs.
type LatencySnapshot struct {
	Count        uint64
	SumSeconds   float64
	BucketCounts []uint64
	// MinMs and MaxMs are the fastest and slowest response times (valid
	// when Count > 0).
	MinMs, MaxMs float64
}

// Snapshot returns the run's metrics now.
func (m *Master) Snapshot() Snapshot {
	var s Snapshot
	m.Do(func(v *View) { s = takeRunSnapshot(v) })
	return s
}

func takeRunSnapshot(v *View) Snapshot {
	agg := v.Stats()
	entries := agg.Entries()
	slots := len(latencyBoundsMs) + 1
	counts := make([]uint64, (len(entries)+1)*slots)
	s := Snapshot{Run: v.Run(), Time: v.c.cfg.Now(), StatsStart: floatSeconds(agg.Total().StartTime),
		Endpoints: make([]EndpointSnapshot, len(entries)), Users: v.UserCount(), TargetUsers: v.TargetUserCount(),
		ClassUsers: v.ClassCounts(), Workers: map[string]int{}, State: v.State()}
	for _, cls := range v.Classes() {
		s.ClassUsers[cls] += 0
	}
	for _, st := range []string{protocol.StateReady, protocol.StateSpawning, protocol.StateRunning, protocol.StateMissing} {
		s.Workers[st] = 0
	}
	maps.Copy(s.Workers, v.WorkersByState())
	for i, e := range entries {
		f := foldLatency(e, counts[i*slots:(i+1)*slots:(i+1)*slots])
		s.Endpoints[i] = EndpointSnapshot{Name: e.Name, Method: e.Method, Requests: e.NumRequests, Failures: e.NumFailures,
			Latency: LatencySnapshot{Count: f.count, SumSeconds: f.sum, BucketCounts: f.counts, MinMs: e.MinResponseTime, MaxMs: e.MaxResponseTime}}
	}
	tot := agg.Total()
	f := foldLatency(tot, counts[len(entries)*slots:])
	s.Total = EndpointSnapshot{Name: tot.Name, Method: tot.Method, Requests: tot.NumRequests, Failures: tot.NumFailures,
		Latency: LatencySnapshot{Count: f.count, SumSeconds: f.sum, BucketCounts: f.counts, MinMs: tot.MinResponseTime, MaxMs: tot.MaxResponseTime}}
	return s
}

// floatSeconds is an epoch time in float seconds as a time.Time.
func floatSeconds(s float64) time.Time {
	sec := int64(s)
	return time.Unix(sec, int64((s-float64(sec))*1e9))
}
