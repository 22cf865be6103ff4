package interop

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/glocust/glocust/internal/testenv"
)

// glocustMaster starts `glocust --master` on the cluster's port, with the
// YAML twin of the locustfile and the cluster's target as host.
func (c *cluster) glocustMaster(args ...string) *testenv.Process {
	base := []string{"--master", "-f", testdata("scenario.yaml"), "--master-bind-host", "127.0.0.1",
		"--master-bind-port", strconv.Itoa(c.port), "-H", c.target.URL}
	return testenv.Start(c.t, testenv.Command{Path: c.glocust, Args: append(base, args...), Dir: c.dir})
}

// probedPythonWorker starts a real Locust worker running locustfile.py plus
// testdata/master_probe.py, which prints its node id and the users it runs
// after each spawn it applied.
func (c *cluster) probedPythonWorker() *testenv.Process {
	return testenv.Start(c.t, testenv.Command{Path: c.locust, Args: []string{
		"-f", testdata("locustfile.py") + "," + testdata("master_probe.py"), "--worker",
		"--master-host", "127.0.0.1", "--master-port", strconv.Itoa(c.port)}, Dir: c.dir})
}

var (
	probeNodeLine    = regexp.MustCompile(`glocust-probe starting worker node_id=(\S+)`)
	probeSpawnedLine = regexp.MustCompile(`glocust-probe spawned node_id=\S+ users="([^"]*)"`)
	// a glocust worker's current node id: the one it started with, or the
	// one it took when it registered again.
	glocustNodeLine = regexp.MustCompile(`(?:starting worker|registering again under a new node id) node_id=(\S+)`)
)

func parseUsers(s string) map[string]int {
	counts := map[string]int{}
	for _, f := range strings.Fields(s) {
		k, v, _ := strings.Cut(f, "=")
		counts[k], _ = strconv.Atoi(v)
	}
	return counts
}

// pythonWorkerID reads the node id a probed Python worker printed.
func pythonWorkerID(t *testing.T, p *testenv.Process) string {
	t.Helper()
	id := probeNodeLine.FindStringSubmatch(p.Output())
	if id == nil {
		t.Fatalf("no node id in the Python worker's log:\n%s", p.Output())
	}
	return id[1]
}

// pythonWorkerCounts returns a probed Python worker's node id and the users
// it ran after the last spawn it applied.
func pythonWorkerCounts(t *testing.T, p *testenv.Process) (string, map[string]int) {
	t.Helper()
	id := pythonWorkerID(t, p)
	all := probeSpawnedLine.FindAllStringSubmatch(p.Output(), -1)
	if all == nil {
		t.Fatalf("the Python worker %s never applied a spawn:\n%s", id, p.Output())
	}
	return id, parseUsers(all[len(all)-1][1])
}

// glocustWorkerID returns a glocust worker's latest node id.
func glocustWorkerID(t *testing.T, p *testenv.Process) string {
	t.Helper()
	all := glocustNodeLine.FindAllStringSubmatch(p.Output(), -1)
	if all == nil {
		t.Fatalf("no node id in the glocust worker's log:\n%s", p.Output())
	}
	return all[len(all)-1][1]
}

// glocustWorkerFinal returns a glocust worker's latest node id and the users
// it ran when the master said quit.
func glocustWorkerFinal(t *testing.T, p *testenv.Process) (string, map[string]int) {
	t.Helper()
	q := quitLine.FindStringSubmatch(p.Output())
	if q == nil {
		t.Fatalf("no quit line in the glocust worker's log:\n%s", p.Output())
	}
	return glocustWorkerID(t, p), parseUsers(q[1])
}

// sameUsers compares per-class counts, ignoring classes with 0 users.
func sameUsers(a, b map[string]int) bool {
	for k, v := range a {
		if v != b[k] {
			return false
		}
	}
	for k, v := range b {
		if v != a[k] {
			return false
		}
	}
	return true
}

// checkOracle compares the final users of each worker with Locust's
// dispatcher's answer for the same worker ids.
func checkOracle(t *testing.T, users int, rate float64, got map[string]map[string]int) {
	t.Helper()
	ids := make([]string, 0, len(got))
	for id := range got {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	want := dispatchOracle(t, users, rate, ids...)
	for _, id := range ids {
		if !sameUsers(got[id], want[id]) {
			t.Errorf("users per worker: got %v, Locust's dispatcher says %v", got, want)
			return
		}
	}
}

// checkPythonWorkerLog fails on the lines a Python worker prints when the
// master speaks the protocol wrongly.
func checkPythonWorkerLog(t *testing.T, p *testenv.Process) {
	t.Helper()
	out := p.Output()
	for _, bad := range []string{"Traceback", "Unknown message type", "Discard spawn message", "RPCError",
		"Didn't get heartbeat from master"} {
		if strings.Contains(out, bad) {
			t.Errorf("Python worker log contains %q:\n%s", bad, out)
		}
	}
}

// checkFailureRow checks that _failures.csv holds the 500 of the fail endpoint.
func checkFailureRow(t *testing.T, path string) {
	t.Helper()
	failures, err := testenv.ReadCSV(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range failures {
		if f["Name"] == "fail" && strings.Contains(f["Error"], "500") {
			return
		}
	}
	t.Errorf("no failure row for the 500 endpoint in %s: %v", path, failures)
}

// webUI returns a free port and the master's base URL on it.
func webUI(t *testing.T) (string, string) {
	t.Helper()
	port := testenv.FreePort(t)
	return strconv.Itoa(port), fmt.Sprintf("http://127.0.0.1:%d", port)
}

func waitWeb(t *testing.T, web string, m *testenv.Process) {
	t.Helper()
	if err := testenv.WaitHTTP(web+"/", 20*time.Second); err != nil {
		t.Fatalf("master web UI: %v\n%s", err, m.Output())
	}
}

var httpClient = &http.Client{Timeout: 5 * time.Second}

// getJSON fetches url and decodes its JSON body.
func getJSON(url string) (map[string]any, error) {
	resp, err := httpClient.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, fmt.Errorf("GET %s: %w", url, err)
	}
	return body, nil
}

// apiRequestCounts returns name -> requests from /stats/requests (all
// methods summed, Aggregated left out).
func apiRequestCounts(t *testing.T, web string) map[string]int64 {
	t.Helper()
	body, err := getJSON(web + "/stats/requests")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	entries, _ := body["stats"].([]any)
	for _, e := range entries {
		m, _ := e.(map[string]any)
		name, _ := m["name"].(string)
		n, _ := m["num_requests"].(float64)
		if name != "Aggregated" {
			out[name] += int64(n)
		}
	}
	return out
}

func workerByID(ws []workerInfo, id string) (workerInfo, bool) {
	for _, w := range ws {
		if w.ID == id {
			return w, true
		}
	}
	return workerInfo{}, false
}

// runningUsers sums the users of the workers in state running (or spawning).
func runningUsers(ws []workerInfo) (workers, users int) {
	for _, w := range ws {
		if w.State == "running" || w.State == "spawning" {
			workers++
			users += w.UserCount
		}
	}
	return workers, users
}

// procStatus returns a field of /proc/PID/status in kB (VmRSS, VmPeak...).
func procStatus(pid int, field string) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		}
	}
	return 0, fmt.Errorf("/proc/%d/status: no %s", pid, field)
}

var logTime = regexp.MustCompile(`^\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3})\]`)

// firstLogLine returns the time of the first log line that contains all of
// subs (case-insensitive), from the Locust-style "[2006-01-02 15:04:05,000]"
// prefix.
func firstLogLine(out string, subs ...string) (time.Time, bool) {
	for line := range strings.Lines(out) {
		low := strings.ToLower(line)
		ok := true
		for _, s := range subs {
			ok = ok && strings.Contains(low, strings.ToLower(s))
		}
		if !ok {
			continue
		}
		m := logTime.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		ts, err := time.ParseInLocation("2006-01-02 15:04:05,000", m[1], time.Local)
		if err == nil {
			return ts, true
		}
	}
	return time.Time{}, false
}
