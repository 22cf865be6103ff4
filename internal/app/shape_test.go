package app

import (
	"bytes"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/glocust/glocust/internal/config"
	"github.com/glocust/glocust/shape"
)

// shapeScenario writes a scenario for target with a two-stage shape of
// 3 s: 2 users (with common, -u at -r), then 4.
func shapeScenario(t *testing.T, target string, common bool) string {
	t.Helper()
	first, opt := "{duration: 1.5s, users: 2, spawn_rate: 10}", ""
	if common {
		first, opt = "{duration: 1.5s}", "  use_common_options: true\n"
	}
	y := "host: " + target + `
users:
  - class: U
    wait_time: {constant: 0.1}
    tasks:
      - request: {method: GET, path: /, name: req}
shape:
  name: TwoSteps
` + opt + `  stages:
    - ` + first + `
    - {end: 3s, users: 4, spawn_rate: 10}
`
	f := filepath.Join(t.TempDir(), "s.yaml")
	if err := os.WriteFile(f, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

// TestStandaloneShapeHeadless: a headless standalone run follows the
// scenario's shape, warns that -u, -r and -t are ignored, and ends at the
// end of the shape (not at -t), with the shape's changes in the report.
func TestStandaloneShapeHeadless(t *testing.T) {
	t.Parallel()
	target := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer target.Close()
	dir := t.TempDir()
	args := []string{"--headless", "-f", shapeScenario(t, target.URL, false), "-u", "50", "-r", "5", "-t", "60s",
		"--web-port", freeTestPort(t), "--html", filepath.Join(dir, "r.html"), "--csv", filepath.Join(dir, "run"),
		"--csv-full-history"}
	var out bytes.Buffer
	var errb lockedBuffer // the periodic tables and the logs write concurrently
	t0 := time.Now()
	code := run(args, nil, &out, &errb)
	took := time.Since(t0)
	log := errb.String()
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, log)
	}
	if took > 15*time.Second {
		t.Fatalf("the run took %v: it did not end with its 3 s shape", took)
	}
	for _, want := range []string{
		"--run-time, --users or --spawn-rate have no impact on LoadShapes unless the shape class explicitly reads them.",
		"The following option(s) will be ignored: --users, --spawn-rate, --run-time",
		"Shape test starting.", "Shape test updating to 2 users at 10.00 spawn rate",
		"Shape test updating to 4 users at 10.00 spawn rate", "Shape test stopping", "Shape test completed, shutting down",
		"Load shape TwoSteps: ", // under a periodic table
	} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	if strings.Contains(log, "Run time limit set") {
		t.Errorf("-t armed with a shape:\n%s", log)
	}
	html, err := os.ReadFile(filepath.Join(dir, "r.html"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"TwoSteps (2 changes", `class="markline"`, "stage 1/2: 2 users", "stage 2/2: 4 users"} {
		if !bytes.Contains(html, []byte(want)) {
			t.Errorf("HTML report lacks %q", want)
		}
	}
}

// TestAutostartShapeAutoquit: with --autostart the shape's end stops the
// test, and --autoquit then quits.
func TestAutostartShapeAutoquit(t *testing.T) {
	t.Parallel()
	target := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer target.Close()
	args := []string{"--autostart", "--autoquit", "0", "-f", shapeScenario(t, target.URL, true), "-u", "3",
		"--web-port", freeTestPort(t), "--only-summary"}
	var out, errb bytes.Buffer
	code := run(args, nil, &out, &errb)
	log := errb.String()
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, log)
	}
	for _, want := range []string{"Shape test updating to 3 users", "Shape test completed, stopping test", "--autoquit time reached, shutting down"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	if strings.Contains(log, "will be ignored") {
		t.Errorf("a shape with use_common_options warned:\n%s", log)
	}
}

func TestMasterShapeChoice(t *testing.T) {
	t.Parallel()
	tick := func(shape.Status) (shape.Target, bool) { return shape.Target{}, false }
	yaml, a, b := &shape.Shape{Name: "Y", Tick: tick}, &shape.Shape{Name: "A", Tick: tick}, &shape.Shape{Name: "B", Tick: tick}
	if s, err := masterShape(&loaded{shape: yaml}, []*shape.Shape{a, b}); s != yaml || err != nil {
		t.Errorf("the scenario's shape must win: %v %v", s, err)
	}
	if s, err := masterShape(&loaded{}, []*shape.Shape{a}); s != a || err != nil {
		t.Errorf("the one registered shape: %v %v", s, err)
	}
	if s, err := masterShape(&loaded{}, nil); s != nil || err != nil {
		t.Errorf("no shape: %v %v", s, err)
	}
	if _, err := masterShape(&loaded{}, []*shape.Shape{a, b}); err == nil || !strings.Contains(err.Error(), "(A, B)") {
		t.Errorf("two registered shapes: %v", err)
	}
	if _, err := masterShape(&loaded{shape: yaml, shapeErr: errors.New("s.yaml:3: no Go shape")}, nil); err == nil {
		t.Error("the scenario's shape error must stop the master")
	}
}

func TestWarnShapeOptions(t *testing.T) {
	t.Parallel()
	tick := func(shape.Status) (shape.Target, bool) { return shape.Target{}, false }
	for _, tc := range []struct {
		args   []string
		common bool
		want   string
	}{
		{[]string{"-u", "5"}, false, "ignored: --users\n"},
		{[]string{"-r", "2", "-t", "1m"}, false, "ignored: --spawn-rate, --run-time\n"},
		{[]string{"-u", "0"}, false, ""}, // Locust tests the value's truth
		{nil, false, ""},
		{[]string{"-u", "5", "-t", "1m"}, true, ""},
	} {
		opts, err := config.Parse(tc.args, nil)
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		warnShapeOptions(opts, &shape.Shape{Name: "S", Tick: tick, UseCommonOptions: tc.common}, slog.New(slog.NewTextHandler(&b, nil)))
		got := b.String()
		if tc.want == "" && got != "" || tc.want != "" && !strings.Contains(got, tc.want[:len(tc.want)-1]) {
			t.Errorf("%v (common %v): log %q, want %q", tc.args, tc.common, got, tc.want)
		}
	}
}

// TestWorkerIgnoresMasterShape: a scenario naming a Go shape (or a stage
// class) that only the master's binary has loads in a worker, and fails
// in a master, at the scenario's line.
func TestWorkerIgnoresMasterShape(t *testing.T) {
	t.Parallel()
	f := filepath.Join(t.TempDir(), "s.yaml")
	y := "users:\n  - class: U\n    tasks: [{request: {path: /}}]\nshape: {go: OnlyInTheMaster}\n"
	if err := os.WriteFile(f, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	opts, err := config.Parse([]string{"--worker", "-f", f}, nil)
	if err != nil {
		t.Fatal(err)
	}
	l, err := loadClasses(opts, nil, true)
	if err != nil || len(l.classes) != 1 {
		t.Fatalf("a worker must load the scenario: %v", err)
	}
	if _, err := masterShape(l, nil); err == nil || !strings.HasPrefix(err.Error(), f+`:4: shape.go: no Go shape "OnlyInTheMaster" is registered`) {
		t.Errorf("master: %v", err)
	}
}
