package app

import (
	"bytes"
	"fmt"
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
)

func freeTestPort(t *testing.T) string {
	t.Helper()
	p, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	return strconv.Itoa(p)
}

func writeScenario(t *testing.T, target string, failing bool) string {
	t.Helper()
	path := "/"
	if failing {
		path = "/fail"
	}
	y := fmt.Sprintf(`host: %s
users:
  - class: U
    wait_time: {constant: 0.05}
    tasks:
      - request: {method: GET, path: %s, name: req}
`, target, path)
	f := filepath.Join(t.TempDir(), "s.yaml")
	if err := os.WriteFile(f, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

func TestStandaloneExitCodesAndOutputs(t *testing.T) {
	t.Parallel()
	var hits atomic.Int64
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if r.URL.Path == "/fail" {
			http.Error(w, "no", 500)
		}
	}))
	defer target.Close()
	for _, tc := range []struct {
		failing bool
		args    []string
		want    int
	}{
		{false, nil, 0},
		{true, nil, 1},
		{true, []string{"--exit-code-on-error", "3"}, 3},
	} {
		html := filepath.Join(t.TempDir(), "r.html")
		args := append([]string{"--headless", "-f", writeScenario(t, target.URL, tc.failing), "-u", "2", "-r", "10", "-t", "2s",
			"--web-port", freeTestPort(t), "--html", html, "--only-summary"}, tc.args...)
		var out, errb bytes.Buffer
		t0 := time.Now()
		code := run(args, nil, &out, &errb)
		if code != tc.want {
			t.Fatalf("%v: exit %d, want %d\n%s", tc.args, code, tc.want, errb.String())
		}
		if d := time.Since(t0); d > 6*time.Second {
			t.Fatalf("run took %v", d)
		}
		if _, err := os.Stat(html); err != nil {
			t.Fatalf("no HTML report: %v", err)
		}
		if !strings.Contains(errb.String(), "Shutting down (exit code") {
			t.Fatalf("log:\n%s", errb.String())
		}
	}
	if hits.Load() == 0 {
		t.Fatal("no request reached the target")
	}
}

func TestExpectWorkersMaxWait(t *testing.T) {
	t.Parallel()
	f := writeScenario(t, "http://127.0.0.1:1", false)
	var out, errb bytes.Buffer
	t0 := time.Now()
	code := run([]string{"--master", "--headless", "-f", f, "--master-bind-host", "127.0.0.1", "--master-bind-port", freeTestPort(t),
		"--web-port", freeTestPort(t), "--expect-workers", "2", "--expect-workers-max-wait", "1"}, nil, &out, &errb)
	if code != 1 || !strings.Contains(errb.String(), "Gave up waiting for workers to connect") {
		t.Fatalf("exit %d\n%s", code, errb.String())
	}
	if d := time.Since(t0); d > 5*time.Second {
		t.Fatalf("took %v", d)
	}
}

func TestMasterWithGlocustWorkersOverZMQ(t *testing.T) {
	t.Parallel()
	var hits atomic.Int64
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer target.Close()
	f := writeScenario(t, target.URL, false)
	port := freeTestPort(t)
	done := make(chan int, 2)
	for i := 0; i < 2; i++ {
		go func() {
			done <- run([]string{"--worker", "-f", f, "--master-host", "127.0.0.1", "--master-port", port}, nil, &bytes.Buffer{}, &bytes.Buffer{})
		}()
	}
	csv := filepath.Join(t.TempDir(), "out")
	var out, errb bytes.Buffer
	code := run([]string{"--master", "--headless", "-f", f, "--master-bind-host", "127.0.0.1", "--master-bind-port", port,
		"--web-port", freeTestPort(t), "--expect-workers", "2", "-u", "4", "-r", "4", "-t", "3s", "--csv", csv}, nil, &out, &errb)
	if code != 0 {
		t.Fatalf("master exit %d\n%s", code, errb.String())
	}
	for i := 0; i < 2; i++ {
		select {
		case c := <-done:
			if c != 0 {
				t.Fatalf("worker exit %d", c)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("worker did not quit with the master")
		}
	}
	if !strings.Contains(errb.String(), "All users spawned") {
		t.Fatalf("log:\n%s", errb.String())
	}
}

// TestMasterConfigReportWait: LOCUST_WAIT_FOR_WORKERS_REPORT_AFTER_RAMP_UP
// reaches the master, 0 as no wait at all rather than master.Config's
// default.
func TestMasterConfigReportWait(t *testing.T) {
	t.Parallel()
	for env, want := range map[string]time.Duration{
		"": time.Second,
		"LOCUST_WAIT_FOR_WORKERS_REPORT_AFTER_RAMP_UP=2":                            2 * time.Second,
		"LOCUST_WAIT_FOR_WORKERS_REPORT_AFTER_RAMP_UP=0.5 * WORKER_REPORT_INTERVAL": 1500 * time.Millisecond,
		"LOCUST_WAIT_FOR_WORKERS_REPORT_AFTER_RAMP_UP=0":                            time.Nanosecond,
	} {
		opts, err := config.Parse([]string{"--master"}, []string{env})
		if err != nil {
			t.Fatalf("%s: %v", env, err)
		}
		if got := masterConfig(opts, nil, "", slog.New(slog.DiscardHandler)).WaitForReports; got != want {
			t.Errorf("%s: WaitForReports %v, want %v", env, got, want)
		}
	}
}
