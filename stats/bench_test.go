package stats

import (
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/glocust/glocust/protocol"
)

var benchNames = func() []string {
	out := make([]string, 20)
	for i := range out {
		out[i] = fmt.Sprintf("/api/item/%d", i)
	}
	return out
}()

// BenchmarkRecord: b.N records spread over g goroutines and 20 names,
// released together by a start gate, with Record (the caller's time) or
// Observe (the registry's coarse clock). shards=1 sends every P but one
// through the locked spill shard. Besides wall ns/op it reports cpu-ns/op,
// the process's CPU time per record (steadier on a shared machine).
func BenchmarkRecord(b *testing.B) {
	for _, api := range []string{"record", "observe"} {
		for _, shards := range []int{0, 1} { // 0: one per P (default)
			for _, g := range []int{1, 8, 1000} {
				b.Run(fmt.Sprintf("%s/shards=%d/goroutines=%d", api, shards, g), func(b *testing.B) {
					reg := NewRegistry(WithShards(shards))
					defer reg.Close()
					benchmarkRecord(b, reg, g, api == "observe")
				})
			}
		}
	}
}

func benchmarkRecord(b *testing.B, reg *Registry, g int, observe bool) {
	entries := make([]*Entry, len(benchNames))
	for i, n := range benchNames {
		entries[i] = reg.Entry("GET", n)
	}
	now := time.Unix(1_700_000_000, 0)
	b.ReportAllocs()
	var start, done sync.WaitGroup
	start.Add(1)
	per := b.N / g
	for w := range g {
		n := per
		if w == 0 {
			n += b.N % g
		}
		done.Add(1)
		go func() {
			defer done.Done()
			start.Wait()
			if observe {
				for i := range n {
					entries[(w+i)%len(entries)].Observe(time.Duration(i&1023)*time.Millisecond, 512)
				}
				return
			}
			for i := range n {
				entries[(w+i)%len(entries)].Record(now, time.Duration(i&1023)*time.Millisecond, 512)
			}
		}()
	}
	entries[0].Observe(0, 0) // start the coarse clock outside the timer
	cpu0 := cpuTime()
	b.ResetTimer()
	start.Done()
	done.Wait()
	b.StopTimer()
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
}

// cpuTime is the process's user+system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func BenchmarkRecordFailure(b *testing.B) {
	reg := NewRegistry()
	e := reg.Entry("GET", "/x")
	now := time.Unix(1_700_000_000, 0)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			e.RecordFailure(now, 15*time.Millisecond, 0, "HTTPError('500 Server Error')")
		}
	})
}

// BenchmarkReport: one report of 20 entries with typical content.
func BenchmarkReport(b *testing.B) {
	reg := NewRegistry()
	entries := make([]*Entry, len(benchNames))
	for i, n := range benchNames {
		entries[i] = reg.Entry("GET", n)
	}
	now := time.Unix(1_700_000_000, 0)
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		for i := range 2000 {
			entries[i%len(entries)].Record(now.Add(time.Duration(i)*time.Millisecond), time.Duration(i)*time.Millisecond, 10)
		}
		b.StartTimer()
		reg.Report(now)
	}
}

// BenchmarkRecordOne: the record path alone, one goroutine, a loop without
// divisions: 16 entries, response times 0-127 ms, Record with a fixed time.
// cpu-ns/op is the process's CPU time per record: on a shared machine the
// wall-clock ns/op includes the time the thread waited for a core.
func BenchmarkRecordOne(b *testing.B) {
	reg := NewRegistry()
	var entries [16]*Entry
	for i := range entries {
		entries[i] = reg.Entry("GET", benchNames[i])
	}
	now := time.Unix(1_700_000_000, 0)
	b.ReportAllocs()
	cpu0 := cpuTime()
	for i := 0; b.Loop(); i++ {
		entries[i&15].Record(now, time.Duration(i&127)*time.Millisecond, 512)
	}
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
}

// BenchmarkNames: what distinct request names cost (namecap.go), over
// batches of 1,000 names /item/<n> (b.N counts batches; ns/name is per
// name):
//   - worker/new: Registry.Entry of a name not seen yet, below the cap,
//     and one Observe on it (which allocates its shard on this P);
//   - worker/folded: Registry.Entry of a name past the cap, found in its
//     method's overflow entry;
//   - master/new: Aggregate.Merge of a report entry with a new name;
//   - master/folded: the same past the cap, merged into the overflow entry.
//
// B/name (new) is the heap that 1,000 names keep, per name, measured once
// after a GC.
func BenchmarkNames(b *testing.B) {
	const batch = 1000
	names := make([]string, batch)
	for i := range names {
		names[i] = fmt.Sprintf("/item/%d", i)
	}
	quiet := WithLogger(slog.New(slog.DiscardHandler))
	newNames := func() *Registry {
		reg := NewRegistry(quiet, WithMaxNames(batch))
		for _, n := range names {
			reg.Entry("GET", n).Observe(time.Millisecond, 10)
		}
		return reg
	}
	// One report entry per name, as a worker sends them.
	reg := newNames()
	rep := reg.Report(time.Now())
	reg.Close()
	reports := make([]protocol.Stats, len(rep.Entries))
	for i := range rep.Entries {
		reports[i].Stats = rep.Entries[i : i+1]
	}
	merge := func(agg *Aggregate) {
		for i := range reports {
			agg.Merge(&reports[i], t0)
		}
	}
	report := func(b *testing.B, heap func() any) {
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/batch, "ns/name")
		if heap != nil {
			b.ReportMetric(heapPerName(heap, batch), "B/name")
		}
	}

	b.Run("worker/new", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			newNames().Close()
		}
		report(b, func() any { return newNames() })
	})
	b.Run("worker/folded", func(b *testing.B) {
		reg := NewRegistry(quiet, WithMaxNames(1))
		defer reg.Close()
		reg.Entry("GET", "/")
		reg.Entry("GET", names[0]) // past the cap: makes the overflow entry
		reg.Report(t0)             // promotes it
		b.ReportAllocs()
		for b.Loop() {
			for _, n := range names {
				reg.Entry("GET", n)
			}
		}
		report(b, nil)
	})
	b.Run("master/new", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			merge(NewAggregate(t0))
		}
		report(b, func() any { a := NewAggregate(t0); merge(a); return a })
	})
	b.Run("master/folded", func(b *testing.B) {
		agg := NewAggregate(t0, AggregateMaxNames(1))
		merge(agg)
		b.ReportAllocs()
		for b.Loop() {
			merge(agg)
		}
		report(b, nil)
	})
}

// heapPerName returns the live heap of what build returns, per name of n.
func heapPerName(build func() any, n int) float64 {
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	x := build()
	runtime.GC()
	runtime.ReadMemStats(&m1)
	runtime.KeepAlive(x)
	return float64(int64(m1.HeapAlloc)-int64(m0.HeapAlloc)) / float64(n)
}
