package interop

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"slices"
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
	base := []string{"--master", "-f", testdata(c.t, "scenario.yaml"), "--master-bind-host", "127.0.0.1",
		"--master-bind-port", strconv.Itoa(c.port), "-H", c.target.URL}
	return testenv.Start(c.t, testenv.Command{Path: c.glocust, Args: append(base, args...), Dir: c.dir})
}

// probedPythonWorker starts a real Locust worker running locustfile.py plus
// testdata/master_probe.py, which prints its node id and the users it runs
// after each spawn it applied.
func (c *cluster) probedPythonWorker() *testenv.Process {
	return testenv.Start(c.t, testenv.Command{Path: c.locust, Args: []string{
		"-f", testdata(c.t, "locustfile.py") + "," + testdata(c.t, "master_probe.py"), "--worker",
		"--master-host", "127.0.0.1", "--master-port", strconv.Itoa(c.port)}, Dir: c.dir})
}

var (
	probeNodeLine    = regexp.MustCompile(`glocust-probe starting worker node_id=(\S+)`)
	probeSpawnedLine = regexp.MustCompile(`glocust-probe spawned node_id=\S+ users="([^"]*)"`)
	// a glocust worker's current node id: the one it started with, or the
	// one it took when it registered again.
	glocustNodeLine = regexp.MustCompile(`(?:starting worker|registering again under a new node id) node_id=(\S+)`)
)

// parseUsers parses the "Class=N Class=N" users a worker logs.
func parseUsers(t *testing.T, s string) map[string]int {
	t.Helper()
	counts := map[string]int{}
	for _, f := range strings.Fields(s) {
		k, v, ok := strings.Cut(f, "=")
		n, err := strconv.Atoi(v)
		if !ok || err != nil {
			t.Fatalf("users %q: %q is not Class=N", s, f)
		}
		counts[k] = n
	}
	return counts
}

// pythonWorkerID reads the node id a probed Python worker printed.
func pythonWorkerID(t *testing.T, p *testenv.Process) string {
	t.Helper()
	out := p.MustOutput(t)
	id := probeNodeLine.FindStringSubmatch(out)
	if id == nil {
		t.Fatalf("no node id in the Python worker's log:\n%s", out)
	}
	return id[1]
}

// pythonWorkerCounts returns a probed Python worker's node id and the users
// it ran after the last spawn it applied.
func pythonWorkerCounts(t *testing.T, p *testenv.Process) (string, map[string]int) {
	t.Helper()
	id := pythonWorkerID(t, p)
	out := p.MustOutput(t)
	all := probeSpawnedLine.FindAllStringSubmatch(out, -1)
	if all == nil {
		t.Fatalf("the Python worker %s never applied a spawn:\n%s", id, out)
	}
	return id, parseUsers(t, all[len(all)-1][1])
}

// glocustWorkerID returns a glocust worker's latest node id.
func glocustWorkerID(t *testing.T, p *testenv.Process) string {
	t.Helper()
	out := p.MustOutput(t)
	all := glocustNodeLine.FindAllStringSubmatch(out, -1)
	if all == nil {
		t.Fatalf("no node id in the glocust worker's log:\n%s", out)
	}
	return all[len(all)-1][1]
}

// glocustWorkerFinal returns a glocust worker's latest node id and the users
// it ran when the master said quit.
func glocustWorkerFinal(t *testing.T, p *testenv.Process) (string, map[string]int) {
	t.Helper()
	out := p.MustOutput(t)
	q := quitLine.FindStringSubmatch(out)
	if q == nil {
		t.Fatalf("no quit line in the glocust worker's log:\n%s", out)
	}
	return glocustWorkerID(t, p), parseUsers(t, q[1])
}

// sameCounts compares per-class or per-name counts; a key missing on one
// side counts 0.
func sameCounts[N int | int64](a, b map[string]N) bool {
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
	if len(got) == 0 {
		t.Fatal("checkOracle: no workers")
	}
	ids := make([]string, 0, len(got))
	for id := range got {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	want := dispatchOracle(t, users, rate, ids...)
	if len(want) != len(ids) {
		t.Fatalf("Locust's dispatcher answered for %d workers, asked for %d: %v", len(want), len(ids), want)
	}
	for _, id := range ids {
		if w, ok := want[id]; !ok || !sameCounts(got[id], w) {
			t.Errorf("users per worker: got %v, Locust's dispatcher says %v", got, want)
			return
		}
	}
}

// checkPythonWorkerLog fails on the lines a Python worker prints when the
// master speaks the protocol wrongly.
func checkPythonWorkerLog(t *testing.T, p *testenv.Process) {
	t.Helper()
	out := p.MustOutput(t)
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
		t.Fatalf("master web UI: %v\n%s", err, m.MustOutput(t))
	}
}

var httpClient = &http.Client{Timeout: 5 * time.Second}

// getJSONInto fetches url and decodes its JSON body (a 200) into v.
func getJSONInto(url string, v any) error {
	resp, err := httpClient.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		return fmt.Errorf("GET %s: %w", url, err)
	}
	return nil
}

// getJSON fetches url and decodes its JSON object.
func getJSON(url string) (map[string]any, error) {
	var body map[string]any
	if err := getJSONInto(url, &body); err != nil {
		return nil, err
	}
	if body == nil {
		return nil, fmt.Errorf("GET %s: null", url)
	}
	return body, nil
}

// masterRequests returns name -> requests from /stats/requests (all
// methods summed, Aggregated left out). Every entry must have a name and a
// request count.
func masterRequests(web string) (map[string]int64, error) {
	var body struct {
		Stats *[]struct {
			Name        *string `json:"name"`
			NumRequests *int64  `json:"num_requests"`
		} `json:"stats"`
	}
	if err := getJSONInto(web+"/stats/requests", &body); err != nil {
		return nil, err
	}
	if body.Stats == nil {
		return nil, fmt.Errorf("GET %s/stats/requests: no stats array", web)
	}
	out := map[string]int64{}
	for i, e := range *body.Stats {
		if e.Name == nil || e.NumRequests == nil {
			return nil, fmt.Errorf("GET %s/stats/requests: stats[%d] lacks name or num_requests", web, i)
		}
		if *e.Name != "Aggregated" {
			out[*e.Name] += *e.NumRequests
		}
	}
	return out, nil
}

// waitRequests waits until ok accepts the master's request counts and
// returns them.
func waitRequests(t *testing.T, web, what string, timeout time.Duration, ok func(map[string]int64) bool) map[string]int64 {
	t.Helper()
	return waitUntil(t, what, timeout, func() (map[string]int64, error) { return masterRequests(web) }, ok)
}

// waitCaughtUp waits until the master has counted, for every request name,
// at least what the target had served when it was called (the workers
// report every 3 s), and returns the master's counts.
func waitCaughtUp(t *testing.T, web string, tg *testenv.Target, timeout time.Duration) map[string]int64 {
	t.Helper()
	served := targetByName(tg)
	return waitRequests(t, web, fmt.Sprintf("the master to count what the target had served (%v)", served), timeout,
		func(got map[string]int64) bool {
			for name, n := range served {
				if got[name] < n {
					return false
				}
			}
			return true
		})
}

// logsDoc is a master's GET /logs: its own lines and each worker's.
type logsDoc struct {
	Master  []string            `json:"master"`
	Workers map[string][]string `json:"workers"`
}

// waitLogs waits until ok accepts the master's /logs and returns it. A
// response without the master's lines or the workers' object is an error.
func waitLogs(t *testing.T, web, what string, timeout time.Duration, ok func(logsDoc) bool) logsDoc {
	t.Helper()
	return waitUntil(t, what, timeout, func() (logsDoc, error) {
		var l logsDoc
		if err := getJSONInto(web+"/logs", &l); err != nil {
			return l, err
		}
		if l.Master == nil || l.Workers == nil {
			return l, fmt.Errorf("GET %s/logs: no master array or no workers object", web)
		}
		return l, nil
	}, ok)
}

// hasLine reports whether one of lines contains sub.
func hasLine(lines []string, sub string) bool {
	return slices.ContainsFunc(lines, func(l string) bool { return strings.Contains(l, sub) })
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
// prefix; found is false if there is none.
func firstLogLine(out string, subs ...string) (ts time.Time, found bool, err error) {
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
		if err != nil {
			return time.Time{}, false, fmt.Errorf("log line %q: %w", line, err)
		}
		return ts, true, nil
	}
	return time.Time{}, false, nil
}
