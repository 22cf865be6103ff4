package threshold

import (
	"strings"
	"testing"
	"time"

	"github.com/glocust/glocust/protocol"
	"github.com/glocust/glocust/stats"
)

func TestParse(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in    string
		kind  Kind
		p     float64
		op    Op
		limit float64
		expr  string
	}{
		{"p95 < 500", Percentile, 0.95, LT, 500, "p95 < 500"},
		{"  p99.9<=1.5s", Percentile, 0.999, LE, 1500, "p99.9 <= 1.5s"},
		{"p100 < 2000ms", Percentile, 1, LT, 2000, "p100 < 2000ms"},
		{"median > 1", Median, 0, GT, 1, "median > 1"},
		{"p5 < 1", Percentile, 0.05, LT, 1, "p5 < 1"},
		{"p0.5 < 1", Percentile, 0.005, LT, 1, "p0.5 < 1"},
		{"p99.99 < 1", Percentile, 0.9999, LT, 1, "p99.99 < 1"},
		{"avg>=0", Avg, 0, GE, 0, "avg >= 0"},
		{"min < 5", Min, 0, LT, 5, "min < 5"},
		{"max < 1e3", Max, 0, LT, 1000, "max < 1e3"},
		{"fail_ratio < 1%", FailRatio, 0, LT, 0.01, "fail_ratio < 1%"},
		{"fail_ratio <= 0.05", FailRatio, 0, LE, 0.05, "fail_ratio <= 0.05"},
		{"failures_per_s < 2/s", FailuresPerSec, 0, LT, 2, "failures_per_s < 2/s"},
		{"rps >= 100", RPS, 0, GE, 100, "rps >= 100"},
	} {
		th, err := Parse(tc.in)
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		if th.Kind != tc.kind || th.P != tc.p || th.Op != tc.op || th.Limit != tc.limit || th.Expr != tc.expr {
			t.Errorf("%q: %+v, want kind %d p %v op %v limit %v expr %q", tc.in, th, tc.kind, tc.p, tc.op, tc.limit, tc.expr)
		}
	}
	for _, tc := range []struct{ in, want string }{
		{"p95 500", `want "metric op limit"`},
		{"< 500", "no metric before the comparison"},
		{"p95x < 5", `unknown metric "p95x"`},
		{"p0 < 5", `percentile "p0"`},
		{"p101 < 5", `percentile "p101"`},
		{"p1.2.3 < 5", `percentile "p1.2.3"`},
		{"p. < 5", `percentile "p."`},
		{"p < 5", `unknown metric "p"`},
		{"latency < 5", `unknown metric "latency"`},
		{"p95 < fast", `limit "fast": want a number >= 0 of milliseconds`},
		{"p95 < -1", `limit "-1"`},
		{"p95 < 5%", `limit "5%"`},
		{"rps > 5ms", `limit "5ms": want a number >= 0 per second`},
		{"fail_ratio < 2", "a failure ratio is at most 1"},
		{"fail_ratio < 150%", "a failure ratio is at most 1"},
		{"fail_ratio < NaN", `limit "NaN"`},
		{"avg < inf", `limit "inf"`},
		{"p95 =< 5", `unknown metric "p95 ="`},
		{"p95 < < 5", `limit "< 5"`},
	} {
		if _, err := Parse(tc.in); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want one containing %q", tc.in, err, tc.want)
		}
	}
}

// report is one worker's stats report: n requests of name taking ms each,
// failures of them failed, over [start, start+secs).
func report(name string, n, failures int64, ms int64, start int64, secs int64) *protocol.Stats {
	e := protocol.StatsEntry{Name: name, Method: "GET", NumRequests: n, NumFailures: failures, HasTimings: true,
		TotalResponseTime: float64(n * ms), MaxResponseTime: float64(ms), MinResponseTime: float64(ms),
		StartTime: float64(start), LastRequestTimestamp: float64(start + secs),
		ResponseTimes: []protocol.Bucket{{Key: ms, Count: n}}, NumReqsPerSec: []protocol.Bucket{{Key: start, Count: n}}}
	tot := e
	tot.Name, tot.Method = "Aggregated", ""
	return &protocol.Stats{Stats: []protocol.StatsEntry{e}, Total: tot}
}

// TestMeasureMerged: thresholds read the merged stats of all workers:
// percentiles from the merged buckets, rates from the merged counts.
func TestMeasureMerged(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_700_000_000, 0)
	a := stats.NewAggregate(now)
	a.Merge(report("fast", 90, 0, 10, now.Unix(), 10), now)
	a.Merge(report("slow", 10, 5, 1000, now.Unix(), 10), now)
	for _, tc := range []struct {
		expr, name string
		want       float64
		pass       bool
	}{
		{"p50 < 100", "", 10, true},
		{"p95 < 100", "", 1000, false},
		{"p85 < 100", "", 10, true},
		{"p90 < 100", "", 1000, false}, // Locust: k = int(100 * 0.9) = 90, the 10 slow ones reach it
		{"avg < 200", "", 109, true},
		{"max <= 1000", "", 1000, true},
		{"min > 10", "", 10, false},
		{"fail_ratio < 5%", "", 0.05, false},
		{"fail_ratio <= 5%", "", 0.05, true},
		{"rps >= 10", "", 10, true},
		{"failures_per_s < 0.5", "", 0.5, false},
		{"p95 < 100", "fast", 10, true},
		{"fail_ratio < 10%", "slow", 0.5, false},
	} {
		th, err := Parse(tc.expr)
		if err != nil {
			t.Fatal(err)
		}
		th.Name = tc.name
		r := Evaluate([]Threshold{th}, a)[0]
		if !r.HasData || r.Value != tc.want || r.Pass != tc.pass {
			t.Errorf("%s on %q: %+v, want %v (pass %v)", tc.expr, th.Scope(), r, tc.want, tc.pass)
		}
	}
}

// TestMeasureWorstAndMissing: a name with several methods is judged on its
// worst row; a name with no row has no data and fails.
func TestMeasureWorstAndMissing(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_700_000_000, 0)
	a := stats.NewAggregate(now)
	get := report("/x", 10, 0, 10, now.Unix(), 10)
	post := report("/x", 10, 0, 300, now.Unix(), 10)
	post.Stats[0].Method = "POST"
	a.Merge(get, now)
	a.Merge(post, now)
	lt, _ := Parse("max < 100")
	lt.Name = "/x"
	gt, _ := Parse("max > 100")
	gt.Name = "/x"
	if v, _ := lt.Measure(a); v != 300 {
		t.Errorf("max < on both methods: %v, want the worst, 300", v)
	}
	if v, _ := gt.Measure(a); v != 10 {
		t.Errorf("max > on both methods: %v, want the worst, 10", v)
	}
	lt.Method = "GET"
	if v, _ := lt.Measure(a); v != 10 || lt.Scope() != "GET /x" {
		t.Errorf("GET /x: %v %q", v, lt.Scope())
	}
	lt.Name, lt.Method = "/typo", ""
	r := Evaluate([]Threshold{lt}, a)[0]
	if r.HasData || r.Pass || r.Measured() != `no requests named "/typo"` || !Failed([]Result{r}) {
		t.Errorf("missing name: %+v %q", r, r.Measured())
	}
}

func TestFormatAndChecks(t *testing.T) {
	t.Parallel()
	p95, _ := Parse("p95 < 1")
	fr, _ := Parse("fail_ratio < 1")
	rps, _ := Parse("rps > 1")
	for _, tc := range []struct {
		th   Threshold
		v    float64
		want string
	}{{p95, 312, "312 ms"}, {p95, 312.46, "312.5 ms"}, {fr, 0.0502, "5.02%"}, {rps, 87.345, "87.34/s"}} {
		if got := tc.th.Format(tc.v); got != tc.want {
			t.Errorf("Format(%v) = %q, want %q", tc.v, got, tc.want)
		}
	}
	// locust-plugins' lines, and their pass conditions (check_rps: rps <
	// limit fails; the others: value > limit fails).
	for _, tc := range []struct {
		th   Threshold
		v    float64
		line string
	}{
		{CheckFailRatio(0.01), 0.05, "CHECK FAILED: fail ratio was 5.00% (threshold 1.00%)"},
		{CheckFailRatio(0.05), 0.05, "CHECK SUCCESSFUL: fail ratio was 5.00% (threshold 5.00%)"},
		{CheckRPS(100), 87.34, "CHECK FAILED: total rps was 87.3 (threshold 100.0)"},
		{CheckRPS(100), 100, "CHECK SUCCESSFUL: total rps was 100.0 (threshold 100.0)"},
		{CheckAvgResponseTime(200), 200.04, "CHECK FAILED: avg response time was 200.0 (threshold 200.0)"},
	} {
		r := Result{Threshold: tc.th, Value: tc.v, HasData: true, Pass: tc.th.Holds(tc.v)}
		if line, ok := r.CheckLine(); !ok || line != tc.line {
			t.Errorf("%s at %v: %q, want %q", tc.th.Check, tc.v, line, tc.line)
		}
	}
	if _, ok := (Result{Threshold: p95}).CheckLine(); ok {
		t.Error("a YAML threshold has no CHECK line")
	}
	fps, _ := Parse("failures_per_s < 1")
	if !JudgesFailures([]Threshold{p95, CheckFailRatio(0.1)}) || !JudgesFailures([]Threshold{fps}) || JudgesFailures([]Threshold{p95, rps}) {
		t.Error("JudgesFailures")
	}
	named := fr
	named.Name = "x"
	if JudgesFailures([]Threshold{named}) {
		t.Error("a fail_ratio of one name does not judge all failures")
	}
}

// FuzzParse: Parse never panics, and what it accepts it reads again from
// its normalised Expr to the same threshold.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"p95 < 500", "p99.9<=1.5s", "fail_ratio < 1%", "rps >= 100/s", "avg > 0", "p < 1", "x", "<"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		th, err := Parse(s)
		if err != nil {
			return
		}
		again, err := Parse(th.Expr)
		if err != nil || again != th {
			t.Fatalf("%q parsed to %+v; its Expr %q to %+v (%v)", s, th, th.Expr, again, err)
		}
	})
}
