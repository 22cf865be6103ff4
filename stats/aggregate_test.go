package stats

import (
	"testing"
	"time"

	"github.com/glocust/glocust/protocol"
)

func TestAggregateErrorsAndReset(t *testing.T) {
	t.Parallel()
	a := NewAggregate(t0)
	a.Merge(&protocol.Stats{Errors: []protocol.StatsError{
		{Key: "b", Occurrences: 2}, // 4-key form: seen is None
		{Key: "a", Occurrences: 1, FirstSeen: 5, LastSeen: 6, HasSeen: true},
	}}, t0)
	a.Merge(&protocol.Stats{Errors: []protocol.StatsError{
		{Key: "b", Occurrences: 3, FirstSeen: 2, LastSeen: 9, HasSeen: true},
		{Key: "a", Occurrences: 1, FirstSeen: 4, LastSeen: 5, HasSeen: true},
	}}, t0)
	got := a.Errors()
	want := []protocol.StatsError{
		{Key: "a", Occurrences: 2, FirstSeen: 4, LastSeen: 6, HasSeen: true},
		{Key: "b", Occurrences: 5, FirstSeen: 2, LastSeen: 9, HasSeen: true},
	}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("errors\n got %+v\nwant %+v", got, want)
	}
	if got, want := a.ErrorsByArrival()[0].Key, "b"; got != want {
		t.Errorf("arrival order starts with %q, want %q", got, want)
	}

	a.Merge(&protocol.Stats{Stats: []protocol.StatsEntry{{Name: "/x", Method: "GET", NumRequests: 1, StartTime: 1}}}, t0)
	a.Reset(t0.Add(time.Second))
	if got, want := len(a.Entries()), 1; got != want {
		t.Errorf("entries after Reset %d, want %d", got, want)
	}
	if got := a.Entries()[0]; got.NumRequests != 0 || got.StartTime != 1_700_000_001 {
		t.Errorf("entry after Reset %+v", got)
	}
	if got := len(a.Errors()); got != 0 {
		t.Errorf("errors after Reset %d", got)
	}
	a.Clear(t0.Add(2 * time.Second))
	if got := len(a.Entries()); got != 0 {
		t.Errorf("entries after Clear %d", got)
	}
	if got, want := a.Total().StartTime, 1_700_000_002.0; got != want {
		t.Errorf("total start %v, want %v", got, want)
	}
}

func TestSummaryEmpty(t *testing.T) {
	t.Parallel()
	s := NewAggregate(t0).Total()
	for name, got := range map[string]float64{
		"avg": s.Avg(), "median": s.Median(), "rps": s.CurrentRPS(t0), "total_rps": s.TotalRPS(),
		"fail_ratio": s.FailRatio(), "avg_content": s.AvgContentLength(), "p95": float64(s.Percentile(0.95)),
	} {
		if got != 0 {
			t.Errorf("%s = %v, want 0", name, got)
		}
	}
}
