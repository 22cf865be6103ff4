package statsbench

import (
	"fmt"
	"testing"
	"time"
)

var goroutineCounts = []int{1, 8, 1000}

// BenchmarkRecord: b.N records spread over g goroutines and 20 names,
// released together by a start gate, for each recorder. ns/op is wall time
// per record over all goroutines, so 1e9/(ns/op) is records per second; the
// allocations include the recorders' own goroutines (boomer's and launce's
// consumers). The recorder is flushed outside the timer; the totals are
// checked in TestTotals and by cmd/statsbench.
func BenchmarkRecord(b *testing.B) {
	for _, kind := range Kinds {
		for _, g := range goroutineCounts {
			b.Run(fmt.Sprintf("%s/goroutines=%d", kind, g), func(b *testing.B) {
				rec, err := New(kind, g)
				if err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				res := Drive(rec, Load{Goroutines: g, Records: int64(b.N), Ready: b.ResetTimer})
				b.StopTimer()
				if _, err := rec.Close(0, 0); err != nil {
					b.Fatal(err)
				}
				if res.Records != int64(b.N) {
					b.Fatalf("recorded %d, want %d", res.Records, b.N)
				}
			})
		}
	}
}

// TestTotals checks that every recorder reports exactly what was recorded,
// at each goroutine count, with reports running while recording.
func TestTotals(t *testing.T) {
	old := ReportInterval
	ReportInterval = 20 * time.Millisecond // many glocust reports during the run
	defer func() { ReportInterval = old }()
	for _, kind := range Kinds {
		for _, g := range goroutineCounts {
			t.Run(fmt.Sprintf("%s/goroutines=%d", kind, g), func(t *testing.T) {
				if kind == "boomer" && raceEnabled {
					t.Skip("boomer races on its own runner state under -race")
				}
				rec, err := New(kind, g)
				if err != nil {
					t.Fatal(err)
				}
				n := int64(200_000)
				if testing.Short() {
					n = 20_000
				}
				res := Drive(rec, Load{Goroutines: g, Records: n})
				tot, err := rec.Close(res.Records, 15*time.Second)
				if err != nil {
					t.Fatal(err)
				}
				if err := tot.Check(res); err != nil {
					t.Fatal(err)
				}
			})
		}
	}
}

// TestTotalsTimed is the duration-bound mode that cmd/statsbench uses.
func TestTotalsTimed(t *testing.T) {
	rec, err := New("glocust", 50)
	if err != nil {
		t.Fatal(err)
	}
	res := Drive(rec, Load{Goroutines: 50, Duration: 100 * time.Millisecond})
	if res.Records == 0 {
		t.Fatal("nothing recorded")
	}
	tot, err := rec.Close(res.Records, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := tot.Check(res); err != nil {
		t.Fatal(err)
	}
}

// TestCheckCatchesDrops makes sure Check fails when a record is missing.
func TestCheckCatchesDrops(t *testing.T) {
	rec, _ := New("glocust", 1)
	res := Drive(rec, Load{Goroutines: 1, Records: 100})
	tot, _ := rec.Close(res.Records, time.Second)
	tot.Requests--
	tot.PerName[key(Method, Names[3])]--
	if err := tot.Check(res); err == nil {
		t.Fatal("Check accepted a dropped record")
	}
}
