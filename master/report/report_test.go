package report

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/glocust/glocust/stats"
)

func TestExceptionsGroupByTraceback(t *testing.T) {
	t.Parallel()
	ex := NewExceptions()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 100 {
				ex.Add(fmt.Sprintf("node-%d", i%3), fmt.Sprintf("msg %d", j), fmt.Sprintf("tb %d", j%2))
				_ = ex.List()
			}
		})
	}
	wg.Wait()
	got := ex.List()
	if len(got) != 2 || ex.Len() != 2 {
		t.Fatalf("groups = %d", len(got))
	}
	for _, e := range got {
		if e.Count != 400 {
			t.Errorf("%s: count %d", e.Traceback, e.Count)
		}
		if strings.Join(e.Nodes, ", ") != "node-0, node-1, node-2" {
			t.Errorf("%s: nodes %v", e.Traceback, e.Nodes)
		}
	}
	ex.Reset()
	if len(ex.List()) != 0 {
		t.Error("Reset kept groups")
	}
}

func TestExceptionsKeepFirstMessageAndOrder(t *testing.T) {
	t.Parallel()
	ex := NewExceptions()
	ex.Add("b", "first", "tb2")
	ex.Add("a", "first", "tb1")
	ex.Add("a", "second", "tb2")
	got := ex.List()
	if got[0].Traceback != "tb2" || got[0].Msg != "first" || got[0].Count != 2 || got[1].Traceback != "tb1" {
		t.Errorf("got %+v", got)
	}
	var b bytes.Buffer
	if err := ExceptionsCSV(&b, ex); err != nil {
		t.Fatal(err)
	}
	if want := "Count,Message,Traceback,Nodes\r\n2,first,tb2,\"a, b\"\r\n1,first,tb1,a\r\n"; b.String() != want {
		t.Errorf("csv = %q", b.String())
	}
}

func TestHistoryOnePointPerSecond(t *testing.T) {
	t.Parallel()
	h := NewHistory()
	t0 := time.Unix(1700000000, 0)
	h.AddPoint(Point{Time: t0, RPS: 1})
	h.AddPoint(Point{Time: t0.Add(500 * time.Millisecond), RPS: 2})
	h.AddPoint(Point{Time: t0.Add(time.Second), RPS: 3})
	p := h.Points()
	if len(p) != 2 || p[0].RPS != 2 || p[1].RPS != 3 {
		t.Errorf("points = %+v", p)
	}
	h.Reset()
	if h.Len() != 0 {
		t.Error("Reset kept points")
	}
}

func TestHistoryBoundedAndCoversRun(t *testing.T) {
	t.Parallel()
	const capacity = 100
	h := NewHistoryCap(capacity)
	t0 := time.Unix(1700000000, 0)
	const n = 10000
	for i := range n {
		h.AddPoint(Point{Time: t0.Add(time.Duration(i) * time.Second), RPS: 10, Users: int64(i)})
	}
	p := h.Points()
	if len(p) > capacity {
		t.Fatalf("len = %d > %d", len(p), capacity)
	}
	if last := p[len(p)-1]; last.Users != n-1 || !last.Time.Equal(t0.Add((n-1)*time.Second)) {
		t.Errorf("last = %+v", last)
	}
	if p[0].Time.Sub(t0) > n/10*time.Second {
		t.Errorf("oldest point %v: the start of the run was dropped", p[0].Time.Sub(t0))
	}
	for i, q := range p {
		if q.RPS != 10 {
			t.Fatalf("point %d: RPS %v, averaging broke a constant", i, q.RPS)
		}
		if i > 0 && !q.Time.After(p[i-1].Time) {
			t.Fatalf("point %d not after %d", i, i-1)
		}
	}
}

func TestHistoryConcurrent(t *testing.T) {
	t.Parallel()
	h := NewHistoryCap(64)
	var wg sync.WaitGroup
	t0 := time.Unix(1700000000, 0)
	for g := range 4 {
		wg.Go(func() {
			for i := range 500 {
				h.AddPoint(Point{Time: t0.Add(time.Duration(g*1000+i) * time.Second)})
				_ = h.Points()
			}
		})
	}
	wg.Wait()
	if h.Len() > 64 {
		t.Errorf("len %d", h.Len())
	}
}

func TestHistoryAddFromAggregate(t *testing.T) {
	t.Parallel()
	r := replay(t, filepath.Join("testdata", "run"))
	p := r.hist.Points()
	if len(p) == 0 {
		t.Fatal("no points")
	}
	last := p[len(p)-1]
	if last.RPS != 9 || last.FailPerSec != 1.9 || last.P50 == 0 || last.P95 < last.P50 || last.Users != 49 {
		t.Errorf("last point %+v", last)
	}
}

func TestCSVFiles(t *testing.T) {
	t.Parallel()
	r := replay(t, filepath.Join("testdata", "run"))
	for _, full := range []bool{false, true} {
		prefix := filepath.Join(t.TempDir(), "out")
		c, err := NewCSVFiles(prefix, full)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Write(r.agg, r.ex, r.end, 7); err != nil {
			t.Fatal(err)
		}
		if err := c.Write(r.agg, r.ex, r.end.Add(time.Second), 8); err != nil {
			t.Fatal(err)
		}
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
		if err := c.Close(); err != nil {
			t.Fatal("second Close:", err)
		}
		if err := c.Write(r.agg, r.ex, r.end, 7); err == nil {
			t.Error("Write after Close succeeded")
		}
		read := func(suffix string) string {
			b, err := os.ReadFile(prefix + suffix)
			if err != nil {
				t.Fatal(err)
			}
			return string(b)
		}
		for suffix, golden := range map[string]string{"_stats.csv": "stats.csv", "_failures.csv": "failures.csv",
			"_exceptions.csv": "exceptions.csv"} {
			want, _ := os.ReadFile(filepath.Join("testdata", "run", golden))
			if got := read(suffix); got != string(want) {
				t.Errorf("%s differs from golden:\n%s", suffix, firstDiff(string(want), got))
			}
		}
		var want bytes.Buffer
		_ = HistoryCSVHeader(&want)
		_ = HistoryCSVRows(&want, r.agg, r.end, 7, full)
		_ = HistoryCSVRows(&want, r.agg, r.end.Add(time.Second), 8, full)
		if got := read("_stats_history.csv"); got != want.String() {
			t.Errorf("history (full=%v):\n%s", full, firstDiff(want.String(), got))
		}
		if c.HistoryPath() != prefix+"_stats_history.csv" || c.FullHistory() != full {
			t.Error("accessors")
		}
	}
}

func TestCSVFilesShrink(t *testing.T) {
	t.Parallel()
	r := replay(t, filepath.Join("testdata", "run"))
	prefix := filepath.Join(t.TempDir(), "p")
	c, err := NewCSVFiles(prefix, false)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Write(r.agg, r.ex, r.end, 1); err != nil {
		t.Fatal(err)
	}
	empty := stats.NewAggregate(r.end)
	if err := c.Write(empty, NewExceptions(), r.end, 1); err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	_ = StatsCSV(&want, empty)
	if got, _ := os.ReadFile(prefix + "_stats.csv"); string(got) != want.String() {
		t.Errorf("stats not truncated: %q", got)
	}
}

func TestNewCSVFilesError(t *testing.T) {
	t.Parallel()
	if _, err := NewCSVFiles(filepath.Join(t.TempDir(), "missing", "dir", "p"), false); err == nil {
		t.Error("no error for a missing directory")
	}
}

func TestHTML(t *testing.T) {
	t.Parallel()
	r := replay(t, filepath.Join("testdata", "run"))
	var b bytes.Buffer
	info := RunInfo{Locustfile: "locustfile.py", Host: "http://target:8080", UserCount: 49,
		State: "stopped", WorkerCount: 2, UserClasses: []string{"WebUser", "<Admin>"},
		RunID: "20231114-221320-a1b2c3", Profile: "nightly"}
	if err := HTML(&b, r.agg, r.ex, r.hist, info); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"Request Statistics", "Response Time Statistics", "Failures Statistics",
		"Exceptions Statistics", "<svg", "<polyline", "http://target:8080", "locustfile.py",
		"2023-11-14 22:13:20 UTC", "39 seconds", "/café/ü", "Aggregated", "&lt;Admin&gt;",
		"ZeroDivisionError: division by zero", "w1, w2", "Connection refused", "99%ile",
		"<dt>Run ID</dt><dd>20231114-221320-a1b2c3</dd>", "<dt>Profile</dt><dd>nightly</dd>"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	// Self-contained: nothing is loaded from elsewhere.
	for _, bad := range []string{"<script", "src=", "href=", "url(", "@import", "https://", "http://www", "<Admin>"} {
		if strings.Contains(out, bad) {
			t.Errorf("report contains %q", bad)
		}
	}
	if os.Getenv("GLOCUST_REPORT_HTML") != "" {
		_ = os.WriteFile(os.Getenv("GLOCUST_REPORT_HTML"), b.Bytes(), 0o644)
	}
}

func TestHTMLEmpty(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	a := stats.NewAggregate(time.Unix(1700000000, 0))
	if err := HTML(&b, a, nil, nil, RunInfo{}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"No failures.", "No exceptions.", "No data", "0 seconds"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("empty report lacks %q", want)
		}
	}
}

func TestFormatDuration(t *testing.T) {
	t.Parallel()
	for d, want := range map[time.Duration]string{
		0: "0 seconds", time.Second: "1 second", 61 * time.Second: "1 minute and 1 second",
		90061 * time.Second: "1 day, 1 hour, 1 minute and 1 second", 7200 * time.Second: "2 hours",
	} {
		if got := formatDuration(d); got != want {
			t.Errorf("%v: %q, want %q", d, got, want)
		}
	}
}

// TestHTMLStageMarks: the users chart marks each shape change inside its
// time range (the first one, just before the first point, at that point),
// with labels up to maxMarkLabels marks, and none on the other charts.
func TestHTMLStageMarks(t *testing.T) {
	t.Parallel()
	t0 := time.Unix(1700000000, 0)
	h := NewHistory()
	for s := 0; s <= 30; s++ {
		h.AddPoint(Point{Time: t0.Add(time.Duration(s) * time.Second), Users: int64(s)})
	}
	render := func(marks []Mark) string {
		var b bytes.Buffer
		if err := HTML(&b, stats.NewAggregate(t0), nil, h, RunInfo{Shape: "S", Marks: marks}); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	out := render([]Mark{{t0.Add(-time.Second), "warm: 2 users"}, {t0.Add(10 * time.Second), "peak & <b>: 9 users"},
		{t0.Add(-time.Minute), "too early"}, {t0.Add(time.Hour), "too late"}})
	if n := strings.Count(out, `class="markline"`); n != 2 {
		t.Errorf("%d mark lines, want 2", n)
	}
	for _, want := range []string{">warm: 2 users</text>", "peak &amp; &lt;b&gt;: 9 users", "S (4 changes"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if strings.Contains(out, "too early") || strings.Contains(out, "too late") || strings.Contains(out, "<b>") {
		t.Error("a mark outside the chart's range, or an unescaped label")
	}
	if i := strings.Index(out, "Number of users"); i < 0 || strings.Index(out, `class="markline"`) < i {
		t.Error("marks must be on the users chart only")
	}
	var many []Mark
	for s := 0; s < maxMarkLabels+1; s++ {
		many = append(many, Mark{t0.Add(time.Duration(s) * time.Second), fmt.Sprintf("m%d", s)})
	}
	out = render(many)
	if strings.Count(out, `class="markline"`) != maxMarkLabels+1 || strings.Contains(out, "marklabel\">") {
		t.Error("with more marks than maxMarkLabels: lines without labels")
	}
}

func TestChecksInReportAndConsole(t *testing.T) {
	t.Parallel()
	checks := []Check{{Verdict: "PASS", Threshold: "p95 < 500", Scope: "Aggregated", Measured: "312 ms", Source: "s.yaml:3", Pass: true},
		{Verdict: "FAIL", Threshold: "fail_ratio < 1%", Scope: "<home>", Measured: "5.02%", Source: "--check-fail-ratio"}}
	var b bytes.Buffer
	if err := HTML(&b, stats.NewAggregate(time.Unix(1700000000, 0)), nil, nil, RunInfo{Checks: checks}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"<h2>Thresholds</h2>", `<td class="l pass">PASS</td><td class="l">p95 &lt; 500</td>`,
		`<td class="l bad">FAIL</td>`, "&lt;home&gt;", "5.02%", "--check-fail-ratio"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	b.Reset()
	if err := HTML(&b, stats.NewAggregate(time.Unix(1700000000, 0)), nil, nil, RunInfo{}); err != nil || strings.Contains(b.String(), "<h2>Thresholds</h2>") {
		t.Errorf("a report without thresholds has their section (%v)", err)
	}
	b.Reset()
	PrintChecks(&b, checks)
	want := "Thresholds (judged on the merged stats; exit code 3 if one fails)\n" +
		"Verdict  Threshold        Requests    Measured  Set in\n" +
		"PASS     p95 < 500        Aggregated  312 ms    s.yaml:3\n" +
		"FAIL     fail_ratio < 1%  <home>      5.02%     --check-fail-ratio\n\n"
	if b.String() != want {
		t.Errorf("console:\n%s\nwant:\n%s", b.String(), want)
	}
	b.Reset()
	if PrintChecks(&b, nil); b.Len() != 0 {
		t.Error("output without checks")
	}
}

// TestCSVFilesRuns: PREFIX_runs.csv has its header from the start, a row
// per run set, updated in place (the end of a run), and Python's csv
// quoting and line ends; Locust's files are not touched by it.
func TestCSVFilesRuns(t *testing.T) {
	t.Parallel()
	prefix := filepath.Join(t.TempDir(), "p")
	c, err := NewCSVFiles(prefix, false)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	read := func() string {
		b, err := os.ReadFile(prefix + "_runs.csv")
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	const header = "Run ID,Profile,Start Time,Start Timestamp,End Time,End Timestamp\r\n"
	if got := read(); got != header {
		t.Fatalf("new file: %q", got)
	}
	start := time.Date(2026, 1, 2, 15, 4, 5, 500_000_000, time.FixedZone("CET", 3600))
	first := RunRow{ID: "20260102-140405-a1b2c3", Profile: `nightly, "big"`, Start: start}
	second := RunRow{ID: "20260102-141000-d4e5f6", Start: start.Add(355 * time.Second)}
	for _, r := range []RunRow{first, second} {
		if err := c.SetRun(r); err != nil {
			t.Fatal(err)
		}
	}
	first.End = start.Add(300 * time.Second)
	if err := c.SetRun(first); err != nil {
		t.Fatal(err)
	}
	want := header +
		`20260102-140405-a1b2c3,"nightly, ""big""",2026-01-02T14:04:05Z,1767362645,2026-01-02T14:09:05Z,1767362945` + "\r\n" +
		"20260102-141000-d4e5f6,,2026-01-02T14:10:00Z,1767363000,,\r\n"
	if got := read(); got != want {
		t.Errorf("runs file\n got %q\nwant %q", got, want)
	}
	stats, _ := os.ReadFile(prefix + "_stats.csv")
	if strings.Contains(string(stats), "20260102") {
		t.Error("the run id leaked into Locust's stats CSV")
	}
}
