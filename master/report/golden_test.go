package report

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/glocust/glocust/protocol"
	"github.com/glocust/glocust/stats"
)

// Golden files come from testdata/gen_golden.py, which runs Locust's own
// worker and master stats code and its report writers (see its docstring).
// These tests replay the same wire reports through stats.Aggregate and
// compare every output byte for byte.

type fixture struct {
	Start float64       `json:"start"`
	End   float64       `json:"end"`
	Steps []fixtureStep `json:"steps"`
}

type fixtureStep struct {
	Now       float64        `json:"now"`
	Node      string         `json:"node"`
	Stats     []fixtureEntry `json:"stats"`
	Total     *fixtureEntry  `json:"stats_total"`
	Errors    []fixtureError `json:"errors"`
	UserCount int64          `json:"user_count"`
	Exception *fixtureExcept `json:"exception"`
}

type fixtureExcept struct {
	Node, Msg, Traceback string
}

type fixtureEntry struct {
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

type fixtureError struct {
	Key         string   `json:"key"`
	Name        string   `json:"name"`
	Method      string   `json:"method"`
	Error       string   `json:"error"`
	Occurrences int64    `json:"occurrences"`
	FirstSeen   *float64 `json:"first_seen"`
	LastSeen    *float64 `json:"last_seen"`
}

func toBuckets(in [][2]int64) []protocol.Bucket {
	out := make([]protocol.Bucket, len(in))
	for i, b := range in {
		out[i] = protocol.Bucket{Key: b[0], Count: b[1]}
	}
	return out
}

func (e *fixtureEntry) wire() protocol.StatsEntry {
	w := protocol.StatsEntry{
		Name: e.Name, Method: e.Method, StartTime: e.Start,
		NumRequests: e.NumRequests, NumNoneRequests: e.NumNone, NumFailures: e.NumFailures,
		TotalResponseTime: e.TotalRT, MaxResponseTime: e.MaxRT, TotalContentLength: e.ContentLength,
		ResponseTimes: toBuckets(e.ResponseTimes), NumReqsPerSec: toBuckets(e.ReqsPerSec),
		NumFailPerSec: toBuckets(e.FailPerSec),
	}
	if e.Last != nil {
		w.LastRequestTimestamp = *e.Last
	}
	if e.MinRT != nil {
		w.MinResponseTime, w.HasTimings = *e.MinRT, true
	}
	return w
}

func secs(f float64) time.Time {
	s := math.Floor(f)
	return time.Unix(int64(s), int64(math.Round((f-s)*1e9)))
}

// replayed is the state after replaying a fixture, with the history CSVs
// written along the way.
type replayed struct {
	agg               *stats.Aggregate
	ex                *Exceptions
	hist              *History
	end               time.Time
	history, fullHist bytes.Buffer
}

func replay(t *testing.T, dir string) *replayed {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, "fixture.json"))
	if err != nil {
		t.Fatal(err)
	}
	var fx fixture
	if err := json.Unmarshal(raw, &fx); err != nil {
		t.Fatal(err)
	}
	r := &replayed{agg: stats.NewAggregate(secs(fx.Start)), ex: NewExceptions(), hist: NewHistory(), end: secs(fx.End)}
	for _, b := range []*bytes.Buffer{&r.history, &r.fullHist} {
		if err := HistoryCSVHeader(b); err != nil {
			t.Fatal(err)
		}
	}
	for _, st := range fx.Steps {
		now := secs(st.Now)
		if st.Exception != nil {
			r.ex.Add(st.Exception.Node, st.Exception.Msg, st.Exception.Traceback)
			continue
		}
		msg := &protocol.Stats{Total: st.Total.wire(), UserCount: st.UserCount}
		for i := range st.Stats {
			msg.Stats = append(msg.Stats, st.Stats[i].wire())
		}
		for _, e := range st.Errors {
			se := protocol.StatsError{Key: e.Key, Name: e.Name, Method: e.Method, Error: e.Error,
				Occurrences: e.Occurrences, HasSeen: true}
			if e.FirstSeen != nil {
				se.FirstSeen = *e.FirstSeen
			}
			if e.LastSeen != nil {
				se.LastSeen = *e.LastSeen
			}
			msg.Errors = append(msg.Errors, se)
		}
		r.agg.Merge(msg, now)
		if err := HistoryCSVRows(&r.history, r.agg, now, st.UserCount, false); err != nil {
			t.Fatal(err)
		}
		if err := HistoryCSVRows(&r.fullHist, r.agg, now, st.UserCount, true); err != nil {
			t.Fatal(err)
		}
		r.hist.Add(now, r.agg, st.UserCount)
	}
	return r
}

func goldenOutputs(t *testing.T, r *replayed) map[string]string {
	t.Helper()
	out := map[string]string{
		"stats_history.csv":      r.history.String(),
		"stats_history_full.csv": r.fullHist.String(),
	}
	var b bytes.Buffer
	add := func(name string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out[name] = b.String()
		b.Reset()
	}
	add("stats.csv", StatsCSV(&b, r.agg))
	add("failures.csv", FailuresCSV(&b, r.agg))
	add("exceptions.csv", ExceptionsCSV(&b, r.ex))
	PrintStats(&b, r.agg, r.end, true)
	add("print_stats_current.txt", nil)
	PrintStats(&b, r.agg, r.end, false)
	add("print_stats_total.txt", nil)
	PrintPercentiles(&b, r.agg)
	add("print_percentiles.txt", nil)
	PrintErrors(&b, r.agg)
	add("print_errors.txt", nil)
	add("stats.json", JSON(&b, r.agg))
	return out
}

var goldenCases = []string{"empty", "run"}

func compareDir(t *testing.T, dir string, got map[string]string) {
	t.Helper()
	for name, g := range got {
		want, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if g != string(want) {
			t.Errorf("%s/%s differs from Locust:\n%s", filepath.Base(dir), name, firstDiff(string(want), g))
		}
	}
}

func firstDiff(want, got string) string {
	wl, gl := strings.SplitAfter(want, "\n"), strings.SplitAfter(got, "\n")
	for i := 0; i < max(len(wl), len(gl)); i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			return "line " + itoa(i+1) + ":\n  locust: " + quote(w) + "\n  glocust: " + quote(g)
		}
	}
	return "(no line differs)"
}

func itoa(i int) string { return intStr(int64(i)) }
func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func TestGoldenAgainstLocust(t *testing.T) {
	t.Parallel()
	for _, c := range goldenCases {
		t.Run(c, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join("testdata", c)
			compareDir(t, dir, goldenOutputs(t, replay(t, dir)))
		})
	}
}

// TestGoldenSummary checks PrintSummary is Locust's quit sequence.
func TestGoldenSummary(t *testing.T) {
	t.Parallel()
	dir := filepath.Join("testdata", "run")
	r := replay(t, dir)
	var want []byte
	for _, f := range []string{"print_stats_total.txt", "print_percentiles.txt", "print_errors.txt"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, b...)
	}
	var got bytes.Buffer
	PrintSummary(&got, r.agg, r.end)
	if got.String() != string(want) {
		t.Errorf("summary differs:\n%s", firstDiff(string(want), got.String()))
	}
}

// TestGoldenGenerator re-runs the generator with GLOCUST_PYTHON (set by
// scripts/test) and checks the committed golden files are what the pinned
// Locust produces now.
func TestGoldenGenerator(t *testing.T) {
	t.Parallel()
	py := os.Getenv("GLOCUST_PYTHON")
	if py == "" {
		t.Skip("GLOCUST_PYTHON not set: golden files not regenerated (scripts/test sets it)")
	}
	out := t.TempDir()
	cmd := exec.Command(py, filepath.Join("testdata", "gen_golden.py"), out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("gen_golden.py: %v\n%s", err, b)
	}
	for _, c := range goldenCases {
		entries, err := os.ReadDir(filepath.Join(out, c))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			fresh, _ := os.ReadFile(filepath.Join(out, c, e.Name()))
			committed, err := os.ReadFile(filepath.Join("testdata", c, e.Name()))
			if err != nil || !bytes.Equal(fresh, committed) {
				t.Errorf("testdata/%s/%s is stale: re-run gen_golden.py (%v)", c, e.Name(), err)
			}
		}
	}
}
