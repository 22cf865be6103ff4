package interop

// The version matrix (docs/protocol.md section 7.3): glocust against real
// Locust masters and workers of every version testenv.MatrixVersions lists,
// in both directions, one focused run each.

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/glocust/glocust/internal/testenv"
	"github.com/glocust/glocust/protocol"
)

// TestVersionMatrix runs, for each Locust version of the matrix:
//
//   - glocust workers under a Locust master: two glocust workers announcing
//     that version (--locust-version) and a headless Python master of it.
//     The run lasts past the workers' 10 s logs interval, so a worker that
//     sent a message type the master does not know (logs before 2.29) would
//     make the master log it.
//   - Locust workers under a glocust master: two Python workers of that
//     version and a headless glocust master expecting it (--locust-version),
//     past the end of the ramp-up, when the master sends spawning_complete
//     (which workers before 2.29 do not know).
//
// Each checks exact counts (the master's CSV equals what the target
// received) and that no process logged a warning, an error, a traceback or
// an unknown message type.
func TestVersionMatrix(t *testing.T) {
	t.Parallel()
	for _, v := range testenv.MatrixVersions() {
		t.Run(v, func(t *testing.T) {
			t.Parallel()
			t.Run("glocust-workers-under-locust-master", func(t *testing.T) {
				t.Parallel()
				c := newClusterAt(t, v)
				csv := filepath.Join(c.dir, "run")
				m := c.master("--headless", "--expect-workers", "2", "-u", "10", "-r", "10", "-t", "12s",
					"--csv", csv, "--exit-code-on-error", "0")
				ws := []*testenv.Process{c.glocustWorker("--locust-version", v), c.glocustWorker("--locust-version", v)}
				checkMatrixRun(t, c, csv, m, ws)
				for _, w := range ws {
					if out := w.MustOutput(t); !strings.Contains(out, "locust_version="+v) {
						t.Errorf("the glocust worker did not announce %s:\n%s", v, out)
					}
				}
			})
			t.Run("locust-workers-under-glocust-master", func(t *testing.T) {
				t.Parallel()
				c := newClusterAt(t, v)
				csv := filepath.Join(c.dir, "run")
				webPort, _ := webUI(t) // its /metrics and /healthz, off the default port other tests use
				m := c.glocustMaster("--web-host", "127.0.0.1", "--web-port", webPort, "--headless", "--expect-workers", "2", "-u", "10", "-r", "10", "-t", "6s",
					"-s", pythonStopTimeout, "--csv", csv, "--exit-code-on-error", "0", "--locust-version", v)
				checkMatrixRun(t, c, csv, m, []*testenv.Process{c.pythonWorker(), c.pythonWorker()})
				if out := m.MustOutput(t); !strings.Contains(out, "All users spawned") {
					t.Errorf("the glocust master never completed the ramp-up:\n%s", out)
				}
			})
		})
	}
}

// newClusterAt is newCluster with the Locust of version v.
func newClusterAt(t *testing.T, v string) *cluster {
	t.Helper()
	c := newCluster(t)
	c.locust, _ = testenv.LocustAt(t, v)
	return c
}

// checkMatrixRun waits for the master and workers of a headless run to exit
// 0, compares the master's CSV with the target and checks every log.
func checkMatrixRun(t *testing.T, c *cluster, csv string, m *testenv.Process, ws []*testenv.Process) {
	t.Helper()
	mustExit(t, m, 90*time.Second, 0)
	for _, w := range ws {
		mustExit(t, w, 20*time.Second, 0)
	}
	checkCountsMatchTarget(t, csv+"_stats.csv", c.target)
	for i, p := range append([]*testenv.Process{m}, ws...) {
		what := "master"
		if i > 0 {
			what = "worker " + strconv.Itoa(i)
		}
		checkQuietLog(t, what, p)
	}
}

// checkQuietLog fails on every line of p's log that is a warning, an error,
// a traceback, an unknown message type or a version mismatch, in Locust's
// log format (which glocust's follows). The warnings that a worker
// exceeded 90% CPU (a Locust master's, a glocust worker's own) are left
// out: they say the test machine was busy, not that the peers
// misunderstood each other.
func checkQuietLog(t *testing.T, what string, p *testenv.Process) {
	t.Helper()
	for line := range strings.Lines(p.MustOutput(t)) {
		if strings.Contains(line, "exceeded cpu threshold") || strings.Contains(line, "CPU usage above 90%") {
			continue
		}
		for _, bad := range []string{"/WARNING/", "/ERROR/", "/CRITICAL/", "Traceback", "Unknown message type",
			"different version"} {
			if strings.Contains(line, bad) {
				t.Errorf("%s (%s) logged: %s", what, p.Name, strings.TrimSpace(line))
				break
			}
		}
	}
}

// TestVersionTableMatchesLocust compares the version table
// (protocol.Changes) with the code of each Locust version of the matrix:
// the message types its MasterRunner and WorkerRunner dispatch on
// (testdata/handled_types.py) are exactly those protocol.Handles says a
// master or worker of that version handles.
func TestVersionTableMatchesLocust(t *testing.T) {
	t.Parallel()
	for _, v := range testenv.MatrixVersions() {
		t.Run(v, func(t *testing.T) {
			t.Parallel()
			_, python := testenv.LocustAt(t, v)
			out, err := exec.Command(python, testdata(t, "handled_types.py")).Output()
			if err != nil {
				t.Fatalf("handled_types.py: %v\n%s", err, out)
			}
			var handled struct{ Master, Worker []string }
			if err := json.Unmarshal(out, &handled); err != nil || len(handled.Master) == 0 || len(handled.Worker) == 0 {
				t.Fatalf("handled_types.py printed %q: %v", out, err)
			}
			version, ok := protocol.ParseVersion(v)
			if !ok {
				t.Fatalf("matrix version %q", v)
			}
			for _, side := range []struct {
				from    protocol.Side
				handler string
				types   []string
			}{
				{protocol.FromWorker, "master", handled.Master},
				{protocol.FromMaster, "worker", handled.Worker},
			} {
				listed := map[string]bool{}
				for _, c := range protocol.Changes {
					// A worker reads the master's locustfile reply in
					// argument_parser.py, before its WorkerRunner exists.
					if c.From != side.from || c.Key != "" || (c.From == protocol.FromMaster && c.Type == protocol.TypeLocustfile) {
						continue
					}
					listed[c.Type] = true
					if got, want := protocol.Handles(version, c.From, c.Type), slices.Contains(side.types, c.Type); got != want {
						t.Errorf("Locust %s's %s handles %s: %v in runners.py, %v in protocol.Changes", v, side.handler, c.Type, want, got)
					}
				}
				for _, typ := range side.types {
					if !listed[typ] {
						t.Errorf("Locust %s's %s handles %s, which protocol.Changes does not list", v, side.handler, typ)
					}
				}
			}
		})
	}
}
