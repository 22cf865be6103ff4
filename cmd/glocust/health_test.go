package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/glocust/glocust/internal/testenv"
)

// TestBusyWorkerCPUWarning: a worker process on one core (GOMAXPROCS=1)
// whose user keeps that core busy reports more than 90% CPU in its
// heartbeats. The master (another process, headless) logs Locust's
// warning naming it, and when the run ends Locust's end-of-test line and
// the console summary and --summary-json name it as overloaded; the
// worker logs Locust's own warning.
func TestBusyWorkerCPUWarning(t *testing.T) {
	t.Parallel()
	bin := testenv.BuildPackage(t, "./cmd/glocust/testdata/busyworker")
	dir := t.TempDir() // no scenario.yaml: the Busy class only
	port := strconv.Itoa(testenv.FreePort(t))
	summary := filepath.Join(dir, "summary.json")
	m := testenv.Start(t, testenv.Command{Path: bin, Dir: dir, Args: []string{"--master", "--headless", "-u", "1", "-r", "1",
		"--expect-workers", "1", "--master-bind-host", "127.0.0.1", "--master-bind-port", port,
		"--web-host", "127.0.0.1", "--web-port", strconv.Itoa(testenv.FreePort(t)), "--summary-json", summary}})
	w := testenv.Start(t, testenv.Command{Path: bin, Dir: dir, Env: []string{"GOMAXPROCS=1"},
		Args: []string{"--worker", "--master-host", "127.0.0.1", "--master-port", port}})
	// The machine is shared: wait for a second in which the worker had its
	// core to itself.
	if err := m.WaitOutput("exceeded cpu threshold (will only log this once per worker)", 90*time.Second); err != nil {
		t.Fatal(err)
	}
	line := regexp.MustCompile(`Worker (\S+) \(index 0\) exceeded cpu threshold`).FindStringSubmatch(m.MustOutput(t))
	if line == nil {
		t.Fatal("the warning does not name the worker")
	}
	id := line[1]
	if err := m.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	for _, p := range []*testenv.Process{m, w} {
		if code, err := p.Wait(30 * time.Second); err != nil || code != 0 {
			t.Fatalf("%s: exit %d, %v", p.Name, code, err)
		}
	}
	out := m.MustOutput(t)
	for _, want := range []string{"CPU usage threshold was exceeded on workers during the test!",
		"Overloaded workers (the load generator, not only the target, may have limited these results):",
		" - " + id + " (index 0): CPU above 90% in "} {
		if !strings.Contains(out, want) {
			t.Errorf("the master's output lacks %q", want)
		}
	}
	if !strings.Contains(w.MustOutput(t), "CPU usage above 90%! This may constrain your throughput") {
		t.Error("the worker did not warn about its own CPU")
	}
	b, err := os.ReadFile(summary)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Overloaded []struct {
			ID                string  `json:"id"`
			MaxCPUUsage       float64 `json:"max_cpu_usage"`
			HighCPUHeartbeats int     `json:"high_cpu_heartbeats"`
		} `json:"overloaded_workers"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Overloaded) != 1 || doc.Overloaded[0].ID != id || doc.Overloaded[0].MaxCPUUsage <= 90 || doc.Overloaded[0].HighCPUHeartbeats < 1 {
		t.Errorf("--summary-json overloaded_workers: %s", b)
	}
}
