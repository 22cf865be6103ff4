package master

// Tests of a master that takes back the workers of a previous master and
// takes over their test.

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/glocust/glocust/protocol"
)

// simWorker plays a worker for the harness: it applies a spawn only if the
// spawn's timestamp is above the last one it applied (the watermark of
// Locust's and glocust's workers), and answers stop with client_stopped
// and, its stop timeout later, client_ready.
type simWorker struct {
	id        string
	counts    map[string]int64
	watermark float64
	stale     int   // spawns dropped as not newer than the watermark
	dropped   int64 // users removed while the master was not stopping or ramping down
}

func newSimWorker(id string) *simWorker { return &simWorker{id: id, counts: map[string]int64{}} }

func (w *simWorker) classCounts() []protocol.ClassCount {
	var cc []protocol.ClassCount
	for _, cls := range slices.Sorted(maps.Keys(w.counts)) {
		cc = append(cc, protocol.ClassCount{Class: cls, Count: w.counts[cls]})
	}
	return cc
}

func (w *simWorker) users() int64 { return sumCounts(w.counts) }

func (w *simWorker) report() *protocol.Stats {
	return &protocol.Stats{UserClassesCount: w.classCounts(), UserCount: w.users(),
		Stats: []protocol.StatsEntry{{Name: "/", Method: "GET", NumRequests: 2}}, Total: protocol.StatsEntry{NumRequests: 2}}
}

// deliver hands what the master sent to the workers, which answer; it
// returns the number of spawns and stops delivered.
func (h *harness) deliver(ws ...*simWorker) (spawns, stops int) {
	byID := map[string]*simWorker{}
	for _, w := range ws {
		byID[w.id] = w
	}
	for _, s := range h.take() {
		w := byID[s.peer]
		if w == nil {
			continue
		}
		switch p := s.p.(type) {
		case *protocol.Spawn:
			spawns++
			h.recv(w.id, &protocol.Spawning{})
			if p.Timestamp <= w.watermark {
				w.stale++
				continue
			}
			w.watermark = p.Timestamp
			next := map[string]int64{}
			for _, cc := range p.UserClassesCount {
				next[cc.Class] = cc.Count
			}
			w.counts = next
			h.recv(w.id, &protocol.SpawningComplete{UserClassesCount: w.classCounts(), UserCount: w.users()})
		case *protocol.Stop:
			stops++
			w.counts = map[string]int64{}
			h.recv(w.id, &protocol.ClientStopped{})
			h.recv(w.id, &protocol.ClientReady{Version: LocustVersion})
		}
	}
	return spawns, stops
}

// ramp runs the master until its dispatch is over, delivering as it goes;
// it fails if that takes more than limit.
func (h *harness) ramp(limit time.Duration, ws ...*simWorker) {
	h.t.Helper()
	for end := h.now.Add(limit); h.c.dispatching || h.c.waitingReports || h.c.state == StateSpawning; {
		if h.now.After(end) {
			h.t.Fatalf("dispatch not over after %v (state %s)", limit, h.c.state)
		}
		h.advance(100 * time.Millisecond)
		h.deliver(ws...)
	}
}

// running returns what the workers run, by worker and class.
func running(ws ...*simWorker) map[string]map[string]int {
	out := map[string]map[string]int{}
	for _, w := range ws {
		out[w.id] = map[string]int{}
		for cls, n := range w.counts {
			out[w.id][cls] = int(n)
		}
	}
	return out
}

// TestRestartResumes: a master that takes back the workers of a previous
// master (killed mid-run) reports their run as running with their users,
// sends them nothing until asked, and then acts on them: an edit ramps
// from the users they run (no user stopped on the way up, every spawn
// newer than what the old master sent), a stop stops them, and a new
// swarm runs on them.
func TestRestartResumes(t *testing.T) {
	t.Parallel()
	old := newHarness(t, nil)
	ws := []*simWorker{newSimWorker("h_a"), newSimWorker("h_b")}
	ids := []string{"h_a", "h_b"}
	for _, w := range ws {
		old.recv(w.id, &protocol.ClientReady{Version: LocustVersion})
	}
	if err := old.c.swarm(12, 100); err != nil {
		t.Fatal(err)
	}
	old.ramp(5*time.Second, ws...)
	if got, want := running(ws...), mustFresh(t, ids, old.c.cfg.Classes, 12); !maps.EqualFunc(got, want, maps.Equal) {
		t.Fatalf("under the old master the workers run %v, want %v", got, want)
	}

	// The old master is killed; a new one starts 5 s later and hears the
	// workers, which never send client_ready again.
	h := newHarness(t, nil)
	h.now = old.now.Add(5 * time.Second)
	for i, w := range ws {
		h.recv(w.id, hb(protocol.StateRunning))
		h.recv(w.id, w.report())
		if st, want := h.c.state, StateRunning; st != want || h.c.target != int(ws[0].users()+int64(i)*ws[1].users()) {
			t.Fatalf("after taking back %d workers: state %s, target %d", i+1, st, h.c.target)
		}
	}
	v := &View{c: h.c}
	if v.UserCount() != 12 || v.TargetUserCount() != 12 || v.WorkerCount() != 2 || v.Stats().Total().NumRequests != 4 {
		t.Errorf("taken over: users %d, target %d, workers %d, requests %d; want 12, 12, 2, 4",
			v.UserCount(), v.TargetUserCount(), v.WorkerCount(), v.Stats().Total().NumRequests)
	}
	if got := v.ClassCounts(); got["A"] != 9 || got["B"] != 3 {
		t.Errorf("class counts %v, want A 9 and B 3", got)
	}
	for _, wi := range v.Workers() {
		if wi.State != protocol.StateRunning || !wi.TakenBack || wi.UserCount != 6 {
			t.Errorf("worker %+v, want running, taken back, 6 users", wi)
		}
	}
	if v.StartTime().IsZero() || !v.EndTime().IsZero() {
		t.Errorf("start %v, end %v: want a running test", v.StartTime(), v.EndTime())
	}
	if spawns, stops := h.deliver(ws...); spawns+stops != 0 {
		t.Fatalf("taking over sent %d spawns and %d stops", spawns, stops)
	}

	// Edit: 16 users at 2/s, from the 12 they run.
	if err := h.c.swarm(16, 2); err != nil {
		t.Fatal(err)
	}
	low := int64(12)
	for end := h.now.Add(10 * time.Second); h.c.dispatching || h.c.state != StateRunning; {
		if h.now.After(end) {
			t.Fatalf("edit not over (state %s)", h.c.state)
		}
		h.advance(100 * time.Millisecond)
		h.deliver(ws...)
		low = min(low, ws[0].users()+ws[1].users())
	}
	if got, want := running(ws...), mustFresh(t, ids, h.c.cfg.Classes, 16); !maps.EqualFunc(got, want, maps.Equal) {
		t.Errorf("after the edit the workers run %v, want %v", got, want)
	}
	if low < 12 || ws[0].stale+ws[1].stale != 0 || h.c.adopted {
		t.Errorf("edit: users fell to %d on the way up, %d stale spawns, adopted %v", low, ws[0].stale+ws[1].stale, h.c.adopted)
	}

	// Stop: both stop and come back ready.
	h.c.stop(h.now, true)
	if _, stops := h.deliver(ws...); stops != 2 {
		t.Fatalf("stop sent to %d workers, want 2", stops)
	}
	if h.c.state != StateStopped || v.UserCount() != 0 || h.c.reg.readyCount() != 2 {
		t.Fatalf("after stop: state %s, users %d, %d ready", h.c.state, v.UserCount(), h.c.reg.readyCount())
	}

	// A new swarm runs on them.
	if err := h.c.swarm(4, 10); err != nil {
		t.Fatal(err)
	}
	h.ramp(5*time.Second, ws...)
	if got, want := running(ws...), mustFresh(t, ids, h.c.cfg.Classes, 4); !maps.EqualFunc(got, want, maps.Equal) || h.c.state != StateRunning {
		t.Errorf("new swarm: state %s, the workers run %v, want %v", h.c.state, got, want)
	}
}

func mustFresh(t *testing.T, ids []string, classes []UserClass, users int) map[string]map[string]int {
	t.Helper()
	m, err := fresh(ids, classes, users)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestTakeOverJoinsAndLeaves: in a test taken over, a worker that joins or
// leaves re-dispatches its target from the users the workers run, as a
// join or leave does in a test the master started; a worker taken back
// later adds its users to the target.
func TestTakeOverJoinsAndLeaves(t *testing.T) {
	t.Parallel()
	takeBack := func(h *harness, ws ...*simWorker) {
		for _, w := range ws {
			h.recv(w.id, hb(protocol.StateRunning))
			h.recv(w.id, w.report())
		}
	}
	h := newHarness(t, nil)
	a, b, c := newSimWorker("h_a"), newSimWorker("h_b"), newSimWorker("h_c")
	a.counts = map[string]int64{"A": 6, "B": 2}
	b.counts = map[string]int64{"A": 3, "B": 1}
	takeBack(h, a)
	// A new worker joins: the 8 users are spread over both.
	h.recv(c.id, &protocol.ClientReady{Version: LocustVersion})
	h.ramp(5*time.Second, a, c)
	if got, want := running(a, c), mustFresh(t, []string{a.id, c.id}, h.c.cfg.Classes, 8); !maps.EqualFunc(got, want, maps.Equal) {
		t.Errorf("after a join: %v, want %v", got, want)
	}
	// A worker of the old master comes back: its 4 users join the target.
	takeBack(h, b)
	h.ramp(5*time.Second, a, b, c)
	if got, want := running(a, b, c), mustFresh(t, []string{a.id, b.id, c.id}, h.c.cfg.Classes, 12); h.c.target != 12 || !maps.EqualFunc(got, want, maps.Equal) {
		t.Errorf("after a take-back: target %d, %v, want 12, %v", h.c.target, got, want)
	}
	if !h.c.adopted || h.c.state != StateRunning || a.stale+b.stale+c.stale != 0 {
		t.Errorf("adopted %v, state %s, %d stale spawns", h.c.adopted, h.c.state, a.stale+b.stale+c.stale)
	}

	// Two workers taken back, one quits: the other takes its users.
	h = newHarness(t, nil)
	a, b = newSimWorker("h_a"), newSimWorker("h_b")
	a.counts = map[string]int64{"A": 6, "B": 2}
	b.counts = map[string]int64{"A": 3, "B": 1}
	takeBack(h, a, b)
	h.recv(b.id, &protocol.Quit{})
	h.ramp(5*time.Second, a)
	if got, want := running(a), mustFresh(t, []string{a.id}, h.c.cfg.Classes, 12); !maps.EqualFunc(got, want, maps.Equal) {
		t.Errorf("after a quit: %v, want %v", got, want)
	}

	// The master's own test ended without a stop (its only worker sent
	// client_stopped): a test taken over then starts from its own users,
	// not from what is left of the old dispatch.
	h = newHarness(t, nil)
	a, b, c = newSimWorker("h_a"), newSimWorker("h_b"), newSimWorker("h_c")
	h.recv(a.id, &protocol.ClientReady{Version: LocustVersion})
	if err := h.c.swarm(7, 100); err != nil {
		t.Fatal(err)
	}
	h.ramp(5*time.Second, a)
	h.recv(a.id, &protocol.ClientStopped{})
	if h.c.state != StateStopped {
		t.Fatalf("state %s after the last worker stopped, want stopped", h.c.state)
	}
	b.counts = map[string]int64{"A": 3, "B": 1}
	takeBack(h, b)
	h.recv(c.id, &protocol.ClientReady{Version: LocustVersion})
	h.ramp(5*time.Second, b, c)
	if got, want := running(b, c), mustFresh(t, []string{b.id, c.id}, h.c.cfg.Classes, 4); !maps.EqualFunc(got, want, maps.Equal) {
		t.Errorf("after a join: %v, want %v", got, want)
	}
}

// TestTakeBackWithoutTakeOver: a worker taken back with no users, or with
// more than a test may have, does not make the master's test running; one
// taken back with users while the master stops is told to stop.
func TestTakeBackWithoutTakeOver(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		count int64
	}{{"no users", 0}, {"too many", maxAdoptedUsers + 1}, {"wrapped sum", math.MaxInt64}} {
		h := newHarness(t, nil)
		h.recv("h_a", hb(protocol.StateRunning))
		h.recv("h_a", &protocol.Stats{UserClassesCount: []protocol.ClassCount{{Class: "A", Count: tc.count}, {Class: "B", Count: tc.count}}})
		if h.c.reg.get("h_a") == nil || h.c.adopted || h.c.state == StateRunning {
			t.Errorf("%s: registered %v, adopted %v, state %s", tc.name, h.c.reg.get("h_a") != nil, h.c.adopted, h.c.state)
		}
	}
	h := newHarness(t, nil)
	a := newSimWorker("h_a")
	h.recv(a.id, &protocol.ClientReady{Version: LocustVersion})
	if err := h.c.swarm(2, 10); err != nil {
		t.Fatal(err)
	}
	h.ramp(5*time.Second, a)
	h.c.stop(h.now, true) // h_a has not answered yet
	h.take()
	h.recv("h_b", hb(protocol.StateRunning))
	h.recv("h_b", &protocol.Stats{UserClassesCount: []protocol.ClassCount{{Class: "A", Count: 3}}})
	var stops []string
	for _, s := range h.take() {
		if _, ok := s.p.(*protocol.Stop); ok {
			stops = append(stops, s.peer)
		}
	}
	if !slices.Equal(stops, []string{"h_b"}) || h.c.state != StateStopping {
		t.Errorf("taken back while stopping: stops sent to %v, state %s", stops, h.c.state)
	}

	// While quitting: told to quit, and waited for.
	h.c.quit(h.now)
	h.take()
	h.recv("h_c", hb(protocol.StateRunning))
	h.recv("h_c", &protocol.Stats{UserClassesCount: []protocol.ClassCount{{Class: "A", Count: 1}}})
	out := h.take()
	if len(out) != 2 || out[1].peer != "h_c" || out[1].p.MessageType() != protocol.TypeQuit || !h.c.quitWait["h_c"] {
		t.Errorf("taken back while quitting: sent %v, waited for %v", out, h.c.quitWait)
	}
}

// TestTakeOverLive: the same through the Master, its transport and its
// web API. Two workers of a previous master are taken back: /stats/requests
// and /metrics show their test running with their users per class;
// POST /swarm edits it; POST /stop stops them and returns once they
// stopped; a new POST /swarm runs on them, with spawn timestamps newer
// than anything sent before this master started.
func TestTakeOverLive(t *testing.T) {
	t.Parallel()
	eachTransport(t, func(t *testing.T, tk transportKind) {
		t.Parallel()
		watermark := epochOf(time.Now()) // the previous master's last spawn was before this one started
		lm := startLiveWith(t, tk, Config{Classes: []UserClass{{Name: "A", Weight: 3}, {Name: "B", Weight: 1}},
			Host: "http://h", QuitWait: 200 * time.Millisecond}, WebConfig{})
		base := lm.srv.URL
		ws := []*fakeWorker{lm.worker(t, "h_a"), lm.worker(t, "h_b")}
		four := []protocol.ClassCount{{Class: "A", Count: 3}, {Class: "B", Count: 1}}
		for _, w := range ws {
			w.send(hb(protocol.StateRunning))
			w.expect(protocol.TypeHeartbeat)
			w.send(&protocol.Stats{UserClassesCount: four, UserCount: 4, Total: protocol.StatsEntry{NumRequests: 5}})
		}
		if err := waitUntil(5*time.Second, func() bool {
			doc := getJSON(t, base+"/stats/requests")
			return doc["state"] == StateRunning && doc["user_count"] == 8.0 && workersIn(doc, protocol.StateRunning, 4) == 2
		}); err != nil {
			t.Fatalf("taken over: %v; /stats/requests %v", err, getJSON(t, base+"/stats/requests"))
		}
		m := scrape(t, base+"/metrics")
		for k, want := range map[string]float64{`glocust_class_users{class="A"}`: 6, `glocust_class_users{class="B"}`: 2,
			`glocust_users`: 8, `glocust_target_users`: 8, `glocust_master_state{state="running"}`: 1,
			`glocust_workers{state="running"}`: 2} {
			if m[k] != want {
				t.Errorf("/metrics %s = %v, want %v", k, m[k], want)
			}
		}

		// Edit: 10 users. The ramp starts from the 8 they run.
		swarmForm := func(users string) error {
			resp, err := http.PostForm(base+"/swarm", url.Values{"user_count": {users}, "spawn_rate": {"100"}})
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			var out map[string]any
			if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out["success"] != true {
				return fmt.Errorf("POST /swarm: %v %v", out, err)
			}
			return nil
		}
		if err := swarmForm("10"); err != nil {
			t.Fatal(err)
		}
		got := applySpawns(t, ws, watermark, 10)
		if got[ws[0].id]+got[ws[1].id] != 10 {
			t.Fatalf("after the edit the workers run %v", got)
		}

		// Stop: /stop returns once both stopped.
		stopped := make(chan error, 1)
		go func() {
			resp, err := http.Post(base+"/stop", "", nil)
			if err == nil {
				var out map[string]any
				err = json.NewDecoder(resp.Body).Decode(&out)
				resp.Body.Close()
				if err == nil && out["message"] != "Test stopped" {
					err = fmt.Errorf("/stop: %v", out)
				}
			}
			stopped <- err
		}()
		for _, w := range ws {
			w.expect(protocol.TypeStop)
			w.send(&protocol.ClientStopped{})
			w.send(&protocol.ClientReady{Version: LocustVersion})
			w.expect(protocol.TypeAck)
		}
		select {
		case err := <-stopped:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("/stop did not return once the workers stopped")
		}
		if doc := getJSON(t, base+"/stats/requests"); doc["state"] != StateStopped || doc["user_count"] != 0.0 ||
			workersIn(doc, protocol.StateReady, 0) != 2 {
			t.Fatalf("after /stop: %v", doc)
		}

		// A new swarm runs on them.
		if err := swarmForm("4"); err != nil {
			t.Fatal(err)
		}
		if got := applySpawns(t, ws, watermark, 4); got[ws[0].id] != 2 || got[ws[1].id] != 2 {
			t.Fatalf("the new swarm gives %v, want 2 users each", got)
		}
	})
}

// workersIn counts the workers of a /stats/requests document in state
// with users users.
func workersIn(doc map[string]any, state string, users float64) int {
	n := 0
	list, _ := doc["workers"].([]any)
	for _, w := range list {
		if m, ok := w.(map[string]any); ok && m["state"] == state && m["user_count"] == users {
			n++
		}
	}
	return n
}

// applySpawns plays the workers' side of a dispatch of total users: each
// applies the spawns it receives (failing the test on one not newer than
// the last it applied, starting from watermark) and answers, until they
// run total users together. It returns the users of each.
func applySpawns(t *testing.T, ws []*fakeWorker, watermark float64, total int64) map[string]int64 {
	t.Helper()
	last := map[string]float64{}
	users := map[string]int64{}
	for sum := int64(-1); sum != total; {
		for _, w := range ws {
			sp := w.expect(protocol.TypeSpawn).(*protocol.Spawn)
			if sp.Timestamp <= max(watermark, last[w.id]) {
				t.Fatalf("%s: spawn timestamp %f is not after %f", w.id, sp.Timestamp, max(watermark, last[w.id]))
			}
			last[w.id] = sp.Timestamp
			users[w.id] = totalUsers(sp.UserClassesCount)
			w.send(&protocol.SpawningComplete{UserClassesCount: sp.UserClassesCount, UserCount: users[w.id]})
			w.send(&protocol.Stats{UserClassesCount: sp.UserClassesCount, UserCount: users[w.id]})
		}
		sum = 0
		for _, n := range users {
			sum += n
		}
	}
	return users
}
