package zmq

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
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
// to the others.
func TestRouterNonReaderDoesNotBlockOthers(t *testing.T) {
	t.Parallel()
	r := listen(t, WithWriteTimeout(300*time.Millisecond))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_ = rawZMTP(t, r.Addr(), "sleeper") // never read again
	good, err := DialDealer(ctx, "tcp://"+r.Addr(), "good")
	if err != nil {
		t.Fatal(err)
	}
	defer good.Close()
	// Let the ROUTER learn both peers.
	if err := good.Send(ctx, Frame{Payload: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Recv(ctx); err != nil {
		t.Fatal(err)
	}
	big := make([]byte, 1<<20) // the sleeper's socket buffers fill with the first few
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < 20 && ctx.Err() == nil; i++ {
			_ = r.Send(ctx, Frame{Peer: "sleeper", Payload: big})
		}
	}()
	var delays []time.Duration
	for i := 0; i < 30; i++ {
		t0 := time.Now()
		if err := r.Send(ctx, Frame{Peer: "good", Payload: []byte("hb")}); err != nil {
			t.Fatal(err)
		}
		rctx, rcancel := context.WithTimeout(ctx, 5*time.Second)
		f, err := good.Recv(rctx)
		rcancel()
		if err != nil || string(f.Payload) != "hb" {
			t.Fatalf("good peer: %v %q", err, f.Payload)
		}
		delays = append(delays, time.Since(t0))
		time.Sleep(50 * time.Millisecond)
	}
	med, worst := medianMax(delays)
	t.Logf("delay to the reading peer: median %v, worst %v", med, worst)
	// A write that waits for the non-reader would hold every later message
	// for up to the write timeout, twenty times over (the median and the
	// worst case both catch that). The round trip also includes scheduling
	// on a machine loaded by other tests under -race: the worst case is
	// allowed two heartbeat intervals.
	if med > 300*time.Millisecond || worst > 2*time.Second {
		t.Fatalf("a non-reading peer delayed another: median %v, worst %v", med, worst)
	}
	// The non-reader is dropped, and the drop reported.
	rctx, rcancel := context.WithTimeout(ctx, 5*time.Second)
	defer rcancel()
	_, err = r.Recv(rctx)
	var bf *BadFrame
	if !errors.As(err, &bf) || !strings.Contains(bf.Reason, `"sleeper"`) || !strings.Contains(bf.Reason, "did not read") {
		t.Fatalf("Recv = %v, want the sleeper's drop for not reading", err)
	}
}

// medianMax returns the median and the largest of ds (which it sorts).
func medianMax(ds []time.Duration) (med, worst time.Duration) {
	slices.Sort(ds)
	return ds[len(ds)/2], ds[len(ds)-1]
}

func TestRouterSilentConnectionDoesNotBlockAccept(t *testing.T) {
	t.Parallel()
	r := listen(t, WithHandshakeTimeout(time.Second))
	silent, err := net.Dial("tcp", r.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	t0 := time.Now()
	good, err := DialDealer(ctx, "tcp://"+r.Addr(), "good")
	if err != nil {
		t.Fatal(err)
	}
	defer good.Close()
	_ = good.Send(ctx, Frame{Payload: []byte("x")})
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
	if d := time.Since(t0); d > 900*time.Millisecond {
		t.Fatalf("handshake of a good peer took %v behind a silent one", d)
	}
}
