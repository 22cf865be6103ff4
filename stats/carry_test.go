package stats

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/glocust/glocust/protocol"
)

// randomReports records random requests into a registry and reports every
// few simulated seconds.
func randomReports(rng *rand.Rand, n int) []Report {
	now := t0
	reg := NewRegistry(WithClock(func() time.Time { return now }), WithShards(2))
	defer reg.Close()
	names := []string{"/a", "/b", "/c"}
	var out []Report
	for range n {
		for range rng.IntN(40) {
			now = now.Add(time.Duration(rng.IntN(200)) * time.Millisecond)
			e := reg.Entry([]string{"GET", "POST"}[rng.IntN(2)], names[rng.IntN(len(names))])
			rt := time.Duration(rng.ExpFloat64() * float64(200*time.Millisecond))
			switch rng.IntN(10) {
			case 0:
				e.RecordFailure(now, rt, 0, fmt.Sprintf("error %d", rng.IntN(3)))
			case 1:
				e.RecordUntimed(now, 10)
			default:
				e.Record(now, rt, int64(rng.IntN(1000)))
			}
		}
		now = now.Add(time.Second)
		out = append(out, reg.Report(now))
	}
	return out
}

// summaryView is what a master exposes of a Summary, float sums rounded
// (the carry adds floats in another order).
type summaryView struct {
	Name, Method                          string
	Requests, None, Failures, Content     int64
	TotalRT                               float64
	MaxRT, MinRT, Start, Last             float64
	HasMin                                bool
	ResponseTimes, ReqsPerSec, FailPerSec []protocol.Bucket
	Median                                float64
	P95                                   int64
}

func view(s *Summary) summaryView {
	return summaryView{Name: s.Name, Method: s.Method, Requests: s.NumRequests, None: s.NumNoneRequests,
		Failures: s.NumFailures, Content: s.TotalContentLength, TotalRT: math.Round(s.TotalResponseTime*1e6) / 1e6,
		MaxRT: s.MaxResponseTime, MinRT: s.MinResponseTime, HasMin: s.HasMin, Start: s.StartTime,
		Last: s.LastRequestTimestamp, ResponseTimes: s.ResponseTimes.Sorted(), ReqsPerSec: s.NumReqsPerSec.Sorted(),
		FailPerSec: s.NumFailPerSec.Sorted(), Median: s.Median(), P95: s.Percentile(0.95)}
}

func aggView(a *Aggregate) ([]summaryView, summaryView, []protocol.StatsError) {
	var es []summaryView
	for _, s := range a.Entries() {
		es = append(es, view(s))
	}
	return es, view(a.Total()), a.Errors()
}

func merge(a *Aggregate, r Report) {
	a.Merge(&protocol.Stats{Stats: r.Entries, Total: r.Total, Errors: r.Errors}, t0)
}

// TestCarryEqualsSeparateReports: a master that merges a carried sum of
// reports ends with what it has after merging each report, for any split
// of a run into carried and delivered reports.
func TestCarryEqualsSeparateReports(t *testing.T) {
	t.Parallel()
	for seed := range uint64(30) {
		rng := rand.New(rand.NewPCG(seed, 7))
		reports := randomReports(rng, 1+rng.IntN(8))
		each := NewAggregate(t0)
		for _, r := range reports {
			merge(each, r)
		}
		carried := NewAggregate(t0)
		var c Carry
		for _, r := range reports {
			if rng.IntN(3) == 0 {
				merge(carried, c.Merge(r)) // delivered, with what was carried
			} else {
				c.Add(r) // not delivered
			}
		}
		if !c.Empty() {
			merge(carried, c.Take())
		}
		if !c.Empty() || c.Reports() != 0 {
			t.Fatalf("seed %d: the carry is not empty after Take", seed)
		}
		e1, t1, err1 := aggView(each)
		e2, t2, err2 := aggView(carried)
		if !reflect.DeepEqual(e1, e2) || !reflect.DeepEqual(t1, t2) || !reflect.DeepEqual(err1, err2) {
			t.Fatalf("seed %d: carried merge differs\n each:    %+v\n %+v\n %+v\n carried: %+v\n %+v\n %+v", seed, e1, t1, err1, e2, t2, err2)
		}
	}
}

// TestCarryKeepsReports: Take sorts as Report does, the totals add up, and
// adding never changes the report added.
func TestCarryKeepsReports(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(3, 4))
	reports := randomReports(rng, 5)
	before := encodeReports(t, reports)
	var c Carry
	var requests int64
	for _, r := range reports {
		c.Add(r)
		requests += r.Total.NumRequests
	}
	if c.Requests() != requests || c.Reports() != len(reports) {
		t.Fatalf("carry holds %d requests in %d reports, want %d in %d", c.Requests(), c.Reports(), requests, len(reports))
	}
	got := c.Take()
	if after := encodeReports(t, reports); after != before {
		t.Fatal("Add changed the reports it was given")
	}
	for i := 1; i < len(got.Entries); i++ {
		a, b := got.Entries[i-1], got.Entries[i]
		if !entryLess(a.Name, a.Method, b.Name, b.Method) {
			t.Fatalf("entries not sorted: %s %s before %s %s", a.Name, a.Method, b.Name, b.Method)
		}
	}
	for i := 1; i < len(got.Errors); i++ {
		if got.Errors[i-1].Key >= got.Errors[i].Key {
			t.Fatalf("errors not sorted by key")
		}
	}
	var sum int64
	for _, e := range got.Entries {
		checkConsistent(t, e)
		sum += e.NumRequests
	}
	if sum != requests || got.Total.NumRequests != requests || got.Total.Name != TotalName {
		t.Fatalf("entries sum %d, total %d (%q), want %d", sum, got.Total.NumRequests, got.Total.Name, requests)
	}
	if !reflect.DeepEqual(new(Carry).Take(), Report{}) {
		t.Fatal("an empty carry takes a non-zero report")
	}
	if r := reports[0]; !reflect.DeepEqual(new(Carry).Merge(r), r) {
		t.Fatal("merging into an empty carry changes the report")
	}
}

// encodeReports is the reports as stats messages on the wire.
func encodeReports(t *testing.T, rs []Report) string {
	t.Helper()
	var b []byte
	for _, r := range rs {
		var err error
		if b, err = protocol.AppendEncode(b, "w", &protocol.Stats{Stats: r.Entries, Total: r.Total, Errors: r.Errors}); err != nil {
			t.Fatal(err)
		}
	}
	return string(b)
}
