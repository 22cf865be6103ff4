package interop

import (
	"encoding/json"
	"fmt"
	"maps"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/glocust/glocust/internal/testenv"
)

var allSpawnedLine = regexp.MustCompile(`All users spawned: (\{[^}]*\}) \((\d+) total users\)`)

// TestProcesses: --processes 3 starts three glocust workers under this
// process's master, which waits for all three before it starts (Locust
// sets --expect-workers to the process count) and gives each 4 of the 12
// users. With --json the JSON report is all there is on stdout (the
// tables and logs go to stderr), so it parses; the counts match the
// target.
func TestProcesses(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	csv := filepath.Join(c.dir, "procs")
	p := testenv.Start(t, testenv.Command{Path: c.glocust, Dir: c.dir, SeparateStdout: true, Args: []string{
		"-f", testdata(t, "scenario.yaml"), "--processes", "3", "--headless", "-u", "12", "-r", "12", "-t", "5s",
		"--json", "--csv", csv, "--exit-code-on-error", "0", "-H", c.target.URL,
		"--master-bind-host", "127.0.0.1", "--master-bind-port", "0", "--web-port", strconv.Itoa(testenv.FreePort(t))}})
	mustExit(t, p, 60*time.Second, 0)
	out := p.MustOutput(t)
	if !strings.Contains(out, "Sending spawn jobs of 12 users at 12.00 spawn rate to 3 ready workers") {
		t.Errorf("the master did not start with the three forked workers:\n%s", out)
	}

	// Each child logs the users it ran when the master said quit.
	quits := quitLine.FindAllStringSubmatch(out, -1)
	if len(quits) != 3 {
		t.Fatalf("%d workers logged their users at quit, want 3:\n%s", len(quits), out)
	}
	perClass := map[string]int{}
	for _, q := range quits {
		total := 0
		for class, n := range parseUsers(t, q[1]) {
			total += n
			perClass[class] += n
		}
		if total != 4 {
			t.Errorf("a worker process ran %d users (%s), want 4 of 12 in each of 3", total, q[1])
		}
	}
	spawned := allSpawnedLine.FindStringSubmatch(out)
	if spawned == nil {
		t.Fatalf("no \"All users spawned\" line:\n%s", out)
	}
	var want map[string]int
	if err := json.Unmarshal([]byte(spawned[1]), &want); err != nil {
		t.Fatalf("All users spawned %s: %v", spawned[1], err)
	}
	if !maps.Equal(perClass, want) {
		t.Errorf("the workers ran %v together, the master dispatched %v", perClass, want)
	}

	stdout, err := p.Stdout()
	if err != nil {
		t.Fatal(err)
	}
	if err := checkJSONReport(stdout); err != nil {
		t.Errorf("stdout: %v", err)
	}
	checkCountsMatchTarget(t, csv+"_stats.csv", c.target)
}

// checkJSONReport checks that b is exactly one --json report: a JSON array
// of stats entries with a name and a method (encoding/json refuses
// anything after the value).
func checkJSONReport(b []byte) error {
	var entries []map[string]any
	if err := json.Unmarshal(b, &entries); err != nil {
		return fmt.Errorf("not one JSON value: %v\n%s", err, b)
	}
	if len(entries) == 0 {
		return fmt.Errorf("no stats entries: %s", b)
	}
	for _, e := range entries {
		if _, ok := e["name"].(string); !ok {
			return fmt.Errorf("entry without a name: %v", e)
		}
		if _, ok := e["method"].(string); !ok {
			return fmt.Errorf("entry without a method: %v", e)
		}
	}
	return nil
}

// TestWorkerProcesses: glocust --worker --processes 2 under a real Locust
// master registers two workers, as Locust's does, and each runs half the
// users, and the first alone serves the probes of --web-port. SIGTERM to
// the parent makes both children send their final stats
// and quit (the master's totals then equal the target's); when the parent
// is SIGKILLed, its children still quit.
func TestWorkerProcesses(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	webPort, web := webUI(t)
	m := c.master("--web-host", "127.0.0.1", "--web-port", webPort)
	waitWeb(t, web, m)
	hp := testenv.FreePort(t)
	w := c.glocustWorker("--processes", "2", "--web-host", "127.0.0.1", "--web-port", strconv.Itoa(hp))
	waitWorkers(t, web, "two workers from one --worker --processes 2", 20*time.Second, nWorkers(2))
	// One child serves the probes; the other does not try the same port.
	waitUntil(t, "the first child's /readyz", 10*time.Second, httpStatus(fmt.Sprintf("http://127.0.0.1:%d/readyz", hp)), is200)
	if n := strings.Count(w.MustOutput(t), "worker health endpoint"); n != 1 {
		t.Errorf("%d children tried to serve the probes, want 1:\n%s", n, w.MustOutput(t))
	}
	swarm(t, web, 6, 10)
	waitWorkers(t, web, "3 users running on each", 20*time.Second, func(ws []workerInfo) bool {
		return len(ws) == 2 && ws[0].UserCount == 3 && ws[1].UserCount == 3
	})
	waitTarget(t, c.target, "GET /", 20, 20*time.Second)
	if err := w.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	mustExit(t, w, 15*time.Second, 0)
	waitWorkers(t, web, "both children gone from the master", 10*time.Second, nWorkers(0))
	want := targetByName(c.target)
	waitRequests(t, web, fmt.Sprintf("the master's counts to equal the target's %v", want), 10*time.Second,
		func(got map[string]int64) bool { return sameCounts(got, want) })
	if n := strings.Count(m.MustOutput(t), ") quit. "); n != 2 {
		t.Errorf("the master logged %d quits, want 2:\n%s", n, m.MustOutput(t))
	}

	// The parent dies without a word: the kernel sends its children
	// SIGTERM, and they quit.
	w2 := c.glocustWorker("--processes", "2")
	waitWorkers(t, web, "two workers from a second parent", 20*time.Second, nWorkers(2))
	if err := w2.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	mustExit(t, w2, 10*time.Second, -1)
	waitWorkers(t, web, "the killed parent's children gone from the master", 15*time.Second, nWorkers(0))
	if n := strings.Count(m.MustOutput(t), ") quit. "); n != 4 {
		t.Errorf("the master logged %d quits, want 4:\n%s", n, m.MustOutput(t))
	}
	cleanMasterLog(t, m)
}
