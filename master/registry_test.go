package master

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/glocust/glocust/protocol"
)

// recount is the registry's tally computed from scratch, as the O(N) code
// did before the counts were kept incrementally.
func recount(r *registry) tally {
	var t tally
	for _, w := range r.nodes {
		switch w.state {
		case protocol.StateReady:
			t.ready++
		case protocol.StateSpawning:
			t.spawning++
		case protocol.StateRunning:
			t.running++
		case protocol.StateMissing:
			t.missing++
		}
		if w.state == protocol.StateReady || (w.takenBack && w.state != protocol.StateMissing) {
			t.startable++
		}
		for _, c := range w.counts {
			t.users += c
		}
	}
	return t
}

// checkRegistry cross-checks the incremental tally, the cached per-worker
// sums and the insertion order against a full recount.
func checkRegistry(t *testing.T, r *registry, step int, what string) {
	t.Helper()
	if got, want := r.tally, recount(r); got != want {
		t.Fatalf("step %d (%s): tally %+v, recount %+v", step, what, got, want)
	}
	if len(r.order) != len(r.nodes) {
		t.Fatalf("step %d (%s): order has %d workers, nodes %d", step, what, len(r.order), len(r.nodes))
	}
	seen := map[string]bool{}
	for _, w := range r.order {
		if r.nodes[w.id] != w || seen[w.id] {
			t.Fatalf("step %d (%s): order entry %q is stale or duplicated", step, what, w.id)
		}
		seen[w.id] = true
		var n int64
		for _, c := range w.counts {
			n += c
		}
		if w.users != n {
			t.Fatalf("step %d (%s): worker %s caches %d users, counts sum to %d", step, what, w.id, w.users, n)
		}
	}
	// The O(1) check_stopped inputs equal Locust's scan.
	allReady, noneActive := true, true
	for _, w := range r.order {
		if w.state != protocol.StateReady {
			allReady = false
		}
		switch w.state {
		case protocol.StateRunning, protocol.StateSpawning, protocol.StateReady:
			noneActive = false
		}
	}
	if (r.readyCount() == r.len()) != allReady || (r.workerCount() == 0) != noneActive {
		t.Fatalf("step %d (%s): allReady/noneActive differ from the scan", step, what)
	}
}

// TestRegistryTallyProperty drives the core with random message sequences
// (registrations, duplicates, heartbeats in every state including unknown
// ones, spawning, reports from known and unknown workers, take-backs,
// quits, stops, missing workers and their removal, test starts and stops)
// and checks the incremental counts against a full recount after each event.
func TestRegistryTallyProperty(t *testing.T) {
	t.Parallel()
	states := []string{protocol.StateReady, protocol.StateSpawning, protocol.StateRunning, protocol.StateStopped, "bogus", protocol.StateMissing}
	for seed := uint64(1); seed <= 40; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			t.Parallel()
			rng := rand.New(rand.NewPCG(seed, 7))
			h := newHarness(t, func(c *Config) { c.EnableRebalancing = seed%2 == 0 })
			ids := make([]string, 12)
			for i := range ids {
				ids[i] = fmt.Sprintf("w%d", i)
			}
			counts := func() []protocol.ClassCount {
				var cc []protocol.ClassCount
				for _, cls := range []string{"A", "B", "A"} { // duplicate class: the last one wins
					if rng.IntN(3) > 0 {
						n := int64(rng.IntN(20))
						if rng.IntN(50) == 0 {
							n = math.MaxInt64 - int64(rng.IntN(3)) // wrap-around sums
						}
						cc = append(cc, protocol.ClassCount{Class: cls, Count: n})
					}
				}
				return cc
			}
			for step := 0; step < 1500; step++ {
				id := ids[rng.IntN(len(ids))]
				var what string
				switch k := rng.IntN(100); {
				case k < 15:
					what = "client_ready"
					h.recv(id, &protocol.ClientReady{Version: h.c.cfg.LocustVersion})
				case k < 45:
					what = "heartbeat"
					h.recv(id, hb(states[rng.IntN(len(states))]))
				case k < 52:
					what = "spawning"
					h.recv(id, &protocol.Spawning{})
				case k < 60:
					what = "spawning_complete"
					h.recv(id, &protocol.SpawningComplete{UserClassesCount: counts()})
				case k < 72:
					what = "stats"
					h.recv(id, &protocol.Stats{UserClassesCount: counts()})
				case k < 75:
					what = "client_stopped"
					h.recv(id, &protocol.ClientStopped{})
				case k < 78:
					what = "quit"
					h.recv(id, &protocol.Quit{})
				case k < 80:
					what = "bad frame"
					h.frame(id, []byte{0x93, 0xc1})
				case k < 84:
					what = "start"
					_ = h.c.start(1+rng.IntN(30), float64(1+rng.IntN(10)))
				case k < 86:
					what = "stop"
					h.c.stop(h.now, rng.IntN(2) == 0)
					h.c.checkStopped()
				case k < 87:
					what = "quit all"
					if rng.IntN(4) == 0 {
						h.c.quit(h.now)
					}
				default:
					what = "advance"
					// Not h.advance: its loop waits for step() to clear a
					// quit deadline, which only the Master's loop does.
					for range rng.IntN(4) {
						h.now = h.now.Add(time.Duration(rng.IntN(1500)) * time.Millisecond)
						h.c.step(h.now)
						h.c.checkQuit(h.now)
						h.c.tick(h.now)
					}
				}
				h.take()
				checkRegistry(t, &h.c.reg, step, what)
				// readyForStart is the registry's running count: compare it
				// with a scan (ready, or taken back and not missing).
				want := 0
				for _, w := range h.c.reg.all() {
					if w.state == protocol.StateReady || (w.takenBack && w.state != protocol.StateMissing) {
						want++
					}
				}
				if got := h.c.readyForStart(); got != want {
					t.Fatalf("step %d (%s): readyForStart %d, scan %d", step, what, got, want)
				}
			}
		})
	}
}

// TestCheckStoppedAllocFree guards the per-message path: with 1,000
// workers a heartbeat that changes nothing allocates only its decode and
// reply, and checkStopped allocates nothing.
func TestCheckStoppedAllocFree(t *testing.T) {
	h := newHarness(t, nil)
	for i := 0; i < 1000; i++ {
		h.recv(fmt.Sprintf("w%d", i), &protocol.ClientReady{Version: h.c.cfg.LocustVersion})
	}
	h.take()
	if n := testing.AllocsPerRun(100, h.c.checkStopped); n != 0 {
		t.Fatalf("checkStopped allocates %.0f times", n)
	}
	if n := testing.AllocsPerRun(20, func() {
		h.c.tick(h.now)
		for _, w := range h.c.reg.order {
			w.heartbeat = HeartbeatLiveness
		}
	}); n != 0 {
		t.Fatalf("tick allocates %.0f times with no state change", n)
	}
}
