package app

import (
	"bytes"
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// extractCommand is deploy/README.md's command after "kubectl logs": it
// must keep working on what --results-in-log writes.
const extractCommand = `awk '/^----- END GLOCUST RESULTS/{p=0} p; /^----- BEGIN GLOCUST RESULTS/{p=1}' | base64 -d | tar xz`

// TestResultsInLog: with --results-in-log a headless run's log ends with
// its output files, which the documented command (awk, base64, tar, run
// by sh on the log) extracts into glocust-results-<run id>/ byte for byte,
// even with log lines around the block.
func TestResultsInLog(t *testing.T) {
	t.Parallel()
	target := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer target.Close()
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	var stdout, stderr bytes.Buffer
	code := run([]string{"--headless", "-f", thresholdScenario(t, target.URL, ""), "-u", "1", "-r", "10", "-t", "1s",
		"--web-port", freeTestPort(t), "--csv", filepath.Join(out, "glocust"), "--html", filepath.Join(out, "report.html"),
		"--json", "--json-file", filepath.Join(out, "report"), "--summary-json", filepath.Join(out, "summary.json"), "--results-in-log"},
		nil, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr.String())
	}
	id := regexp.MustCompile(`Run (\S+) started`).FindStringSubmatch(stderr.String())
	if id == nil {
		t.Fatal("no run id in the log")
	}
	// The log as kubectl logs shows it: both streams.
	logFile := filepath.Join(dir, "pod.log")
	if err := os.WriteFile(logFile, append(stdout.Bytes(), stderr.Bytes()...), 0o644); err != nil {
		t.Fatal(err)
	}
	into := t.TempDir()
	cmd := exec.Command("sh", "-c", "cat "+logFile+" | "+extractCommand)
	cmd.Dir = into
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", extractCommand, err, b)
	}
	want := []string{"glocust_stats.csv", "glocust_stats_history.csv", "glocust_failures.csv", "glocust_exceptions.csv",
		"glocust_runs.csv", "report.html", "report.json", "summary.json"}
	got, _ := filepath.Glob(filepath.Join(into, "glocust-results-"+id[1], "*"))
	if len(got) != len(want) {
		t.Errorf("extracted %v, want %v", got, want)
	}
	for _, f := range want {
		a, err1 := os.ReadFile(filepath.Join(out, f))
		b, err2 := os.ReadFile(filepath.Join(into, "glocust-results-"+id[1], f))
		if err1 != nil || err2 != nil || !bytes.Equal(a, b) || len(a) == 0 {
			t.Errorf("%s: extracted differs from written (%v, %v)", f, err1, err2)
		}
	}
	if !strings.HasPrefix(strings.TrimSpace(stdout.String()), "[") || strings.Contains(stdout.String(), "GLOCUST RESULTS") {
		t.Error("stdout is not --json's alone")
	}
}

// TestResultsInLogTooBig: an archive over the bound is refused with a
// message, and nothing half-written reaches the log.
func TestResultsInLogTooBig(t *testing.T) {
	t.Parallel()
	big := filepath.Join(t.TempDir(), "big.csv")
	noise := make([]byte, 8192)
	_, _ = rand.Read(noise) // random: gzip cannot shrink it under the bound
	if err := os.WriteFile(big, noise, 0o644); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := logResults(&b, "r", []string{big}, 4096); err == nil || !strings.Contains(err.Error(), "more than the 4096") || b.Len() != 0 {
		t.Errorf("err %v, %d bytes written", err, b.Len())
	}
}
