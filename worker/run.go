package worker

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"time"

	"github.com/glocust/glocust/protocol"
	"github.com/glocust/glocust/protocol/zmq"
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
	ctx     context.Context // cancelled when Run returns
	sendCtx context.Context // bounds sends; outlives ctx during shutdown
	wg      sync.WaitGroup  // dial and receive goroutines
	redialT *time.Timer

	t       zmq.Transport
	gen     int
	dialing bool
	dialCh  chan dialResult
	recvCh  chan inbound

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
}

// Run connects to the master and serves it until the master sends quit
// (nil), ctx is cancelled (final stats and quit are sent; nil), the master
// never answers client_ready (ErrConnect) or stops heartbeating
// (ErrMasterTimeout).
func (w *Worker) Run(parent context.Context) error {
	ctx, cancel := context.WithCancel(parent)
	l := &loop{w: w, ctx: ctx, sendCtx: ctx, dialCh: make(chan dialResult, 1), recvCh: make(chan inbound, 64),
		wantReady: true, connectT: stoppedTimer(), readyT: stoppedTimer(), redialT: stoppedTimer()}
	defer func() {
		w.registered.Store(false)
		cancel()
		l.closeTransport()
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
			l.dialing = false
			if d.err != nil {
				w.log.Warn("could not connect to master", "master", w.endpoint, "err", d.err)
				l.redialT.Reset(time.Second)
				continue
			}
			l.attach(d.t)
		case <-l.redialT.C:
			l.startDial()
		case in := <-l.recvCh:
			if in.gen != l.gen {
				continue
			}
			if in.err != nil {
				var bad *zmq.BadFrame
				if errors.As(in.err, &bad) {
					w.log.Warn("ignoring malformed message from master", "err", in.err)
					continue
				}
				w.log.Warn("connection to master failed", "err", in.err)
				l.resetConnection()
				continue
			}
			if done, err := l.handle(in.f); done {
				return err
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
			if l.registered {
				l.send(p)
			} else if _, isExc := p.(*protocol.Exception); isExc {
				w.droppedExceptions++
			}
		case <-l.stopDone:
			l.stopDone = nil
			l.stopping = false
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
	if l.dialing {
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

func (l *loop) attach(t zmq.Transport) {
	l.t = t
	l.gen++
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
	}
}

func (l *loop) closeTransport() {
	if l.t == nil {
		return
	}
	l.t.Close()
	l.t = nil
	l.gen++
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

func (l *loop) send(p protocol.Payload) bool {
	if l.t == nil || !l.w.masterHandles(p.MessageType()) {
		return false
	}
	b, err := protocol.Encode(l.w.NodeID(), p)
	if err != nil {
		l.w.log.Error("cannot encode message", "type", p.MessageType(), "err", err)
		return false
	}
	if err := l.t.Send(l.sendCtx, zmq.Frame{Payload: b}); err != nil {
		if l.sendCtx.Err() == nil {
			l.w.log.Warn("send to master failed", "type", p.MessageType(), "err", err)
			l.resetConnection()
		}
		return false
	}
	return true
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

func (l *loop) sendStats() bool {
	w := l.w
	r := w.stats.Report(w.now())
	return l.send(&protocol.Stats{
		Stats:            r.Entries,
		Total:            r.Total,
		Errors:           r.Errors,
		UserClassesCount: w.users.Counts(),
		UserCount:        w.users.UserCount(),
	})
}

// tick runs every heartbeat interval: heartbeat and master-silence checks.
func (l *loop) tick() (bool, error) {
	w := l.w
	if !l.registered {
		return l.checkUnregistered()
	}
	cpu := w.cpu.CPUPercent() / float64(runtime.GOMAXPROCS(0))
	l.send(&protocol.Heartbeat{State: w.State(), CurrentCPUUsage: cpu, CurrentMemoryUsage: rssBytes()})
	if l.lastMasterHB.IsZero() || l.stopping {
		return false, nil
	}
	silence := w.now().Sub(l.lastMasterHB)
	switch {
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

// reregister returns to ready and sends client_ready on a fresh connection
// under a fresh node id: the master is gone or has forgotten this worker,
// and a new id cannot collide with the old connection's identity.
func (l *loop) reregister() {
	w := l.w
	l.stopUsers(0)
	w.renewNodeID()
	w.log.Info("registering again under a new node id", "node_id", w.NodeID())
	w.stats.Reset(w.now())
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

// shutdown stops users and, when registered, sends final stats and quit.
func (l *loop) shutdown(reason string) error {
	w := l.w
	w.log.Info("worker shutting down", "reason", reason)
	l.stopUsers(max(w.stopTimeout, finishGrace))
	if l.registered && l.t != nil {
		// The caller's context is cancelled: send on a fresh one (each send
		// is bounded by the transport's send timeout).
		l.sendCtx = context.Background()
		l.drainOutbox()
		l.sendStats()
		l.send(&protocol.Quit{})
	}
	return nil
}

func (l *loop) drainOutbox() {
	for {
		select {
		case p := <-l.w.outbox:
			l.send(p)
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
