package interop

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/glocust/glocust/internal/testenv"
)

// cluster is one master plus workers under test.
type cluster struct {
	t       *testing.T
	target  *testenv.Target
	glocust string
	locust  string
	dir     string
	port    int
}

func newCluster(t *testing.T) *cluster {
	t.Helper()
	return &cluster{
		t:       t,
		target:  testenv.NewTarget(t),
		glocust: testenv.BuildGlocust(t),
		locust:  testenv.Locust(t),
		dir:     t.TempDir(),
		port:    testenv.FreePort(t),
	}
}

func testdata(name string) string {
	p, _ := filepath.Abs(filepath.Join("testdata", name))
	return p
}

func (c *cluster) master(args ...string) *testenv.Process {
	base := []string{"-f", testdata("locustfile.py"), "--master", "--master-bind-host", "127.0.0.1",
		"--master-bind-port", strconv.Itoa(c.port), "-H", c.target.URL}
	return testenv.Start(c.t, testenv.Command{Path: c.locust, Args: append(base, args...), Dir: c.dir})
}

func (c *cluster) glocustWorker(args ...string) *testenv.Process {
	base := []string{"--worker", "-f", testdata("scenario.yaml"), "--master-host", "127.0.0.1",
		"--master-port", strconv.Itoa(c.port)}
	return testenv.Start(c.t, testenv.Command{Path: c.glocust, Args: append(base, args...), Dir: c.dir})
}

func (c *cluster) pythonWorker() *testenv.Process {
	return testenv.Start(c.t, testenv.Command{Path: c.locust, Args: []string{"-f", testdata("locustfile.py"), "--worker",
		"--master-host", "127.0.0.1", "--master-port", strconv.Itoa(c.port)}, Dir: c.dir})
}

func mustExit(t *testing.T, p *testenv.Process, timeout time.Duration, want int) {
	t.Helper()
	code, err := p.Wait(timeout)
	if err != nil {
		t.Fatalf("%s: %v\n%s", p.Name, err, p.Output())
	}
	if code != want {
		t.Fatalf("%s exited %d, want %d\n%s", p.Name, code, want, p.Output())
	}
}

// cleanMasterLog fails on the log lines that show a protocol problem,
// except those listed in allowed.
func cleanMasterLog(t *testing.T, p *testenv.Process, allowed ...string) {
	t.Helper()
	out := p.Output()
	for _, bad := range []string{"Unknown message type", "Traceback", "unknown worker", "Discarded report", "pre 2.0"} {
		if strings.Contains(out, bad) && !slices.Contains(allowed, bad) {
			t.Errorf("master log contains %q:\n%s", bad, out)
		}
	}
}

// csvCounts returns name -> (requests, failures) from a Locust _stats.csv.
func csvCounts(t *testing.T, path string) map[string][2]int64 {
	t.Helper()
	rows, err := testenv.ReadCSV(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][2]int64{}
	for _, r := range rows {
		if r["Type"] == "" {
			continue // Aggregated
		}
		n, _ := strconv.ParseInt(r["Request Count"], 10, 64)
		f, _ := strconv.ParseInt(r["Failure Count"], 10, 64)
		key := r["Name"]
		v := out[key]
		out[key] = [2]int64{v[0] + n, v[1] + f}
	}
	return out
}

// targetByName maps the target's per-path counts to the request names the
// scenario and the locustfile use.
func targetByName(tg *testenv.Target) map[string]int64 {
	return map[string]int64{
		"home":  tg.Count("GET /"),
		"item":  tg.Count("GET /item"),
		"fail":  tg.Count("GET /fail"),
		"login": tg.Count("POST /login"),
	}
}

func checkCountsMatchTarget(t *testing.T, csvPath string, tg *testenv.Target) {
	t.Helper()
	got := csvCounts(t, csvPath)
	want := targetByName(tg)
	for name, n := range want {
		if got[name][0] != n {
			t.Errorf("%s: master counted %d requests, target received %d", name, got[name][0], n)
		}
		if n == 0 {
			t.Errorf("%s: no requests at all", name)
		}
	}
	if got["fail"][1] != got["fail"][0] {
		t.Errorf("fail: %d failures of %d requests", got["fail"][1], got["fail"][0])
	}
	for name, c := range got {
		if name != "fail" && c[1] != 0 {
			t.Errorf("%s: %d unexpected failures", name, c[1])
		}
	}
}

var quitLine = regexp.MustCompile(`got quit message from master, shutting down users="([^"]*)"`)
var nodeLine = regexp.MustCompile(`starting worker node_id=(\S+)`)

// workerCounts reads a glocust worker's node id and the users it ran when
// the master said quit.
func workerCounts(t *testing.T, p *testenv.Process) (string, map[string]int) {
	t.Helper()
	out := p.Output()
	id := nodeLine.FindStringSubmatch(out)
	q := quitLine.FindStringSubmatch(out)
	if id == nil || q == nil {
		t.Fatalf("cannot find node id and final users in worker log:\n%s", out)
	}
	counts := map[string]int{}
	for _, f := range strings.Fields(q[1]) {
		k, v, _ := strings.Cut(f, "=")
		counts[k], _ = strconv.Atoi(v)
	}
	return id[1], counts
}

// dispatchOracle asks Locust's own UsersDispatcher for the final assignment.
func dispatchOracle(t *testing.T, users int, rate float64, ids ...string) map[string]map[string]int {
	t.Helper()
	args := append([]string{testdata("dispatch_final.py"), testdata("locustfile.py"), strconv.Itoa(users),
		strconv.FormatFloat(rate, 'f', -1, 64)}, ids...)
	out, err := exec.Command(testenv.Python(t), args...).Output()
	if err != nil {
		t.Fatalf("dispatch oracle: %v", err)
	}
	var res map[string]map[string]int
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("dispatch oracle output %q: %v", out, err)
	}
	return res
}

// TestGlocustWorkersUnderLocustMaster is issue 2's main acceptance test:
// a real headless Locust master with two glocust workers.
func TestGlocustWorkersUnderLocustMaster(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	csv := filepath.Join(c.dir, "run")
	m := c.master("--headless", "--expect-workers", "2", "-u", "30", "-r", "15", "-t", "15s",
		"--csv", csv, "--exit-code-on-error", "0")
	w1 := c.glocustWorker()
	w2 := c.glocustWorker()
	mustExit(t, m, 60*time.Second, 0)
	mustExit(t, w1, 15*time.Second, 0)
	mustExit(t, w2, 15*time.Second, 0)
	cleanMasterLog(t, m)
	checkCountsMatchTarget(t, csv+"_stats.csv", c.target)

	id1, got1 := workerCounts(t, w1)
	id2, got2 := workerCounts(t, w2)
	want := dispatchOracle(t, 30, 15, id1, id2)
	if !reflect.DeepEqual(got1, want[id1]) || !reflect.DeepEqual(got2, want[id2]) {
		t.Errorf("users per worker: got %s=%v %s=%v, Locust's dispatcher says %v", id1, got1, id2, got2, want)
	}
	failures, err := testenv.ReadCSV(csv + "_failures.csv")
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, f := range failures {
		if f["Name"] == "fail" && strings.Contains(f["Error"], "500") {
			found = true
		}
	}
	if !found {
		t.Errorf("no failure row for the 500 endpoint: %v", failures)
	}
}

// TestMixedWorkersUnderLocustMaster runs one glocust and one Python worker.
func TestMixedWorkersUnderLocustMaster(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	csv := filepath.Join(c.dir, "run")
	m := c.master("--headless", "--expect-workers", "2", "-u", "20", "-r", "20", "-t", "12s",
		"-s", pythonStopTimeout, "--csv", csv, "--exit-code-on-error", "0")
	gw := c.glocustWorker()
	pw := c.pythonWorker()
	mustExit(t, m, 60*time.Second, 0)
	mustExit(t, gw, 15*time.Second, 0)
	mustExit(t, pw, 15*time.Second, 0)
	cleanMasterLog(t, m)
	checkCountsMatchTarget(t, csv+"_stats.csv", c.target)
}

type workerInfo struct {
	ID        string `json:"id"`
	State     string `json:"state"`
	UserCount int    `json:"user_count"`
}

func masterWorkers(t *testing.T, web string) []workerInfo {
	t.Helper()
	resp, err := http.Get(web + "/stats/requests")
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	var body struct {
		Workers []workerInfo `json:"workers"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return body.Workers
}

func waitFor(t *testing.T, what string, timeout time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if ok() {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("timed out after %v waiting for %s", timeout, what)
}

func swarm(t *testing.T, web string, users int, rate float64) {
	t.Helper()
	resp, err := http.PostForm(web+"/swarm", url.Values{"user_count": {strconv.Itoa(users)},
		"spawn_rate": {strconv.FormatFloat(rate, 'f', -1, 64)}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("/swarm: %s", resp.Status)
	}
}

// TestStopThenSwarmAgain: /stop, then /swarm with new numbers; the worker
// registers again and runs the new counts.
func TestStopThenSwarmAgain(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	webPort := testenv.FreePort(t)
	web := fmt.Sprintf("http://127.0.0.1:%d", webPort)
	m := c.master("--web-host", "127.0.0.1", "--web-port", strconv.Itoa(webPort))
	if err := testenv.WaitHTTP(web+"/", 20*time.Second); err != nil {
		t.Fatalf("master web UI: %v\n%s", err, m.Output())
	}
	w := c.glocustWorker()
	waitFor(t, "worker ready", 20*time.Second, func() bool {
		ws := masterWorkers(t, web)
		return len(ws) == 1 && ws[0].State == "ready"
	})
	swarm(t, web, 6, 10)
	waitFor(t, "6 users running", 20*time.Second, func() bool {
		ws := masterWorkers(t, web)
		return len(ws) == 1 && ws[0].State == "running" && ws[0].UserCount == 6
	})
	// Locust 2.47 serves /stop on POST (older versions on GET).
	resp, err := http.Post(web+"/stop", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("/stop: %s", resp.Status)
	}
	waitFor(t, "worker ready again", 20*time.Second, func() bool {
		ws := masterWorkers(t, web)
		return len(ws) == 1 && ws[0].State == "ready" && ws[0].UserCount == 0
	})
	before := c.target.Count("GET /")
	swarm(t, web, 3, 10)
	waitFor(t, "3 users running", 20*time.Second, func() bool {
		ws := masterWorkers(t, web)
		return len(ws) == 1 && ws[0].State == "running" && ws[0].UserCount == 3
	})
	waitFor(t, "new requests", 10*time.Second, func() bool { return c.target.Count("GET /") > before })
	// The worker sends its log lines every 10 s (Locust's "logs"); the
	// master's /logs shows them under the worker's id.
	id := glocustWorkerID(t, w)
	waitFor(t, "the worker's lines on the master's /logs", 25*time.Second, func() bool {
		logs, err := getJSON(web + "/logs")
		if err != nil {
			return false
		}
		workers, _ := logs["workers"].(map[string]any)
		lines, _ := workers[id].([]any)
		for _, l := range lines {
			if s, _ := l.(string); strings.Contains(s, "/INFO/glocust.worker: starting worker node_id="+id) {
				return true
			}
		}
		return false
	})
	_ = m.Signal(syscall.SIGTERM)
	mustExit(t, w, 20*time.Second, 0)
	_, _ = m.Wait(20 * time.Second)
	cleanMasterLog(t, m)
}

// TestMasterRestart: the master is SIGKILLed and a new one started on the
// same port; the glocust worker registers with it and runs its swarm.
func TestMasterRestart(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	webPort := testenv.FreePort(t)
	web := fmt.Sprintf("http://127.0.0.1:%d", webPort)
	m1 := c.master("--web-host", "127.0.0.1", "--web-port", strconv.Itoa(webPort))
	if err := testenv.WaitHTTP(web+"/", 20*time.Second); err != nil {
		t.Fatalf("master web UI: %v\n%s", err, m1.Output())
	}
	w := c.glocustWorker()
	waitFor(t, "worker ready", 20*time.Second, func() bool { return len(masterWorkers(t, web)) == 1 })
	swarm(t, web, 4, 10)
	waitFor(t, "4 users", 20*time.Second, func() bool {
		ws := masterWorkers(t, web)
		return len(ws) == 1 && ws[0].UserCount == 4
	})
	m1.Kill()
	_, _ = m1.Wait(10 * time.Second)

	csv := filepath.Join(c.dir, "second")
	m2 := c.master("--headless", "--expect-workers", "1", "-u", "5", "-r", "5", "-t", "8s",
		"--csv", csv, "--exit-code-on-error", "0")
	mustExit(t, m2, 90*time.Second, 0)
	mustExit(t, w, 20*time.Second, 0)
	// Until it notices the restart, the worker reports to the new master
	// under its old id: Locust discards those reports, as it should.
	cleanMasterLog(t, m2, "Discarded report")
	got := csvCounts(t, csv+"_stats.csv")
	if got["home"][0] == 0 {
		t.Fatalf("the restarted master saw no requests: %v\n%s", got, m2.Output())
	}
	if !strings.Contains(w.Output(), "registering again") {
		t.Errorf("worker log does not show the re-registration:\n%s", w.Output())
	}
}

// TestWorkerSIGTERM: SIGTERM on a glocust worker sends its final stats and
// quit, and the process exits 0; the master's totals equal what the target
// received.
func TestWorkerSIGTERM(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	webPort := testenv.FreePort(t)
	web := fmt.Sprintf("http://127.0.0.1:%d", webPort)
	m := c.master("--web-host", "127.0.0.1", "--web-port", strconv.Itoa(webPort))
	if err := testenv.WaitHTTP(web+"/", 20*time.Second); err != nil {
		t.Fatalf("master web UI: %v\n%s", err, m.Output())
	}
	w := c.glocustWorker()
	waitFor(t, "worker ready", 20*time.Second, func() bool { return len(masterWorkers(t, web)) == 1 })
	swarm(t, web, 4, 10)
	waitFor(t, "requests", 20*time.Second, func() bool { return c.target.Count("GET /") > 20 })
	if err := w.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	mustExit(t, w, 10*time.Second, 0)
	waitFor(t, "worker gone from the master", 10*time.Second, func() bool { return len(masterWorkers(t, web)) == 0 })
	time.Sleep(2100 * time.Millisecond) // Locust caches /stats/requests for 2 s
	resp, err := http.Get(web + "/stats/requests")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Stats []struct {
			Name        string `json:"name"`
			NumRequests int64  `json:"num_requests"`
		} `json:"stats"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	want := targetByName(c.target)
	for _, s := range body.Stats {
		if n, ok := want[s.Name]; ok && s.NumRequests != n {
			t.Errorf("%s: master has %d requests, target received %d", s.Name, s.NumRequests, n)
		}
	}
	if !strings.Contains(m.Output(), "quit") {
		t.Errorf("master did not log the worker's quit:\n%s", m.Output())
	}
	cleanMasterLog(t, m)
}

// TestWorkerHealthEndpoints: with --web-port a worker serves /healthz at
// once and /readyz only once a (real Locust) master has acknowledged it.
func TestWorkerHealthEndpoints(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	hp := testenv.FreePort(t)
	health := fmt.Sprintf("http://127.0.0.1:%d", hp)
	w := c.glocustWorker("--web-host", "127.0.0.1", "--web-port", strconv.Itoa(hp))
	status := func(path string) int {
		resp, err := http.Get(health + path)
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	waitFor(t, "/healthz", 10*time.Second, func() bool { return status("/healthz") == 200 })
	if got := status("/readyz"); got != http.StatusServiceUnavailable {
		t.Fatalf("/readyz before any master: %d, want 503", got)
	}
	m := c.master("--headless", "--expect-workers", "1", "-u", "1", "-r", "1", "-t", "3s", "--exit-code-on-error", "0")
	waitFor(t, "/readyz", 20*time.Second, func() bool { return status("/readyz") == 200 })
	mustExit(t, m, 30*time.Second, 0)
	mustExit(t, w, 15*time.Second, 0)
}
