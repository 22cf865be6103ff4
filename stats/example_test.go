package stats_test

import (
	"fmt"
	"time"

	"github.com/glocust/glocust/protocol"
	"github.com/glocust/glocust/stats"
)

func ExampleRegistry() {
	start := time.Unix(1_700_000_000, 0)
	reg := stats.NewRegistry(stats.WithClock(func() time.Time { return start }))
	home := reg.Entry("GET", "/") // keep the entry; recording on it is lock-free

	home.Record(start.Add(time.Second), 145*time.Millisecond, 512)
	home.RecordFailure(start.Add(2*time.Second), 3*time.Millisecond, 0, "HTTPError('500 Server Error')")

	rep := reg.Report(start.Add(3 * time.Second))
	e := rep.Entries[0]
	fmt.Println(e.Method, e.Name, e.NumRequests, e.NumFailures, e.ResponseTimes)
	fmt.Println(rep.Total.Name, rep.Errors[0].Occurrences, rep.Errors[0].Error)

	// Master side: merge the report and read Locust's derived values.
	agg := stats.NewAggregate(start)
	agg.Merge(&protocol.Stats{Stats: rep.Entries, Total: rep.Total, Errors: rep.Errors}, start.Add(3*time.Second))
	s := agg.Entries()[0]
	fmt.Println(s.Median(), s.Percentile(0.95), s.FailRatio())
	// Output:
	// GET / 2 1 [{3 1} {140 1}]
	// Aggregated 1 HTTPError('500 Server Error')
	// 140 140 0.5
}
