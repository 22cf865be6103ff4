package stats

import (
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/glocust/glocust/protocol"
)

var t0 = time.Unix(1_700_000_000, 0)

func sumBuckets(bs []protocol.Bucket) int64 {
	var n int64
	for _, b := range bs {
		n += b.Count
	}
	return n
}

// checkConsistent verifies one reported entry is internally consistent.
func checkConsistent(t *testing.T, se protocol.StatsEntry) {
	t.Helper()
	if got, want := sumBuckets(se.ResponseTimes), se.NumRequests-se.NumNoneRequests; got != want {
		t.Errorf("%s: response_times sum %d, want %d", se.Name, got, want)
	}
	if got, want := sumBuckets(se.NumReqsPerSec), se.NumRequests; got != want {
		t.Errorf("%s: num_reqs_per_sec sum %d, want %d", se.Name, got, want)
	}
	if got, want := sumBuckets(se.NumFailPerSec), se.NumFailures; got != want {
		t.Errorf("%s: num_fail_per_sec sum %d, want %d", se.Name, got, want)
	}
	if got, want := se.HasTimings, se.NumRequests > se.NumNoneRequests; got != want {
		t.Errorf("%s: HasTimings %v, want %v", se.Name, got, want)
	}
}

// TestRegistryConcurrentInvariant hammers entries from many goroutines
// while another goroutine reports: nothing is lost or counted twice, and
// every snapshot is internally consistent.
func TestRegistryConcurrentInvariant(t *testing.T) {
	t.Parallel()
	reg := NewRegistry(WithShards(4))
	const workers, perWorker = 16, 3000
	names := []string{"/a", "/b", "/c", "/d"}
	var stop atomic.Bool
	var reports []Report
	var rwg sync.WaitGroup
	rwg.Add(1)
	go func() {
		defer rwg.Done()
		now := t0
		for !stop.Load() {
			now = now.Add(time.Millisecond)
			reports = append(reports, reg.Report(now))
		}
		reports = append(reports, reg.Report(now.Add(time.Second)))
	}()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perWorker {
				e := reg.Entry("GET", names[(w+i)%len(names)])
				now := t0.Add(time.Duration(i%20) * time.Second) // 20 distinct seconds: ring collisions
				rt := time.Duration(i%5000) * 3 * time.Millisecond
				switch i % 10 {
				case 0:
					e.RecordFailure(now, rt, 10, fmt.Sprintf("err %d", i%3))
				case 1:
					e.RecordUntimed(now, 10)
				case 2:
					e.Record(now, -time.Millisecond, 10) // negative: locked overflow
				default:
					e.Record(now, rt, 10)
				}
			}
		}()
	}
	wg.Wait()
	stop.Store(true)
	rwg.Wait()

	var reqs, fails, none, content, errs int64
	for _, rep := range reports {
		var entryReqs int64
		for _, se := range rep.Entries {
			checkConsistent(t, se)
			entryReqs += se.NumRequests
		}
		checkConsistent(t, rep.Total)
		if got, want := rep.Total.NumRequests, entryReqs; got != want {
			t.Errorf("total %d, entries %d", got, want)
		}
		reqs += rep.Total.NumRequests
		fails += rep.Total.NumFailures
		none += rep.Total.NumNoneRequests
		content += rep.Total.TotalContentLength
		for _, e := range rep.Errors {
			errs += e.Occurrences
		}
	}
	const n = workers * perWorker
	if got, want := reqs, int64(n); got != want {
		t.Errorf("requests %d, want %d", got, want)
	}
	if got, want := fails, int64(n/10); got != want {
		t.Errorf("failures %d, want %d", got, want)
	}
	if got, want := errs, int64(n/10); got != want {
		t.Errorf("error occurrences %d, want %d", got, want)
	}
	if got, want := none, int64(n/10); got != want {
		t.Errorf("none %d, want %d", got, want)
	}
	if got, want := content, int64(10*n); got != want {
		t.Errorf("content %d, want %d", got, want)
	}
}

func TestRegistryReportDelta(t *testing.T) {
	t.Parallel()
	clock := t0
	reg := NewRegistry(WithClock(func() time.Time { return clock }))
	e := reg.Entry("GET", "/x")
	e.Record(t0.Add(500*time.Millisecond), 12500*time.Microsecond, 100)
	e.Record(t0.Add(1500*time.Millisecond), 145*time.Millisecond, 50)
	e.RecordFailure(t0.Add(1600*time.Millisecond), 20*time.Minute, 0, "boom")
	reg.Entry("GET", "/idle")
	rep := reg.Report(t0.Add(3 * time.Second))
	if got, want := len(rep.Entries), 1; got != want {
		t.Fatalf("entries %d, want %d", got, want)
	}
	got := rep.Entries[0]
	want := protocol.StatsEntry{
		Name: "/x", Method: "GET", LastRequestTimestamp: 1_700_000_001.6, StartTime: 1_700_000_000,
		NumRequests: 3, NumFailures: 1, TotalResponseTime: 12.5 + 145 + 1_200_000,
		MaxResponseTime: 1_200_000, MinResponseTime: 12.5, HasTimings: true, TotalContentLength: 150,
		ResponseTimes: []protocol.Bucket{{Key: 12, Count: 1}, {Key: 140, Count: 1}, {Key: 1_200_000, Count: 1}},
		NumReqsPerSec: []protocol.Bucket{{Key: 1_700_000_000, Count: 1}, {Key: 1_700_000_001, Count: 2}},
		NumFailPerSec: []protocol.Bucket{{Key: 1_700_000_001, Count: 1}},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("entry\n got %+v\nwant %+v", got, want)
	}
	if got, want := rep.Total.Name, TotalName; got != want {
		t.Errorf("total name %q", got)
	}
	if got, want := len(rep.Errors), 1; got != want {
		t.Fatalf("errors %d, want %d", got, want)
	}
	if got, want := rep.Errors[0].Key, ErrorKey("GET", "/x", "boom"); got != want {
		t.Errorf("error key %s, want %s", got, want)
	}
	// The next report is a delta: empty, but the total is always present
	// and starts at the previous report.
	rep = reg.Report(t0.Add(6 * time.Second))
	if got, want := len(rep.Entries), 0; got != want {
		t.Errorf("entries %d, want %d", got, want)
	}
	if got, want := rep.Total.StartTime, 1_700_000_003.0; got != want {
		t.Errorf("total start %v, want %v", got, want)
	}
	if rep.Total.HasTimings || rep.Total.LastRequestTimestamp != 0 {
		t.Errorf("empty total has timings: %+v", rep.Total)
	}
}

func TestRegistryReset(t *testing.T) {
	t.Parallel()
	reg := NewRegistry()
	e := reg.Entry("GET", "/x")
	e.RecordFailure(t0, time.Millisecond, 1, "x")
	reg.Reset(t0.Add(time.Second))
	e.Record(t0.Add(2*time.Second), time.Millisecond, 1)
	rep := reg.Report(t0.Add(3 * time.Second))
	if got, want := rep.Total.NumRequests, int64(1); got != want {
		t.Errorf("requests %d, want %d", got, want)
	}
	if got, want := len(rep.Errors), 0; got != want {
		t.Errorf("errors %d, want %d", got, want)
	}
	if got, want := rep.Entries[0].StartTime, 1_700_000_001.0; got != want {
		t.Errorf("start %v, want %v", got, want)
	}
}

// TestRegistryFarTimes records seconds far apart within one interval, so
// ring slots collide and the locked overflow takes the rest.
func TestRegistryFarTimes(t *testing.T) {
	t.Parallel()
	reg := NewRegistry(WithShards(1))
	e := reg.Entry("GET", "/x")
	times := []time.Time{time.Unix(0, 0), time.Unix(8, 0), time.Unix(16, 0), t0, t0.Add(8 * time.Second),
		time.Unix(4_000_000_000, 0), time.Unix(-8, 0)}
	for i, tm := range times {
		for range i + 1 {
			e.RecordFailure(tm, time.Millisecond, 0, "e")
		}
	}
	rep := reg.Report(t0)
	se := rep.Entries[0]
	checkConsistent(t, se)
	got := map[int64]int64{}
	for _, b := range se.NumReqsPerSec {
		got[b.Key] = b.Count
	}
	for i, tm := range times {
		if got, want := got[tm.Unix()], int64(i+1); got != want {
			t.Errorf("second %d: %d, want %d", tm.Unix(), got, want)
		}
	}
	if got, want := se.LastRequestTimestamp, 4_000_000_000.0; got != want {
		t.Errorf("last %v, want %v", got, want)
	}
	if got, want := rep.Errors[0].FirstSeen, -8.0; got != want {
		t.Errorf("first seen %v, want %v", got, want)
	}
}

func TestRecordAllocs(t *testing.T) {
	reg := NewRegistry()
	e := reg.Entry("GET", "/x")
	e.RecordFailure(t0, time.Millisecond, 1, "boom")
	if n := testing.AllocsPerRun(1000, func() { e.Record(t0, 15*time.Millisecond, 100) }); n != 0 {
		t.Errorf("Record allocs %v", n)
	}
	if n := testing.AllocsPerRun(1000, func() { e.RecordFailure(t0, 15*time.Millisecond, 100, "boom") }); n != 0 {
		t.Errorf("RecordFailure allocs %v", n)
	}
	if n := testing.AllocsPerRun(1000, func() { reg.Entry("GET", "/x") }); n != 0 {
		t.Errorf("Entry allocs %v", n)
	}
	capped := NewRegistry(WithMaxNames(1), WithLogger(slog.New(slog.DiscardHandler)))
	capped.Entry("GET", "/x")
	capped.Entry("GET", "/y") // folded: makes the overflow entry
	capped.Report(t0)         // promotes it to the immutable map
	if n := testing.AllocsPerRun(1000, func() { capped.Entry("GET", "/z") }); n != 0 {
		t.Errorf("Entry allocs %v for a folded name", n)
	}
}

// TestErrorsManyTexts checks unique error texts beyond the copy-on-write
// cap are counted and then forgotten.
func TestErrorsManyTexts(t *testing.T) {
	t.Parallel()
	reg := NewRegistry(WithShards(1))
	e := reg.Entry("GET", "/x")
	const n = maxFastErrors + 500
	for i := range n {
		e.RecordFailure(t0, time.Millisecond, 0, fmt.Sprintf("<Obj object at 0x%x>", i))
	}
	rep := reg.Report(t0)
	if got, want := len(rep.Errors), 1; got != want {
		t.Fatalf("errors %d, want %d", got, want)
	}
	if got, want := rep.Errors[0].Occurrences, int64(n); got != want {
		t.Errorf("occurrences %d, want %d", got, want)
	}
	if got, want := rep.Errors[0].Error, "<Obj object at 0x....>"; got != want {
		t.Errorf("error %q, want %q", got, want)
	}
	e.errs.mu.Lock()
	defer e.errs.mu.Unlock()
	if got := len(e.errs.slow); got != 0 {
		t.Errorf("%d slow counters kept", got)
	}
}
