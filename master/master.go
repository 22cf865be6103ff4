package master

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/glocust/glocust/protocol"
	"github.com/glocust/glocust/protocol/zmq"
)

// ErrExpectWorkersTimeout is returned by WaitForWorkers when
// --expect-workers-max-wait ran out.
var ErrExpectWorkersTimeout = errors.New("master: gave up waiting for workers to connect")

// ErrStopTimeout is returned by Stop when the workers did not report 0
// users within stop_timeout + 60 s.
var ErrStopTimeout = errors.New("master: timeout waiting for all workers to stop")

// Master is a running Locust-compatible master over one Transport.
type Master struct {
	tr  zmq.Transport
	c   *core
	cfg Config

	cmds    chan func()
	outq    chan zmq.Frame
	direct  bool   // tr's Send never waits for a peer: the loop sends itself
	flushTr func() // tr holds sent frames until Flush (called when the loop has nothing to handle)
	encBuf  []byte // direct sends: the encoding buffer (Send copies)
	badq    chan *zmq.BadFrame
	done    chan struct{}
	started chan struct{}
	runOnce sync.Once
	after   sync.Mutex // serialises Do once the loop ended
	err     error
	waiters []readyWaiter // WaitForWorkers calls; loop goroutine only
}

// readyWaiter is a WaitForWorkers call: ch is closed once n workers are
// ready for a start.
type readyWaiter struct {
	n  int
	ch chan struct{}
}

// wakeWaiters closes the channels of the WaitForWorkers calls whose count
// is reached; it runs on the loop goroutine, once per message (a running
// count, no scan).
func (m *Master) wakeWaiters() {
	if len(m.waiters) == 0 {
		return
	}
	ready := m.c.readyForStart()
	kept := m.waiters[:0]
	for _, w := range m.waiters {
		if ready >= w.n {
			close(w.ch)
		} else {
			kept = append(kept, w)
		}
	}
	clear(m.waiters[len(kept):])
	m.waiters = kept
}

// New returns a master that will serve tr once Run is called.
func New(tr zmq.Transport, cfg Config) *Master {
	cfg = cfg.withDefaults()
	m := &Master{tr: tr, cfg: cfg, cmds: make(chan func()), outq: make(chan zmq.Frame, 4096),
		badq: make(chan *zmq.BadFrame, 256),
		done: make(chan struct{}), started: make(chan struct{})}
	if nb, ok := tr.(interface{ SendNeverBlocks() bool }); ok && nb.SendNeverBlocks() {
		m.direct = true
	}
	if fl, ok := tr.(interface{ Flush() }); ok && m.direct {
		m.flushTr = fl.Flush
	}
	m.c = newCore(cfg, m.enqueue)
	if rl, ok := tr.(interface{ ReleasePayload([]byte) }); ok {
		m.c.release = rl.ReleasePayload
	}
	return m
}

// enqueue encodes p for peer and queues it for the sender goroutine. It
// runs on the loop goroutine; a full queue blocks the loop (back-pressure)
// rather than dropping a spawn or quit. With a transport whose Send never
// waits (the native ROUTER), it sends directly.
func (m *Master) enqueue(peer string, p protocol.Payload) {
	if m.direct {
		// The transport queues a copy and never waits: no hop through
		// the sender goroutine, no allocation per frame.
		select {
		case <-m.done:
			return // as the queue does once Run ended
		default:
		}
		b, err := protocol.AppendEncode(m.encBuf[:0], peer, p)
		if err != nil {
			m.cfg.Logger.Error("cannot encode message", "type", p.MessageType(), "err", err)
			return
		}
		if cap(b) <= 64<<10 {
			m.encBuf = b
		}
		if err := m.tr.Send(context.Background(), zmq.Frame{Peer: peer, Payload: b}); err != nil {
			m.cfg.Logger.Debug("send failed", "worker", peer, "err", err)
		}
		return
	}
	b, err := protocol.Encode(peer, p)
	if err != nil {
		m.cfg.Logger.Error("cannot encode message", "type", p.MessageType(), "err", err)
		return
	}
	select {
	case m.outq <- zmq.Frame{Peer: peer, Payload: b}:
	case <-m.done:
	}
}

// Run serves the transport until Quit completes or ctx ends. It returns
// nil after a quit.
func (m *Master) Run(ctx context.Context) error {
	err := errors.New("master: Run called twice")
	m.runOnce.Do(func() { err = m.run(ctx) })
	return err
}

func (m *Master) run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	inbox := make(chan zmq.Frame, 1024)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); m.readLoop(ctx, inbox) }()
	go func() { defer wg.Done(); m.sendLoop(ctx) }()
	defer func() {
		m.after.Lock()
		close(m.done)
		m.after.Unlock()
		cancel()
		wg.Wait()
	}()
	close(m.started)

	hb := time.NewTicker(m.cfg.HeartbeatInterval)
	defer hb.Stop()
	wake := time.NewTimer(time.Hour)
	defer wake.Stop()
	for {
		now := m.cfg.Now()
		m.c.step(now)
		m.c.checkQuit(now)
		m.wakeWaiters()
		if m.c.finished {
			m.flush(ctx)
			return nil
		}
		if t := m.c.nextWake(); !t.IsZero() {
			wake.Reset(max(t.Sub(now), 0))
		} else {
			wake.Reset(time.Hour)
		}
		if m.flushTr != nil && len(inbox) == 0 {
			m.flushTr() // the replies to everything received so far, in one burst
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case f := <-inbox:
			m.c.handleFrame(f, m.cfg.Now())
		case bf := <-m.badq:
			m.c.badFrame(bf)
		case fn := <-m.cmds:
			fn()
		case <-hb.C:
			now := m.cfg.Now()
			m.c.tick(now)
			m.c.judge(now)
			switch m.c.state {
			case StateSpawning, StateRunning, StateStopping:
				m.c.history.Add(now, m.c.agg, m.c.reg.userCount())
			}
		case <-wake.C:
		}
	}
}

// flush gives the sender a moment to write queued frames (the quits).
func (m *Master) flush(ctx context.Context) {
	if m.flushTr != nil {
		m.flushTr()
	}
	deadline := time.Now().Add(500 * time.Millisecond)
	for len(m.outq) > 0 && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(5 * time.Millisecond)
	}
}

func (m *Master) readLoop(ctx context.Context, inbox chan<- zmq.Frame) {
	for {
		f, err := m.tr.Recv(ctx)
		if err != nil {
			var bf *zmq.BadFrame
			if errors.As(err, &bf) {
				select {
				case m.badq <- bf:
				default: // flooded: the loop already knows
				}
				continue
			}
			if ctx.Err() == nil && !errors.Is(err, zmq.ErrClosed) {
				m.cfg.Logger.Error("master: receive failed", "err", err)
			}
			return
		}
		select {
		case inbox <- f:
		case <-ctx.Done():
			return
		}
	}
}

func (m *Master) sendLoop(ctx context.Context) {
	for {
		select {
		case f := <-m.outq:
			if err := m.tr.Send(ctx, f); err != nil && ctx.Err() == nil {
				m.cfg.Logger.Debug("send failed", "worker", f.Peer, "err", err)
			}
		case <-ctx.Done():
			return
		}
	}
}

// Do runs fn on the loop goroutine with exclusive access to the state, and
// returns when fn returned. After Run ended it runs fn inline.
func (m *Master) Do(fn func(v *View)) {
	v := &View{c: m.c}
	ran := make(chan struct{})
	select {
	case <-m.started:
	case <-m.done:
	}
	select {
	case m.cmds <- func() { defer close(ran); fn(v) }:
		<-ran
	case <-m.done:
		m.after.Lock()
		defer m.after.Unlock()
		fn(v)
	}
}

// Start starts or changes a test: users at rate users/s (Locust's start,
// non-blocking). A test the master took over from a previous master's
// workers is changed: the ramp starts from the users they run. With no
// worker connected it logs a warning and does nothing, as Locust does.
func (m *Master) Start(users int, rate float64) error {
	var err error
	m.Do(func(v *View) { err = v.c.swarm(users, rate) })
	return err
}

// Stop stops the test and waits until the workers report 0 users, for at
// most stop_timeout + 60 s or until ctx ends (Locust's blocking stop).
func (m *Master) Stop(ctx context.Context) error {
	m.Do(func(v *View) { v.c.stop(v.c.cfg.Now(), true) })
	limit := time.NewTimer(m.cfg.StopTimeout + 60*time.Second)
	defer limit.Stop()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		var users int64
		m.Do(func(v *View) { users = v.c.reg.userCount() })
		if users == 0 {
			return nil
		}
		select {
		case <-tick.C:
		case <-limit.C:
			m.cfg.Logger.Error("Timeout waiting for all workers to stop")
			return ErrStopTimeout
		case <-ctx.Done():
			return ctx.Err()
		case <-m.done:
			return nil
		}
	}
}

// Quit sends quit to every worker, waits for their final stats (at most
// QuitWait) and ends Run. It returns when Run has returned.
func (m *Master) Quit() {
	select {
	case <-m.started:
	case <-m.done:
		return
	}
	m.Do(func(v *View) { v.c.quit(v.c.cfg.Now()) })
	<-m.done
}

// Done is closed when Run has returned.
func (m *Master) Done() <-chan struct{} { return m.done }

// ResetStats resets the stats and the exceptions (Locust's /stats/reset).
func (m *Master) ResetStats() {
	m.Do(func(v *View) {
		v.c.agg.Reset(v.c.cfg.Now())
		v.c.exceptions.Reset()
		v.c.anyException = false
	})
}

// SetHost changes the host sent in spawn messages (Locust's /swarm host).
func (m *Master) SetHost(host string) { m.Do(func(v *View) { v.c.host = host }) }

// WaitForWorkers waits until n workers are ready (Locust counts only
// ready ones; glocust also counts workers it took back). maxWait 0 waits
// forever. It logs progress like Locust.
func (m *Master) WaitForWorkers(ctx context.Context, n int, maxWait time.Duration) error {
	start := time.Now()
	reached := make(chan struct{})
	ready := m.readyWait(n, reached)
	// The loop closes reached when the count is met: nothing polls in
	// between (an idle master waiting for workers stays idle). Progress is
	// logged once a second, as Locust does.
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var limit <-chan time.Time
	if maxWait > 0 {
		t := time.NewTimer(maxWait)
		defer t.Stop()
		limit = t.C
	}
	for {
		msg := fmt.Sprintf("Waiting for workers to be ready, %d of %d connected", ready, n)
		if time.Since(start) > 5*time.Second {
			m.cfg.Logger.Info(msg)
		} else {
			m.cfg.Logger.Debug(msg)
		}
		select {
		case <-reached:
			return nil
		case <-limit:
			if isClosed(reached) { // both ready at once
				return nil
			}
			m.cfg.Logger.Error("Gave up waiting for workers to connect")
			return ErrExpectWorkersTimeout
		case <-ctx.Done():
			return ctx.Err()
		case <-m.done:
			if isClosed(reached) {
				return nil
			}
			return ErrExpectWorkersTimeout
		case <-tick.C:
			m.Do(func(v *View) { ready = v.c.readyForStart() })
		}
	}
}

func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// readyWait registers reached to be closed once n workers are ready (at
// once if they are) and returns the current count.
func (m *Master) readyWait(n int, reached chan struct{}) (ready int) {
	m.Do(func(v *View) {
		ready = v.c.readyForStart()
		if ready >= n {
			close(reached)
			return
		}
		if !isClosed(m.done) { // else Do ran inline: no loop would close it
			m.waiters = append(m.waiters, readyWaiter{n: n, ch: reached})
		}
	})
	return ready
}

func (c *core) readyForStart() int {
	// Ready workers plus taken-back ones that are not missing, kept as a
	// running count by the registry (TestRegistryTallyProperty checks it).
	return c.reg.startable()
}
