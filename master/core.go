package master

import (
	"fmt"
	"log/slog"
	"maps"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/glocust/glocust/master/report"
	"github.com/glocust/glocust/protocol"
	"github.com/glocust/glocust/protocol/zmq"
	"github.com/glocust/glocust/stats"
	"github.com/glocust/glocust/threshold"
)

// Master run states, as Locust spells them.
const (
	StateReady    = "ready"
	StateSpawning = "spawning"
	StateRunning  = "running"
	StateStopping = "stopping"
	StateStopped  = "stopped"
)

// candidate is an unknown node that heartbeats: it may be taken back.
type candidate struct {
	state string
	cpu   float64
	mem   int64
	seen  time.Time
}

// core is the master's state machine. It is pure apart from out (which
// queues a frame) and the clock passed to each call; the Master's loop
// goroutine owns it. out must encode or copy the payload before it
// returns: core reuses some (the heartbeat reply).
type core struct {
	cfg Config
	log *slog.Logger
	out func(peer string, p protocol.Payload)

	reg        registry
	candidates map[string]*candidate
	state      string
	host       string

	disp              *Dispatcher
	target            int
	rate              float64
	spawningCompleted bool
	// adopted: the run is one this master took over from workers it took
	// back, not one it started. Its target is the sum of their users, its
	// dispatcher is made only when a join, a leave or a start needs one
	// (dispatcher), and a start or stop ends it.
	adopted bool

	dispatching      bool
	nextStep         time.Time
	lastSent         map[string]map[string]int
	lastTS           float64
	pendingRebalance bool
	gradual          *gradualMove

	waitingReports bool
	reportsUntil   time.Time
	targetClasses  map[string]int

	quitting  bool
	quitUntil time.Time
	quitWait  map[string]bool
	finished  bool // quit completed: Run returns

	agg        *stats.Aggregate
	exceptions *report.Exceptions
	logs       workerLogs
	picked     []string // --class-picker selection; nil: all classes
	history    *report.History
	started    time.Time // start of the current test (zero before)
	stopped    time.Time
	run        Run // the current test's identity (run.go)

	shape shapeRun // the load shape's test (shape.go)
	// aborts is, per Config.Thresholds entry, what it did in the current
	// test; abortable: one has AbortOnFail (thresholds.go).
	aborts    []abortState
	abortable bool
	abortCh   chan struct{}

	anyException bool
	// overloads are the workers overloaded in the current test, by node
	// id (master/health.go).
	overloads map[string]*Overload
	limiter   *rateLimiter
	counters  counters
	dec       protocol.Decoder
	release   func([]byte)             // gives a handled frame's payload back to the transport; may be nil
	hbReply   protocol.MasterHeartbeat // reused: out encodes or copies what it is given
}

// counters feed /metrics and tests.
type counters struct {
	badFrames, rogueFrames, spawnsSent, heartbeatsReplied, takenBack, missing int64
	// duplicateReports counts stats reports not counted because their
	// seq was counted already; seqGaps, reports whose seq skipped some.
	duplicateReports, seqGaps int64
}

func newCore(cfg Config, out func(string, protocol.Payload)) *core {
	now := cfg.Now()
	return &core{
		cfg: cfg, log: cfg.Logger, out: out,
		reg: newRegistry(), candidates: map[string]*candidate{},
		state: StateReady, host: cfg.Host,
		agg:        stats.NewAggregate(now, stats.AggregateMaxNames(cfg.MaxRequestNames), stats.AggregateLogger(cfg.Logger)),
		exceptions: report.NewExceptions(), history: report.NewHistory(),
		limiter: newRateLimiter(cfg.Now, 10*time.Second),
		shape:   shapeRun{endedCh: make(chan struct{}, 1)},
		aborts:  make([]abortState, len(cfg.Thresholds)), abortable: slices.ContainsFunc(cfg.Thresholds, abortOnFail),
		abortCh:   make(chan struct{}, 1),
		overloads: map[string]*Overload{},
		run:       Run{Profile: cfg.Profile},
	}
}

func abortOnFail(th threshold.Threshold) bool { return th.AbortOnFail }

func epochOf(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

// ---- messages ----

// handleFrame decodes and handles one received frame.
func (c *core) handleFrame(f zmq.Frame, now time.Time) {
	// The decoder reuses its memory: the payload is only used until the
	// next frame (handle copies what it keeps).
	env, err := c.dec.Decode(f.Payload, protocol.FromWorker, f.Peer)
	if err != nil {
		c.counters.badFrames++
		if w := c.reg.get(f.Peer); w != nil {
			// As Locust: a known worker whose frame could not be decoded
			// is asked to reconnect.
			c.log.Error("undecodable message from worker, asking it to reconnect", "worker", f.Peer, "err", err)
			c.sendTo(w, &protocol.Reconnect{})
			return
		}
		c.rogue(f.Peer, "undecodable message: "+err.Error())
		return
	}
	if env.NodeID != f.Peer {
		c.counters.rogueFrames++
		c.rogue(f.Peer, fmt.Sprintf("%s message claims node_id %q", env.Type(), truncate(env.NodeID, 80)))
		return
	}
	c.handle(env, now)
	c.checkStopped()
	if c.release != nil {
		switch env.Payload.(type) {
		case *protocol.Stats, *protocol.Heartbeat:
			// Handled and not referenced any more (strings are copies).
			c.release(f.Payload)
		}
	}
}

// badFrame handles a frame the transport rejected (wrong frame count,
// oversized, or a connection the guard closed).
func (c *core) badFrame(bf *zmq.BadFrame) {
	c.counters.badFrames++
	if w := c.reg.get(bf.Peer); bf.Peer != "" && w != nil {
		c.log.Error("RPCError when receiving from worker, asking it to reconnect", "worker", bf.Peer, "err", bf.Reason)
		c.sendTo(w, &protocol.Reconnect{})
		return
	}
	c.rogue(bf.Peer, bf.Reason)
}

func (c *core) rogue(peer, what string) {
	if c.limiter.allow("rogue:" + peer) {
		c.log.Warn("Unrecognized message detected (further ones from this peer are logged every 10 s)",
			"peer", truncate(fmt.Sprintf("%q", peer), 100), "problem", truncate(what, 200))
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

func (c *core) handle(env protocol.Envelope, now time.Time) {
	id := env.NodeID
	switch m := env.Payload.(type) {
	case *protocol.ClientReady:
		c.clientReady(id, m)
	case *protocol.Heartbeat:
		c.heartbeat(id, m, now)
	case *protocol.Stats:
		c.statsReport(id, m, now)
	case *protocol.Spawning:
		if w := c.reg.get(id); w != nil {
			c.reg.setState(w, protocol.StateSpawning)
		} else {
			c.log.Warn("Got spawning message from unknown worker, asking it to quit", "worker", id)
			c.out(id, &protocol.Quit{})
		}
	case *protocol.SpawningComplete:
		if w := c.reg.get(id); w != nil {
			c.reg.setState(w, protocol.StateRunning)
			c.reg.setCounts(w, m.UserClassesCount)
		} else {
			c.log.Warn("Got spawning_complete message from unknown worker, asking it to quit", "worker", id)
			c.out(id, &protocol.Quit{})
		}
	case *protocol.ClientStopped:
		if c.reg.get(id) == nil {
			c.log.Warn("Received client_stopped message from an unknown worker", "worker", id)
			return
		}
		c.removeWorker(id, now)
		c.log.Info(fmt.Sprintf("%s (index %d) reported that it has stopped", id, c.reg.index(id)))
	case *protocol.Quit:
		c.workerQuit(id, now)
	case *protocol.Exception:
		if c.reg.get(id) == nil && c.candidates[id] == nil {
			c.rogue(id, "exception from an unknown worker")
			return
		}
		c.exceptions.Add(id, m.Msg, m.Traceback)
		c.anyException = true
	case *protocol.Logs:
		// Kept from any sender, as Locust does: a Locust worker sends its
		// start-up lines before its client_ready is acknowledged, and may
		// not send them again. workerLogs bounds what is kept.
		c.logs.put(id, m.Logs)
	case *protocol.Locustfile:
		c.out(id, &protocol.Locustfile{Data: protocol.NewMap("error",
			"a glocust master does not distribute locustfiles: start the worker with its own -f")})
	default:
		if c.limiter.allow("type:" + env.Type()) {
			c.log.Warn(fmt.Sprintf("Unknown message type received from worker %s (index %d): %s",
				id, c.reg.index(id), truncate(env.Type(), 80)))
		}
	}
}

func (c *core) clientReady(id string, m *protocol.ClientReady) {
	switch {
	case m.SkipVersionCheck || m.Version == c.cfg.LocustVersion:
	case m.Version == "":
		// Debian's Locust 2.12 sends "": Locust refuses it, glocust does not.
		c.log.Debug("A worker with an empty version connected", "worker", id)
	case len(m.Version) >= 4 && len(c.cfg.LocustVersion) >= 4 && m.Version[:4] == c.cfg.LocustVersion[:4]:
		c.log.Debug(fmt.Sprintf("A worker (%s) running a different patch version (%q) connected, master version is %q", id, m.Version, c.cfg.LocustVersion))
	default:
		c.log.Warn(fmt.Sprintf("A worker (%s) running a different version (%s) connected, master version is %s", id, m.Version, c.cfg.LocustVersion))
	}
	w := &worker{id: id, state: protocol.StateReady, heartbeat: HeartbeatLiveness, version: workerVersion(m)}
	slot, _ := c.reg.slots.take(id)
	c.sendTo(w, &protocol.Ack{Index: int64(c.reg.index(id)), HasIndex: true, Slot: int64(slot), HasSlot: true})
	already := c.reg.get(id) != nil
	delete(c.candidates, id)
	c.reg.put(w)
	c.joined(id)
	dup := ""
	if already {
		dup = " (duplicate message)"
	}
	msg := fmt.Sprintf("%s (index %d) reported as ready%s. %d workers connected.", id, c.reg.index(id), dup, c.reg.workerCount())
	if already {
		c.log.Debug(msg)
	} else {
		c.log.Info(msg)
	}
}

// joined adds a worker to the dispatcher and re-dispatches as Locust does.
func (c *core) joined(id string) {
	if c.dispatcher() == nil {
		return
	}
	c.disp.RemoveWorker(id) // a duplicate client_ready must not count twice
	c.disp.AddWorker(id)
	c.pendingRebalance = true
	redispatch := !c.dispatchBusy() && c.state == StateRunning
	if c.cfg.EnableRebalancing && c.state == StateRunning && c.spawningCompleted {
		redispatch = true
	}
	if redispatch {
		c.start(c.target, c.rate)
	}
}

// dispatchBusy is the dispatcher's dispatch_in_progress (including a
// gradual rebalance glocust is pacing).
func (c *core) dispatchBusy() bool {
	return c.disp != nil && (c.disp.DispatchInProgress() || c.gradual != nil)
}

// sendSlot sends w an ack with its index and new data slot.
func (c *core) sendSlot(w *worker) {
	slot, _ := c.reg.slots.take(w.id)
	c.sendTo(w, &protocol.Ack{Index: int64(c.reg.index(w.id)), HasIndex: true, Slot: int64(slot), HasSlot: true})
}

// compactSlots moves workers without a share of unique data into the
// slots departed workers freed (slots.compact), telling each in an ack.
// The number of shares is the expect_workers the master sends workers.
func (c *core) compactSlots() {
	if c.quitting || c.state == StateStopping {
		return // the workers are leaving, or stopping: an ack now would cross their client_stopped
	}
	count := int64(1)
	if v, ok := c.cfg.ParsedOptions.Get("expect_workers"); ok {
		if n, ok := v.(int64); ok && n > 0 {
			count = n
		}
	}
	for _, id := range c.reg.slots.compact(int(count)) {
		if w := c.reg.get(id); w != nil {
			c.log.Info(fmt.Sprintf("Worker %s (index %d) takes over data slot %d, freed by a departed worker", id, c.reg.index(id), c.reg.slots.of[id]))
			c.sendSlot(w)
		}
	}
}

func (c *core) removeWorker(id string, now time.Time) {
	c.reg.del(id)
	c.compactSlots()
	if !c.quitting && c.dispatcher() != nil {
		c.disp.RemoveWorker(id)
		c.pendingRebalance = true
		if !c.dispatchBusy() && c.state == StateRunning {
			c.start(c.target, c.rate)
		}
	}
}

func (c *core) workerQuit(id string, now time.Time) {
	if c.quitting {
		c.reg.del(id)
		delete(c.quitWait, id)
		return
	}
	if c.reg.get(id) == nil {
		return
	}
	c.removeWorker(id, now)
	c.log.Info(fmt.Sprintf("Worker %q (index %d) quit. %d workers ready.", id, c.reg.index(id), c.reg.readyCount()))
	if c.reg.workerCount() <= 0 {
		c.log.Info("The last worker quit, stopping test.")
		c.stop(now, true)
		if c.cfg.Headless {
			c.quit(now)
		}
	}
}

func (c *core) heartbeat(id string, m *protocol.Heartbeat, now time.Time) {
	w := c.reg.get(id)
	if w == nil {
		switch m.State {
		case protocol.StateReady, protocol.StateSpawning, protocol.StateRunning:
		default:
			c.rogue(id, "heartbeat with state "+truncate(m.State, 40))
			return
		}
		// Beyond Locust: remember it and answer, so that a worker that ran
		// under a previous master keeps its connection; its next stats
		// report takes it back.
		if c.candidates[id] == nil && c.limiter.allow("cand:"+id) {
			c.log.Info("Heartbeat from an unknown worker; it will be taken back on its next stats report", "worker", id)
		}
		c.candidates[id] = &candidate{state: m.State, cpu: m.CurrentCPUUsage, mem: m.CurrentMemoryUsage, seen: now}
		c.replyHeartbeat(id, m, c.reg.lastSeq(id))
		return
	}
	w.heartbeat = HeartbeatLiveness
	if w.state == protocol.StateMissing {
		c.log.Info(fmt.Sprintf("Worker %s self-healed with heartbeat, setting state to %s.", id, m.State))
		if _, changed := c.reg.slots.take(id); changed {
			c.sendSlot(w) // its slot went to another worker meanwhile
		}
		if c.disp != nil {
			c.disp.AddWorker(id)
			c.pendingRebalance = true
			if !c.dispatchBusy() && c.state == StateRunning {
				c.start(c.target, c.rate)
			}
		}
	}
	c.reg.setState(w, m.State)
	w.cpu, w.mem = m.CurrentCPUUsage, m.CurrentMemoryUsage
	w.health, w.hasHealth = m.Health, m.HasHealth
	if overloaded(m) {
		c.overloadedBeat(id, w, m)
	}
	// A worker of a Locust older than 2.19 does not know the master's
	// heartbeat (master/dialect.go); a glocust worker (seq) always does.
	if m.HasSeq || protocol.Handles(w.version, protocol.FromMaster, protocol.TypeHeartbeat) {
		c.replyHeartbeat(id, m, w.seq)
	}
}

// replyHeartbeat answers a heartbeat. A glocust worker (its heartbeat
// carries a seq) gets the last stats seq counted for it, so it can drop
// the reports it kept for re-sending (docs/protocol.md section 9); any
// other worker gets Locust's None.
func (c *core) replyHeartbeat(id string, m *protocol.Heartbeat, seq uint64) {
	c.hbReply = protocol.MasterHeartbeat{}
	if m.HasSeq {
		c.hbReply = protocol.MasterHeartbeat{Ack: seq, HasAck: true}
	}
	c.out(id, &c.hbReply)
	c.counters.heartbeatsReplied++
}

func (c *core) statsReport(id string, m *protocol.Stats, now time.Time) {
	w := c.reg.get(id)
	if w == nil {
		cand := c.candidates[id]
		if cand == nil || now.Sub(cand.seen) > takeBackWindow {
			if m.Seq != 0 && c.lateReport(id, m, now) {
				return
			}
			if c.limiter.allow("discard:" + id) {
				c.log.Info("Discarded report from unrecognized worker " + id)
			}
			return
		}
		w = c.takeBack(id, cand, m.UserClassesCount, now)
	}
	if m.Seq != 0 && !c.newSeq(w, m.Seq) {
		return
	}
	c.agg.Merge(m, now)
	c.reg.setCounts(w, m.UserClassesCount)
}

// lateReport counts a glocust report of a node whose record this master
// deleted (client_stopped, quit, missing for long): a report the worker
// kept while its connection was down and sent once it was back, after its
// client_stopped. The node was this master's worker, and the seq it
// retired with says whether the report was counted already. It reports
// false for a node this master never had.
func (c *core) lateReport(id string, m *protocol.Stats, now time.Time) bool {
	last, ok := c.reg.retiredSeq(id)
	if !ok {
		return false
	}
	if m.Seq <= last {
		c.counters.duplicateReports++
		return true
	}
	c.reg.retire(id, m.Seq)
	c.agg.Merge(m, now)
	c.log.Debug("Counted a report that arrived after its worker's record was deleted", "worker", id, "seq", m.Seq)
	return true
}

// newSeq reports whether a glocust report with this seq is to be counted
// (its seq is above the last counted one) and records it. A worker sends
// its seqs in order and sends again, in order, those a master did not
// acknowledge, so a seq at or below the last counted one is a duplicate.
func (c *core) newSeq(w *worker, seq uint64) bool {
	if seq <= w.seq {
		c.counters.duplicateReports++
		c.log.Debug("Dropped a stats report counted already", "worker", w.id, "seq", seq, "counted", w.seq)
		return false
	}
	if w.seq != 0 && seq != w.seq+1 {
		c.counters.seqGaps++
		c.log.Debug("Stats report sequence skipped some numbers", "worker", w.id, "seq", seq, "counted", w.seq)
	}
	w.seq = seq
	return true
}

// takeBack registers a worker that never sent client_ready to this master,
// with the users its report cc says it runs. A master with no run of its
// own adopts the run of a worker that has users (adopt); further such
// workers add their users to the adopted run's target. In a run the
// master started, a taken-back worker is a join (its users are
// re-dispatched); while the master stops or quits, it is told to as well.
func (c *core) takeBack(id string, cand *candidate, cc []protocol.ClassCount, now time.Time) *worker {
	delete(c.candidates, id)
	w := &worker{id: id, state: cand.state, heartbeat: HeartbeatLiveness, cpu: cand.cpu, mem: cand.mem, takenBack: true,
		version: protocol.Reference}
	c.reg.put(w)
	c.reg.setCounts(w, cc)
	c.counters.takenBack++
	c.log.Info(fmt.Sprintf("Worker %s (index %d) taken back with %d users: it was running under a previous master. %d workers connected.",
		id, c.reg.index(id), w.users, c.reg.workerCount()))
	users, limit := w.users, int64(maxAdoptedUsers)
	if c.adopted {
		limit -= int64(c.target)
	}
	if users > limit {
		c.log.Warn(fmt.Sprintf("Worker %s reports %d users, more than a run taken over may have (%d): its users are not taken over", id, users, maxAdoptedUsers))
		users = 0
	}
	switch {
	case users > 0 && (c.state == StateReady || c.state == StateStopped):
		c.adopt(w, int(users), now)
	case users > 0 && c.adopted:
		c.target += int(users)
		if c.disp != nil {
			// The adopted run was re-dispatched already: again, from
			// the new target and over this worker too.
			c.disp = nil
			c.start(c.target, c.rate)
		}
	case c.quitting:
		c.out(id, &protocol.Quit{})
		c.quitWait[id] = true
	case w.users > 0 && c.state == StateStopping:
		c.out(id, &protocol.Stop{})
	default:
		c.joined(id)
	}
	return w
}

// adoptedSpawnRate is an adopted run's spawn rate (Locust's default -r):
// the master never learns the rate of a run it did not start. It paces
// the re-dispatches of joins and leaves until a start sets a rate.
const adoptedSpawnRate = 1.0

// maxAdoptedUsers bounds an adopted run's target: the users a report
// claims are placed by Dispatcher.Resume, in memory proportional to them.
const maxAdoptedUsers = 1 << 22

// adopt makes the run of w, a taken-back worker with users, this master's
// run: state running (its ramp-up is over), target w's users. Nothing is
// sent: the workers keep running what they run. The stats are kept; what
// is left of a dispatch of the master's last test (one that ended without
// a stop) is not.
func (c *core) adopt(w *worker, users int, now time.Time) {
	c.disp, c.lastSent, c.gradual = nil, nil, nil
	c.dispatching, c.waitingReports, c.pendingRebalance = false, false, false
	c.adopted = true
	c.target, c.rate = users, adoptedSpawnRate
	c.spawningCompleted = true
	c.started, c.stopped = now, time.Time{}
	clear(c.overloads)
	c.newRun(now)
	c.setState(StateRunning)
	c.log.Info(fmt.Sprintf("Taking over the running test of a previous master: %s runs %s", w.id, formatCounts(w.counts)))
}

// dispatcher returns the dispatcher, making an adopted run's on first
// use: its users (the target) are placed as a dispatch from zero would
// place them over the active workers (Dispatcher.Resume), so the next
// dispatch starts with that assignment and ramps from there. It is nil
// when no dispatch has begun since the last stop and the run is not an
// adopted one with active workers.
func (c *core) dispatcher() *Dispatcher {
	if c.disp != nil || !c.adopted {
		return c.disp
	}
	active := c.reg.active()
	if len(active) == 0 {
		return nil
	}
	c.disp = NewDispatcher(active, c.activeClasses())
	c.disp.Resume(c.target)
	// What the workers run, for a rebalance at the spawn rate.
	c.lastSent = make(map[string]map[string]int, len(active))
	for _, id := range active {
		counts := map[string]int{}
		for cls, n := range c.reg.get(id).counts {
			counts[cls] = int(n)
		}
		c.lastSent[id] = counts
	}
	return c.disp
}

// ---- liveness ----

// tick is heartbeat_worker's loop body, run every HeartbeatInterval. It
// walks the registry in place: nothing in the loop adds or removes workers
// (removals are collected and done after it).
func (c *core) tick(now time.Time) {
	var remove []string
	for _, w := range c.reg.order {
		if w.state == protocol.StateMissing && w.heartbeat <= HeartbeatDeadAt {
			remove = append(remove, w.id)
		}
		if w.heartbeat < 0 && w.state != protocol.StateMissing {
			c.log.Info(fmt.Sprintf("Worker %s failed to send heartbeat, setting state to missing.", w.id))
			c.counters.missing++
			c.reg.setState(w, protocol.StateMissing)
			c.reg.clearCounts(w)
			if c.dispatcher() != nil {
				c.disp.RemoveWorker(w.id)
				c.pendingRebalance = true
				if c.cfg.EnableRebalancing && c.state == StateRunning && c.spawningCompleted {
					c.start(c.target, c.rate)
				}
			}
			if c.reg.workerCount() <= 0 {
				c.log.Info("The last worker went missing, stopping test.")
				c.stop(now, true)
				c.checkStopped()
			}
		} else {
			w.heartbeat--
		}
	}
	c.compactSlots()
	if len(remove) > 0 {
		for _, id := range remove {
			c.reg.del(id)
		}
		if c.state == StateRunning || c.state == StateSpawning {
			c.disp = nil
			c.start(c.target, c.rate)
		}
	}
	for id, cand := range c.candidates {
		if now.Sub(cand.seen) > takeBackWindow {
			delete(c.candidates, id)
		}
	}
}

// checkStopped is Locust's check_stopped. It is O(1): the registry keeps
// per-state counts.
func (c *core) checkStopped() {
	allReady := c.reg.readyCount() == c.reg.len()
	noneActive := c.reg.workerCount() == 0
	if (c.state == StateStopping && allReady) || noneActive {
		c.setState(StateStopped)
	}
}

func (c *core) setState(s string) {
	if c.state == s {
		return
	}
	if s == StateStopped && c.stopped.IsZero() && !c.started.IsZero() {
		c.stopped = c.cfg.Now()
	}
	if s == StateStopping || s == StateStopped {
		c.adopted = false // a stopped run is no longer one to take over
	}
	c.state = s
}

// ---- run control ----

// start is MasterRunner.start without its blocking loop: the loop's steps
// run from step() at the times nextStep says.
func (c *core) start(users int, rate float64) error { return c.startClasses(users, rate, nil) }

// startClasses is start with user_classes: classes restricts the user
// classes (a shape's tick); nil keeps the current selection.
func (c *core) startClasses(users int, rate float64, classes []string) error {
	if c.quitting {
		return nil
	}
	c.spawningCompleted = false
	active := c.reg.active()
	if len(active) == 0 {
		c.target = users
		c.log.Warn("You can't start a distributed test before at least one worker processes has connected")
		return nil
	}
	if c.dispatcher() == nil { // an adopted run's resumes at its target
		c.disp = NewDispatcher(active, c.activeClasses())
		c.lastSent = nil
	}
	if err := c.disp.CheckDispatch(users, rate, classes); err != nil {
		return err
	}
	c.target, c.rate = users, rate
	c.log.Info(fmt.Sprintf("Sending spawn jobs of %d users at %.2f spawn rate to %d ready workers", users, rate, len(active)))
	if rate/float64(len(active)) > 100 {
		c.log.Warn("Your selected spawn rate is very high (>100/worker), and this is known to sometimes cause issues. Do you really need to ramp up that fast?")
	}
	now := c.cfg.Now()
	if c.state != StateRunning && c.state != StateSpawning {
		c.agg.Clear(now)
		c.exceptions.Reset()
		c.anyException = false
		c.resetAborts()
		c.started, c.stopped = now, time.Time{}
		clear(c.overloads)
		c.newRun(now)
	}
	c.setState(StateSpawning)
	c.disp.NewDispatch(users, rate, classes)
	c.gradual = nil
	c.waitingReports = false
	c.dispatching = true
	c.nextStep = now
	return nil
}

// swarm is a start the user asked for (Master.Start: POST /swarm, a
// headless or autostart run). In an adopted run it is an edit: the ramp
// goes from the users the workers run to users, and the run is the
// master's own from then on. It ends a shape test: the users asked for
// replace the shape's.
func (c *core) swarm(users int, rate float64) error {
	c.shapeOff(c.cfg.Now())
	err := c.start(users, rate)
	if err == nil {
		c.adopted = false
	}
	return err
}

// step runs one step of the dispatch loop when it is due.
func (c *core) step(now time.Time) {
	if c.waitingReports && (!now.Before(c.reportsUntil) || c.reg.userCount() == int64(c.target)) {
		c.completeSpawning(now)
	}
	if c.shapeDue(now) {
		c.shapeTick(now)
	}
	if !c.dispatching || now.Before(c.nextStep) {
		return
	}
	if c.disp == nil {
		c.dispatching, c.gradual = false, nil
		return
	}
	if c.gradual != nil {
		c.sendSpawn(c.gradual.next(), now)
		if c.gradual.done() {
			c.gradual = nil
		}
		c.nextStep = now.Add(c.stepWait())
		return
	}
	m, ok := c.disp.Next()
	rebalance := c.pendingRebalance
	c.pendingRebalance = false
	if !ok {
		c.dispatching = false
		c.targetClasses = aggregateClasses(c.lastSent)
		c.waitingReports = true
		c.reportsUntil = now.Add(c.cfg.WaitForReports)
		if c.reg.userCount() == int64(c.target) {
			c.completeSpawning(now)
		}
		return
	}
	if rebalance && c.cfg.RebalanceAtSpawnRate && c.lastSent != nil {
		if g := newGradualMove(c.lastSent, m, c.perStep()); !g.done() {
			c.gradual = g
			c.sendSpawn(g.next(), now)
			if g.done() {
				c.gradual = nil
			}
			c.nextStep = now.Add(c.stepWait())
			return
		}
	}
	c.sendSpawn(m, now)
	c.nextStep = now.Add(c.disp.StepDelay())
}

func (c *core) perStep() int { return int(math.Max(1, math.Floor(c.rate))) }

func (c *core) stepWait() time.Duration {
	return time.Duration(float64(c.perStep()) / c.rate * float64(time.Second))
}

func (c *core) sendSpawn(m map[string]map[string]int, now time.Time) {
	ids := slices.Sorted(maps.Keys(m))
	for _, id := range ids {
		ts := epochOf(now)
		if ts <= c.lastTS {
			ts = math.Nextafter(c.lastTS, math.Inf(1))
		}
		c.lastTS = ts
		counts := m[id]
		cc := make([]protocol.ClassCount, 0, len(counts))
		for _, name := range slices.Sorted(maps.Keys(counts)) {
			cc = append(cc, protocol.ClassCount{Class: name, Count: int64(counts[name])})
		}
		c.out(id, &protocol.Spawn{
			Timestamp: ts, UserClassesCount: cc, Host: c.host, HasHost: c.host != "",
			StopTimeout: c.cfg.StopTimeout.Seconds(), ParsedOptions: c.cfg.ParsedOptions,
		})
		c.counters.spawnsSent++
	}
	c.lastSent = m
}

func aggregateClasses(m map[string]map[string]int) map[string]int {
	out := map[string]int{}
	for _, counts := range m {
		for k, v := range counts {
			out[k] += v
		}
	}
	return out
}

func (c *core) completeSpawning(now time.Time) {
	c.waitingReports = false
	prefix := "All users spawned"
	if c.reg.userCount() != int64(c.target) {
		prefix = "Spawning is complete and report waittime is expired, but not all reports received from workers"
	}
	var n int64
	for _, v := range c.targetClasses {
		n += int64(v)
	}
	c.setState(StateRunning)
	if c.cfg.ResetStats {
		c.log.Info("Resetting stats")
		c.agg.Reset(now)
	}
	for _, w := range c.reg.all() {
		c.sendTo(w, &protocol.MasterSpawningComplete{UserCount: n})
	}
	c.spawningCompleted = true
	c.log.Info(prefix + ": " + formatCounts(c.reg.reportedClassCounts()))
}

func formatCounts(m map[string]int64) string {
	var parts []string
	var total int64
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%q: %d", k, m[k]))
		total += m[k]
	}
	return fmt.Sprintf("{%s} (%d total users)", strings.Join(parts, ", "), total)
}

// stop is MasterRunner.stop without the wait (Master.Stop waits). It ends
// a shape test.
func (c *core) stop(now time.Time, sendStop bool) {
	c.shapeOff(now)
	switch c.state {
	case StateReady, StateStopped, StateStopping:
		return
	}
	c.setState(StateStopping)
	c.logOverloads()
	c.disp = nil
	c.dispatching, c.gradual, c.waitingReports = false, nil, false
	c.lastSent = nil
	if sendStop {
		for _, w := range c.reg.all() {
			c.out(w.id, &protocol.Stop{})
		}
	}
}

// quit sends quit to every worker; finished is set once they all answered
// or QuitWait passed.
func (c *core) quit(now time.Time) {
	if c.quitting {
		return
	}
	c.stop(now, false)
	c.quitting = true
	c.quitWait = map[string]bool{}
	for _, w := range c.reg.all() {
		c.out(w.id, &protocol.Quit{})
		c.quitWait[w.id] = true
	}
	// Workers stop their users (within stop_timeout) before their final
	// report: wait for that too. Waiting ends as soon as all have quit.
	c.quitUntil = now.Add(max(c.cfg.QuitWait, c.cfg.StopTimeout+2*time.Second))
	if c.started.IsZero() || c.stopped.IsZero() {
		c.stopped = now
	}
	c.checkQuit(now)
}

func (c *core) checkQuit(now time.Time) {
	if c.quitting && !c.finished && (len(c.quitWait) == 0 || !now.Before(c.quitUntil)) {
		c.finished = true
	}
}

// nextWake is when step or checkQuit must run next (zero: no deadline).
func (c *core) nextWake() time.Time {
	var t time.Time
	pick := func(d time.Time) {
		if t.IsZero() || d.Before(t) {
			t = d
		}
	}
	if c.dispatching {
		pick(c.nextStep)
	}
	if c.waitingReports {
		pick(c.reportsUntil)
	}
	if c.shape.on && !c.dispatching && !c.waitingReports {
		pick(c.shape.next)
	}
	if c.quitting && !c.finished {
		pick(c.quitUntil)
	}
	return t
}

// ---- gradual rebalance (glocust) ----

// gradualMove walks from one assignment to another moving at most perStep
// users per step: perStep users added where the target is above the
// current count, and perStep removed where it is below.
type gradualMove struct {
	cur, tgt map[string]map[string]int
	perStep  int
}

func newGradualMove(from, to map[string]map[string]int, perStep int) *gradualMove {
	g := &gradualMove{cur: map[string]map[string]int{}, tgt: to, perStep: perStep}
	for id, counts := range to {
		g.cur[id] = map[string]int{}
		for cls := range counts {
			g.cur[id][cls] = from[id][cls]
		}
	}
	return g
}

func (g *gradualMove) done() bool {
	for id, counts := range g.tgt {
		for cls, n := range counts {
			if g.cur[id][cls] != n {
				return false
			}
		}
	}
	return true
}

// next advances one step and returns a copy of the new assignment.
func (g *gradualMove) next() map[string]map[string]int {
	ids := slices.Sorted(maps.Keys(g.tgt))
	add, rm := g.perStep, g.perStep
	for _, id := range ids {
		classes := make([]string, 0, len(g.tgt[id]))
		for cls := range g.tgt[id] {
			classes = append(classes, cls)
		}
		sort.Strings(classes)
		for _, cls := range classes {
			d := g.tgt[id][cls] - g.cur[id][cls]
			switch {
			case d > 0 && add > 0:
				k := min(d, add)
				g.cur[id][cls] += k
				add -= k
			case d < 0 && rm > 0:
				k := min(-d, rm)
				g.cur[id][cls] -= k
				rm -= k
			}
		}
	}
	out := make(map[string]map[string]int, len(g.cur))
	for id, counts := range g.cur {
		out[id] = maps.Clone(counts)
	}
	return out
}
