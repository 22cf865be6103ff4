package interop

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"syscall"
	"testing"
	"time"
)

// sigtermRounds is the number of SIGTERM rounds per master (issue 11 saw
// the race once in 13 tries).
const sigtermRounds = 15

// TestWorkerSIGTERMRounds is issue 11's SIGTERM acceptance test: a glocust
// worker runs a swarm alone under a master and is sent SIGTERM at a random
// phase of its 3 s report and 1 s heartbeat cycles, round after round.
// Every round the master's totals equal what the target received, the
// master logs the worker's quit and never marks it missing, and the worker
// never loses its connection to the shutdown.
func TestWorkerSIGTERMRounds(t *testing.T) {
	t.Parallel()
	eachMaster(t, func(t *testing.T, python bool, seed uint64) {
		rng := rand.New(rand.NewPCG(seed, 13))
		c := newCluster(t)
		webPort, web := webUI(t)
		args := []string{"--web-host", "127.0.0.1", "--web-port", webPort, "--exit-code-on-error", "0"}
		master := c.master
		if !python {
			master = c.glocustMaster
		}
		mp := master(args...)
		waitWeb(t, web, mp)
		start := time.Now()
		var phases []time.Duration
		for i := range sigtermRounds {
			// The master cleared its stats when this round's swarm
			// started; the target's counts go on from the last rounds.
			base := targetByName(c.target)
			w := c.glocustWorker()
			waitWorkers(t, web, fmt.Sprintf("round %d: the worker ready", i+1), 20*time.Second, func(ws []workerInfo) bool {
				return len(ws) == 1 && ws[0].State == "ready"
			})
			id := glocustWorkerID(t, w)
			swarm(t, web, 4, 10)
			waitTarget(t, c.target, "GET /", base["home"]+10, 20*time.Second)
			phase := time.Duration(rng.Int64N(int64(3 * time.Second)))
			phases = append(phases, phase)
			time.Sleep(phase) // a random phase of the worker's report and heartbeat cycles
			if err := w.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			mustExit(t, w, 15*time.Second, 0)
			waitWorkers(t, web, fmt.Sprintf("round %d: the worker gone from the master", i+1), 10*time.Second, nWorkers(0))
			want := targetByName(c.target)
			for k := range want {
				want[k] -= base[k]
			}
			// Locust caches /stats/requests for 2 s: poll until equal.
			waitRequests(t, web, fmt.Sprintf("round %d: the master's counts to equal the target's %v", i+1, want), 10*time.Second,
				func(got map[string]int64) bool { return sameCounts(got, want) })
			out := mp.MustOutput(t)
			if !quitLogged(out, id) {
				t.Fatalf("round %d: the master did not log %s's quit:\n%s", i+1, id, out)
			}
			if strings.Contains(out, "Worker "+id+" failed to send heartbeat") {
				t.Fatalf("round %d: the master marked %s missing:\n%s", i+1, id, out)
			}
			if wout := w.MustOutput(t); strings.Contains(wout, "connection to master failed") || strings.Contains(wout, "possibly lost") {
				t.Fatalf("round %d: the worker lost its connection or a report while shutting down:\n%s", i+1, wout)
			}
		}
		cleanMasterLog(t, mp)
		t.Logf("%d rounds in %v; SIGTERM phases after the load started: %v", sigtermRounds, time.Since(start).Round(time.Second), phases)
	})
}

// quitLogged reports whether a master's log says that worker id quit
// (Locust: "Worker 'id' (index n) quit."; glocust: the same with Go
// quoting).
func quitLogged(out, id string) bool {
	for line := range strings.Lines(out) {
		if strings.Contains(line, id) && strings.Contains(line, ") quit.") {
			return true
		}
	}
	return false
}
