package stats

import (
	"fmt"
	"sync"
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
// released together by a start gate.
func BenchmarkRecord(b *testing.B) {
	for _, shards := range []int{0, 1} { // 0: one per P (default)
		for _, g := range []int{1, 8, 1000} {
			b.Run(fmt.Sprintf("shards=%d/goroutines=%d", shards, g), func(b *testing.B) {
				benchmarkRecord(b, NewRegistry(WithShards(shards)), g)
			})
		}
	}
}

func benchmarkRecord(b *testing.B, reg *Registry, g int) {
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
			for i := range n {
				entries[(w+i)%len(entries)].Record(now, time.Duration(i&1023)*time.Millisecond, 512)
			}
		}()
	}
	b.ResetTimer()
	start.Done()
	done.Wait()
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
