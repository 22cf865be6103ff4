package interop

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/glocust/glocust/internal/testenv"
)

// thresholdSummary is what the tests read of --summary-json.
type thresholdSummary struct {
	Verdict    string `json:"verdict"`
	ExitCode   int    `json:"exit_code"`
	Thresholds []struct {
		Threshold string   `json:"threshold"`
		Value     *float64 `json:"value"`
		Pass      bool     `json:"pass"`
	} `json:"thresholds"`
	Requests struct {
		NumRequests int64 `json:"num_requests"`
		NumFailures int64 `json:"num_failures"`
	} `json:"requests"`
}

func readSummary(t *testing.T, path string) thresholdSummary {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("--summary-json: %v", err)
	}
	var s thresholdSummary
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatalf("--summary-json: %v\n%s", err, b)
	}
	return s
}

// failingWorkers writes a worker's scenario or locustfile whose one user
// class, Failer, requests target's /fail (500) 4 times a second, under the
// request name "fail".
func writeFailer(t *testing.T, dir, target string, python bool) string {
	t.Helper()
	if python {
		f := filepath.Join(dir, "failer.py")
		src := fmt.Sprintf(`from locust import HttpUser, constant_throughput, task


class Failer(HttpUser):
    host = %q
    wait_time = constant_throughput(4)

    @task
    def fail(self):
        self.client.get("/fail", name="fail")
`, target)
		if err := os.WriteFile(f, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		return f
	}
	f := filepath.Join(dir, "failer.yaml")
	y := fmt.Sprintf(`users:
  - class: Failer
    wait_time: {constant_throughput: 4}
    tasks:
      - request: {method: GET, path: %q, name: fail}
thresholds:
  - failures_per_s < 6
  - p95 < 1s
`, target+"/fail")
	if err := os.WriteFile(f, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

// TestThresholdsOnMergedStats: the master judges its thresholds on the
// merged stats of all workers. Two workers (a glocust one and a Python
// Locust one) each fail 4 requests a second against a target of its own;
// "failures_per_s < 6" passes for each of them alone (a master with that
// worker only exits 0) and fails for both together (exit 3, with about
// 8/s, each worker's share below 6/s as its target counted).
func TestThresholdsOnMergedStats(t *testing.T) {
	t.Parallel()
	glocust, locust := testenv.BuildGlocust(t), testenv.Locust(t)
	type run struct {
		name    string
		workers []string // "glocust", "locust"
		want    int
	}
	type started struct {
		run
		master  *testenv.Process
		workers []*testenv.Process
		targets []*testenv.Target
		summary string
	}
	var all []*started
	for _, r := range []run{{"glocust alone", []string{"glocust"}, 0}, {"locust alone", []string{"locust"}, 0},
		{"both", []string{"glocust", "locust"}, 3}} {
		dir, port := t.TempDir(), testenv.FreePort(t)
		s := &started{run: r, summary: filepath.Join(dir, "summary.json")}
		var masterFile string
		for _, kind := range r.workers {
			tg := testenv.NewTarget(t)
			wdir := filepath.Join(dir, kind)
			if err := os.Mkdir(wdir, 0o755); err != nil {
				t.Fatal(err)
			}
			f := writeFailer(t, wdir, tg.URL, kind == "locust")
			path, args := glocust, []string{"--worker", "-f", f}
			if kind == "locust" {
				path = locust
			} else {
				masterFile = f
			}
			s.targets = append(s.targets, tg)
			s.workers = append(s.workers, testenv.Start(t, testenv.Command{Path: path, Dir: wdir,
				Args: append(args, "--master-host", "127.0.0.1", "--master-port", strconv.Itoa(port))}))
		}
		if masterFile == "" {
			masterFile = writeFailer(t, dir, "http://127.0.0.1:1", false) // the thresholds and the class
		}
		n := strconv.Itoa(len(r.workers))
		s.master = testenv.Start(t, testenv.Command{Path: glocust, Dir: dir, Args: []string{"--master", "--headless",
			"-f", masterFile, "--master-bind-host", "127.0.0.1", "--master-bind-port", strconv.Itoa(port),
			"--web-port", strconv.Itoa(testenv.FreePort(t)), "--expect-workers", n, "-u", n, "-r", n, "-t", "8s",
			"--only-summary", "--summary-json", s.summary}})
		all = append(all, s)
	}
	for _, s := range all {
		mustExit(t, s.master, 90*time.Second, s.want)
		sum := readSummary(t, s.summary)
		out := s.master.MustOutput(t)
		if sum.ExitCode != s.want || len(sum.Thresholds) != 2 || sum.Thresholds[0].Value == nil {
			t.Fatalf("%s: summary %+v", s.name, sum)
		}
		merged := *sum.Thresholds[0].Value
		t.Logf("%s: failures_per_s %.2f (%d of %d requests failed), exit %d", s.name, merged, sum.Requests.NumFailures,
			sum.Requests.NumRequests, sum.ExitCode)
		if sum.Thresholds[0].Pass != (s.want == 0) || !sum.Thresholds[1].Pass {
			t.Errorf("%s: verdicts %+v", s.name, sum.Thresholds)
		}
		if !strings.Contains(out, "failures_per_s < 6") || !strings.Contains(out, "Shutting down (exit code "+strconv.Itoa(s.want)+")") {
			t.Errorf("%s: the summary lacks the threshold or the exit code:\n%s", s.name, out)
		}
		if len(s.targets) < 2 {
			continue
		}
		// Each worker's share of the merged rate, by what its target
		// served: below the limit, as each alone passed.
		served := make([]int64, len(s.targets))
		var total int64
		for i, tg := range s.targets {
			served[i] = tg.Count("GET /fail")
			total += served[i]
		}
		for i, n := range served {
			share := merged * float64(n) / float64(total)
			if share >= 6 {
				t.Errorf("%s: worker %s alone failed %.2f/s: not under the limit", s.name, s.workers[i].Name, share)
			}
		}
		if merged < 6 {
			t.Errorf("%s: merged failures_per_s %.2f, want >= 6", s.name, merged)
		}
	}
}
