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
	"runtime"
	"slices"
	"testing"
	"testing/iotest"
	"time"
)

// rawZMTP completes a DEALER handshake with internal/zmtptest's client
// (which shares no code with the router) and returns the raw connection,
// so tests can send arbitrary frames or stop reading.
func rawZMTP(t *testing.T, addr, identity string) net.Conn {
	t.Helper()
	c, _, err := rawDial(addr, identity)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// listen starts a native ROUTER. GLOCUST_TEST_ROUTER_BATCH (a duration)
// sets its batch interval: scripts/test runs these tests again with a
// negative one, for the goroutine-per-connection path.
func listen(t *testing.T, opts ...ZMQOption) *Router {
	t.Helper()
	if v := os.Getenv("GLOCUST_TEST_ROUTER_BATCH"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("GLOCUST_TEST_ROUTER_BATCH: %v", err)
		}
		opts = append([]ZMQOption{WithBatchInterval(d)}, opts...)
	}
	r, err := ListenRouter("tcp://127.0.0.1:0", opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func TestRouterRefusesHugeFrameWithoutAllocating(t *testing.T) {
	t.Parallel()
	r := listen(t, WithMaxFrameSize(1<<20))
	c := rawZMTP(t, r.Addr(), "rogue")
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	// A long frame claiming 1 TiB.
	hdr := []byte{flagLong, 0, 0, 0, 0, 0, 0, 0, 0}
	binary.BigEndian.PutUint64(hdr[1:], 1<<40)
	if _, err := c.Write(hdr); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := r.Recv(ctx)
	var bf *BadFrame
	if !errors.As(err, &bf) {
		t.Fatalf("Recv = %v, want a BadFrame for the closed connection", err)
	}
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 64<<20 {
		t.Fatalf("allocated %d bytes for a refused frame", grew)
	}
	// The connection is closed.
	c.SetReadDeadline(time.Now().Add(3 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatal("connection still open")
	}
	// The router still serves others.
	good, err := DialDealer(ctx, "tcp://"+r.Addr(), "good")
	if err != nil {
		t.Fatal(err)
	}
	defer good.Close()
	if err := good.Send(ctx, Frame{Payload: []byte("hi")}); err != nil {
		t.Fatal(err)
	}
	for {
		f, err := r.Recv(ctx)
		if err != nil {
			if errors.As(err, &bf) {
				continue
			}
			t.Fatal(err)
		}
		if f.Peer == "good" && string(f.Payload) == "hi" {
			break
		}
	}
}

func TestRouterScanStates(t *testing.T) {
	t.Parallel()
	data := []byte{flagMore, 10}
	data = append(data, make([]byte, 10)...)
	data = append(data, flagLong, 0, 0, 0, 0, 0, 0, 1, 0) // 256 bytes: 10+256 <= 300
	data = append(data, make([]byte, 256)...)
	data = append(data, 0, 3, 'a', 'b', 'c')
	// Byte by byte must give the same result as at once.
	for _, chunk := range []int{1, 7, len(data)} {
		z := &zmtpReader{br: bufio.NewReaderSize(iotest.OneByteReader(&chunkReader{b: data, n: chunk}), 16), max: 300}
		m, err := z.next()
		if err != nil || m.nframes != 2 || len(m.body) != 10 || m.cmd {
			t.Fatalf("chunk %d: %+v %v", chunk, m, err)
		}
		m, err = z.next()
		if err != nil || m.nframes != 1 || string(m.body) != "abc" {
			t.Fatalf("chunk %d: %+v %v", chunk, m, err)
		}
		if _, err := z.next(); err != io.EOF {
			t.Fatalf("chunk %d: at end: %v", chunk, err)
		}
	}
	// A multipart message over the limit in total is refused.
	over := []byte{flagMore, 200}
	over = append(over, make([]byte, 200)...)
	over = append(over, 0, 200)
	z := &zmtpReader{br: bufio.NewReader(bytes.NewReader(over)), max: 300}
	if _, err := z.next(); !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("multipart total: %v", err)
	}
	z = &zmtpReader{br: bufio.NewReader(bytes.NewReader([]byte{0x80, 1})), max: 300}
	if _, err := z.next(); !errors.Is(err, ErrBadFraming) {
		t.Fatalf("reserved bits: %v", err)
	}
}

type chunkReader struct {
	b []byte
	n int
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	k := copy(p[:min(len(p), r.n)], r.b)
	r.b = r.b[k:]
	return k, nil
}

// A peer that connects, registers and never reads must not delay messages
// to the others. The test does what the master's loop does: send to both
// peers and flush. Through the router under test one peer never reads;
// through a control router it reads everything. The steps alternate
// between the two routers in the same run, so that a machine loaded by
// other tests slows both alike, and each is compared with the control's.
func TestRouterNonReaderDoesNotBlockOthers(t *testing.T) {
	t.Parallel()
	// The write timeout outlasts the test, so the non-reader stays stalled
	// (and connected) throughout: a send or flush that waited for it would
	// take up to that long.
	const wt = 10 * time.Second
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	r, ctl := listen(t, WithWriteTimeout(wt)), listen(t, WithWriteTimeout(wt))
	announced(ctx, t, r, "bulk") // never reads
	good := announced(ctx, t, r, "good")
	drained := announced(ctx, t, ctl, "bulk")
	ctlGood := announced(ctx, t, ctl, "good")
	copied := make(chan struct{})
	go func() { defer close(copied); _, _ = io.Copy(io.Discard, drained.br) }()
	t.Cleanup(func() { drained.c.Close(); <-copied })

	// First 16 MiB for the bulk peer, several times what the loopback
	// socket buffers take: the non-reader's queue then waits for room.
	big := make([]byte, 1<<20)
	fill := func(r *Router) time.Duration {
		t0 := time.Now()
		for range 16 {
			_ = r.Send(ctx, Frame{Peer: "bulk", Payload: big})
		}
		r.Flush()
		return time.Since(t0)
	}
	filled, filled0 := fill(r), fill(ctl)
	if err := waitStalled(r, "bulk"); err != nil {
		t.Fatal(err)
	}
	// Then steps: a small message to each peer, a flush, and the time
	// until the reading peer has its message.
	small := make([]byte, 1<<10)
	step := func(r *Router, good rawPeer) (time.Duration, error) {
		t0 := time.Now()
		_ = r.Send(ctx, Frame{Peer: "bulk", Payload: small})
		_ = r.Send(ctx, Frame{Peer: good.id, Payload: []byte("hb")})
		r.Flush()
		if err := good.expect("hb"); err != nil {
			return 0, err
		}
		return time.Since(t0), nil
	}
	var delays, control []time.Duration
	for i := range 80 {
		rr, p, ds := r, good, &delays
		if i%4 == 1 || i%4 == 2 { // r, ctl, ctl, r, r, ctl, ...
			rr, p, ds = ctl, ctlGood, &control
		}
		d, err := step(rr, p)
		if err != nil {
			t.Fatal(err)
		}
		*ds = append(*ds, d)
	}
	med, worst := medianMax(delays)
	med0, worst0 := medianMax(control)
	t.Logf("with a non-reader: filling %v, steps median %v, worst %v; control: filling %v, steps median %v, worst %v",
		filled, med, worst, filled0, med0, worst0)
	// A send or flush that waits for the non-reader takes the write
	// timeout, when its socket fills or at a step; one that waits a little
	// at every step (say, for the poller's next round, up to the 50 ms
	// batch interval) shows in the median. The margins are far above what
	// scheduling on a loaded machine adds to one router and not to the
	// other.
	if filled > filled0+wt/2 || worst > worst0+wt/2 || med > 2*med0+5*time.Millisecond {
		t.Fatalf("a non-reading peer delayed another: filling %v, steps median %v, worst %v; control: filling %v, steps median %v, worst %v",
			filled, med, worst, filled0, med0, worst0)
	}
}

// waitStalled waits until r's queue for peer waits for room, on the
// poller's path; without the poller (whose writer goroutines keep no such
// state) it returns at once.
func waitStalled(r *Router, peer string) error {
	if r.poller == nil {
		return nil
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		r.mu.RLock()
		c := r.peers[peer]
		r.mu.RUnlock()
		if c != nil && c.waitingOut() {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the queue for %q does not wait for room", peer)
		}
	}
}

// medianMax returns the median and the largest of ds (which it sorts).
func medianMax(ds []time.Duration) (med, worst time.Duration) {
	slices.Sort(ds)
	return ds[len(ds)/2], ds[len(ds)-1]
}

// A TCP client that never starts its handshake does not keep another peer
// from connecting: each handshake runs on its own, bounded by the
// handshake timeout. The timeout is far longer than a connection takes on
// a loaded machine, so a good peer served only once the silent one's
// handshake gave up shows as a wait of the whole timeout.
func TestRouterSilentConnectionDoesNotBlockAccept(t *testing.T) {
	t.Parallel()
	const ht = 10 * time.Second
	r := listen(t, WithHandshakeTimeout(ht))
	silent, err := net.Dial("tcp", r.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	ctx, cancel := context.WithTimeout(context.Background(), ht+10*time.Second)
	defer cancel()
	t0 := time.Now()
	c, _, err := rawDial(r.Addr(), "good")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write(append(appendZMTPHeader(nil, 0, 2), "hi"...)); err != nil {
		t.Fatal(err)
	}
	for {
		f, err := r.Recv(ctx)
		if err != nil {
			var bf *BadFrame
			if errors.As(err, &bf) {
				continue
			}
			t.Fatal(err)
		}
		if f.Peer == "good" {
			break
		}
	}
	if d := time.Since(t0); d > ht/2 {
		t.Fatalf("a good peer took %v to connect behind a silent one (handshake timeout %v)", d, ht)
	}
}
