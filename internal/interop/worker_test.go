package interop

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os/exec"
	"path/filepath"
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

// testdata returns the absolute path of a file in testdata (the processes
// run in other directories).
func testdata(t testing.TB, name string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func (c *cluster) master(args ...string) *testenv.Process {
	base := []string{"-f", testdata(c.t, "locustfile.py"), "--master", "--master-bind-host", "127.0.0.1",
		"--master-bind-port", strconv.Itoa(c.port), "-H", c.target.URL}
	return testenv.Start(c.t, testenv.Command{Path: c.locust, Args: append(base, args...), Dir: c.dir})
}

func (c *cluster) glocustWorker(args ...string) *testenv.Process {
	base := []string{"--worker", "-f", testdata(c.t, "scenario.yaml"), "--master-host", "127.0.0.1",
		"--master-port", strconv.Itoa(c.port)}
	return testenv.Start(c.t, testenv.Command{Path: c.glocust, Args: append(base, args...), Dir: c.dir})
}

func (c *cluster) pythonWorker() *testenv.Process {
	return testenv.Start(c.t, testenv.Command{Path: c.locust, Args: []string{"-f", testdata(c.t, "locustfile.py"), "--worker",
		"--master-host", "127.0.0.1", "--master-port", strconv.Itoa(c.port)}, Dir: c.dir})
}

func mustExit(t *testing.T, p *testenv.Process, timeout time.Duration, want int) {
	t.Helper()
	code, err := p.Wait(timeout)
	if err != nil {
		t.Fatalf("%s: %v\n%s", p.Name, err, p.MustOutput(t))
	}
	if code != want {
		t.Fatalf("%s exited %d, want %d\n%s", p.Name, code, want, p.MustOutput(t))
	}
}

// stopMaster sends SIGTERM to a master and checks that it exits 0.
func stopMaster(t *testing.T, m *testenv.Process, timeout time.Duration) {
	t.Helper()
	if err := m.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM to the master: %v", err)
	}
	mustExit(t, m, timeout, 0)
}

// kill SIGKILLs p and waits for it to die.
func kill(t *testing.T, p *testenv.Process) {
	t.Helper()
	if err := p.Kill(); err != nil {
		t.Fatal(err)
	}
	mustExit(t, p, 10*time.Second, -1)
}

// cleanMasterLog fails on the log lines that show a protocol problem,
// except those listed in allowed.
func cleanMasterLog(t *testing.T, p *testenv.Process, allowed ...string) {
	t.Helper()
	out := p.MustOutput(t)
	for _, bad := range []string{"Unknown message type", "Traceback", "unknown worker", "Discarded report", "pre 2.0"} {
		if strings.Contains(out, bad) && !slices.Contains(allowed, bad) {
			t.Errorf("master log contains %q:\n%s", bad, out)
		}
	}
}

// csvCounts returns name -> (requests, failures) from a Locust _stats.csv,
// which must have at least one row besides Aggregated.
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
		n, err1 := strconv.ParseInt(r["Request Count"], 10, 64)
		f, err2 := strconv.ParseInt(r["Failure Count"], 10, 64)
		if err := errors.Join(err1, err2); err != nil {
			t.Fatalf("%s, row %v: %v", path, r, err)
		}
		key := r["Name"]
		v := out[key]
		out[key] = [2]int64{v[0] + n, v[1] + f}
	}
	if len(out) == 0 {
		t.Fatalf("%s has no request rows: %v", path, rows)
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
		if _, ok := want[name]; !ok {
			t.Errorf("%s: the master counted %d requests of a name the target does not serve", name, c[0])
		}
		if name != "fail" && c[1] != 0 {
			t.Errorf("%s: %d unexpected failures", name, c[1])
		}
	}
}

var quitLine = regexp.MustCompile(`got quit message from master, shutting down users="([^"]*)"`)

// dispatchOracle asks Locust's own UsersDispatcher for the final assignment.
func dispatchOracle(t *testing.T, users int, rate float64, ids ...string) map[string]map[string]int {
	t.Helper()
	args := append([]string{testdata(t, "dispatch_final.py"), testdata(t, "locustfile.py"), strconv.Itoa(users),
		strconv.FormatFloat(rate, 'f', -1, 64)}, ids...)
	out, err := exec.Command(testenv.Python(t), args...).Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("dispatch oracle: %v\n%s", err, stderr)
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

	id1, got1 := glocustWorkerFinal(t, w1)
	id2, got2 := glocustWorkerFinal(t, w2)
	checkOracle(t, 30, 15, map[string]map[string]int{id1: got1, id2: got2})
	checkFailureRow(t, csv+"_failures.csv")
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

// masterWorkers returns the workers a master's /stats/requests lists; a
// response without a "workers" array is an error.
func masterWorkers(web string) ([]workerInfo, error) {
	var body struct {
		Workers *[]workerInfo `json:"workers"`
	}
	if err := getJSONInto(web+"/stats/requests", &body); err != nil {
		return nil, err
	}
	if body.Workers == nil {
		return nil, fmt.Errorf("GET %s/stats/requests: no workers array", web)
	}
	return *body.Workers, nil
}

// waitUntil polls get every 200 ms until ok accepts what it returns, and
// returns that value. An error from get means "not yet". When timeout
// passes, it fails the test with the last value or error seen.
func waitUntil[T any](t *testing.T, what string, timeout time.Duration, get func() (T, error), ok func(T) bool) T {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		v, err := get()
		if err == nil && ok(v) {
			return v
		}
		if time.Now().After(deadline) {
			if err != nil {
				t.Fatalf("timed out after %v waiting for %s: %v", timeout, what, err)
			}
			t.Fatalf("timed out after %v waiting for %s; last seen: %+v", timeout, what, v)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// waitFor is waitUntil for a condition that returns nil when met, else an
// error saying what it saw.
func waitFor(t *testing.T, what string, timeout time.Duration, cond func() error) {
	t.Helper()
	waitUntil(t, what, timeout, func() (struct{}, error) { return struct{}{}, cond() }, func(struct{}) bool { return true })
}

// waitWorkers waits until ok accepts the master's workers list and returns it.
func waitWorkers(t *testing.T, web, what string, timeout time.Duration, ok func([]workerInfo) bool) []workerInfo {
	t.Helper()
	return waitUntil(t, what, timeout, func() ([]workerInfo, error) { return masterWorkers(web) }, ok)
}

// nWorkers accepts a workers list of n entries.
func nWorkers(n int) func([]workerInfo) bool {
	return func(ws []workerInfo) bool { return len(ws) == n }
}

// waitTarget waits until the target has served more than n requests of key
// ("METHOD /path").
func waitTarget(t *testing.T, tg *testenv.Target, key string, n int64, timeout time.Duration) {
	t.Helper()
	waitUntil(t, fmt.Sprintf("more than %d %s on the target", n, key), timeout,
		func() (int64, error) { return tg.Count(key), nil }, func(got int64) bool { return got > n })
}

// stopSwarm stops the test through the master's POST /stop (Locust 2.47
// serves /stop on POST, older versions on GET).
func stopSwarm(t *testing.T, web string) {
	t.Helper()
	resp, err := httpClient.Post(web+"/stop", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/stop: %s", resp.Status)
	}
}

func swarm(t *testing.T, web string, users int, rate float64) {
	t.Helper()
	swarmForm(t, web, url.Values{"user_count": {strconv.Itoa(users)}, "spawn_rate": {strconv.FormatFloat(rate, 'f', -1, 64)}})
}

// TestStopThenSwarmAgain: /stop, then /swarm with new numbers; the worker
// registers again and runs the new counts.
func TestStopThenSwarmAgain(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	webPort, web := webUI(t)
	m := c.master("--web-host", "127.0.0.1", "--web-port", webPort, "--exit-code-on-error", "0")
	waitWeb(t, web, m)
	w := c.glocustWorker()
	waitWorkers(t, web, "worker ready", 20*time.Second, func(ws []workerInfo) bool {
		return len(ws) == 1 && ws[0].State == "ready"
	})
	swarm(t, web, 6, 10)
	waitWorkers(t, web, "6 users running", 20*time.Second, func(ws []workerInfo) bool {
		return len(ws) == 1 && ws[0].State == "running" && ws[0].UserCount == 6
	})
	stopSwarm(t, web)
	waitWorkers(t, web, "worker ready again", 20*time.Second, func(ws []workerInfo) bool {
		return len(ws) == 1 && ws[0].State == "ready" && ws[0].UserCount == 0
	})
	before := c.target.Count("GET /")
	swarm(t, web, 3, 10)
	waitWorkers(t, web, "3 users running", 20*time.Second, func(ws []workerInfo) bool {
		return len(ws) == 1 && ws[0].State == "running" && ws[0].UserCount == 3
	})
	waitTarget(t, c.target, "GET /", before, 10*time.Second)
	// The worker sends its log lines every 10 s (Locust's "logs"); the
	// master's /logs shows them under the worker's id.
	id := glocustWorkerID(t, w)
	waitLogs(t, web, "the worker's lines on the master's /logs", 25*time.Second, func(l logsDoc) bool {
		return hasLine(l.Workers[id], "/INFO/glocust.worker: starting worker node_id="+id)
	})
	stopMaster(t, m, 20*time.Second)
	mustExit(t, w, 20*time.Second, 0)
	cleanMasterLog(t, m)
}

// TestMasterRestart: the master is SIGKILLed and a new one started on the
// same port; the glocust worker registers with it and runs its swarm.
func TestMasterRestart(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	webPort, web := webUI(t)
	m1 := c.master("--web-host", "127.0.0.1", "--web-port", webPort)
	waitWeb(t, web, m1)
	w := c.glocustWorker()
	waitWorkers(t, web, "worker ready", 20*time.Second, nWorkers(1))
	swarm(t, web, 4, 10)
	waitWorkers(t, web, "4 users", 20*time.Second, func(ws []workerInfo) bool {
		return len(ws) == 1 && ws[0].UserCount == 4
	})
	kill(t, m1)

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
		t.Fatalf("the restarted master saw no requests: %v\n%s", got, m2.MustOutput(t))
	}
	if out := w.MustOutput(t); !strings.Contains(out, "registering again") {
		t.Errorf("worker log does not show the re-registration:\n%s", out)
	}
}

// TestWorkerSIGTERM: SIGTERM on a glocust worker sends its final stats and
// quit, and the process exits 0; the master's totals equal what the target
// received.
func TestWorkerSIGTERM(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	webPort, web := webUI(t)
	m := c.master("--web-host", "127.0.0.1", "--web-port", webPort)
	waitWeb(t, web, m)
	w := c.glocustWorker()
	waitWorkers(t, web, "worker ready", 20*time.Second, nWorkers(1))
	swarm(t, web, 4, 10)
	waitTarget(t, c.target, "GET /", 20, 20*time.Second)
	if err := w.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	mustExit(t, w, 10*time.Second, 0)
	waitWorkers(t, web, "worker gone from the master", 10*time.Second, nWorkers(0))
	// The only worker has exited: the target's counts are final. Locust
	// caches /stats/requests for 2 s, so the master's counts are polled
	// until they are equal (a name missing on one side counts 0).
	want := targetByName(c.target)
	waitRequests(t, web, fmt.Sprintf("the master's counts to equal the target's %v", want), 10*time.Second,
		func(got map[string]int64) bool { return sameCounts(got, want) })
	if out := m.MustOutput(t); !strings.Contains(out, "quit") {
		t.Errorf("master did not log the worker's quit:\n%s", out)
	}
	cleanMasterLog(t, m)
}

// httpStatus returns a function that GETs url and returns the status code.
func httpStatus(url string) func() (int, error) {
	return func() (int, error) {
		resp, err := httpClient.Get(url)
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}
}

// is200 accepts an HTTP status 200.
func is200(code int) bool { return code == http.StatusOK }

// TestWorkerHealthEndpoints: with --web-port a worker serves /healthz at
// once and /readyz only once a (real Locust) master has acknowledged it.
func TestWorkerHealthEndpoints(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	hp := testenv.FreePort(t)
	health := fmt.Sprintf("http://127.0.0.1:%d", hp)
	w := c.glocustWorker("--web-host", "127.0.0.1", "--web-port", strconv.Itoa(hp))
	status := func(path string) func() (int, error) { return httpStatus(health + path) }
	waitUntil(t, "/healthz", 10*time.Second, status("/healthz"), is200)
	if got, err := status("/readyz")(); err != nil || got != http.StatusServiceUnavailable {
		t.Fatalf("/readyz before any master: %d, %v; want 503", got, err)
	}
	m := c.master("--headless", "--expect-workers", "1", "-u", "1", "-r", "1", "-t", "3s", "--exit-code-on-error", "0")
	waitUntil(t, "/readyz", 20*time.Second, status("/readyz"), is200)
	mustExit(t, m, 30*time.Second, 0)
	mustExit(t, w, 15*time.Second, 0)
}
