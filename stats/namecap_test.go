package stats

import (
	"bytes"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/glocust/glocust/protocol"
)

// warnings returns a logger into a buffer and a function counting the
// WARN lines logged so far.
func warnings() (*slog.Logger, *bytes.Buffer, func() int) {
	var buf bytes.Buffer
	return slog.New(slog.NewTextHandler(&buf, nil)), &buf, func() int { return strings.Count(buf.String(), "level=WARN") }
}

func TestRegistryNameCap(t *testing.T) {
	t.Parallel()
	log, buf, warns := warnings()
	reg := NewRegistry(WithMaxNames(3), WithLogger(log))
	var recorded int64
	get := func(method, name string) *Entry {
		e := reg.Entry(method, name)
		e.Record(t0, time.Duration(recorded%7)*time.Millisecond, 10)
		recorded++
		return e
	}
	kept := []*Entry{get("GET", "/item/0"), get("GET", "/item/1"), get("POST", "/login")}
	if got, want := warns(), 0; got != want {
		t.Fatalf("%d warnings before the cap", got)
	}
	var folded []*Entry
	for i := 2; i < 500; i++ {
		folded = append(folded, get("GET", fmt.Sprintf("/item/%d", i)))
	}
	folded = append(folded, get("POST", "/item/9"), get("GET", OverflowName))
	for i, e := range kept {
		if got := reg.Entry(e.Method(), e.Name()); got != e {
			t.Errorf("kept entry %d not returned again", i)
		}
	}
	getOver, postOver := folded[0], folded[len(folded)-2]
	for _, e := range folded {
		if e.Name() != OverflowName || (e != getOver && e != postOver) {
			t.Fatalf("folded into %s %s", e.Method(), e.Name())
		}
	}
	if getOver.Method() != "GET" || postOver.Method() != "POST" {
		t.Errorf("overflow entries %s, %s: want one per method", getOver.Method(), postOver.Method())
	}
	if got, want := warns(), 1; got != want {
		t.Errorf("%d warnings, want %d:\n%s", got, want, buf)
	}
	for _, want := range []string{"More than 3 distinct request names", "GET /item/2", "2 of the 3 names kept look like GET /item/[id]", "e.g. /item/[id]"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("warning lacks %q:\n%s", want, buf)
		}
	}

	rep := reg.Report(t0)
	if got, want := len(rep.Entries), 5; got != want {
		t.Fatalf("%d entries, want %d (3 names, 2 overflow)", got, want)
	}
	var sum int64
	for _, se := range rep.Entries {
		checkConsistent(t, se)
		sum += se.NumRequests
	}
	if sum != recorded || rep.Total.NumRequests != recorded {
		t.Errorf("entries sum %d, total %d, want %d", sum, rep.Total.NumRequests, recorded)
	}
}

// TestRegistryFoldMethods: methods are free text, so overflow entries are
// bounded too.
func TestRegistryFoldMethods(t *testing.T) {
	t.Parallel()
	log, _, warns := warnings()
	reg := NewRegistry(WithMaxNames(1), WithLogger(log))
	reg.Entry("GET", "/")
	seen := map[*Entry]bool{}
	for i := range 3 * maxFoldMethods {
		seen[reg.Entry(fmt.Sprintf("M%d", i), "/x")] = true
	}
	if got, want := len(seen), maxFoldMethods+1; got != want {
		t.Errorf("%d overflow entries, want %d", got, want)
	}
	if e := reg.Entry(fmt.Sprintf("M%d", 2*maxFoldMethods), "/y"); e.Method() != "" || e.Name() != OverflowName {
		t.Errorf("a method past the fold bound went to %q %q", e.Method(), e.Name())
	}
	if got := warns(); got != 1 {
		t.Errorf("%d warnings, want 1", got)
	}
}

// TestRegistryManyNames: creating many entries costs O(n) in all (the
// immutable map is not copied per entry), and lookups find every one.
func TestRegistryManyNames(t *testing.T) {
	t.Parallel()
	const n = 20000
	reg := NewRegistry(WithMaxNames(n), WithShards(1))
	entries := make([]*Entry, n)
	for i := range entries {
		entries[i] = reg.Entry("GET", fmt.Sprintf("/n/%d", i))
	}
	for i, e := range entries {
		if got := reg.Entry("GET", fmt.Sprintf("/n/%d", i)); got != e || e.Name() != fmt.Sprintf("/n/%d", i) {
			t.Fatalf("entry %d: got %s", i, got.Name())
		}
	}
	if got := len(reg.all()); got != n {
		t.Errorf("%d entries, want %d", got, n)
	}
}

func TestRegistryErrorCap(t *testing.T) {
	t.Parallel()
	log, buf, warns := warnings()
	const maxNames = maxFastErrors + 50
	reg := NewRegistry(WithMaxNames(maxNames), WithShards(1), WithLogger(log))
	a, b := reg.Entry("GET", "/a"), reg.Entry("GET", "/b")
	// a: more texts than its copy-on-write map holds (some go to the slow
	// map), b: further texts, past the cap.
	const perA, perB = maxFastErrors + 30, 40
	for i := range perA {
		a.RecordFailure(t0, time.Millisecond, 0, fmt.Sprintf("a%d", i))
	}
	for i := range perB {
		b.RecordFailure(t0, time.Millisecond, 0, fmt.Sprintf("b%d", i))
	}
	rep := reg.Report(t0)
	texts, others, occ := 0, 0, int64(0)
	for _, se := range rep.Errors {
		occ += se.Occurrences
		if se.Error == OtherErrors {
			others++
			if want := ErrorKey(se.Method, se.Name, OtherErrors); se.Key != want || se.Name != "/b" {
				t.Errorf("other errors of %s, key %s, want /b, %s", se.Name, se.Key, want)
			}
			continue
		}
		texts++
	}
	if texts != maxNames || others != 1 || occ != perA+perB {
		t.Errorf("%d texts (want %d), %d other rows (want 1), %d occurrences (want %d)", texts, maxNames, others, occ, perA+perB)
	}
	if got := warns(); got != 1 || !strings.Contains(buf.String(), "GET /b: b20") {
		t.Errorf("%d warnings, want 1 naming GET /b: b20:\n%s", got, buf)
	}
	// The slow map's texts were forgotten at the report: their room is back.
	b.RecordFailure(t0, time.Millisecond, 0, "new")
	rep = reg.Report(t0)
	if len(rep.Errors) != 1 || rep.Errors[0].Error != "new" {
		t.Errorf("after a report, errors %+v, want the new text", rep.Errors)
	}
}

// row is a Summary's user-visible content.
type row struct {
	Name, Method                          string
	Requests, None, Failures, Content     int64
	Total, MaxRT, MinRT                   float64
	HasMin                                bool
	Start, Last                           float64
	ResponseTimes, ReqsPerSec, FailPerSec []protocol.Bucket
}

func rowOf(s *Summary) row {
	return row{s.Name, s.Method, s.NumRequests, s.NumNoneRequests, s.NumFailures, s.TotalContentLength,
		s.TotalResponseTime, s.MaxResponseTime, s.MinResponseTime, s.HasMin, s.StartTime, s.LastRequestTimestamp,
		s.ResponseTimes.Sorted(), s.NumReqsPerSec.Sorted(), s.NumFailPerSec.Sorted()}
}

func rows(a *Aggregate) []row {
	var out []row
	for _, s := range a.Entries() {
		out = append(out, rowOf(s))
	}
	return out
}

// abusiveReports are reports of three workers, each with names /item/<n>
// (n = 0..299, a third each, reported twice) and an id-free name.
func abusiveReports() []*protocol.Stats {
	var reps []*protocol.Stats
	for round := range 2 {
		for w := range 3 {
			reg := NewRegistry(WithShards(1))
			for n := w; n < 300; n += 3 {
				e := reg.Entry("GET", fmt.Sprintf("/item/%03d", n))
				for i := range n%4 + 1 {
					e.Record(t0.Add(time.Duration(round*3+i)*time.Second), time.Duration(n+i)*time.Millisecond, int64(n))
				}
				if n%10 == 0 {
					e.RecordFailure(t0, time.Duration(n)*time.Millisecond, 0, fmt.Sprintf("HTTP 500 for %d", n%30))
				}
			}
			reg.Entry("POST", "/login").Record(t0, time.Millisecond, 1)
			r := reg.Report(t0.Add(time.Duration(round*3+3) * time.Second))
			reps = append(reps, &protocol.Stats{Stats: r.Entries, Total: r.Total, Errors: r.Errors})
		}
	}
	return reps
}

// TestAggregateNameCap: past the cap, a master merges further names into
// the overflow entry: the aggregated row is unchanged, the overflow entry
// holds exactly the folded names' stats, and one warning is logged.
func TestAggregateNameCap(t *testing.T) {
	t.Parallel()
	log, buf, warns := warnings()
	const maxNames = 40
	capped := NewAggregate(t0, AggregateMaxNames(maxNames), AggregateLogger(log))
	full, folded := NewAggregate(t0), NewAggregate(t0)
	for _, r := range abusiveReports() {
		capped.Merge(r, t0)
		full.Merge(r, t0)
	}
	if got, want := rowOf(capped.Total()), rowOf(full.Total()); !reflect.DeepEqual(got, want) {
		t.Errorf("aggregated row\n got %+v\nwant %+v", got, want)
	}
	// The names kept are the first maxNames to arrive; the others, merged
	// into one entry by hand, must equal the overflow entry.
	keptNames := map[string]bool{}
	for _, s := range capped.Entries() {
		keptNames[s.Name] = true
	}
	var sum int64
	for _, s := range full.Entries() {
		if keptNames[s.Name] {
			continue
		}
		sum += s.NumRequests
		se := protocol.StatsEntry{Name: OverflowName, Method: s.Method, StartTime: s.StartTime,
			LastRequestTimestamp: s.LastRequestTimestamp, NumRequests: s.NumRequests, NumNoneRequests: s.NumNoneRequests,
			NumFailures: s.NumFailures, TotalResponseTime: s.TotalResponseTime, MaxResponseTime: s.MaxResponseTime,
			MinResponseTime: s.MinResponseTime, HasTimings: s.HasMin, TotalContentLength: s.TotalContentLength,
			ResponseTimes: s.ResponseTimes.Sorted(), NumReqsPerSec: s.NumReqsPerSec.Sorted(), NumFailPerSec: s.NumFailPerSec.Sorted()}
		folded.Merge(&protocol.Stats{Stats: []protocol.StatsEntry{se}}, t0)
	}
	var over []row
	for _, s := range capped.Entries() {
		if s.Name == OverflowName {
			over = append(over, rowOf(s))
		}
	}
	if got, want := over, rows(folded); len(got) != 2 || !reflect.DeepEqual(got, want) {
		t.Errorf("overflow entries\n got %+v\nwant %+v", got, want)
	}
	if got := len(capped.Entries()); got != maxNames+2 {
		t.Errorf("%d entries, want %d", got, maxNames+2)
	}
	if sum == 0 || warns() != 1 || !strings.Contains(buf.String(), "look like GET /item/[id]") {
		t.Errorf("folded %d requests, %d warnings, want 1 naming the pattern:\n%s", sum, warns(), buf)
	}
	var occCapped, occFull int64
	for _, e := range capped.Errors() {
		occCapped += e.Occurrences
	}
	for _, e := range full.Errors() {
		occFull += e.Occurrences
	}
	if occCapped != occFull || len(capped.Errors()) > maxNames+1 {
		t.Errorf("errors: %d occurrences in %d rows, want %d in at most %d", occCapped, len(capped.Errors()), occFull, maxNames+1)
	}

	// A new test starts over, and warns again.
	capped.Clear(t0)
	capped.Merge(abusiveReports()[0], t0)
	if got := warns(); got != 2 {
		t.Errorf("%d warnings after a Clear, want 2", got)
	}
}

func TestAggregateErrorCap(t *testing.T) {
	t.Parallel()
	log, buf, warns := warnings()
	const maxNames = 10
	a := NewAggregate(t0, AggregateMaxNames(maxNames), AggregateLogger(log))
	var errs []protocol.StatsError
	for i := range 3 * maxNames {
		text := fmt.Sprintf("timeout after %d ms", i)
		errs = append(errs, protocol.StatsError{Key: ErrorKey("GET", "/x", text), Method: "GET", Name: "/x", Error: text,
			Occurrences: int64(i + 1), FirstSeen: float64(i), LastSeen: float64(i + 1), HasSeen: true})
	}
	for range 2 {
		a.Merge(&protocol.Stats{Errors: errs}, t0)
	}
	got := a.ErrorsByArrival()
	if len(got) != maxNames+1 {
		t.Fatalf("%d errors, want %d", len(got), maxNames+1)
	}
	for i, e := range got[:maxNames] {
		want := errs[i]
		want.Occurrences *= 2
		if e != want {
			t.Errorf("error %d: %+v, want %+v", i, e, want)
		}
	}
	other := got[maxNames]
	want := protocol.StatsError{Key: ErrorKey("GET", "/x", OtherErrors), Method: "GET", Name: "/x", Error: OtherErrors,
		Occurrences: 0, FirstSeen: maxNames, LastSeen: 3 * maxNames, HasSeen: true}
	for _, e := range errs[maxNames:] {
		want.Occurrences += 2 * e.Occurrences
	}
	if other != want {
		t.Errorf("other errors %+v, want %+v", other, want)
	}
	if warns() != 1 || !strings.Contains(buf.String(), "GET /x: timeout after 10 ms") {
		t.Errorf("%d warnings, want 1 naming the first text folded:\n%s", warns(), buf)
	}
}

// TestAggregateWarnsAfterWorkerFold: a worker's overflow entry arrives
// before the master folds a name of its own into it: the master warns.
func TestAggregateWarnsAfterWorkerFold(t *testing.T) {
	t.Parallel()
	log, _, warns := warnings()
	a := NewAggregate(t0, AggregateMaxNames(1), AggregateLogger(log))
	a.Merge(&protocol.Stats{Stats: []protocol.StatsEntry{
		{Name: OverflowName, Method: "GET", NumRequests: 1},
		{Name: "/a", Method: "GET", NumRequests: 1},
	}}, t0)
	if got := warns(); got != 0 {
		t.Fatalf("%d warnings before the master folds", got)
	}
	a.Merge(&protocol.Stats{Stats: []protocol.StatsEntry{{Name: "/b", Method: "GET", NumRequests: 1}}}, t0)
	if got := warns(); got != 1 {
		t.Errorf("%d warnings, want 1", got)
	}
	if e := a.Entry("GET", OverflowName); e == nil || e.NumRequests != 2 {
		t.Errorf("overflow entry %+v, want 2 requests", e)
	}
}

// TestFoldConsistent: a glocust worker that folds before reporting and a
// worker that does not (a Python worker) give a master with the same cap
// the same rows and errors: the master folds as the worker does.
func TestFoldConsistent(t *testing.T) {
	t.Parallel()
	const maxNames = 10
	record := func(reg *Registry) Report {
		for n := range 100 { // created in the order of their names
			e := reg.Entry("GET", fmt.Sprintf("/item/%03d", n))
			e.Record(t0, time.Duration(n)*time.Millisecond, int64(n))
			if n < 3 || n == 50 {
				e.RecordFailure(t0.Add(time.Second), time.Millisecond, 0, "boom")
			}
		}
		reg.Entry("DELETE", "/item/7").RecordUntimed(t0, 0)
		return reg.Report(t0.Add(2 * time.Second))
	}
	merge := func(r Report) *Aggregate {
		a := NewAggregate(t0, AggregateMaxNames(maxNames))
		a.Merge(&protocol.Stats{Stats: r.Entries, Total: r.Total, Errors: r.Errors}, t0)
		return a
	}
	log, _, _ := warnings()
	folding := merge(record(NewRegistry(WithMaxNames(maxNames), WithShards(1), WithLogger(log))))
	python := merge(record(NewRegistry(WithShards(1))))
	if got, want := rows(folding), rows(python); !reflect.DeepEqual(got, want) {
		t.Errorf("rows\n worker folds %+v\nmaster folds %+v", got, want)
	}
	if got, want := folding.Errors(), python.Errors(); !reflect.DeepEqual(got, want) {
		t.Errorf("errors\n worker folds %+v\nmaster folds %+v", got, want)
	}
	if got, want := rowOf(folding.Total()), rowOf(python.Total()); !reflect.DeepEqual(got, want) {
		t.Errorf("aggregated row\n got %+v\nwant %+v", got, want)
	}
	if e := folding.Entry("DELETE", OverflowName); e == nil || e.NumRequests != 1 {
		t.Errorf("DELETE overflow entry %+v, want 1 request", e)
	}
}

func TestNamePattern(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"/item/123", "/item/[id]"},
		{"/api/v1/users/42/orders", "/api/v1/users/[id]/orders"},
		{"/u/0b9f5c1e-7a4d-4c31-9a43-6f2d8d1c0e77", "/u/[id]"},
		{"/search?q=shoes&page=12", "/search?q=shoes&page=[id]"},
		{"/order-98765/view", "/order-[id]/view"},
		{"/cafe", "/cafe"},
		{"home", "home"},
		{"", ""},
	} {
		if got := namePattern(tc.in); got != tc.want {
			t.Errorf("namePattern(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
