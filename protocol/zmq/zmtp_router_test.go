package zmq

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"

	"github.com/glocust/glocust/internal/testenv"
	"github.com/glocust/glocust/internal/zmtptest"
	"go.uber.org/goleak"
)

// echo answers every frame the router receives with "re:" + payload, and
// records the identities it saw.
type echo struct {
	mu    sync.Mutex
	peers map[string]int
	bad   []*BadFrame
}

func startEcho(t *testing.T, r *Router) *echo {
	t.Helper()
	e := &echo{peers: map[string]int{}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); <-done })
	go func() {
		defer close(done)
		for {
			f, err := r.Recv(ctx)
			if err != nil {
				var bf *BadFrame
				if errors.As(err, &bf) {
					e.mu.Lock()
					e.bad = append(e.bad, bf)
					e.mu.Unlock()
					continue
				}
				return
			}
			e.mu.Lock()
			e.peers[f.Peer]++
			e.mu.Unlock()
			_ = r.Send(ctx, Frame{Peer: f.Peer, Payload: append([]byte("re:"), f.Payload...)})
		}
	}()
	return e
}

func (e *echo) snapshot() (map[string]int, []*BadFrame) {
	e.mu.Lock()
	defer e.mu.Unlock()
	m := make(map[string]int, len(e.peers))
	for k, v := range e.peers {
		m[k] = v
	}
	return m, append([]*BadFrame(nil), e.bad...)
}

const pyDealer = `
import sys, zmq
ep, mode = sys.argv[1], sys.argv[2]
ctx = zmq.Context()
def dealer(ident):
    s = ctx.socket(zmq.DEALER)
    if ident:
        s.setsockopt(zmq.IDENTITY, ident.encode())
    s.setsockopt(zmq.RCVTIMEO, 20000)
    s.setsockopt(zmq.SNDTIMEO, 20000)
    s.setsockopt(zmq.RECONNECT_IVL, -1)
    s.setsockopt(zmq.LINGER, 5000)
    s.connect(ep)
    return s
def exchange(s, tag, n, size):
    msgs = [(b"%s-%d:" % (tag, i)) + bytes([i % 251]) * size for i in range(n)]
    for m in msgs:
        s.send(m)
    for m in msgs:
        got = s.recv()
        assert got == b"re:" + m, (len(got), got[:40], m[:40])
if mode == "echo":
    ident, n, size = sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
    s = dealer(ident)
    exchange(s, b"small", n, 16)
    exchange(s, b"big", 2, size)
elif mode == "reconnect":
    a = dealer("same-py")
    exchange(a, b"a", 5, 10)
    # A second socket with the same identity takes it over while a is open.
    b = dealer("same-py")
    exchange(b, b"b", 5, 10)
    a.close(0)
    b.close()
    # And after a clean close, a new one is served at once.
    c = dealer("same-py")
    exchange(c, b"c", 5, 10)
print("ok")
`

// pyDealerScript writes the pyzmq dealer script and returns the Python
// (with pyzmq, from the pinned Locust's virtualenv) and the script's path;
// it runs on the test goroutine.
func pyDealerScript(t *testing.T) (python, script string) {
	t.Helper()
	script = filepath.Join(t.TempDir(), "dealer.py")
	if err := os.WriteFile(script, []byte(pyDealer), 0o644); err != nil {
		t.Fatal(err)
	}
	return testenv.Python(t), script
}

// runPy runs the dealer script with args; safe on any goroutine.
func runPy(python, script string, args ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, python, append([]string{script}, args...)...).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "ok") {
		return fmt.Errorf("python dealer %v: %v\n%s", args, err, out)
	}
	return nil
}

func TestZMTPRouterPyzmqDealers(t *testing.T) {
	t.Parallel()
	r := listen(t)
	e := startEcho(t, r)
	ep := "tcp://" + r.Addr()
	py, script := pyDealerScript(t)
	ids := []string{"py-a", "py-b", ""}
	errs := make([]error, len(ids))
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = runPy(py, script, ep, "echo", id, "300", fmt.Sprint(1<<20))
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	peers, bad := e.snapshot()
	if peers["py-a"] != 302 || peers["py-b"] != 302 || len(bad) != 0 {
		t.Fatalf("peers %v, bad frames %v", peers, bad)
	}
	var generated int
	for p, n := range peers {
		if len(p) == 5 && p[0] == 0 && n == 302 {
			generated++
		}
	}
	if generated != 1 {
		t.Fatalf("want one generated identity (0x00 + uint32) for the anonymous dealer: %v", peers)
	}
}

func TestZMTPRouterPyzmqReconnectSameIdentity(t *testing.T) {
	t.Parallel()
	r := listen(t)
	startEcho(t, r)
	py, script := pyDealerScript(t)
	if err := runPy(py, script, "tcp://"+r.Addr(), "reconnect"); err != nil {
		t.Fatal(err)
	}
}

func TestZMTPRouterGoDealers(t *testing.T) {
	t.Parallel()
	r := listen(t)
	e := startEcho(t, r)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for k := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := fmt.Sprintf("go-%d", k)
			d, err := DialDealer(ctx, "tcp://"+r.Addr(), id)
			if err != nil {
				t.Error(err)
				return
			}
			defer d.Close()
			var want [][]byte
			for i := range 500 {
				want = append(want, fmt.Appendf(nil, "%s-%d", id, i))
			}
			big := bytes.Repeat([]byte{byte(k)}, 1<<20)
			want = append(want, big, big)
			for _, p := range want {
				if err := d.Send(ctx, Frame{Payload: p}); err != nil {
					t.Error(err)
					return
				}
			}
			for i, p := range want {
				f, err := d.Recv(ctx)
				if err != nil || !bytes.Equal(f.Payload, append([]byte("re:"), p...)) {
					t.Errorf("%s: reply %d: %v (%d bytes)", id, i, err, len(f.Payload))
					return
				}
			}
		}()
	}
	wg.Wait()
	peers, bad := e.snapshot()
	for k := range 4 {
		if n := peers[fmt.Sprintf("go-%d", k)]; n != 502 {
			t.Errorf("go-%d: %d messages", k, n)
		}
	}
	if len(bad) != 0 {
		t.Fatal(bad)
	}
}

func TestZMTPRouterGoDealerReconnectSameIdentity(t *testing.T) {
	t.Parallel()
	r := listen(t)
	startEcho(t, r)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	roundTrip := func(d Transport, p string) {
		t.Helper()
		if err := d.Send(ctx, Frame{Payload: []byte(p)}); err != nil {
			t.Fatal(err)
		}
		rctx, rcancel := context.WithTimeout(ctx, 5*time.Second)
		defer rcancel()
		f, err := d.Recv(rctx)
		if err != nil || string(f.Payload) != "re:"+p {
			t.Fatalf("%s: %v %q", p, err, f.Payload)
		}
	}
	d1, err := DialDealer(ctx, "tcp://"+r.Addr(), "same")
	if err != nil {
		t.Fatal(err)
	}
	roundTrip(d1, "one")
	// Handover: a second connection with the identity wins at once.
	d2, err := DialDealer(ctx, "tcp://"+r.Addr(), "same")
	if err != nil {
		t.Fatal(err)
	}
	roundTrip(d2, "two")
	d1.Close()
	d2.Close()
	d3, err := DialDealer(ctx, "tcp://"+r.Addr(), "same")
	if err != nil {
		t.Fatal(err)
	}
	defer d3.Close()
	roundTrip(d3, "three")
}

// rawDial is rawZMTP without testing.T, for use from many goroutines. It
// also returns a reader over the connection: the handshake leaves nothing
// in the client's buffer, since the router sends nothing after its READY
// until a test sends to the peer.
func rawDial(addr, identity string) (net.Conn, *bufio.Reader, error) {
	p, err := zmtptest.Dial(addr, identity, 30*time.Second)
	if err != nil {
		return nil, nil, err
	}
	return p.Conn(), bufio.NewReader(p.Conn()), nil
}

func TestZMTPRouterThousandPeers(t *testing.T) {
	t.Parallel()
	r := listen(t)
	e := startEcho(t, r)
	const n = 1000
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := fmt.Sprintf("node-%04d", i)
			c, br, err := rawDial(r.Addr(), id)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(60 * time.Second))
			for k := range 3 {
				p := fmt.Sprintf("%s/%d", id, k)
				if _, err := c.Write(append(appendZMTPHeader(nil, 0, len(p)), p...)); err != nil {
					errs <- err
					return
				}
				m, err := (&zmtpReader{br: br}).next()
				if err != nil || string(m.body) != "re:"+p {
					errs <- fmt.Errorf("%s: %v %q", p, err, m.body)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	peers, _ := e.snapshot()
	if len(peers) != n {
		t.Fatalf("%d peers", len(peers))
	}
}

// A multi-frame message is a BadFrame for its peer; the connection stays.
func TestZMTPRouterMultiFrameIsBadFrame(t *testing.T) {
	t.Parallel()
	r := listen(t)
	c := rawZMTP(t, r.Addr(), "multi")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := c.Write([]byte{flagMore, 1, 'a', 0, 1, 'b', 0, 2, 'o', 'k'}); err != nil {
		t.Fatal(err)
	}
	_, err := r.Recv(ctx)
	var bf *BadFrame
	if !errors.As(err, &bf) || bf.Peer != "multi" || !strings.Contains(bf.Reason, "2 frames") {
		t.Fatalf("Recv = %v", err)
	}
	f, err := r.Recv(ctx)
	if err != nil || f.Peer != "multi" || string(f.Payload) != "ok" {
		t.Fatalf("Recv = %q %v", f.Payload, err)
	}
}

// A message larger than what the poller reads from one connection in a
// round (16 × 64 KiB) arrives whole, and a small one from another peer
// arrives meanwhile; so does a message sent in the same write as the
// handshake's READY (bytes the handshake had already buffered).
func TestZMTPRouterLargeMessageAndLeftover(t *testing.T) {
	t.Parallel()
	r := listen(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := net.DialTimeout("tcp", r.Addr(), 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// Greeting, READY and a first message in one write (encoded by the
	// independent client, not by the router's own code).
	hello := append(zmtptest.Greeting(), zmtptest.Ready("big")...)
	if _, err := c.Write(zmtptest.AppendFrame(hello, []byte("early"), false, false)); err != nil {
		t.Fatal(err)
	}
	if f, err := r.Recv(ctx); err != nil || f.Peer != "big" || string(f.Payload) != "early" {
		t.Fatalf("first frame: %q from %q, %v", f.Payload, f.Peer, err)
	}
	big := make([]byte, 3<<20)
	for i := range big {
		big[i] = byte(i * 7)
	}
	go func() { _, _ = c.Write(append(appendZMTPHeader(nil, 0, len(big)), big...)) }()
	small := rawZMTP(t, r.Addr(), "small")
	if _, err := small.Write(append(appendZMTPHeader(nil, 0, 2), "hi"...)); err != nil {
		t.Fatal(err)
	}
	got := map[string][]byte{}
	for len(got) < 2 {
		f, err := r.Recv(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got[f.Peer] = f.Payload
	}
	if !bytes.Equal(got["big"], big) || string(got["small"]) != "hi" {
		t.Fatalf("got %d bytes from big (want %d, equal %v), %q from small", len(got["big"]), len(big), bytes.Equal(got["big"], big), got["small"])
	}
}

// A message far larger than the socket buffers reaches a peer that reads
// slowly: what the socket does not take waits for room (EPOLLOUT on the
// poller path), and a message sent meanwhile follows it in order.
func TestZMTPRouterLargeSendToSlowReader(t *testing.T) {
	t.Parallel()
	r := listen(t, WithWriteTimeout(10*time.Second))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, br := dialAnnounced(ctx, t, r, "slow")
	big := make([]byte, 8<<20)
	for i := range big {
		big[i] = byte(i * 13)
	}
	if err := r.Send(ctx, Frame{Peer: "slow", Payload: big}); err != nil {
		t.Fatal(err)
	}
	r.Flush()
	if err := waitStalled(r, "slow"); err != nil { // the socket is full
		t.Fatal(err)
	}
	if err := r.Send(ctx, Frame{Peer: "slow", Payload: []byte("after")}); err != nil {
		t.Fatal(err)
	}
	r.Flush()
	_ = c.SetReadDeadline(time.Now().Add(15 * time.Second))
	slow := iotest.OneByteReader(br) // a reader that takes its time at first
	hdr := make([]byte, 9)
	if _, err := io.ReadFull(slow, hdr); err != nil {
		t.Fatal(err)
	}
	if hdr[0] != flagLong || binary.BigEndian.Uint64(hdr[1:]) != uint64(len(big)) {
		t.Fatalf("header %x", hdr)
	}
	got := make([]byte, len(big))
	if _, err := io.ReadFull(br, got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, big) {
		t.Fatal("the large message arrived altered")
	}
	m, err := (&zmtpReader{br: br}).next()
	if err != nil || string(m.body) != "after" {
		t.Fatalf("second message: %q, %v", m.body, err)
	}
}

// A PING is answered with a PONG carrying its context.
func TestZMTPRouterPingPong(t *testing.T) {
	t.Parallel()
	r := listen(t)
	c := rawZMTP(t, r.Addr(), "pinger")
	ping := appendZMTPCommand(nil, "PING", []byte{0, 10, 'c', 't', 'x'})
	if _, err := c.Write(ping); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	m, err := (&zmtpReader{br: bufio.NewReader(c)}).next()
	if err != nil || !m.cmd || string(m.body) != "\x04PONGctx" {
		t.Fatalf("pong: %v %q", err, m.body)
	}
}

// A frame just over the limit closes the connection with a report and no
// delivery; one at the limit is delivered.
func TestZMTPRouterFrameLimit(t *testing.T) {
	t.Parallel()
	const limit = 1000
	r := listen(t, WithMaxFrameSize(limit))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ok := rawZMTP(t, r.Addr(), "ok")
	if _, err := ok.Write(append(appendZMTPHeader(nil, 0, limit), make([]byte, limit)...)); err != nil {
		t.Fatal(err)
	}
	if f, err := r.Recv(ctx); err != nil || len(f.Payload) != limit {
		t.Fatalf("at the limit: %v %d", err, len(f.Payload))
	}
	over := rawZMTP(t, r.Addr(), "over")
	if _, err := over.Write(appendZMTPHeader(nil, 0, limit+1)); err != nil {
		t.Fatal(err)
	}
	_, err := r.Recv(ctx)
	var bf *BadFrame
	if !errors.As(err, &bf) || bf.Peer != "" || !strings.Contains(bf.Reason, "limit") {
		t.Fatalf("Recv = %v", err)
	}
}

// dialAnnounced connects a raw DEALER and waits until a frame from it
// comes through Recv. The router sends its READY before it reads ours and
// registers the identity, so a send before that would be dropped as one to
// an unknown peer.
func dialAnnounced(ctx context.Context, t *testing.T, r *Router, id string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, br, err := rawDial(r.Addr(), id)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := c.Write(append(appendZMTPHeader(nil, 0, 2), "hi"...)); err != nil {
		t.Fatal(err)
	}
	if f, err := r.Recv(ctx); err != nil || f.Peer != id {
		t.Fatalf("first frame: %v %+v", err, f)
	}
	return c, br
}

// rawPeer is a raw DEALER connection that the test reads itself.
type rawPeer struct {
	id string
	c  net.Conn
	br *bufio.Reader
}

// announced is dialAnnounced as a rawPeer.
func announced(ctx context.Context, t *testing.T, r *Router, id string) rawPeer {
	t.Helper()
	c, br := dialAnnounced(ctx, t, r, id)
	return rawPeer{id: id, c: c, br: br}
}

// expect reads the peer's next message (for at most 5 s) and checks that
// it is want.
func (p rawPeer) expect(want string) error {
	_ = p.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	m, err := (&zmtpReader{br: p.br}).next()
	if err != nil || string(m.body) != want {
		return fmt.Errorf("peer %s: got %q, %v; want %q", p.id, m.body, err, want)
	}
	return nil
}

// A peer that stops reading is dropped once its queue waited for room
// longer than the write timeout, and Recv reports the drop; sending to it
// (Send and Flush, as the master's loop does) never waits for it
// meanwhile, and the other peers are still served.
func TestZMTPRouterNonReaderDropped(t *testing.T) {
	t.Parallel()
	const wt = time.Second
	r := listen(t, WithWriteTimeout(wt))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	announced(ctx, t, r, "sleeper") // never reads
	good := announced(ctx, t, r, "good")
	dropped := make(chan error, 1)
	go func() {
		f, err := r.Recv(ctx)
		if err == nil {
			err = fmt.Errorf("a frame %q from %q", f.Payload, f.Peer)
		}
		dropped <- err
	}()
	// Quarter megabytes: the socket fills within a second, and what is
	// queued for the sleeper (a copy per send, and another each time the
	// queue grows) stays a few megabytes.
	msg := make([]byte, 256<<10)
	var sends []time.Duration
	var err error
	for err == nil {
		t0 := time.Now()
		if err := r.Send(ctx, Frame{Peer: "sleeper", Payload: msg}); err != nil {
			t.Fatal(err)
		}
		r.Flush()
		sends = append(sends, time.Since(t0))
		select {
		case err = <-dropped:
		case <-time.After(50 * time.Millisecond): // a heartbeat's pace, compressed
		}
	}
	var bf *BadFrame
	if !errors.As(err, &bf) || !strings.Contains(bf.Reason, `"sleeper"`) || !strings.Contains(bf.Reason, "did not read") {
		t.Fatalf("Recv = %v, want the sleeper's drop for not reading", err)
	}
	// A send that waited for the sleeper would take the write timeout; the
	// copies take far less even on a loaded machine.
	med, worst := medianMax(sends)
	t.Logf("%d sends to the sleeper until its drop: median %v, worst %v", len(sends), med, worst)
	if worst > wt/2 {
		t.Fatalf("a send to a peer that does not read took %v (write timeout %v)", worst, wt)
	}
	if err := r.Send(ctx, Frame{Peer: "good", Payload: []byte("after")}); err != nil {
		t.Fatal(err)
	}
	r.Flush()
	if err := good.expect("after"); err != nil {
		t.Fatal(err)
	}
}

// Close ends every goroutine: accept loop, pending handshakes, readers
// blocked on a full inbox, writers stuck on a non-reader. Not parallel, so
// goleak sees only this test's goroutines.
func TestZMTPRouterCloseLeavesNoGoroutines(t *testing.T) {
	for _, mode := range []struct {
		name  string
		batch time.Duration
	}{{"poller", 0}, {"goroutines", -1}} {
		t.Run(mode.name, func(t *testing.T) { testCloseLeavesNoGoroutines(t, mode.batch) })
	}
}

func testCloseLeavesNoGoroutines(t *testing.T, batch time.Duration) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	fds := openFDs(t)
	r, err := ListenRouter("tcp://127.0.0.1:0", WithWriteTimeout(10*time.Second), WithBatchInterval(batch))
	if err != nil {
		t.Fatal(err)
	}
	silent, err := net.Dial("tcp", r.Addr()) // handshake pending
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	sleeper := rawZMTP(t, r.Addr(), "sleeper") // never reads
	defer sleeper.Close()
	ctx := context.Background()
	for range 20 {
		_ = r.Send(ctx, Frame{Peer: "sleeper", Payload: make([]byte, 1<<20)})
	}
	// Fill the inbox so readers block delivering.
	var conns []net.Conn
	for i := range 4 {
		c, _, err := rawDial(r.Addr(), fmt.Sprint("w", i))
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		msg := appendZMTPHeader(nil, 0, 1)
		msg = append(msg, 'x')
		_, _ = c.Write(bytes.Repeat(msg, zmtpInboundBacklog))
	}
	time.Sleep(200 * time.Millisecond)
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	for _, c := range conns {
		c.Close()
	}
	if _, err := r.Recv(ctx); !errors.Is(err, ErrClosed) {
		t.Fatalf("Recv after Close = %v", err)
	}
	if err := r.Send(ctx, Frame{Peer: "w0"}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Send after Close = %v", err)
	}
	silent.Close()
	sleeper.Close()
	if n := openFDs(t); n > fds {
		t.Fatalf("%d descriptors open after Close, %d before", n, fds)
	}
}

// openFDs counts this process's open descriptors (-1 where /proc is missing).
func openFDs(t *testing.T) int {
	es, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(es)
}

func FuzzZMTPReader(f *testing.F) {
	f.Add([]byte{0, 3, 'a', 'b', 'c'}, uint16(100))
	f.Add([]byte{flagMore, 1, 'a', 0, 1, 'b'}, uint16(100))
	f.Add([]byte{flagLong, 0, 0, 0, 0, 0, 0, 1, 0}, uint16(300))
	f.Add(append([]byte{flagLong, 0xff, 0, 0, 0, 0, 0, 0, 0}, 1), uint16(0))
	f.Add(appendZMTPCommand(nil, "PING", []byte{0, 1}), uint16(10))
	f.Add([]byte{flagCommand | flagMore, 0}, uint16(10))
	f.Fuzz(func(t *testing.T, data []byte, limit uint16) {
		max := uint64(limit)
		if max == 0 {
			max = 1 << 16
		}
		z := &zmtpReader{br: bufio.NewReaderSize(bytes.NewReader(data), 16), max: max}
		for {
			m, err := z.next()
			if err != nil {
				if err != io.EOF && !errors.Is(err, io.ErrUnexpectedEOF) &&
					!errors.Is(err, ErrFrameTooLarge) && !errors.Is(err, ErrBadFraming) {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			if uint64(len(m.body)) > max || uint64(len(m.body)) > uint64(len(data)) {
				t.Fatalf("body of %d bytes from %d input bytes (limit %d)", len(m.body), len(data), max)
			}
			if m.nframes < 1 || (m.cmd && m.nframes != 1) {
				t.Fatalf("bad message %+v", m)
			}
			if m.cmd {
				if name, _, err := parseZMTPCommand(m.body); err == nil && name == "READY" {
					_ = parseZMTPProperties(m.body[1+len(name):], func(string, []byte) {})
				}
			}
		}
	})
}

// TestZMTPBodyFreeLists: bodies come in power-of-two capacities up to the
// pooled limit, a released body is handed out again, and bodies of other
// capacities are never pooled.
func TestZMTPBodyFreeLists(t *testing.T) {
	for _, c := range []struct {
		size    uint64
		wantCap int
	}{{0, 512}, {1, 512}, {512, 512}, {513, 1024}, {21_000, 32 << 10}, {64 << 10, 64 << 10}, {64<<10 + 1, 64<<10 + 1}} {
		b := newBody(c.size)
		if len(b) != int(c.size) || cap(b) != c.wantCap {
			t.Errorf("newBody(%d): len %d cap %d, want cap %d", c.size, len(b), cap(b), c.wantCap)
		}
	}
	for _, c := range []int{100, 700, 511, 64<<10 + 1, 128 << 10} {
		if i := bodyClass(uint64(c)); i != -1 {
			t.Errorf("bodyClass(%d) = %d, want -1 (not pooled)", c, i)
		}
	}
	// Drain the 4 KiB list, then check that a released body comes back.
	for len(zmtpBodies[bodyClass(4096)]) > 0 {
		<-zmtpBodies[bodyClass(4096)]
	}
	b := newBody(3000)
	b[0] = 42
	releaseBody(b)
	if got := newBody(4000); cap(got) != 4096 || &got[:1][0] != &b[:1][0] {
		t.Errorf("released body not reused")
	}
	releaseBody(make([]byte, 10, 700)) // not a pooled capacity: ignored
}
