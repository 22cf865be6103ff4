package master

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/glocust/glocust/protocol"
	"github.com/glocust/glocust/protocol/zmq"
)

// poison overwrites every released payload and every sent buffer once the
// fake copied it: 0xc1 is the one byte MessagePack never uses, so a
// decode of released memory fails, and a string still pointing into it
// reads as garbage.
const poison = 0xc1

// lendOffsets is how many different offsets a reused buffer is lent at in
// turn, so that a stale reference to an earlier lending of the same buffer
// is not mistaken for the current one.
const lendOffsets = 64

// lender hands received payloads to the master the way the native ROUTER
// does: each one is a copy in a buffer the transport owns, lent until the
// master gives it back (ReleasePayload). A released buffer is poisoned,
// then reused for a later payload. It reports a release of anything it
// did not lend or already took back (a double release, or a slice of
// another buffer such as the master's own encode buffer), and a released
// buffer written to before its reuse.
type lender struct {
	mu       sync.Mutex
	lent     map[*byte]*lentBuf // by the first byte of the lent slice
	free     []*lentBuf         // released, poisoned, for reuse
	released int
	reused   int
	errs     []error
}

type lentBuf struct {
	buf  []byte // the whole buffer
	s    []byte // the lent slice: buf[off : off+len : off+len] (cap at least 1)
	next int    // the offset of the next lending
}

// lend returns a copy of p in a lent buffer.
func (l *lender) lend(p []byte) []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	var b *lentBuf
	for i, f := range l.free {
		if len(f.buf) >= len(p)+lendOffsets {
			b = f
			l.free = slices.Delete(l.free, i, i+1)
			if k := slices.IndexFunc(b.buf, func(c byte) bool { return c != poison }); k >= 0 {
				l.failf("a released payload was written to (at byte %d) before its reuse", k)
			}
			l.reused++
			break
		}
	}
	if b == nil {
		b = &lentBuf{buf: make([]byte, max(len(p)+lendOffsets, 256))}
	}
	off := b.next % lendOffsets
	b.next++
	// cap == len (at least 1, so the slice has a first byte to key it by):
	// an append by the master reallocates instead of writing into the buffer.
	b.s = b.buf[off : off+len(p) : off+max(len(p), 1)]
	copy(b.s, p)
	if l.lent == nil {
		l.lent = map[*byte]*lentBuf{}
	}
	l.lent[&b.s[:1][0]] = b
	return b.s
}

// release takes a lent payload back, poisons its buffer and keeps it for
// reuse.
func (l *lender) release(p []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if cap(p) == 0 {
		l.failf("released an empty slice")
		return
	}
	b := l.lent[&p[:1][0]]
	switch {
	case b == nil:
		l.failf("released %d bytes that are not a lent payload (released twice, or not returned by Recv)", len(p))
		return
	case len(p) != len(b.s) || cap(p) != cap(b.s):
		l.failf("released a %d/%d-byte slice of a lent %d/%d-byte payload", len(p), cap(p), len(b.s), cap(b.s))
		return
	}
	delete(l.lent, &p[:1][0])
	for i := range b.buf {
		b.buf[i] = poison
	}
	l.free = append(l.free, b)
	l.released++
}

// failf records a violation; l.mu is held.
func (l *lender) failf(format string, args ...any) {
	if len(l.errs) < 10 {
		l.errs = append(l.errs, fmt.Errorf(format, args...))
	}
}

// counts returns how many payloads were released and how many buffers
// reused.
func (l *lender) counts() (released, reused int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.released, l.reused
}

func (l *lender) err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return errors.Join(l.errs...)
}

// strictRouter is the master's side of an in-memory ROUTER with the
// native ROUTER's capabilities, so that New takes the production path:
// sends never block (the loop encodes into its reused buffer and sends
// itself), Flush, and ReleasePayload. It is stricter than the native one:
//
//   - Send copies the frame and then poisons the caller's buffer, as the
//     master's next encode would overwrite it: a reference the master kept
//     into a sent buffer reads garbage.
//   - Sent frames reach the workers only at Flush (the native ROUTER also
//     writes them at its next poller round): a reply the master does not
//     flush never arrives, and a frame still unflushed when Run returned
//     is reported by verify.
//   - Received payloads are lent (lender): released ones are poisoned and
//     reused, and a double or foreign release is reported by verify.
type strictRouter struct {
	in *zmq.InprocRouter // the workers' side: Dial, and frames to and from them
	lender

	recvs atomic.Int64 // Recv calls begun

	mu      sync.Mutex
	closed  bool
	pending []zmq.Frame // sent, waiting for Flush
	sends   int
	flushes int
	bufs    map[*byte]bool // the distinct buffers Send was given
	errs    []error
}

// The capabilities New looks for: the native ROUTER has them, and so does
// the fake that stands in for it.
type directTransport interface {
	zmq.Transport
	SendNeverBlocks() bool
	Flush()
	ReleasePayload([]byte)
}

var (
	_ directTransport = (*zmq.Router)(nil)
	_ directTransport = (*strictRouter)(nil)
)

func newStrictRouter() *strictRouter {
	return &strictRouter{in: zmq.NewInprocRouter(), bufs: map[*byte]bool{}}
}

func (s *strictRouter) SendNeverBlocks() bool { return true }

func (s *strictRouter) Send(ctx context.Context, f zmq.Frame) error {
	cp := zmq.Frame{Peer: f.Peer, Payload: slices.Clone(f.Payload)}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return zmq.ErrClosed
	}
	s.pending = append(s.pending, cp)
	s.sends++
	if cap(f.Payload) > 0 {
		s.bufs[&f.Payload[:1][0]] = true
	}
	for i := range f.Payload {
		f.Payload[i] = poison
	}
	return nil
}

// Flush delivers the frames sent since the last Flush, in order.
func (s *strictRouter) Flush() {
	s.mu.Lock()
	out := s.pending
	s.pending = nil
	s.flushes++
	s.mu.Unlock()
	for _, f := range out {
		// A worker's queue holds 1,024 frames: a test worker that reads
		// none for 5 s is reported rather than blocking the master.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := s.in.Send(ctx, f)
		cancel()
		if err != nil {
			s.mu.Lock()
			s.errs = append(s.errs, fmt.Errorf("flushing a frame to %q: %w", f.Peer, err))
			s.mu.Unlock()
		}
	}
}

func (s *strictRouter) Recv(ctx context.Context) (zmq.Frame, error) {
	s.recvs.Add(1)
	f, err := s.in.Recv(ctx)
	if err != nil {
		return f, err
	}
	f.Payload = s.lend(f.Payload)
	return f, nil
}

func (s *strictRouter) ReleasePayload(p []byte) { s.release(p) }

func (s *strictRouter) Dial(ctx context.Context, identity string) (zmq.Transport, error) {
	return s.in.Dial(ctx, identity)
}

func (s *strictRouter) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	return s.in.Close()
}

// stats returns how many frames were sent, how many Flush calls there
// were, and how many distinct buffers the sends came in.
func (s *strictRouter) stats() (sends, flushes, bufs int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sends, s.flushes, len(s.bufs)
}

// verify reports the violations seen; the master's Run must have
// returned (a frame still waiting for Flush is one).
func (s *strictRouter) verify() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	errs := append([]error{s.lender.err()}, s.errs...)
	for _, f := range s.pending {
		typ := "undecodable"
		if env, err := protocol.Decode(f.Payload, protocol.FromMaster); err == nil {
			typ = env.Type()
		}
		errs = append(errs, fmt.Errorf("a %s frame to %q was never flushed", typ, f.Peer))
	}
	return errors.Join(errs...)
}

// liveRouter is the master's transport in a live test, with a Dial for
// the test's workers.
type liveRouter interface {
	zmq.Transport
	Dial(ctx context.Context, identity string) (zmq.Transport, error)
}

// transportKind makes one of the transports the live tests run over.
type transportKind struct {
	name string
	new  func() liveRouter
}

// transportKinds are the in-memory router (the master queues encoded
// frames for its sender goroutine) and the strict stand-in for the native
// ROUTER (the loop encodes into its reused buffer, sends, flushes and
// releases payloads).
var (
	inprocKind     = transportKind{"inproc", func() liveRouter { return zmq.NewInprocRouter() }}
	directKind     = transportKind{"direct", func() liveRouter { return newStrictRouter() }}
	transportKinds = []transportKind{inprocKind, directKind}
)

// eachTransport runs test once per transport kind, as subtests.
func eachTransport(t *testing.T, test func(t *testing.T, tk transportKind)) {
	t.Helper()
	for _, tk := range transportKinds {
		t.Run(tk.name, func(t *testing.T) { test(t, tk) })
	}
}

// TestDirectPath runs the master over the strict router and checks what
// the live tests do not look at: that New took the production path, that
// the state built from payloads it released (poisoned, then reused for
// later frames) is intact, that the loop reuses its encode buffer, and
// that the quits leave at the final Flush.
func TestDirectPath(t *testing.T) {
	t.Parallel()
	lm := startLiveWith(t, directKind, Config{Classes: []UserClass{{Name: "Alpha", Weight: 1}, {Name: "Beta", Weight: 1}},
		QuitWait: 5 * time.Second}, WebConfig{Headless: true})
	sr := lm.r.(*strictRouter)
	if !lm.m.direct || lm.m.flushTr == nil || lm.m.c.release == nil {
		t.Fatalf("New did not take the direct path over the strict router (direct %v, flush %v, release %v)",
			lm.m.direct, lm.m.flushTr != nil, lm.m.c.release != nil)
	}
	ws := []*fakeWorker{lm.worker(t, "node-one"), lm.worker(t, "node-two")}
	for i, w := range ws {
		w.send(&protocol.ClientReady{Version: LocustVersion})
		if ack := w.expect(protocol.TypeAck).(*protocol.Ack); ack.Index != int64(i) {
			t.Fatalf("%s: ack index %d, want %d", w.id, ack.Index, i)
		}
	}
	if err := lm.m.Start(4, 100); err != nil {
		t.Fatal(err)
	}
	classes := map[string][]protocol.ClassCount{}
	for _, w := range ws {
		sp := w.expect(protocol.TypeSpawn).(*protocol.Spawn)
		classes[w.id] = sp.UserClassesCount
		w.send(&protocol.SpawningComplete{UserClassesCount: sp.UserClassesCount, UserCount: totalUsers(sp.UserClassesCount)})
	}
	// Rounds of a report and a heartbeat per worker: each payload is
	// released once handled, and its buffer poisoned and lent again for a
	// later frame. The heartbeat's reply says both were handled.
	const rounds = 20
	for k := range rounds {
		for i, w := range ws {
			w.send(&protocol.Stats{UserClassesCount: classes[w.id], UserCount: totalUsers(classes[w.id]),
				Stats: []protocol.StatsEntry{{Name: "/page/" + w.id, Method: "GET", NumRequests: 3}},
				Total: protocol.StatsEntry{Name: "Aggregated", NumRequests: 3},
				Errors: []protocol.StatsError{{Key: "e-" + w.id, Name: "/page/" + w.id, Method: "GET",
					Error: "boom from " + w.id, Occurrences: 1}}})
			w.send(&protocol.Heartbeat{State: protocol.StateRunning, CurrentCPUUsage: float64(10*i + k), CurrentMemoryUsage: int64(1000*i + k)})
			w.expect(protocol.TypeHeartbeat)
		}
	}
	var problems []string
	lm.m.Do(func(v *View) {
		for i, wi := range v.Workers() {
			if want := ws[i].id; wi.ID != want || wi.State != protocol.StateRunning ||
				wi.CPUUsage != float64(10*i+rounds-1) || wi.Memory != int64(1000*i+rounds-1) || wi.UserCount != 2 {
				problems = append(problems, fmt.Sprintf("worker %d: %+v, want %s running with 2 users and the last heartbeat's figures", i, wi, want))
			}
		}
		if got := v.ClassCounts(); len(got) != 2 || got["Alpha"] != 2 || got["Beta"] != 2 {
			problems = append(problems, fmt.Sprintf("class counts %v, want Alpha and Beta 2 each", got))
		}
		for _, w := range ws {
			if e := v.Stats().Entry("GET", "/page/"+w.id); e == nil || e.NumRequests != 3*rounds {
				problems = append(problems, fmt.Sprintf("stats entry GET /page/%s: %+v, want %d requests", w.id, e, 3*rounds))
			}
		}
		if n := len(v.Stats().Entries()); n != len(ws) {
			problems = append(problems, fmt.Sprintf("%d stats entries, want %d", n, len(ws)))
		}
		if n := len(v.Stats().Errors()); n != len(ws) {
			problems = append(problems, fmt.Sprintf("%d errors, want %d", n, len(ws)))
		}
		for _, e := range v.Stats().Errors() {
			if e.Error != "boom from "+strings.TrimPrefix(e.Name, "/page/") || e.Occurrences != rounds {
				problems = append(problems, fmt.Sprintf("error %+v", e))
			}
		}
		if c := v.Counters(); c.BadFrames != 0 || c.RogueFrames != 0 || c.HeartbeatsReplied != int64(rounds*len(ws)) {
			problems = append(problems, fmt.Sprintf("counters %+v", c))
		}
	})
	for _, p := range problems {
		t.Error(p)
	}
	if released, reused := sr.counts(); released < 2*rounds*len(ws) || reused == 0 {
		t.Errorf("%d payloads released and %d buffers reused; want every report and heartbeat released, and reuse", released, reused)
	}
	sends, flushes, bufs := sr.stats()
	t.Logf("%d frames sent from %d buffers with %d flushes", sends, bufs, flushes)
	if bufs*4 > sends {
		t.Errorf("%d frames sent from %d buffers: the encode buffer is not reused", sends, bufs)
	}

	// Quit: every worker gets its quit (only a Flush delivers it) and
	// answers; Run returns, and verify (at cleanup) finds nothing unflushed.
	quit := make(chan struct{})
	go func() { defer close(quit); lm.m.Quit() }()
	for _, w := range ws {
		w.expect(protocol.TypeQuit)
		w.send(&protocol.Quit{})
	}
	select {
	case <-quit:
	case <-time.After(10 * time.Second):
		t.Fatal("Quit did not return after every worker quit")
	}
}

// A frame sent while the master handles its last message leaves at the
// final Flush, before Run returns: here the quit to a worker whose own
// quit is already in the master's inbox, so the loop has no empty inbox
// to flush at in between.
func TestDirectPathFlushesBeforeRunReturns(t *testing.T) {
	t.Parallel()
	lm := startLiveWith(t, directKind, Config{Classes: []UserClass{{Name: "A", Weight: 1}}, QuitWait: 5 * time.Second},
		WebConfig{Headless: true})
	sr := lm.r.(*strictRouter)
	w := lm.worker(t, "w1")
	w.send(&protocol.ClientReady{Version: LocustVersion})
	w.expect(protocol.TypeAck)
	var err error
	lm.m.Do(func(v *View) {
		v.c.quit(v.c.cfg.Now())
		// The worker quits on its own meanwhile: its quit is received
		// (the read loop is back in Recv) before the loop handles it.
		n := sr.recvs.Load()
		b, _ := protocol.Encode(w.id, &protocol.Quit{})
		if err = w.tr.Send(context.Background(), zmq.Frame{Payload: b}); err != nil {
			return
		}
		err = waitUntil(5*time.Second, func() bool { return sr.recvs.Load() > n })
	})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-lm.m.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return once the only worker quit")
	}
	w.expect(protocol.TypeQuit) // only a Flush delivers it
}

// waitUntil polls cond until it holds or d passed.
func waitUntil(d time.Duration, cond func() bool) error {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("condition not met in %v", d)
		}
		time.Sleep(time.Millisecond)
	}
	return nil
}
