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
	"sync/atomic"
	"testing"
	"time"
)

// fivePercent is a target that fails every 20th request (5%).
func fivePercent(t *testing.T) *httptest.Server {
	t.Helper()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1)%20 == 0 {
			http.Error(w, "no", http.StatusInternalServerError)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// thresholdScenario writes a scenario for target with the given
// thresholds: block ("" for none).
func thresholdScenario(t *testing.T, target, thresholds string) string {
	t.Helper()
	y := "host: " + target + `
users:
  - class: U
    wait_time: {constant: 0.02}
    tasks:
      - request: {method: GET, path: /, name: req}
` + thresholds
	f := filepath.Join(t.TempDir(), "s.yaml")
	if err := os.WriteFile(f, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

// TestThresholdExitCodes: a target failing 5% of requests exits 3 with a
// fail_ratio threshold below 5% (scenario or --check-fail-ratio), 0 with one
// above it (the threshold, not the failures, is the verdict), and
// --exit-code-on-error's 1 without thresholds. The summary, the HTML report
// and --summary-json show each threshold.
func TestThresholdExitCodes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, yaml string
		args       []string
		want       int
		lines      []string
	}{
		{"yaml 1%", "thresholds:\n  - fail_ratio < 1%\n  - p95 < 1s\n", nil, 3,
			[]string{`FAIL     fail_ratio < 1%  Aggregated  4.`, "PASS     p95 < 1s", "Thresholds: 1 of 2 failed"}},
		{"yaml 10%", "thresholds:\n  - fail_ratio < 10%\n", nil, 0, []string{"PASS     fail_ratio < 10%", "Thresholds: all 1 passed"}},
		{"check 1%", "", []string{"--check-fail-ratio", "0.01"}, 3, []string{"CHECK FAILED: fail ratio was 4.", "(threshold 1.00%)"}},
		{"check 10%", "", []string{"--check-fail-ratio", "0.1", "-L", "DEBUG"}, 0, []string{"CHECK SUCCESSFUL: fail ratio was 4."}},
		{"check rps", "", []string{"--check-rps", "100000"}, 3, []string{"CHECK FAILED: total rps was", "(threshold 100000.0)"}},
		{"none", "", nil, 1, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			target := fivePercent(t) // its own: every 20th of this run's requests fails
			dir := t.TempDir()
			args := append([]string{"--headless", "-f", thresholdScenario(t, target.URL, tc.yaml), "-u", "2", "-r", "10", "-t", "2s",
				"--web-port", freeTestPort(t), "--only-summary", "--html", filepath.Join(dir, "r.html"),
				"--summary-json", filepath.Join(dir, "v.json"), "--json"}, tc.args...)
			var out, errb bytes.Buffer
			code := run(args, nil, &out, &errb)
			log := errb.String()
			if code != tc.want {
				t.Fatalf("exit %d, want %d\n%s", code, tc.want, log)
			}
			for _, want := range append(tc.lines, "Shutting down (exit code "+strconv.Itoa(tc.want)+")") {
				if !strings.Contains(log, want) {
					t.Errorf("log lacks %q:\n%s", want, log)
				}
			}
			var stats []map[string]any
			if err := json.Unmarshal(out.Bytes(), &stats); err != nil || len(stats) == 0 {
				t.Errorf("--json is not Locust's list of entries alone: %v\n%s", err, out.String())
			}
			var sum struct {
				Verdict    string           `json:"verdict"`
				ExitCode   int              `json:"exit_code"`
				Thresholds []map[string]any `json:"thresholds"`
				Requests   map[string]any   `json:"requests"`
			}
			b, err := os.ReadFile(filepath.Join(dir, "v.json"))
			if err == nil {
				err = json.Unmarshal(b, &sum)
			}
			if err != nil || sum.ExitCode != tc.want || sum.Requests["num_requests"] == 0.0 || (tc.want == 3) != (sum.Verdict == "fail") {
				t.Errorf("--summary-json: %v %+v\n%s", err, sum, b)
			}
			for _, th := range sum.Thresholds {
				if _, ok := th["value"].(float64); !ok {
					t.Errorf("--summary-json: %v has no value", th["threshold"])
				}
			}
			html, _ := os.ReadFile(filepath.Join(dir, "r.html"))
			if (tc.yaml != "" || tc.args != nil) != bytes.Contains(html, []byte("<h2>Thresholds</h2>")) {
				t.Error("the HTML report's thresholds section")
			}
		})
	}
}

// TestAbortOnFailStopsEarly: a run of -t 60s whose fail_ratio threshold
// (abort_on_fail, 2 s grace) breaks from the start stops right after the
// grace, with exit code 3. The delay from the end of the grace to the stop
// is measured from the log.
func TestAbortOnFailStopsEarly(t *testing.T) {
	t.Parallel()
	target := fivePercent(t)
	f := thresholdScenario(t, target.URL, "thresholds:\n  - {check: fail_ratio < 1%, abort_on_fail: true, grace: 2s}\n")
	var out, errb bytes.Buffer
	t0 := time.Now()
	code := run([]string{"--headless", "-f", f, "-u", "2", "-r", "10", "-t", "60s", "--web-port", freeTestPort(t), "--only-summary"},
		nil, &out, &errb)
	took := time.Since(t0)
	log := errb.String()
	if code != 3 {
		t.Fatalf("exit %d, want 3\n%s", code, log)
	}
	m := regexp.MustCompile(`Threshold "fail_ratio < 1%" on Aggregated failed after (\d+)s: [0-9.]+%\. Stopping the test \(abort_on_fail\)\.`).FindStringSubmatch(log)
	if m == nil {
		t.Fatalf("no abort line:\n%s", log)
	}
	after, _ := strconv.Atoi(m[1])
	// The master sees failures in the workers' reports (every 3 s) and
	// judges once a second: from the grace's end to the stop is at most
	// a report interval and a tick.
	if after < 2 || after > 2+3+1 {
		t.Errorf("stopped %d s after the start, want within 4 s after the 2 s grace", after)
	}
	if took > 15*time.Second {
		t.Errorf("the run took %v of its 60 s", took)
	}
	if !strings.Contains(log, "(stopped the run after") {
		t.Errorf("the summary does not say the threshold stopped the run:\n%s", log)
	}
	t.Logf("stopped %d s after the start (grace 2 s); the whole run took %v", after, took.Round(100*time.Millisecond))
}
