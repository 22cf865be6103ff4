package interop

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/glocust/glocust/internal/testenv"
)

// flowsScenario has a sequential class whose tasks include a sequential
// task group with iterations, hooks and a repeat, holding a sequential
// group that interrupts itself: every pick is in order, so that one user
// sends one sequence of requests, the same from a Python worker and a
// glocust one.
const flowsScenario = `host: %s
users:
  - class: SeqUser
    sequential: true
    wait_time: {constant: 0}
    on_start: [{request: {method: POST, path: /login}}]
    tasks:
      - name: one
        request: {path: /s/1}
      - name: two
        weight: 2
        steps:
          - request: {path: /s/2}
          - think: 0.001
      - name: flow
        sequential: true
        iterations: 2
        on_start: [{request: {path: /g/start}}]
        on_stop: [{request: {path: /g/stop}}]
        tasks:
          - name: view
            steps:
              - repeat: 2
                as: i
                steps: [{request: {path: "/g/view/${i}"}}]
          - name: inner
            sequential: true
            tasks:
              - request: {path: /g/inner}
              - interrupt: true
              - request: {path: /never}
      - name: three
        request: {path: /s/3}
`

// flowsRound is what one user of flowsScenario sends for one round of its
// class's tasks (after POST /login).
var flowsRound = []string{
	"GET /s/1", "GET /s/2", "GET /s/2",
	"GET /g/start",
	"GET /g/view/0", "GET /g/view/1", "GET /g/inner",
	"GET /g/view/0", "GET /g/view/1", "GET /g/inner",
	"GET /g/stop",
	"GET /s/3",
}

// seqTarget is an HTTP server on 127.0.0.1 that answers 200 and records
// every request as "METHOD /path", in the order it got them.
type seqTarget struct {
	*httptest.Server
	mu  sync.Mutex
	got []string
}

func newSeqTarget(t *testing.T) *seqTarget {
	t.Helper()
	st := &seqTarget{}
	st.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st.mu.Lock()
		st.got = append(st.got, r.Method+" "+r.URL.Path)
		st.mu.Unlock()
	}))
	t.Cleanup(st.Close)
	return st
}

func (st *seqTarget) requests() []string {
	st.mu.Lock()
	defer st.mu.Unlock()
	return slices.Clone(st.got)
}

// waitRequests waits (up to a minute) until the target got n requests,
// failing the test if it does not or p exits first.
func (st *seqTarget) waitRequests(t *testing.T, what string, n int, p *testenv.Process) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for len(st.requests()) < n {
		if time.Now().After(deadline) || !p.Running() {
			t.Fatalf("%s: the target got %d requests, want %d: %q\n%s", what, len(st.requests()), n, st.requests(), p.MustOutput(t))
		}
		select {
		case <-p.Done():
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// checkFlowsSequence checks that the first requests the target got are
// POST /login and then three rounds of flowsRound, and that no request
// the scenario never sends came.
func checkFlowsSequence(t *testing.T, what string, got []string) {
	t.Helper()
	want := []string{"POST /login"}
	for range 3 {
		want = append(want, flowsRound...)
	}
	if len(got) < len(want) || !slices.Equal(got[:len(want)], want) {
		t.Errorf("%s: the target got\n%q\nwant it to start with\n%q", what, got, want)
	}
	if slices.Contains(got, "GET /never") {
		t.Errorf("%s: the target got GET /never (after the interrupt)", what)
	}
	if n := strings.Count(strings.Join(got, "|"), "POST /login"); n != 1 {
		t.Errorf("%s: %d logins, want 1 (one user)", what, n)
	}
}

// TestGeneratedLocustfileFlows: the locustfile of a scenario with a
// sequential class, nested sequential task groups with iterations, hooks,
// an interrupt, a think and a repeat loads in Locust with the scenario's
// classes and top-level tasks (the names a master sends in
// update_user_class), and one Python user run from it alone sends the
// very sequence of requests the scenario defines; so does a glocust
// worker with the scenario under a Python master running the file.
func TestGeneratedLocustfileFlows(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	st := newSeqTarget(t)
	yamlPath := writeTestFile(t, filepath.Join(c.dir, "flows.yaml"), []byte(fmt.Sprintf(flowsScenario, st.URL)))
	gen := filepath.Join(c.dir, "flows_locustfile.py")
	p := testenv.Start(t, testenv.Command{Path: c.glocust, Args: []string{"locustfile", "-f", yamlPath, "-o", gen}, Dir: c.dir})
	mustExit(t, p, 30*time.Second, 0)
	if src, err := os.ReadFile(gen); err != nil || !strings.Contains(string(src), "class flow(SequentialTaskSet):") {
		t.Fatalf("the locustfile (%v) lacks the group's class:\n%s", err, src)
	}
	checkLocustfile(t, c.dir, yamlPath, gen, map[string][]any{"SeqUser": {"constant", 0.0}})

	n := 1 + 3*len(flowsRound)
	run := testenv.Start(t, testenv.Command{Path: c.locust, Args: []string{"-f", gen, "--headless", "-u", "1", "-r", "1", "-t", "120s",
		"--exit-code-on-error", "0", "--only-summary"}, Dir: c.dir})
	st.waitRequests(t, "the Python run", n, run)
	stopMaster(t, run, 30*time.Second)
	checkFlowsSequence(t, "the Python run", st.requests())

	// A Python master with the file, a glocust worker with the scenario.
	c2 := newCluster(t)
	st2 := newSeqTarget(t)
	yaml2 := writeTestFile(t, filepath.Join(c2.dir, "flows.yaml"), []byte(fmt.Sprintf(flowsScenario, st2.URL)))
	gen2 := filepath.Join(c2.dir, "flows_locustfile.py")
	p = testenv.Start(t, testenv.Command{Path: c2.glocust, Args: []string{"locustfile", "-f", yaml2, "-o", gen2}, Dir: c2.dir})
	mustExit(t, p, 30*time.Second, 0)
	m := testenv.Start(t, testenv.Command{Path: c2.locust, Args: []string{"-f", gen2, "--master", "--master-bind-host", "127.0.0.1",
		"--master-bind-port", strconv.Itoa(c2.port), "--headless", "--expect-workers", "1", "-u", "1", "-r", "1", "-t", "120s",
		"--exit-code-on-error", "0"}, Dir: c2.dir})
	w := testenv.Start(t, testenv.Command{Path: c2.glocust, Args: []string{"--worker", "-f", yaml2, "--master-host", "127.0.0.1",
		"--master-port", strconv.Itoa(c2.port)}, Dir: c2.dir})
	st2.waitRequests(t, "the mixed run", n, m)
	stopMaster(t, m, 30*time.Second)
	mustExit(t, w, 20*time.Second, 0)
	cleanMasterLog(t, m)
	checkFlowsSequence(t, "the mixed run", st2.requests())
}
