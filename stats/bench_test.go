package stats

import (
	"fmt"
	"sync"
	"syscall"
	"testing"
	"time"
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
