package worker

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/glocust/glocust/protocol"
	"github.com/glocust/glocust/protocol/zmq"
	"github.com/glocust/glocust/stats"
)

type dialResult struct {
	t   zmq.Transport
	err error
}

type inbound struct {
	gen int
	f   zmq.Frame
	err error
}

// loop holds the state owned by Run's goroutine.
type loop struct {
	w       *Worker
	ctx     context.Context // the dial and receive goroutines'; cancelled when Run returns, never by Run's caller
	wg      sync.WaitGroup  // dial and receive goroutines
	redialT *time.Timer

	t          zmq.Transport
	gen        int
	dialing    bool
	dialCh     chan dialResult
	recvCh     chan inbound
	live       bool      // the master was heard on this connection (or cannot be: see attach)
	attachedAt time.Time // when the current connection was made

	registered bool // acked by the master
	wantReady  bool // client_ready must be (re)sent when connected
	readyTries int
	connectT   *time.Timer

	lastMasterHB time.Time // zero until the master's first heartbeat
	// unackedSince is when the worker began waiting for an ack (start,
	// re-registration, client_ready after a stop); zero while registered.
	unackedSince time.Time
	resetDone    bool // connection reset done in this silence episode

	stopDone  chan struct{} // a stop in progress
	readyT    *time.Timer   // client_ready after stop
	stopping  bool
	quitAfter bool

	logsSent int64 // log lines ever logged when logs were last sent

	// Delivery (docs/protocol.md section 9): carry holds the stats not
	// handed to a live connection, dv the reports handed to one and not
	// confirmed, excs the exceptions not sent yet.
	carry stats.Carry
	dv    delivery
	excs  []*protocol.Exception
}

// maxPendingExceptions bounds the exception messages a worker keeps while
// it cannot send them; past it they are counted and dropped.
const maxPendingExceptions = 1000

// Run connects to the master and serves it until the master sends quit
// (nil), ctx is cancelled (final stats and quit are sent; nil), the master
// never answers client_ready (ErrConnect) or stops heartbeating
// (ErrMasterTimeout).
func (w *Worker) Run(parent context.Context) error {
	// The loop's own context is not parent's: cancelling parent starts the
	// shutdown, which still receives and sends (the final stats and quit).
	ctx, cancel := context.WithCancel(context.Background())
	l := &loop{w: w, ctx: ctx, dialCh: make(chan dialResult, 1), recvCh: make(chan inbound, 64),
		wantReady: true, connectT: stoppedTimer(), readyT: stoppedTimer(), redialT: stoppedTimer()}
	defer func() {
		w.registered.Store(false)
		l.closeTransport()
		cancel()
		l.wg.Wait()
		select { // a dial that finished after the loop stopped
		case d := <-l.dialCh:
			if d.t != nil {
				d.t.Close()
			}
		default:
		}
	}()
	hb := time.NewTicker(w.heartbeatEvery)
	defer hb.Stop()
	report := time.NewTicker(w.reportEvery)
	defer report.Stop()
	var logsC <-chan time.Time
	if w.logSource != nil {
		t := time.NewTicker(w.logEvery)
		defer t.Stop()
		logsC = t.C
	}

	w.log.Info("starting worker", "node_id", w.nodeID, "master", w.endpoint, "locust_version", w.version)
	l.unackedSince = w.now()
	l.startDial()
	for {
		select {
		case <-parent.Done():
			return l.shutdown("interrupted")
		case d := <-l.dialCh:
			l.dialed(d)
		case <-l.redialT.C:
			l.startDial()
		case in := <-l.recvCh:
			if f, ok := l.received(in); ok {
				if done, err := l.handle(f); done {
					return err
				}
			}
		case <-l.connectT.C:
			if l.registered || !l.wantReady {
				continue
			}
			// Giving up is checkUnregistered's: it bounds the wait whether
			// or not a connection exists.
			w.log.Info("no ack from master yet", "master", w.endpoint, "retry", l.readyTries, "of", w.connectRetries)
			l.sendClientReady()
		case <-hb.C:
			if done, err := l.tick(); done {
				return err
			}
		case <-report.C:
			if l.registered {
				l.sendStats()
			}
		case <-logsC:
			if l.registered && !l.sendLogs() {
				logsC = nil // too many lines: sent once more, then never again
			}
		case p := <-w.outbox:
			l.outgoing(p)
		case <-l.stopDone:
			l.stopDone = nil
			l.stopping = false
			l.sendStats() // what the stopped users did, before the master forgets this worker
			l.registered = false
			w.registered.Store(false)
			l.send(&protocol.ClientStopped{})
			w.setState(protocol.StateReady)
			l.readyT.Reset(w.stopTimeout + w.waitAfterStop)
		case <-l.readyT.C:
			l.wantReady = true
			l.readyTries = 0
			l.unackedSince = w.now()
			l.sendClientReady()
		}
	}
}

func stoppedTimer() *time.Timer {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return t
}

func (l *loop) startDial() {
	if l.dialing || l.t != nil {
		return
	}
	l.dialing = true
	ctx, w, id := l.ctx, l.w, l.w.NodeID()
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		t, err := w.dial(ctx, w.endpoint, id)
		if ctx.Err() != nil {
			if t != nil {
				t.Close()
			}
			return
		}
		l.dialCh <- dialResult{t, err} // buffered; one dial at a time
	}()
}

// dialed handles the result of a dial.
func (l *loop) dialed(d dialResult) {
	l.dialing = false
	if d.err != nil {
		l.w.log.Warn("could not connect to master", "master", l.w.endpoint, "err", d.err)
		l.redialT.Reset(time.Second)
		return
	}
	l.attach(d.t)
}

// received checks a frame or error from a receive goroutine: frames of
// an old connection are ignored, a failed connection is reset. It returns
// the frame to handle.
func (l *loop) received(in inbound) (zmq.Frame, bool) {
	if in.gen != l.gen {
		return zmq.Frame{}, false
	}
	if in.err != nil {
		var bad *zmq.BadFrame
		if errors.As(in.err, &bad) {
			l.w.log.Warn("ignoring malformed message from master", "err", in.err)
			return zmq.Frame{}, false
		}
		l.w.log.Warn("connection to master failed", "err", in.err)
		l.resetConnection()
		return zmq.Frame{}, false
	}
	if !l.live {
		l.live = true
		l.w.log.Debug("master heard on the new connection", "master", l.w.endpoint)
	}
	return in.f, true
}

func (l *loop) attach(t zmq.Transport) {
	l.t = t
	l.gen++
	l.attachedAt = l.w.now()
	// A master that never sent a heartbeat (Locust 2.12) may say nothing
	// on a connection: reports go out at once. Otherwise they wait until
	// the master is heard on it (a Locust master ignores a connection
	// whose identity it still holds from a connection that died
	// unnoticed).
	l.live = l.dv.dialect == dialectUnknown
	gen, ctx, ch := l.gen, l.ctx, l.recvCh
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		for {
			f, err := t.Recv(ctx)
			var bad *zmq.BadFrame
			select {
			case ch <- inbound{gen: gen, f: f, err: err}:
			case <-ctx.Done():
				return
			}
			if err != nil && !errors.As(err, &bad) {
				return
			}
		}
	}()
	l.w.log.Debug("connected to master", "master", l.w.endpoint)
	if l.wantReady && !l.registered {
		l.sendClientReady()
	} else if l.registered {
		l.sendHeartbeat() // its reply settles the reports of the last connection
	}
}

func (l *loop) closeTransport() {
	if l.t == nil {
		return
	}
	l.t.Close()
	l.t = nil
	l.gen++
	l.live = false
	l.logDropped(l.dv.connectionLost())
}

// resetConnection recreates the socket with the same identity, as Locust's
// reset_connection; registration is kept.
//
// The new socket connects after a pause: a ROUTER that has not yet noticed
// the old connection's close drops a new one with the same identity.
func (l *loop) resetConnection() {
	l.w.log.Info("resetting connection to master", "master", l.w.endpoint)
	l.closeTransport()
	if !l.dialing {
		l.redialT.Reset(l.w.redialDelay)
	}
}

// send encodes p and hands it to the connection; false if there is none or
// the send failed (the connection is then reset).
func (l *loop) send(p protocol.Payload) bool {
	if l.t == nil || !l.w.masterHandles(p.MessageType()) {
		return false
	}
	b, err := protocol.Encode(l.w.NodeID(), p)
	if err != nil {
		l.w.log.Error("cannot encode message", "type", p.MessageType(), "err", err)
		return false
	}
	return l.sendFrame(p.MessageType(), b)
}

// sendFrame hands an encoded message to the connection. A send that fails
// wrote at most part of the frame, which the master never reads as a
// message.
func (l *loop) sendFrame(typ string, b []byte) bool {
	if l.t == nil {
		return false
	}
	if err := l.t.Send(l.ctx, zmq.Frame{Payload: b}); err != nil {
		if l.ctx.Err() == nil {
			l.w.log.Warn("send to master failed", "type", typ, "err", err)
			l.resetConnection()
		}
		return false
	}
	return true
}

// outgoing sends a message queued by another goroutine: exceptions wait
// (bounded) until they can be sent, other messages are sent if the worker
// is registered.
func (l *loop) outgoing(p protocol.Payload) {
	exc, isExc := p.(*protocol.Exception)
	if !isExc {
		if l.registered {
			l.send(p)
		}
		return
	}
	if len(l.excs) >= maxPendingExceptions {
		l.w.droppedExceptions++
		return
	}
	l.excs = append(l.excs, exc)
	l.flushExceptions()
}

// flushExceptions sends the queued exceptions while the connection is
// live.
func (l *loop) flushExceptions() {
	for len(l.excs) > 0 && l.canReport() {
		if !l.send(l.excs[0]) {
			return
		}
		l.excs[0] = nil
		l.excs = l.excs[1:]
		l.w.sentExceptions++
	}
}

func (l *loop) sendClientReady() {
	l.readyTries++
	l.connectT.Reset(l.w.connectEvery)
	p := &protocol.ClientReady{Version: l.w.version}
	if l.w.version == "-1" {
		p = &protocol.ClientReady{SkipVersionCheck: true}
	}
	l.send(p)
}

// canReport reports whether a report may be handed to the connection now:
// registered, connected, the master heard on this connection, and the
// reports of earlier connections settled (a glocust master must receive
// those it missed before any newer one).
func (l *loop) canReport() bool {
	return l.registered && l.t != nil && l.live && l.dv.settled()
}

// sendStats sends what was recorded since the last report plus everything
// carried, as one report with the next seq, followed by a heartbeat whose
// reply confirms it. A report that cannot be handed to a live connection
// is carried into the next one.
func (l *loop) sendStats() bool {
	w := l.w
	rep := l.carry.Merge(w.stats.Report(w.now()))
	if !l.canReport() {
		l.carry.Add(rep)
		return false
	}
	seq, id := l.dv.nextSeq(), w.NodeID()
	b, err := protocol.Encode(id, &protocol.Stats{
		Stats:            rep.Entries,
		Total:            rep.Total,
		Errors:           rep.Errors,
		UserClassesCount: w.users.Counts(),
		UserCount:        w.users.UserCount(),
		Seq:              seq,
	})
	if err != nil {
		w.log.Error("cannot encode message", "type", protocol.TypeStats, "err", err)
		l.carry.Add(rep)
		return false
	}
	if !l.sendFrame(protocol.TypeStats, b) {
		l.carry.Add(rep)
		return false
	}
	l.logDropped(l.dv.sentReport(seq, b, id, rep.Total.NumRequests))
	l.sendHeartbeat()
	return true
}

// sendHeartbeat sends a heartbeat, with the last report seq (which asks a
// glocust master for its ack).
func (l *loop) sendHeartbeat() {
	w := l.w
	h := &protocol.Heartbeat{State: w.State(), Seq: l.dv.seq, HasSeq: true}
	w.gen.sample(h)
	w.gen.record(h, w.users.UserCount(), w.now())
	if l.send(h) {
		l.dv.heartbeatSent()
	}
}

// masterHeartbeat handles the master's heartbeat reply: confirmations,
// the fate of the last connection's reports (sent again first, or logged
// as lost), then what waited for them.
func (l *loop) masterHeartbeat(m *protocol.MasterHeartbeat) {
	l.lastMasterHB = l.w.now()
	l.resetDone = false
	l.logLost(l.dv.reply(m, l.w.NodeID()))
	for l.t != nil {
		r, ok := l.dv.nextResend()
		if !ok {
			break
		}
		if !l.sendFrame(protocol.TypeStats, r.frame) {
			return // the connection was reset: they wait for the next one
		}
		l.dv.resent()
		l.w.log.Info("stats report sent again: the master did not acknowledge it before the connection failed",
			"seq", r.seq, "requests", r.requests)
	}
	if !l.carry.Empty() && l.canReport() {
		l.sendStats()
	}
	l.flushExceptions()
}

// lossMsg is logged for each report that may not have been counted.
const lossMsg = "stats report possibly lost: the connection failed before the master confirmed it, and a Locust master cannot be sent it again"

func (l *loop) logLost(lost []inFlight) {
	for _, r := range lost {
		if r.requests == 0 {
			continue // nothing counted in it but the user counts
		}
		l.w.lostReports++
		l.w.lostRequests += r.requests
		l.w.log.Warn(lossMsg, "seq", r.seq, "requests", r.requests)
	}
}

// logDropped logs reports given up without a master to decide on them.
func (l *loop) logDropped(dropped []inFlight) {
	if len(dropped) == 0 {
		return
	}
	if l.dv.dialect == dialectUnknown {
		// A master that never answered a heartbeat (Locust 2.12): as
		// Locust's own workers, send and forget.
		l.w.log.Debug("reports not confirmable: the master never answered a heartbeat", "reports", len(dropped))
		return
	}
	l.logLost(dropped)
}

// tick runs every heartbeat interval: heartbeat and master-silence checks.
func (l *loop) tick() (bool, error) {
	w := l.w
	if !l.registered {
		return l.checkUnregistered()
	}
	l.sendHeartbeat()
	if l.lastMasterHB.IsZero() || l.stopping {
		return false, nil
	}
	now := w.now()
	silence := now.Sub(l.lastMasterHB)
	switch {
	case l.deafConnection(now):
		// A libzmq ROUTER without ROUTER_HANDOVER (Locust's) ignores a
		// connection whose identity it still holds: after a connection
		// died without the master noticing, only a new identity is heard.
		w.log.Warn("master does not answer on the new connection, registering again under a new node id",
			"waited", now.Sub(l.attachedAt).Round(time.Millisecond))
		l.reregister()
	case w.masterTimeout > 0 && silence > w.masterTimeout:
		w.log.Error("no heartbeat from master, quitting", "silence", silence.Round(time.Second))
		l.stopUsers(0)
		return true, ErrMasterTimeout
	case w.reregisterAfter > 0 && silence > w.reregisterAfter && l.registered:
		w.log.Warn("master silent, registering again", "silence", silence.Round(time.Second))
		l.reregister()
	case w.resetAfter > 0 && silence > w.resetAfter && !l.resetDone:
		l.resetDone = true
		l.resetConnection()
	}
	return false, nil
}

// deafConnection reports whether a Locust master has not been heard on a
// connection made more than deafAfter ago while registered. A glocust
// master hands the identity over to the new connection: its silence is
// waited out (reregisterAfter) under the same node id.
func (l *loop) deafConnection(now time.Time) bool {
	return l.w.deafAfter > 0 && l.registered && l.t != nil && !l.live && l.dv.dialect == dialectLocust &&
		now.Sub(l.attachedAt) > l.w.deafAfter
}

// checkUnregistered bounds the wait for a master while not registered,
// whether or not a connection could be made: a master that was heard from
// and then went silent for the master timeout ends the worker
// (ErrMasterTimeout, as Locust's 60 s rule), and so does waiting longer
// than connectEvery × connectRetries for an ack (ErrConnect, Locust's
// 60 × 5 s), e.g. while the master's port refuses connections.
func (l *loop) checkUnregistered() (bool, error) {
	w := l.w
	now := w.now()
	if w.masterTimeout > 0 && !l.lastMasterHB.IsZero() && now.Sub(l.lastMasterHB) > w.masterTimeout {
		w.log.Error("no heartbeat from master, quitting", "silence", now.Sub(l.lastMasterHB).Round(time.Second))
		l.stopUsers(0)
		return true, ErrMasterTimeout
	}
	if limit := w.connectEvery * time.Duration(w.connectRetries); limit > 0 && !l.unackedSince.IsZero() && now.Sub(l.unackedSince) > limit {
		w.log.Error("no master acknowledged this worker, quitting", "master", w.endpoint, "waited", now.Sub(l.unackedSince).Round(time.Second))
		l.stopUsers(0)
		return true, ErrConnect
	}
	return false, nil
}

// reregister returns to ready and sends client_ready on a fresh
// connection: the master is gone, has forgotten this worker, or ignores
// its connection. Under a Locust master it takes a fresh node id (a new
// id cannot collide with the old connection's identity); a glocust master
// hands an identity over to its newest connection and remembers which
// reports it counted, so the id is kept and unacknowledged reports are
// sent again. Nothing recorded is dropped: the first report after the ack
// carries it.
func (l *loop) reregister() {
	w := l.w
	// Requests in flight finish and are recorded (a hard stop would leave
	// them unrecorded while the target served them).
	l.stopUsers(max(w.stopTimeout, finishGrace))
	if l.dv.dialect != dialectGlocust {
		w.renewNodeID()
		w.log.Info("registering again under a new node id", "node_id", w.NodeID())
	} else {
		w.log.Info("registering again", "node_id", w.NodeID())
	}
	l.registered = false
	w.registered.Store(false)
	l.wantReady = true
	l.readyTries = 0
	l.unackedSince = w.now()
	l.resetDone = false
	l.closeTransport()
	l.redialT.Reset(w.redialDelay)
}

func (l *loop) stopUsers(timeout time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout+5*time.Second)
	defer cancel()
	l.w.users.StopAll(ctx, timeout)
	l.w.setState(protocol.StateReady)
}

// shutdown stops users and, when registered, delivers the final stats
// and quit: on a live connection (made again if needed, within
// shutdownBudget), then waits for the master to confirm the reports, so
// that closing the connection loses nothing.
func (l *loop) shutdown(reason string) error {
	w := l.w
	w.log.Info("worker shutting down", "reason", reason)
	l.stopUsers(max(w.stopTimeout, finishGrace))
	if !l.registered {
		l.giveUp()
		return nil
	}
	deadline := time.Now().Add(w.finalWait)
	if !l.pump(deadline, l.canReport) {
		w.log.Warn("master not reachable to deliver the final stats", "master", w.endpoint)
		l.giveUp()
		return nil
	}
	l.drainOutbox()
	l.sendStats()
	if l.dv.dialect != dialectUnknown { // else nothing can confirm them
		l.pump(deadline, func() bool { return !l.dv.unconfirmed() && len(l.excs) == 0 && l.t != nil })
	}
	l.send(&protocol.Quit{})
	l.giveUp()
	return nil
}

// pump runs the connection (dials when the redial timer says, received
// frames, a heartbeat every interval) without the rest of the loop until
// done holds or deadline passes, and reports whether done held. Only
// master heartbeats are handled (they confirm and settle reports); other
// messages are ignored.
func (l *loop) pump(deadline time.Time, done func() bool) bool {
	limit := time.NewTimer(time.Until(deadline))
	defer limit.Stop()
	hb := time.NewTicker(l.w.heartbeatEvery)
	defer hb.Stop()
	for !done() {
		select {
		case d := <-l.dialCh:
			l.dialed(d)
		case <-l.redialT.C:
			l.startDial()
		case in := <-l.recvCh:
			f, ok := l.received(in)
			if !ok {
				continue
			}
			env, err := protocol.Decode(f.Payload, protocol.FromMaster)
			if err != nil {
				continue
			}
			if m, ok := env.Payload.(*protocol.MasterHeartbeat); ok {
				l.masterHeartbeat(m)
			}
		case <-hb.C:
			l.sendHeartbeat()
		case <-limit.C:
			return done()
		}
	}
	return true
}

// giveUp logs what the worker ends without delivering.
func (l *loop) giveUp() {
	l.logLost(l.dv.giveUp())
	l.dropUnsent()
}

// giveUpAfterQuit ends delivery after the master's quit: the reports sent
// on the live connection since its last confirmation went to a master
// that stops answering heartbeats once it quits (a Locust master counts
// what arrives in the 0.5 s after its quit), so they cannot be confirmed,
// and no connection failed under them: they are not logged as lost. Those
// of failed connections are, as in giveUp.
func (l *loop) giveUpAfterQuit() {
	if n := len(l.dv.sent); n > 0 {
		l.w.log.Debug("final stats sent to a quitting master, which does not confirm them", "reports", n)
	}
	l.dv.sent = nil
	l.giveUp() // reports of failed connections still undecided: possibly lost
}

// dropUnsent counts what was never handed to a connection.
func (l *loop) dropUnsent() {
	if n := l.carry.Requests(); !l.carry.Empty() {
		l.w.lostRequests += n
		l.w.log.Warn("stats never sent: no master to send them to", "requests", n)
	}
	if len(l.excs) > 0 {
		l.w.droppedExceptions += int64(len(l.excs))
	}
}

func (l *loop) drainOutbox() {
	for {
		select {
		case p := <-l.w.outbox:
			l.outgoing(p)
		default:
			return
		}
	}
}

// finishGrace lets requests in flight complete (and be counted) when the
// run ends, so the master's totals match what the target received. It fits
// within the 0.5 s a Locust master waits for final reports after quit.
const finishGrace = 300 * time.Millisecond

// sendLogs sends the recent log lines if any are new since the last call.
// It reports false, after a warning and a last send, when more than
// maxLogLinesPerInterval lines came in one interval (Locust's rule).
func (l *loop) sendLogs() bool {
	w := l.w
	lines, total := w.logSource()
	if !w.masterHandles(protocol.TypeLogs) { // an older master: none sent, none pending
		l.logsSent = total
		return true
	}
	fresh := total - l.logsSent
	l.logsSent = total
	if fresh > maxLogLinesPerInterval {
		w.log.Warn("The worker attempted to send more than 70 log lines in one interval. Further log sending was disabled for this worker.")
		lines, l.logsSent = w.logSource()
		l.send(&protocol.Logs{WorkerID: w.nodeID, Logs: lines})
		return false
	}
	if fresh > 0 {
		l.send(&protocol.Logs{WorkerID: w.nodeID, Logs: lines})
	}
	return true
}
