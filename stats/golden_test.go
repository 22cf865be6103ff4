package stats

import (
	"encoding/json"
	"math"
	"os"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/glocust/glocust/protocol"
)

// The golden run (testdata/gen_aggregate.py) drives Locust's own worker and
// master stats code; these tests replay it through Registry and Aggregate.

type goldenRun struct {
	Start       float64       `json:"start"`
	Rounds      []goldenRound `json:"rounds"`
	Checkpoints []goldenCheck `json:"checkpoints"`
}

type goldenRound struct {
	Now    float64       `json:"now"`
	Logs   []goldenLog   `json:"logs"`
	Stats  []goldenEntry `json:"stats"`
	Total  goldenEntry   `json:"stats_total"`
	Errors []goldenError `json:"errors"`
}

type goldenLog struct {
	T      float64 `json:"t"`
	Method string  `json:"method"`
	Name   string  `json:"name"`
	RTus   *int64  `json:"rt_us"`
	CL     int64   `json:"cl"`
	Error  *string `json:"error"`
}

type goldenEntry struct {
	Name          string     `json:"name"`
	Method        string     `json:"method"`
	Last          *float64   `json:"last_request_timestamp"`
	Start         float64    `json:"start_time"`
	NumRequests   int64      `json:"num_requests"`
	NumNone       int64      `json:"num_none_requests"`
	NumFailures   int64      `json:"num_failures"`
	TotalRT       float64    `json:"total_response_time"`
	MaxRT         float64    `json:"max_response_time"`
	MinRT         *float64   `json:"min_response_time"`
	ContentLength int64      `json:"total_content_length"`
	ResponseTimes [][2]int64 `json:"response_times"`
	ReqsPerSec    [][2]int64 `json:"num_reqs_per_sec"`
	FailPerSec    [][2]int64 `json:"num_fail_per_sec"`
}

type goldenError struct {
	Key         string   `json:"key"`
	Name        string   `json:"name"`
	Method      string   `json:"method"`
	Error       string   `json:"error"`
	Occurrences int64    `json:"occurrences"`
	FirstSeen   *float64 `json:"first_seen"`
	LastSeen    *float64 `json:"last_seen"`
}

type goldenCheck struct {
	After        int                    `json:"after"`
	Now          float64                `json:"now"`
	Entries      []goldenDerived        `json:"entries"`
	Total        goldenDerived          `json:"total"`
	ErrorsSorted []string               `json:"errors_sorted"`
	Errors       map[string]goldenError `json:"errors"`
}

type goldenDerived struct {
	Name               string   `json:"name"`
	Method             string   `json:"method"`
	NumRequests        int64    `json:"num_requests"`
	NumFailures        int64    `json:"num_failures"`
	Avg                float64  `json:"avg"`
	Median             float64  `json:"median"`
	Percentiles        []int64  `json:"percentiles"`
	CurrentPercentiles []*int64 `json:"current_percentiles"`
	CurrentRPS         float64  `json:"current_rps"`
	CurrentFailPerSec  float64  `json:"current_fail_per_sec"`
	TotalRPS           float64  `json:"total_rps"`
	TotalFailPerSec    float64  `json:"total_fail_per_sec"`
	FailRatio          float64  `json:"fail_ratio"`
	AvgContentLength   float64  `json:"avg_content_length"`
	Min                *float64 `json:"min"`
	Max                float64  `json:"max"`
	Start              float64  `json:"start_time"`
	Last               *float64 `json:"last_request_timestamp"`
}

var loadGolden = sync.OnceValues(func() (goldenRun, error) {
	var g goldenRun
	raw, err := os.ReadFile("testdata/aggregate.json")
	if err != nil {
		return g, err
	}
	return g, json.Unmarshal(raw, &g)
})

func golden(t *testing.T) goldenRun {
	t.Helper()
	g, err := loadGolden()
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func secondsToTime(s float64) time.Time {
	sec, frac := math.Modf(s)
	return time.Unix(int64(sec), int64(math.Round(frac*1e9)))
}

func buckets(p [][2]int64) []protocol.Bucket {
	var out []protocol.Bucket
	for _, b := range p {
		out = append(out, protocol.Bucket{Key: b[0], Count: b[1]})
	}
	return out
}

func (g goldenEntry) wire() protocol.StatsEntry {
	se := protocol.StatsEntry{
		Name: g.Name, Method: g.Method, StartTime: g.Start,
		NumRequests: g.NumRequests, NumNoneRequests: g.NumNone, NumFailures: g.NumFailures,
		TotalResponseTime: g.TotalRT, MaxResponseTime: g.MaxRT, TotalContentLength: g.ContentLength,
		ResponseTimes: buckets(g.ResponseTimes), NumReqsPerSec: buckets(g.ReqsPerSec), NumFailPerSec: buckets(g.FailPerSec),
	}
	if g.Last != nil {
		se.LastRequestTimestamp = *g.Last
	}
	if g.MinRT != nil {
		se.MinResponseTime, se.HasTimings = *g.MinRT, true
	}
	return se
}

func (g goldenError) wire() protocol.StatsError {
	se := protocol.StatsError{Key: g.Key, Name: g.Name, Method: g.Method, Error: g.Error, Occurrences: g.Occurrences, HasSeen: true}
	if g.FirstSeen != nil {
		se.FirstSeen = *g.FirstSeen
	}
	if g.LastSeen != nil {
		se.LastSeen = *g.LastSeen
	}
	return se
}

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol*max(1, math.Abs(a), math.Abs(b)) }

func checkEntry(t *testing.T, ctx string, got, want protocol.StatsEntry) {
	t.Helper()
	if !near(got.TotalResponseTime, want.TotalResponseTime, 1e-9) ||
		!near(got.LastRequestTimestamp, want.LastRequestTimestamp, 1e-12) ||
		!near(got.StartTime, want.StartTime, 1e-12) {
		t.Errorf("%s: times: got total %v last %v start %v, want %v %v %v", ctx,
			got.TotalResponseTime, got.LastRequestTimestamp, got.StartTime,
			want.TotalResponseTime, want.LastRequestTimestamp, want.StartTime)
	}
	got.TotalResponseTime, got.LastRequestTimestamp, got.StartTime = 0, 0, 0
	want.TotalResponseTime, want.LastRequestTimestamp, want.StartTime = 0, 0, 0
	gj, _ := json.Marshal(got)
	wj, _ := json.Marshal(want)
	if string(gj) != string(wj) {
		t.Errorf("%s:\n got %s\nwant %s", ctx, gj, wj)
	}
}

// TestRegistryMatchesLocustWorker replays the logged requests into a
// Registry per worker and compares every report with Locust's.
func TestRegistryMatchesLocustWorker(t *testing.T) {
	t.Parallel()
	g := golden(t)
	var clock time.Time
	clk := func() time.Time { return clock }
	clock = secondsToTime(g.Start)
	regs := []*Registry{NewRegistry(WithClock(clk), WithShards(2)), NewRegistry(WithClock(clk), WithShards(1))}
	for i, r := range g.Rounds {
		reg := regs[i%2]
		for _, l := range r.Logs {
			clock = secondsToTime(l.T)
			e := reg.Entry(l.Method, l.Name)
			switch {
			case l.RTus == nil:
				e.RecordUntimed(clock, l.CL)
			case l.Error != nil:
				e.RecordFailure(clock, time.Duration(*l.RTus)*time.Microsecond, l.CL, *l.Error)
			default:
				e.Record(clock, time.Duration(*l.RTus)*time.Microsecond, l.CL)
			}
		}
		clock = secondsToTime(r.Now)
		rep := reg.Report(clock)
		if got, want := len(rep.Entries), len(r.Stats); got != want {
			t.Fatalf("round %d: %d entries, want %d", i, got, want)
		}
		want := append([]goldenEntry(nil), r.Stats...)
		sort.Slice(want, func(a, b int) bool { return entryLess(want[a].Name, want[a].Method, want[b].Name, want[b].Method) })
		for j := range want {
			checkEntry(t, "round entry", rep.Entries[j], want[j].wire())
		}
		checkEntry(t, "round total", rep.Total, r.Total.wire())
		wantErrs := map[string]protocol.StatsError{}
		for _, e := range r.Errors {
			wantErrs[e.Key] = e.wire()
		}
		if got, want := len(rep.Errors), len(wantErrs); got != want {
			t.Errorf("round %d: %d errors, want %d", i, got, want)
		}
		for _, got := range rep.Errors {
			want := wantErrs[got.Key]
			if got.Name != want.Name || got.Method != want.Method || got.Error != want.Error ||
				got.Occurrences != want.Occurrences || !near(got.FirstSeen, want.FirstSeen, 1e-12) ||
				!near(got.LastSeen, want.LastSeen, 1e-12) {
				t.Errorf("round %d: error\n got %+v\nwant %+v", i, got, want)
			}
		}
	}
}

// TestAggregateMatchesLocustMaster merges Locust's worker reports and
// compares the derived values with Locust's master at each checkpoint.
func TestAggregateMatchesLocustMaster(t *testing.T) {
	t.Parallel()
	g := golden(t)
	a := NewAggregate(secondsToTime(g.Start))
	done := 0
	for _, cp := range g.Checkpoints {
		for ; done < cp.After; done++ {
			r := g.Rounds[done]
			s := &protocol.Stats{Total: r.Total.wire()}
			for _, e := range r.Stats {
				s.Stats = append(s.Stats, e.wire())
			}
			for _, e := range r.Errors {
				s.Errors = append(s.Errors, e.wire())
			}
			a.Merge(s, secondsToTime(r.Now))
		}
		now := secondsToTime(cp.Now)
		entries := a.Entries()
		if got, want := len(entries), len(cp.Entries); got != want {
			t.Fatalf("after %d: %d entries, want %d", cp.After, got, want)
		}
		for i, want := range cp.Entries {
			checkDerived(t, cp.After, entries[i], want, now)
		}
		checkDerived(t, cp.After, a.Total(), cp.Total, now)
		errs := a.Errors()
		if got, want := len(errs), len(cp.ErrorsSorted); got != want {
			t.Fatalf("after %d: %d errors, want %d", cp.After, got, want)
		}
		for i, got := range errs {
			want := cp.Errors[cp.ErrorsSorted[i]]
			if got.Key != cp.ErrorsSorted[i] || got.Occurrences != want.Occurrences || got.Error != want.Error ||
				got.FirstSeen != *want.FirstSeen || got.LastSeen != *want.LastSeen {
				t.Errorf("after %d: error %d\n got %+v\nwant %+v", cp.After, i, got, want)
			}
		}
	}
}

func checkDerived(t *testing.T, after int, s *Summary, w goldenDerived, now time.Time) {
	t.Helper()
	ctx := func(what string) string { return s.Method + " " + s.Name + " " + what }
	eq := func(what string, got, want float64) {
		t.Helper()
		if !near(got, want, 1e-12) {
			t.Errorf("after %d: %s = %v, want %v", after, ctx(what), got, want)
		}
	}
	if s.Name != w.Name || s.Method != w.Method || s.NumRequests != w.NumRequests || s.NumFailures != w.NumFailures {
		t.Errorf("after %d: got %s %s %d/%d, want %s %s %d/%d", after, s.Method, s.Name, s.NumRequests,
			s.NumFailures, w.Method, w.Name, w.NumRequests, w.NumFailures)
	}
	eq("avg", s.Avg(), w.Avg)
	eq("median", s.Median(), w.Median)
	eq("current_rps", s.CurrentRPS(now), w.CurrentRPS)
	eq("current_fail_per_sec", s.CurrentFailPerSec(now), w.CurrentFailPerSec)
	eq("total_rps", s.TotalRPS(), w.TotalRPS)
	eq("total_fail_per_sec", s.TotalFailPerSec(), w.TotalFailPerSec)
	eq("fail_ratio", s.FailRatio(), w.FailRatio)
	eq("avg_content_length", s.AvgContentLength(), w.AvgContentLength)
	eq("max", s.MaxResponseTime, w.Max)
	eq("start", s.StartTime, w.Start)
	if (w.Min != nil) != s.HasMin || w.Min != nil && *w.Min != s.MinResponseTime {
		t.Errorf("after %d: %s = %v/%v, want %v", after, ctx("min"), s.MinResponseTime, s.HasMin, w.Min)
	}
	for i, p := range PercentilesToReport {
		if got, want := s.Percentile(p), w.Percentiles[i]; got != want {
			t.Errorf("after %d: %s(%v) = %d, want %d", after, ctx("percentile"), p, got, want)
		}
		got, ok := s.CurrentPercentile(p, now)
		if want := w.CurrentPercentiles[i]; ok != (want != nil) || want != nil && got != *want {
			t.Errorf("after %d: %s(%v) = %d/%v, want %v", after, ctx("current percentile"), p, got, ok, want)
		}
	}
}
