package master

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/glocust/glocust/protocol"
	"github.com/glocust/glocust/protocol/zmq"
)

type sent struct {
	peer string
	p    protocol.Payload
	at   time.Time
}

// harness drives a core directly. Received frames are lent to it the way
// the native ROUTER lends them (lender): the payloads it releases are
// poisoned and reused, so a reference it kept into one shows.
type harness struct {
	t    *testing.T
	now  time.Time
	c    *core
	out  []sent
	lend lender
}

func newHarness(t *testing.T, mod func(*Config)) *harness {
	h := &harness{t: t, now: time.Unix(1_800_000_000, 0)}
	cfg := Config{Classes: []UserClass{{Name: "A", Weight: 3}, {Name: "B", Weight: 1}}, Host: "http://x",
		Now: func() time.Time { return h.now }}
	if mod != nil {
		mod(&cfg)
	}
	h.c = newCore(cfg.withDefaults(), func(peer string, p protocol.Payload) {
		if r, ok := p.(*protocol.MasterHeartbeat); ok { // core reuses it: keep a copy
			c := *r
			p = &c
		}
		h.out = append(h.out, sent{peer, p, h.now})
	})
	h.c.release = h.lend.release
	t.Cleanup(func() {
		if err := h.lend.err(); err != nil {
			t.Error(err)
		}
	})
	return h
}

func (h *harness) recv(id string, p protocol.Payload) {
	h.t.Helper()
	b, err := protocol.Encode(id, p)
	if err != nil {
		h.t.Fatal(err)
	}
	h.frame(id, b)
}

// frame hands the core a received frame with payload b.
func (h *harness) frame(peer string, b []byte) {
	h.c.handleFrame(zmq.Frame{Peer: peer, Payload: h.lend.lend(b)}, h.now)
}

func (h *harness) take() []sent { o := h.out; h.out = nil; return o }

func (h *harness) advance(d time.Duration) {
	// Run due steps at their exact times, then the heartbeat ticks.
	end := h.now.Add(d)
	for {
		next := h.c.nextWake()
		tick := h.now.Truncate(time.Second).Add(time.Second)
		if !next.IsZero() && !next.After(end) && !next.After(tick) {
			h.now = maxTime(h.now, next)
			h.c.step(h.now) // as Master.run's loop: step, then checkQuit
			h.c.checkQuit(h.now)
			continue
		}
		if tick.After(end) {
			break
		}
		h.now = tick
		h.c.tick(h.now)
	}
	h.now = end
	h.c.step(h.now)
	h.c.checkQuit(h.now)
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func hb(state string) *protocol.Heartbeat {
	return &protocol.Heartbeat{State: state, CurrentCPUUsage: 1, CurrentMemoryUsage: 1}
}

func TestRegistryAckIndexesAndVersions(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	h.recv("h_a", &protocol.ClientReady{Version: "2.47.0"})
	h.recv("h_b", &protocol.ClientReady{SkipVersionCheck: true})
	h.recv("h_c", &protocol.ClientReady{Version: ""}) // Debian 2.12: accepted
	h.recv("h_a", &protocol.ClientReady{Version: "2.47.0"})
	var idx []int64
	for _, s := range h.take() {
		idx = append(idx, s.p.(*protocol.Ack).Index)
	}
	if want := []int64{0, 1, 2, 0}; !equal(idx, want) {
		t.Fatalf("ack indexes %v, want %v", idx, want)
	}
	if n := h.c.reg.workerCount(); n != 3 {
		t.Fatalf("worker count %d", n)
	}
}

func equal[T comparable](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestMissingSelfHealAndDeletion(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	h.recv("h_a", &protocol.ClientReady{Version: "2.47.0"})
	h.recv("h_b", &protocol.ClientReady{Version: "2.47.0"})
	h.take()
	// h_b heartbeats every second, h_a goes silent.
	missingAt := -1
	for s := 1; s <= 6; s++ {
		h.recv("h_b", hb("ready"))
		h.advance(time.Second)
		if missingAt < 0 && h.c.reg.get("h_a").state == protocol.StateMissing {
			missingAt = s
		}
	}
	// Counter 3, decremented each tick, missing when below 0: the 4th tick
	// sees -1... Locust marks it at the tick after the counter reached -1.
	if missingAt != 4 && missingAt != 5 {
		t.Fatalf("missing after %d s, want 4-5 s", missingAt)
	}
	// A heartbeat self-heals it with the heartbeat's state.
	h.recv("h_a", hb("running"))
	if st := h.c.reg.get("h_a").state; st != protocol.StateRunning {
		t.Fatalf("self-healed state %q", st)
	}
	// Silent again for long: deleted at -60.
	for s := 0; s < 70 && h.c.reg.get("h_a") != nil; s++ {
		h.recv("h_b", hb("ready"))
		h.advance(time.Second)
	}
	if h.c.reg.get("h_a") != nil {
		t.Fatal("missing worker not deleted after 70 s")
	}
	if h.c.reg.get("h_b") == nil {
		t.Fatal("live worker deleted")
	}
	// Its index survives a re-registration.
	h.take()
	h.recv("h_a", &protocol.ClientReady{Version: "2.47.0"})
	if ack := h.take()[0].p.(*protocol.Ack); ack.Index != 0 {
		t.Fatalf("index after re-registration %d, want 0", ack.Index)
	}
}

func TestSpawnPacingTimestampsAndComplete(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	h.recv("h_a", &protocol.ClientReady{Version: "2.47.0"})
	h.recv("h_b", &protocol.ClientReady{Version: "2.47.0"})
	h.take()
	start := h.now
	if err := h.c.start(8, 2); err != nil {
		t.Fatal(err)
	}
	var times []time.Duration
	var lastTS = map[string]float64{}
	var final map[string]int64
	for i := 0; i < 100 && h.c.state != StateRunning; i++ {
		h.advance(100 * time.Millisecond)
		for _, s := range h.take() {
			switch p := s.p.(type) {
			case *protocol.Spawn:
				if p.Timestamp <= lastTS[s.peer] {
					t.Fatalf("timestamp %v not after %v", p.Timestamp, lastTS[s.peer])
				}
				lastTS[s.peer] = p.Timestamp
				if s.peer == "h_a" {
					times = append(times, s.at.Sub(start))
				}
				if !p.HasHost || p.Host != "http://x" || p.ParsedOptions == nil {
					t.Fatalf("spawn fields %+v", p)
				}
				// Workers apply and report.
				h.recv(s.peer, &protocol.Spawning{})
				h.recv(s.peer, &protocol.SpawningComplete{UserClassesCount: p.UserClassesCount})
				if final == nil {
					final = map[string]int64{}
				}
				var n int64
				for _, cc := range p.UserClassesCount {
					n += cc.Count
				}
				final[s.peer] = n
			case *protocol.MasterSpawningComplete:
				if p.UserCount != 8 {
					t.Fatalf("spawning_complete user_count %d", p.UserCount)
				}
			}
		}
	}
	// 8 users at 2/s: 2 users per step, steps at 0, 1, 2, 3 s.
	want := []time.Duration{0, time.Second, 2 * time.Second, 3 * time.Second}
	if !equal(times, want) {
		t.Fatalf("spawn times %v, want %v", times, want)
	}
	if h.c.state != StateRunning || final["h_a"]+final["h_b"] != 8 {
		t.Fatalf("state %s, users %v", h.c.state, final)
	}
}

func TestTakeBack(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	// A worker that ran under a previous master: heartbeat then stats, no client_ready.
	h.recv("h_old", hb("running"))
	out := h.take()
	if len(out) != 1 || out[0].p.MessageType() != protocol.TypeHeartbeat {
		t.Fatalf("no heartbeat reply to a candidate: %v", out)
	}
	if h.c.reg.get("h_old") != nil {
		t.Fatal("registered on heartbeat alone")
	}
	h.recv("h_old", &protocol.Stats{UserClassesCount: []protocol.ClassCount{{Class: "A", Count: 4}}, UserCount: 4,
		Stats: []protocol.StatsEntry{{Name: "/", Method: "GET", NumRequests: 7}}, Total: protocol.StatsEntry{NumRequests: 7}})
	w := h.c.reg.get("h_old")
	if w == nil || !w.takenBack || w.state != protocol.StateRunning || w.userCount() != 4 {
		t.Fatalf("not taken back: %+v", w)
	}
	if h.c.agg.Total().NumRequests != 7 {
		t.Fatal("taken-back report not merged")
	}
	if h.c.readyForStart() != 1 {
		t.Fatal("taken-back worker does not count for --expect-workers")
	}
	// It is dispatched to on the next start.
	h.c.start(2, 10)
	h.advance(10 * time.Millisecond)
	got := false
	for _, s := range h.take() {
		if sp, ok := s.p.(*protocol.Spawn); ok && s.peer == "h_old" && len(sp.UserClassesCount) == 2 {
			got = true
		}
	}
	if !got {
		t.Fatal("no spawn to the taken-back worker")
	}
	// Stats from a node that never heartbeated are discarded.
	h.recv("h_stranger", &protocol.Stats{Total: protocol.StatsEntry{NumRequests: 1000}})
	if h.c.agg.Total().NumRequests > 7 || h.c.reg.get("h_stranger") != nil {
		t.Fatal("stats from an unknown node were merged")
	}
}

func TestRebalanceOnJoinAndMissing(t *testing.T) {
	t.Parallel()
	for _, gradual := range []bool{false, true} {
		h := newHarness(t, func(c *Config) { c.EnableRebalancing = true; c.RebalanceAtSpawnRate = gradual })
		h.recv("h_a", &protocol.ClientReady{Version: "2.47.0"})
		h.take()
		h.c.start(10, 2)
		counts := map[string]int64{}
		pump := func(d time.Duration) {
			for t0 := time.Duration(0); t0 < d; t0 += 100 * time.Millisecond {
				for _, id := range []string{"h_a", "h_b"} {
					if h.c.reg.get(id) != nil {
						h.recv(id, hb(protocol.StateRunning))
					}
				}
				h.advance(100 * time.Millisecond)
				for _, s := range h.take() {
					if p, ok := s.p.(*protocol.Spawn); ok {
						var n int64
						for _, cc := range p.UserClassesCount {
							n += cc.Count
						}
						counts[s.peer] = n
						h.recv(s.peer, &protocol.SpawningComplete{UserClassesCount: p.UserClassesCount})
					}
				}
			}
		}
		pump(6 * time.Second)
		if counts["h_a"] != 10 || h.c.state != StateRunning {
			t.Fatalf("gradual=%v: before join %v %s", gradual, counts, h.c.state)
		}
		h.recv("h_b", &protocol.ClientReady{Version: "2.47.0"})
		pump(200 * time.Millisecond)
		if gradual {
			if counts["h_b"] >= 5 {
				t.Fatalf("gradual rebalance moved %d users at once", counts["h_b"])
			}
		} else if counts["h_b"] != 5 {
			t.Fatalf("rebalance gave h_b %d users", counts["h_b"])
		}
		pump(5 * time.Second)
		if counts["h_a"] != 5 || counts["h_b"] != 5 {
			t.Fatalf("gradual=%v: after join %v", gradual, counts)
		}
	}
}

func TestQuitWaitsForWorkers(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	h.recv("h_a", &protocol.ClientReady{Version: "2.47.0"})
	h.take()
	h.c.quit(h.now)
	if out := h.take(); len(out) != 1 || out[0].p.MessageType() != protocol.TypeQuit {
		t.Fatalf("quit not sent: %v", out)
	}
	if h.c.finished {
		t.Fatal("finished before the worker answered")
	}
	h.recv("h_a", &protocol.Stats{Total: protocol.StatsEntry{NumRequests: 3}})
	h.recv("h_a", &protocol.Quit{})
	h.c.checkQuit(h.now)
	if !h.c.finished || h.c.agg.Total().NumRequests != 3 {
		t.Fatal("final stats or quit not handled")
	}
}

func TestLastWorkerQuitEndsHeadless(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *Config) { c.Headless = true })
	h.recv("h_a", &protocol.ClientReady{Version: "2.47.0"})
	h.c.start(1, 1)
	h.advance(10 * time.Millisecond)
	h.recv("h_a", &protocol.Quit{})
	h.c.checkQuit(h.now)
	if !h.c.finished {
		t.Fatal("headless master did not quit after its last worker quit")
	}
}

// Random and mutated frames from a rogue peer never affect a real worker.
func TestRogueFramesDoNotAffectWorkers(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	h.recv("h_real", &protocol.ClientReady{Version: "2.47.0"})
	report := &protocol.Stats{Stats: []protocol.StatsEntry{{Name: "/", Method: "GET", NumRequests: 5}},
		Total: protocol.StatsEntry{NumRequests: 5}, UserClassesCount: []protocol.ClassCount{{Class: "A", Count: 1}}}
	h.recv("h_real", report)
	var seeds [][]byte
	for _, p := range []protocol.Payload{report, hb("running"), &protocol.ClientReady{Version: "2.47.0"},
		&protocol.Quit{}, &protocol.ClientStopped{}, &protocol.Exception{Msg: "x", Traceback: "y"}} {
		b, _ := protocol.Encode("h_real", p)
		seeds = append(seeds, b)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 10000; i++ {
		var f []byte
		if i%2 == 0 {
			f = make([]byte, rng.IntN(200))
			for j := range f {
				f[j] = byte(rng.UintN(256))
			}
		} else {
			f = append([]byte(nil), seeds[rng.IntN(len(seeds))]...)
			for k := 0; k < 1+rng.IntN(4); k++ {
				f[rng.IntN(len(f))] = byte(rng.UintN(256))
			}
		}
		h.frame("rogue", f)
	}
	w := h.c.reg.get("h_real")
	if w == nil || w.state != protocol.StateReady || h.c.agg.Total().NumRequests != 5 || h.c.agg.Entry("GET", "/").NumRequests != 5 {
		t.Fatalf("real worker affected: %+v total=%d", w, h.c.agg.Total().NumRequests)
	}
	if h.c.counters.badFrames+h.c.counters.rogueFrames == 0 {
		t.Fatal("rogue frames not counted")
	}
}
