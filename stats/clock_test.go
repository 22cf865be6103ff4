package stats

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// TestMain checks that no test leaves a goroutine behind (the coarse
// clock's ticker in particular).
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestObserveCoarseClock: Observe* stamp records with the registry's coarse
// clock, whose goroutine starts on first use and stops on Close; recording
// still works after Close.
func TestObserveCoarseClock(t *testing.T) {
	reg := NewRegistry()
	e := reg.Entry("GET", "/x")
	if reg.clk.running() {
		t.Fatal("clock goroutine started before any Observe")
	}
	before := time.Now()
	e.Observe(5*time.Millisecond, 10)
	if !reg.clk.running() {
		t.Fatal("clock goroutine not started by Observe")
	}
	time.Sleep(20 * CoarseClockTick)
	e.ObserveFailure(7*time.Millisecond, 20, "boom")
	e.ObserveUntimed(30)
	after := time.Now()

	rep := reg.Report(after)
	if len(rep.Entries) != 1 {
		t.Fatalf("entries %d, want 1", len(rep.Entries))
	}
	se := rep.Entries[0]
	checkConsistent(t, se)
	if se.NumRequests != 3 || se.NumFailures != 1 || se.NumNoneRequests != 1 || se.TotalContentLength != 60 {
		t.Errorf("requests %d failures %d none %d content %d, want 3 1 1 60",
			se.NumRequests, se.NumFailures, se.NumNoneRequests, se.TotalContentLength)
	}
	// The coarse clock lags by at most a tick (plus scheduling delay).
	lo, hi := float64(before.Add(-time.Second).UnixNano())/1e9, float64(after.UnixNano())/1e9
	if ts := se.LastRequestTimestamp; ts < lo || ts > hi {
		t.Errorf("last_request_timestamp %f not in [%f, %f]", ts, lo, hi)
	}
	var perSec int64
	for _, b := range se.NumReqsPerSec {
		if b.Key < before.Unix()-1 || b.Key > after.Unix() {
			t.Errorf("per-second key %d outside [%d, %d]", b.Key, before.Unix()-1, after.Unix())
		}
		perSec += b.Count
	}
	if perSec != 3 {
		t.Errorf("per-second counts %d, want 3", perSec)
	}
	if len(rep.Errors) != 1 || rep.Errors[0].Occurrences != 1 {
		t.Errorf("errors %+v", rep.Errors)
	}

	reg.Close()
	if reg.clk.running() {
		t.Fatal("clock goroutine still running after Close")
	}
	goleak.VerifyNone(t)
	reg.Close() // idempotent
	e.Observe(time.Millisecond, 1)
	if reg.clk.running() {
		t.Fatal("Observe after Close restarted the clock")
	}
	if got := reg.Report(time.Now()).Total.NumRequests; got != 1 {
		t.Errorf("after Close: %d requests, want 1", got)
	}
}

// TestObserveCustomClock: with WithClock, Observe* read that clock and no
// goroutine is started.
func TestObserveCustomClock(t *testing.T) {
	reg := NewRegistry(WithClock(func() time.Time { return t0 }))
	defer reg.Close()
	e := reg.Entry("GET", "/x")
	e.Observe(time.Millisecond, 1)
	if reg.clk.running() {
		t.Fatal("clock goroutine started with a custom clock")
	}
	se := reg.Report(t0).Entries[0]
	if got, want := se.LastRequestTimestamp, float64(t0.Unix()); got != want {
		t.Errorf("last_request_timestamp %v, want %v", got, want)
	}
	if len(se.NumReqsPerSec) != 1 || se.NumReqsPerSec[0].Key != t0.Unix() {
		t.Errorf("per second %+v", se.NumReqsPerSec)
	}
}

// TestClockStopsWhenRegistryIsGarbage: a registry dropped without Close
// does not leak its clock goroutine.
func TestClockStopsWhenRegistryIsGarbage(t *testing.T) {
	func() {
		reg := NewRegistry()
		reg.Entry("GET", "/x").Observe(time.Millisecond, 1)
		if !reg.clk.running() {
			t.Fatal("clock not running")
		}
	}()
	deadline := time.Now().Add(5 * time.Second)
	for {
		runtime.GC()
		if goleak.Find() == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal(goleak.Find())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestObserveCloseConcurrent: Close and Report while goroutines Observe.
func TestObserveCloseConcurrent(t *testing.T) {
	reg := NewRegistry()
	e := reg.Entry("GET", "/x")
	var n atomic.Int64
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20_000 {
				e.Observe(time.Millisecond, 1)
				n.Add(1)
			}
		}()
	}
	var total int64
	for range 5 {
		total += reg.Report(time.Now()).Total.NumRequests
		time.Sleep(time.Millisecond)
	}
	reg.Close()
	wg.Wait()
	total += reg.Report(time.Now()).Total.NumRequests
	if total != n.Load() {
		t.Errorf("reported %d, recorded %d", total, n.Load())
	}
}

// TestSpillShards runs more Ps than the entry has shards (GOMAXPROCS raised
// after creation, and a one-shard registry), and more error texts than the
// copy-on-write map takes, so records go through both the entry's own
// shards and the locked spill shards, with reports running: nothing lost
// or counted twice, every snapshot consistent. Not parallel: it changes
// GOMAXPROCS.
func TestSpillShards(t *testing.T) {
	for _, shards := range []int{0, 1} {
		t.Run(fmt.Sprintf("shards=%d", shards), func(t *testing.T) {
			old := runtime.GOMAXPROCS(2)
			reg := NewRegistry(WithShards(shards))
			runtime.GOMAXPROCS(8)
			defer runtime.GOMAXPROCS(old)
			defer reg.Close()
			es := []*Entry{reg.Entry("GET", "/a"), reg.Entry("GET", "/b")}
			const workers, per = 32, 2000
			var stop atomic.Bool
			var reps []Report
			var rwg sync.WaitGroup
			rwg.Add(1)
			go func() {
				defer rwg.Done()
				for !stop.Load() {
					reps = append(reps, reg.Report(t0))
				}
			}()
			var wg sync.WaitGroup
			for w := range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range per {
						e := es[(w+i)%len(es)]
						switch i % 4 {
						case 0:
							e.Observe(time.Duration(i)*time.Millisecond, 1)
						case 1:
							// More texts per entry than the copy-on-write map
							// takes: the slow map, recorded through the spill
							// shards. Divided by 4 (this case only sees i ≡ 1
							// mod 4), w*per+i gives each entry all
							// maxFastErrors+200 texts.
							e.RecordFailure(t0, time.Millisecond, 1, fmt.Sprintf("e%d", (w*per+i)/4%(maxFastErrors+200)))
						case 2:
							e.ObserveUntimed(1)
						default:
							e.Record(t0.Add(time.Duration(i%30)*time.Second), 2*time.Second, 1)
						}
						if i%64 == 0 {
							runtime.Gosched()
						}
					}
				}()
			}
			wg.Wait()
			stop.Store(true)
			rwg.Wait()
			reps = append(reps, reg.Report(t0))
			var reqs, fails, errs, content int64
			for _, rep := range reps {
				for _, se := range rep.Entries {
					checkConsistent(t, se)
				}
				checkConsistent(t, rep.Total)
				reqs += rep.Total.NumRequests
				fails += rep.Total.NumFailures
				content += rep.Total.TotalContentLength
				for _, e := range rep.Errors {
					errs += e.Occurrences
				}
			}
			const n = workers * per
			if reqs != n || content != n || fails != n/4 || errs != n/4 {
				t.Errorf("requests %d content %d failures %d errors %d, want %d %d %d %d",
					reqs, content, fails, errs, n, n, n/4, n/4)
			}
			if es[0].spill.Load() == nil {
				t.Error("spill shards never used")
			}
		})
	}
}

func TestObserveAllocs(t *testing.T) {
	reg := NewRegistry()
	defer reg.Close()
	e := reg.Entry("GET", "/x")
	e.ObserveFailure(time.Millisecond, 1, "boom")
	if n := testing.AllocsPerRun(1000, func() { e.Observe(15*time.Millisecond, 100) }); n != 0 {
		t.Errorf("Observe allocs %v", n)
	}
	if n := testing.AllocsPerRun(1000, func() { e.ObserveFailure(15*time.Millisecond, 100, "boom") }); n != 0 {
		t.Errorf("ObserveFailure allocs %v", n)
	}
	if n := testing.AllocsPerRun(1000, func() { e.ObserveUntimed(100) }); n != 0 {
		t.Errorf("ObserveUntimed allocs %v", n)
	}
}
