// Package statsbench compares the request-statistics record path of glocust
// (stats.Registry) with those of the two Go Locust workers, launce
// (github.com/qitoi/launce) and boomer (github.com/myzhan/boomer), driven by
// one benchmark loop (drive.go). Each recorder is driven through its
// library's normal per-record call, doing per record what its users' code
// does per request, and nothing more:
//
//   - glocust: the *stats.Entry resolved once per (goroutine, request
//     definition), as glocust's worker keeps it in each prepared request,
//     then Entry.Observe(rt, length) per record: the registry's coarse clock
//     stamps the record, so no clock is read per record. A reporter calls
//     Registry.Report every 3 s as the worker does.
//   - glocust-cached: the same cached entries with
//     Entry.Record(time.Now(), rt, length), the caller reading the clock
//     per record (what glocust's scenario runner does today).
//   - glocust-lookup: Registry.Entry(method, name).Record(time.Now(), rt,
//     length) per record, no caching by the caller.
//   - launce: stats.Aggregator.Report(method, name, rt, length, nil) per
//     record, which is what launce's User.Report calls for every request
//     (it looks the entry up by name and reads the clock itself), with one
//     aggregator per 100 goroutines (launce's LoadGenerator default
//     StatsAggregationUsers = 100) notifying every 100 ms (its default
//     StatsNotifyInterval) into a channel the worker merges with Stats.Merge,
//     as launce's worker does.
//   - boomer: Boomer.RecordSuccess(method, name, ms, length) per record on a
//     standalone Boomer (no master), what boomer's users call per request;
//     boomer sends each record over its stats channel to one stats
//     goroutine (which reads the clock per record), reporting through an
//     Output every 3 s.
//   - clock: a baseline, not a recorder: time.Now() and a goroutine-local
//     count per record, the cost of one clock read here (launce and boomer
//     read it once per record inside their record path, glocust-cached and
//     glocust-lookup in the caller; glocust does not).
//
// The loop hands every recorder the same (request definition index, method,
// name, response time, length) per record; each uses what its API takes
// (glocust's worker has the definition, launce and boomer take names).
//
// After a run, each recorder's own reported totals (requests, per-name
// requests, content length) are checked against what the loop recorded, so
// a recorder that drops or double-counts records is caught.
package statsbench

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// NumNames is the number of distinct request names recorded.
const NumNames = 20

// Method is the request type of every record.
const Method = "GET"

// Names are the request names, recorded round-robin.
var Names = func() [NumNames]string {
	var out [NumNames]string
	for i := range out {
		out[i] = fmt.Sprintf("/api/item/%02d", i)
	}
	return out
}()

// Kinds lists the recorders, in the order they run.
var Kinds = []string{"glocust", "glocust-cached", "launce", "boomer", "clock", "glocust-lookup"}

// Handle is one producer goroutine's view of a recorder, as a user (a
// goroutine of load) holds it.
type Handle interface {
	// Record records one request of request definition def (0 <= def <
	// NumNames), which has method and name.
	Record(def int, method, name string, rt time.Duration, length int64)
	// Done is called once when the goroutine has finished recording.
	Done()
}

// Recorder is one stats implementation under test.
type Recorder interface {
	// Handle returns the handle of producer w; it is called for every
	// producer before the start gate opens.
	Handle(w int) Handle
	// Close flushes the recorder after every Handle is Done and returns
	// what the recorder itself reports. want is the number of requests
	// recorded: recorders that report asynchronously are polled until they
	// report at least that many or timeout passes.
	Close(want int64, timeout time.Duration) (Totals, error)
}

// New returns a recorder of the given kind for a run of goroutines producers.
func New(kind string, goroutines int) (Recorder, error) {
	switch kind {
	case "glocust":
		return newGlocust(glocustObserve), nil
	case "glocust-cached":
		return newGlocust(glocustCached), nil
	case "glocust-lookup":
		return newGlocust(glocustLookup), nil
	case "launce":
		return newLaunce(goroutines), nil
	case "boomer":
		return newBoomer()
	case "clock":
		return newClock(), nil
	}
	return nil, fmt.Errorf("unknown recorder %q (want one of %s)", kind, strings.Join(Kinds, ", "))
}

// Totals is what a recorder reports, summed over all its reports.
type Totals struct {
	Requests int64
	Content  int64
	PerName  map[string]int64 // key: method + " " + name
}

func key(method, name string) string { return method + " " + name }

// Check compares a recorder's totals with what was recorded.
func (t Totals) Check(r Result) error {
	var errs []string
	if t.Requests != r.Records {
		errs = append(errs, fmt.Sprintf("total requests: reported %d, recorded %d", t.Requests, r.Records))
	}
	if t.Content != r.Content {
		errs = append(errs, fmt.Sprintf("total content length: reported %d, recorded %d", t.Content, r.Content))
	}
	seen := 0
	for i, n := range r.PerName {
		k := key(Method, Names[i])
		if n != 0 {
			seen++
		}
		if got := t.PerName[k]; got != n {
			errs = append(errs, fmt.Sprintf("%s: reported %d, recorded %d", k, got, n))
		}
	}
	if len(t.PerName) > NumNames {
		var extra []string
		for k := range t.PerName {
			extra = append(extra, k)
		}
		sort.Strings(extra)
		errs = append(errs, fmt.Sprintf("unexpected entries: %v", extra))
	}
	if len(errs) > 0 {
		return fmt.Errorf("reported totals differ from what was recorded: %s", strings.Join(errs, "; "))
	}
	return nil
}

// pollUntil calls f every 10 ms until it returns true or timeout passes.
func pollUntil(timeout time.Duration, f func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if f() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
}
