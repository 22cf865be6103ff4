package app

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/glocust/glocust/internal/testenv"
)

// TestRunIdentityOutputs: a headless run with --profile logs its run id
// and profile when it starts; --summary-json, the HTML report and
// PREFIX_runs.csv carry the same id, profile and start, while Locust's
// CSV files stay Locust's (the id is in none of them).
func TestRunIdentityOutputs(t *testing.T) {
	t.Parallel()
	target := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer target.Close()
	dir := t.TempDir()
	var out, errb bytes.Buffer
	before := time.Now()
	code := run([]string{"--headless", "-f", thresholdScenario(t, target.URL, ""), "-u", "1", "-r", "10", "-t", "1s",
		"--web-port", freeTestPort(t), "--only-summary", "--profile", "nightly, big", "--csv", filepath.Join(dir, "r"),
		"--html", filepath.Join(dir, "r.html"), "--summary-json", filepath.Join(dir, "v.json")}, nil, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, errb.String())
	}
	m := regexp.MustCompile(`Run (\d{8}-\d{6}-[0-9a-f]{6}) started \(profile nightly, big\)`).FindStringSubmatch(errb.String())
	if m == nil {
		t.Fatalf("no run line in the log:\n%s", errb.String())
	}
	id := m[1]
	if !strings.Contains(errb.String(), "Run "+id+" ended (profile nightly, big)") {
		t.Error("no end of the run in the log")
	}
	var sum struct {
		RunID     string  `json:"run_id"`
		Profile   string  `json:"profile"`
		StartTime float64 `json:"start_time"`
	}
	b, err := os.ReadFile(filepath.Join(dir, "v.json"))
	if err == nil {
		err = json.Unmarshal(b, &sum)
	}
	if err != nil || sum.RunID != id || sum.Profile != "nightly, big" || sum.StartTime < float64(before.Unix()) {
		t.Errorf("--summary-json: %v %+v", err, sum)
	}
	rows, err := testenv.ReadCSV(filepath.Join(dir, "r_runs.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0]["Run ID"] != id || rows[0]["Profile"] != "nightly, big" ||
		rows[0]["Start Timestamp"] != strconv.FormatInt(int64(sum.StartTime), 10) || rows[0]["End Time"] == "" {
		t.Errorf("r_runs.csv: %v", rows)
	}
	html, _ := os.ReadFile(filepath.Join(dir, "r.html"))
	if !bytes.Contains(html, []byte("<dd>"+id+"</dd>")) || !bytes.Contains(html, []byte("<dd>nightly, big</dd>")) {
		t.Error("the HTML report lacks the run id or the profile")
	}
	for _, f := range []string{"r_stats.csv", "r_stats_history.csv", "r_failures.csv", "r_exceptions.csv"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil || bytes.Contains(b, []byte(id)) || bytes.Contains(b, []byte("nightly")) {
			t.Errorf("%s: %v, or it names the run", f, err)
		}
	}
}
