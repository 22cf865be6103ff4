package master

import (
	"bytes"
	"log/slog"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/glocust/glocust/protocol"
	"github.com/glocust/glocust/shape"
)

// syncLog is a log buffer for the core's logger.
type syncLog struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *syncLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *syncLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// shapeHarness is a harness with two workers that apply every spawn at
// once (spawning_complete with its counts), a shape, and a log.
type shapeHarness struct {
	*harness
	log    *syncLog
	spawns []time.Duration // when spawns were sent, from the shape's start
	start  time.Time
	lastHB time.Time
	sent   []sent // everything the core sent
}

func newShapeHarness(t *testing.T, s *shape.Shape, headless bool) *shapeHarness {
	lg := &syncLog{}
	h := newHarness(t, func(c *Config) {
		c.Shape, c.Headless = s, headless
		c.Logger = slog.New(slog.NewTextHandler(lg, nil))
	})
	h.recv("h_a", &protocol.ClientReady{Version: "2.47.0"})
	h.recv("h_b", &protocol.ClientReady{Version: "2.47.0"})
	h.take()
	return &shapeHarness{harness: h, log: lg}
}

// run advances the clock in steps of 100 ms for d, answering spawns, and
// returns the users the workers report after each step.
func (h *shapeHarness) run(d time.Duration) []int64 {
	var users []int64
	for end := h.now.Add(d); h.now.Before(end); {
		if h.now.Sub(h.lastHB) >= 500*time.Millisecond {
			h.lastHB = h.now
			h.recv("h_a", hb(protocol.StateRunning))
			h.recv("h_b", hb(protocol.StateRunning))
		}
		h.advance(100 * time.Millisecond)
		for _, s := range h.take() {
			h.sent = append(h.sent, s)
			if p, ok := s.p.(*protocol.Spawn); ok {
				h.spawns = append(h.spawns, s.at.Sub(h.start))
				h.recv(s.peer, &protocol.SpawningComplete{UserClassesCount: p.UserClassesCount})
			}
		}
		h.c.step(h.now) // the loop's pass after the frames
		users = append(users, h.c.reg.userCount())
	}
	return users
}

func (h *shapeHarness) startShape(common shape.Common) {
	h.start = h.now
	h.c.startShape(h.now, common)
}

func threeStages(t *testing.T) *shape.Shape {
	t.Helper()
	s, err := shape.Stages("ThreeStages", false, []shape.Stage{
		{End: 5 * time.Second, Users: 10, SpawnRate: 10},
		{End: 12 * time.Second, Users: 30, SpawnRate: 10},
		{End: 20 * time.Second, Users: 5, SpawnRate: 5},
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestShapeFollowsStages runs a 3-stage shape on a fake clock: each stage's
// users are reached at its spawn rate from the tick after its start, held,
// and the end of the shape quits a headless master.
func TestShapeFollowsStages(t *testing.T) {
	t.Parallel()
	h := newShapeHarness(t, threeStages(t), true)
	h.startShape(shape.Common{})
	users := h.run(25 * time.Second)
	// users[i] is the count at (i+1)/10 s. A stage's first step goes out
	// with the tick at its start, the next ones a second apart.
	at := func(s float64) int64 { return users[int(math.Round(s*10))-1] }
	for _, c := range []struct {
		at   float64
		want int64
	}{{0.1, 10}, {4.9, 10}, {5.0, 20}, {5.9, 20}, {6.0, 30}, {11.9, 30}, {12.0, 25}, {15.9, 10}, {16.0, 5}, {19.9, 5}} {
		if got := at(c.at); got != c.want {
			t.Errorf("users at %.2fs: %d, want %d (all: %v)", c.at, got, c.want, users)
		}
	}
	// The first tick at 0; a stage starts on the first tick after its
	// start (ticks are 1 s apart from the first; a ramp and the wait for
	// reports delay them).
	log := h.log.String()
	if n := strings.Count(log, "Shape test updating to"); n != 3 {
		t.Errorf("%d shape updates, want 3:\n%s", n, log)
	}
	for _, want := range []string{"Shape test starting.", "Shape test updating to 10 users at 10.00 spawn rate",
		"Shape test updating to 30 users at 10.00 spawn rate", "Shape test updating to 5 users at 5.00 spawn rate",
		"Shape test stopping"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	if !h.c.quitting {
		t.Error("the end of the shape did not quit a headless master")
	}
	select {
	case <-h.c.shape.endedCh:
	default:
		t.Error("ShapeEnded not signalled")
	}
	info, ok := (&View{c: h.c}).Shape()
	if !ok || info.Running || !info.Started || len(info.Changes) != 3 || info.Elapsed < 20*time.Second || info.Elapsed > 21*time.Second {
		t.Errorf("shape info after the end: %+v", info)
	}
	if marks := info.StageMarks(); len(marks) != 3 || marks[1].Label != "stage 2/3: 30 users" {
		t.Errorf("marks %+v", marks)
	}
}

// TestShapeEndStopsWebRun: a shape started without --headless (the web API
// or --autostart) stops the test at its end and leaves the master up.
func TestShapeEndStopsWebRun(t *testing.T) {
	t.Parallel()
	s, _ := shape.Stages("short", false, []shape.Stage{{End: 2 * time.Second, Users: 4, SpawnRate: 4}})
	h := newShapeHarness(t, s, false)
	h.startShape(shape.Common{})
	h.run(4 * time.Second)
	stops := 0
	for _, o := range h.sent {
		if _, ok := o.p.(*protocol.Stop); ok {
			stops++
		}
	}
	if h.c.quitting || stops != 2 || (h.c.state != StateStopping && h.c.state != StateStopped) {
		t.Errorf("quitting %v, stops %d, state %s: want a stop sent to both workers, no quit", h.c.quitting, stops, h.c.state)
	}
}

// TestShapeNoTickDuringRamp: as Locust's start blocks through the ramp, a
// tick waits for the ramp (and the wait for reports) to end.
func TestShapeNoTickDuringRamp(t *testing.T) {
	t.Parallel()
	var ticks []time.Duration
	s := &shape.Shape{Name: "Slow", Tick: func(st shape.Status) (shape.Target, bool) {
		ticks = append(ticks, st.Elapsed)
		if st.Elapsed < 3*time.Second {
			return shape.Target{Users: 40, SpawnRate: 10}, true
		}
		return shape.Target{Users: 2, SpawnRate: 10}, true
	}}
	h := newShapeHarness(t, s, false)
	h.startShape(shape.Common{})
	h.run(8 * time.Second)
	// The ramp to 40 at 10/s sends its last step at 3 s; the users are
	// reported at once, so the next tick comes right then.
	if len(ticks) < 2 || ticks[0] != 0 || ticks[1] < 3*time.Second {
		t.Fatalf("ticks at %v: want the second one after the 3 s ramp", ticks)
	}
	for i := 2; i < len(ticks); i++ {
		if d := ticks[i] - ticks[i-1]; d < time.Second {
			t.Errorf("ticks %v: %v apart", ticks, d)
		}
	}
}

// TestShapeStatusAndClasses: the tick sees the elapsed time, the users the
// workers report, the merged stats and the common options; classes of a
// target restrict the dispatch.
func TestShapeStatusAndClasses(t *testing.T) {
	t.Parallel()
	var seen []shape.Status
	s := &shape.Shape{Name: "Probe", UseCommonOptions: true, Tick: func(st shape.Status) (shape.Target, bool) {
		seen = append(seen, st)
		return shape.Target{Users: st.Common.Users, SpawnRate: 100, Classes: []string{"B"}}, true
	}}
	h := newShapeHarness(t, s, false)
	h.startShape(shape.Common{Users: 6, UsersSet: true})
	h.run(2500 * time.Millisecond)
	if len(seen) < 2 || seen[0].Stats != h.c.agg || seen[1].Users != 6 || seen[1].Elapsed < time.Second {
		t.Fatalf("statuses %+v", seen)
	}
	if got := h.c.reg.reportedClassCounts(); got["B"] != 6 || got["A"] != 0 {
		t.Errorf("class counts %v, want only B", got)
	}
}

// TestShapeStartWhileRunningAndStops: a second start leaves a running shape
// alone; stop and a plain start end the shape test; a target that cannot
// be dispatched ends it too.
func TestShapeStartWhileRunningAndStops(t *testing.T) {
	t.Parallel()
	calls := 0
	s := &shape.Shape{Name: "Const", Tick: func(shape.Status) (shape.Target, bool) {
		calls++
		return shape.Target{Users: 2, SpawnRate: 2}, true
	}}
	h := newShapeHarness(t, s, false)
	h.startShape(shape.Common{})
	h.run(1500 * time.Millisecond)
	h.c.startShape(h.now, shape.Common{})
	if !strings.Contains(h.log.String(), "There is an ongoing shape test running. Editing is disabled") {
		t.Error("no log for a start during a shape test")
	}
	spawned := len(h.spawns)
	h.run(3 * time.Second)
	if len(h.spawns) != spawned {
		t.Errorf("the same target again sent %d spawns", len(h.spawns)-spawned)
	}
	if err := h.c.swarm(3, 1); err != nil || h.c.shape.on {
		t.Fatalf("a plain start must end the shape test: %v, on %v", err, h.c.shape.on)
	}
	before := calls
	h.run(3 * time.Second)
	if calls != before {
		t.Error("ticks after a plain start")
	}
	h.startShape(shape.Common{})
	h.run(1500 * time.Millisecond)
	h.c.stop(h.now, true)
	before = calls
	h.run(2 * time.Second)
	if calls != before || h.c.shape.on {
		t.Error("ticks after a stop")
	}

	bad := &shape.Shape{Name: "Bad", Tick: func(shape.Status) (shape.Target, bool) {
		return shape.Target{Users: 1, SpawnRate: 1, Classes: []string{"Nope"}}, true
	}}
	hb := newShapeHarness(t, bad, true)
	hb.startShape(shape.Common{})
	hb.run(500 * time.Millisecond)
	if hb.c.shape.on || !hb.c.quitting || !strings.Contains(hb.log.String(), `unknown user class \"Nope\"`) {
		t.Errorf("a failing target: on %v, quitting %v\n%s", hb.c.shape.on, hb.c.quitting, hb.log.String())
	}
}

func TestShapeSummary(t *testing.T) {
	t.Parallel()
	i := ShapeInfo{Name: "S", Running: true, Started: true, Elapsed: 1234 * time.Millisecond,
		Target: shape.Target{Users: 4, SpawnRate: 2, Classes: []string{"A"}, Stage: "warm", NextChange: 1500 * time.Millisecond}}
	if got, want := i.Summary(), "Load shape S: 1.2s, warm, target 4 users at 2.00/s (A), next change in 300ms (at 1.5s)"; got != want {
		t.Errorf("summary %q, want %q", got, want)
	}
	i.Running, i.Elapsed = false, 90*time.Second+400*time.Millisecond
	if got, want := i.Summary(), "Load shape S: ended after 1m30s"; got != want {
		t.Errorf("summary %q, want %q", got, want)
	}
	if got := (ShapeInfo{Name: "S"}).Summary(); got != "Load shape S: not started" {
		t.Errorf("summary %q", got)
	}
}
