package app

import (
	"bytes"
	"encoding/csv"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/glocust/glocust/internal/config"
	"github.com/glocust/glocust/stats"
)

// TestStandaloneLatencyCorrection runs a standalone test whose scenario
// turns latency_correction on, against a target that stalls every 50th
// request for 200 ms. The normal CSV holds the corrected times, the
// _stats_uncorrected.csv the same requests uncorrected: same counts, and a
// higher corrected average (every stall delays the next ~19 starts of a user
// paced at 10 ms by at least 10-190 ms).
func TestStandaloneLatencyCorrection(t *testing.T) {
	t.Parallel()
	var hits atomic.Int64
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hits.Add(1)%50 == 0 {
			time.Sleep(200 * time.Millisecond)
		}
	}))
	defer target.Close()
	dir := t.TempDir()
	scen := filepath.Join(dir, "s.yaml")
	if err := os.WriteFile(scen, []byte("host: "+target.URL+`
latency_correction: true
users:
  - class: Paced
    wait_time: {constant_throughput: 100}
    tasks:
      - request: {path: /, name: paced}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	prefix := filepath.Join(dir, "r")
	var out, errb bytes.Buffer
	code := run([]string{"--headless", "-f", scen, "-u", "2", "-r", "10", "-t", "3s", "--web-port", freeTestPort(t),
		"--csv", prefix, "--only-summary"}, nil, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, errb.String())
	}
	if !strings.Contains(errb.String(), "uncorrected") || out.Len() != 0 {
		t.Errorf("the summary on stderr does not show the uncorrected table, or stdout is not empty:\n%s\nstdout:\n%s", errb.String(), out.String())
	}
	corr, raw := aggregatedRow(t, prefix+"_stats.csv"), aggregatedRow(t, prefix+"_stats_uncorrected.csv")
	if corr["Request Count"] != raw["Request Count"] || corr["Request Count"] == "0" {
		t.Fatalf("request counts: corrected %s, uncorrected %s", corr["Request Count"], raw["Request Count"])
	}
	n, _ := strconv.ParseInt(corr["Request Count"], 10, 64)
	if n < 100 || n > hits.Load() {
		t.Fatalf("%d requests recorded, %d reached the target", n, hits.Load())
	}
	ca, _ := strconv.ParseFloat(corr["Average Response Time"], 64)
	ra, _ := strconv.ParseFloat(raw["Average Response Time"], 64)
	if !(ca > ra) {
		t.Errorf("average response time: corrected %v ms, uncorrected %v ms; the corrected one must be higher", ca, ra)
	}
	cm, _ := strconv.ParseFloat(corr["Max Response Time"], 64)
	rm, _ := strconv.ParseFloat(raw["Max Response Time"], 64)
	if cm < rm || rm < 200 {
		t.Errorf("max response time: corrected %v ms, uncorrected %v ms; want uncorrected >= 200 (a stall) and corrected >= it", cm, rm)
	}
}

func aggregatedRow(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	for _, r := range recs[1:] {
		if len(r) > 1 && r[1] == "Aggregated" {
			row := map[string]string{}
			for i, h := range recs[0] {
				row[h] = r[i]
			}
			return row
		}
	}
	t.Fatalf("%s: no Aggregated row", path)
	return nil
}

// TestUncorrectedForRun: the dashboard's reads of the uncorrected copy
// count the current test only: a new test's start starts it over, as the
// master's stats do (what was recorded since the last read is the new
// test's), and reads within one test accumulate.
func TestUncorrectedForRun(t *testing.T) {
	t.Parallel()
	opts, err := config.Parse([]string{"--latency-correction"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	u := newUncorrected(opts, slog.New(slog.DiscardHandler))
	now := time.Now()
	record := func(n int) {
		e := u.reg.Entry("GET", "/x")
		for range n {
			e.Record(now, 5*time.Millisecond, 0)
		}
	}
	count := func(start time.Time) (n int64) {
		u.forRun(start, now, func(a *stats.Aggregate) { n = a.Total().NumRequests })
		return n
	}
	first, second := now.Add(-time.Minute), now
	record(3)
	if n := count(first); n != 3 {
		t.Fatalf("the first test's first read: %d requests, want 3", n)
	}
	record(4)
	if n := count(first); n != 7 {
		t.Fatalf("within the first test: %d requests, want 7", n)
	}
	if n := count(first); n != 7 {
		t.Fatalf("a read without requests: %d requests, want 7", n)
	}
	record(5)
	if n := count(second); n != 5 {
		t.Fatalf("a new test's first read: %d requests, want its 5", n)
	}
	record(1)
	if n := count(second); n != 6 {
		t.Fatalf("within the second test: %d requests, want 6", n)
	}
}
