package zmtptest

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// ---- a minimal ROUTER-side peer, written independently of the client ----

// frame is one frame as the test's server parsed it.
type frame struct {
	flags byte
	body  []byte
}

// server is the accepting side of one connection.
type server struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
}

// listen starts a listener on 127.0.0.1 whose first connection is passed
// to handle (in its own goroutine, with a 10 s deadline on the connection).
// It returns the address and a channel closed when handle returns.
func listen(t *testing.T, handle func(s *server)) (addr string, done <-chan struct{}) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan struct{})
	go func() {
		defer close(ch)
		c, err := ln.Accept()
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				t.Errorf("accept: %v", err)
			}
			return
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		handle(&server{t: t, conn: c, r: bufio.NewReader(c)})
	}()
	t.Cleanup(func() {
		select {
		case <-ch:
		case <-time.After(15 * time.Second):
			t.Errorf("the test server did not finish")
		}
	})
	t.Cleanup(func() { ln.Close() }) // runs first: ends an Accept that got nothing
	return ln.Addr().String(), ch
}

func (s *server) write(b []byte) {
	if _, err := s.conn.Write(b); err != nil {
		s.t.Errorf("server write: %v", err)
	}
}

// serverGreeting is a ZMTP 3.1 NULL greeting as-server, built byte by byte.
func serverGreeting() []byte {
	g := []byte{0xff, 0, 0, 0, 0, 0, 0, 0, 1, 0x7f, 3, 1}
	g = append(g, "NULL"...)
	g = append(g, make([]byte, 16)...) // mechanism padding
	g = append(g, 1)                   // as-server
	return append(g, make([]byte, 31)...)
}

// short and long build frames by hand (not with AppendFrame).
func short(flags byte, body []byte) []byte {
	return append([]byte{flags, byte(len(body))}, body...)
}

func long(flags byte, body []byte) []byte {
	b := []byte{flags | 0x02, 0, 0, 0, 0, 0, 0, 0, 0}
	binary.BigEndian.PutUint64(b[1:], uint64(len(body)))
	return append(b, body...)
}

// readFrame parses one frame from the client.
func (s *server) readFrame() (frame, error) {
	flags, err := s.r.ReadByte()
	if err != nil {
		return frame{}, err
	}
	var n uint64
	if flags&0x02 != 0 {
		var b [8]byte
		if _, err := io.ReadFull(s.r, b[:]); err != nil {
			return frame{}, err
		}
		n = binary.BigEndian.Uint64(b[:])
	} else {
		b, err := s.r.ReadByte()
		if err != nil {
			return frame{}, err
		}
		n = uint64(b)
	}
	if n > 1<<20 {
		return frame{}, fmt.Errorf("test server: frame of %d bytes", n)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(s.r, body); err != nil {
		return frame{}, err
	}
	return frame{flags, body}, nil
}

// parseReady returns the properties of a READY command body.
func parseReady(body []byte) (map[string]string, error) {
	if !bytes.HasPrefix(body, []byte("\x05READY")) {
		return nil, fmt.Errorf("not READY: %q", body)
	}
	props := map[string]string{}
	b := body[6:]
	for len(b) > 0 {
		kl := int(b[0])
		if len(b) < 1+kl+4 {
			return nil, fmt.Errorf("truncated property name in %q", body)
		}
		k := string(b[1 : 1+kl])
		vl := int(binary.BigEndian.Uint32(b[1+kl:]))
		b = b[1+kl+4:]
		if len(b) < vl {
			return nil, fmt.Errorf("truncated property %s in %q", k, body)
		}
		props[k] = string(b[:vl])
		b = b[vl:]
	}
	return props, nil
}

// readHello reads the client's greeting and READY frame without checking
// them (so that closing afterwards does not reset the connection).
func (s *server) readHello() {
	if _, err := io.ReadFull(s.r, make([]byte, 64)); err != nil {
		s.t.Errorf("server: client greeting: %v", err)
		return
	}
	if _, err := s.readFrame(); err != nil {
		s.t.Errorf("server: client READY: %v", err)
	}
}

// drain reads until the client closes (or the 10 s deadline).
func (s *server) drain() { _, _ = io.Copy(io.Discard, s.r) }

// handshake reads the client's greeting and READY, answers as a ROUTER and
// returns the client's READY properties.
func (s *server) handshake() (map[string]string, error) {
	g := make([]byte, 64)
	if _, err := io.ReadFull(s.r, g); err != nil {
		return nil, fmt.Errorf("client greeting: %w", err)
	}
	want := append([]byte{0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0x7f, 3, 0}, "NULL"...)
	if !bytes.Equal(g[:16], want) || !bytes.Equal(g[16:], make([]byte, 48)) {
		return nil, fmt.Errorf("client greeting % x", g)
	}
	ready := []byte("\x05READY\x0bSocket-Type\x00\x00\x00\x06ROUTER")
	s.write(append(serverGreeting(), short(0x04, ready)...))
	f, err := s.readFrame()
	if err != nil {
		return nil, fmt.Errorf("client READY: %w", err)
	}
	if f.flags != 0x04 {
		return nil, fmt.Errorf("client READY: flags %#x, want a final command", f.flags)
	}
	return parseReady(f.body)
}

// dialPair runs handle on the server side of a handshaken connection and
// returns the client.
func dialPair(t *testing.T, identity string, handle func(s *server), opts ...Option) (*Peer, <-chan struct{}) {
	t.Helper()
	addr, done := listen(t, func(s *server) {
		if _, err := s.handshake(); err != nil {
			t.Errorf("server handshake: %v", err)
			return
		}
		handle(s)
	})
	p, err := Dial(addr, identity, 5*time.Second, opts...)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { p.Close() })
	_ = p.Conn().SetDeadline(time.Now().Add(10 * time.Second))
	return p, done
}

func wait(t *testing.T, done <-chan struct{}) {
	t.Helper()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the test server did not finish")
	}
}

func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/251)
	}
	return b
}

// ---- encoding ----

func TestGreeting(t *testing.T) {
	g := Greeting()
	want := append([]byte{0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0x7f, 3, 0}, "NULL"...)
	want = append(want, make([]byte, 64-len(want))...)
	if !bytes.Equal(g, want) {
		t.Errorf("Greeting() = % x\nwant        % x", g, want)
	}
	g[0] = 0
	if Greeting()[0] != 0xff {
		t.Error("Greeting returns a shared slice")
	}
}

func TestAppendFrame(t *testing.T) {
	for _, tc := range []struct {
		size          int
		more, command bool
		header        []byte
	}{
		{0, false, false, []byte{0, 0}},
		{5, true, false, []byte{0x01, 5}},
		{5, false, true, []byte{0x04, 5}},
		{255, true, true, []byte{0x05, 255}},
		{256, false, false, []byte{0x02, 0, 0, 0, 0, 0, 0, 1, 0}},
		{300, true, false, []byte{0x03, 0, 0, 0, 0, 0, 0, 1, 44}},
		{70000, false, true, []byte{0x06, 0, 0, 0, 0, 0, 1, 0x11, 0x70}},
	} {
		body := pattern(tc.size)
		prefix := []byte("xy")
		got := AppendFrame(prefix, body, tc.more, tc.command)
		want := append(append([]byte("xy"), tc.header...), body...)
		if !bytes.Equal(got, want) {
			t.Errorf("AppendFrame(size %d, more %v, command %v): header % x, want % x",
				tc.size, tc.more, tc.command, got[2:min(len(got), 2+len(tc.header))], tc.header)
		}
		var hdr [9]byte
		if h := AppendHeader(hdr[:0], tc.size, tc.more, tc.command); !bytes.Equal(h, tc.header) {
			t.Errorf("AppendHeader(%d, %v, %v) = % x, want % x", tc.size, tc.more, tc.command, h, tc.header)
		}
	}
	var hdr [9]byte
	if n := testing.AllocsPerRun(100, func() { _ = AppendHeader(hdr[:0], 1000, false, false) }); n != 0 {
		t.Errorf("AppendHeader into a [9]byte allocates %v times", n)
	}
}

func TestReady(t *testing.T) {
	f := Ready("host_0123")
	want := "\x04\x32\x05READY" +
		"\x0bSocket-Type\x00\x00\x00\x06DEALER" +
		"\x08Identity\x00\x00\x00\x09host_0123"
	if string(f) != want {
		t.Errorf("Ready = %q\nwant    %q", f, want)
	}
	// an identity long enough for the frame's long form
	id := strings.Repeat("i", 255)
	f = Ready(id)
	if f[0] != 0x06 || binary.BigEndian.Uint64(f[1:9]) != uint64(len(f)-9) {
		t.Fatalf("Ready(255-byte identity): header % x for a %d-byte frame", f[:9], len(f))
	}
	props, err := parseReady(f[9:])
	if err != nil || props["Identity"] != id || props["Socket-Type"] != "DEALER" || len(props) != 2 {
		t.Errorf("Ready(255-byte identity) properties %q, %v", props, err)
	}
}

// ---- against the test ROUTER ----

func TestDialHandshake(t *testing.T) {
	for _, id := range []string{"worker_00112233445566778899aabbccddeeff", ""} {
		props := make(chan map[string]string, 1)
		addr, done := listen(t, func(s *server) {
			p, err := s.handshake()
			if err != nil {
				t.Errorf("server handshake: %v", err)
			}
			props <- p
			// the connection must stay usable: one frame each way
			s.write(short(0, []byte("hello")))
			if f, err := s.readFrame(); err != nil || f.flags != 0 || string(f.body) != "world" {
				t.Errorf("server read after the handshake: %+v, %v", f, err)
			}
		})
		p, err := Dial(addr, id, 5*time.Second)
		if err != nil {
			t.Fatalf("Dial: %v", err)
		}
		got := <-props
		if got["Socket-Type"] != "DEALER" || got["Identity"] != id || len(got) != 2 {
			t.Errorf("READY properties %q, want Socket-Type DEALER and Identity %q", got, id)
		}
		_ = p.Conn().SetDeadline(time.Now().Add(5 * time.Second))
		body, cmd, err := p.ReadFrame(nil, 16)
		if err != nil || cmd || string(body) != "hello" {
			t.Errorf("ReadFrame after the handshake: %q, command %v, %v", body, cmd, err)
		}
		if err := p.Send([]byte("world")); err != nil {
			t.Error(err)
		}
		wait(t, done)
		p.Close()
	}
}

func TestFramesBothWays(t *testing.T) {
	sizes := []int{5, 255, 256, 300, 70000}
	p, done := dialPair(t, "both", func(s *server) {
		for _, n := range sizes {
			f, err := s.readFrame()
			if err != nil {
				t.Errorf("server: frame of %d bytes: %v", n, err)
				return
			}
			wantFlags := byte(0)
			if n > 255 {
				wantFlags = 0x02
			}
			if f.flags != wantFlags || !bytes.Equal(f.body, pattern(n)) {
				t.Errorf("server: frame of %d bytes arrived with flags %#x, %d bytes, equal %v",
					n, f.flags, len(f.body), bytes.Equal(f.body, pattern(n)))
			}
		}
		for _, n := range sizes {
			if n > 255 {
				s.write(long(0, pattern(n)))
			} else {
				s.write(short(0, pattern(n)))
			}
		}
		// a 200-byte frame in the long form is valid too
		s.write(long(0, pattern(200)))
	})
	for _, n := range sizes {
		if err := p.Send(pattern(n)); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range append(sizes, 200) {
		body, cmd, more, err := p.ReadFrameMore(nil, 1<<20)
		if err != nil || cmd || more || !bytes.Equal(body, pattern(n)) {
			t.Errorf("ReadFrameMore: frame of %d bytes: %d bytes, command %v, more %v, %v", n, len(body), cmd, more, err)
		}
	}
	wait(t, done)
}

func TestMultiFrame(t *testing.T) {
	msg := [][]byte{[]byte("a"), pattern(1000), {}, []byte("last")}
	p, done := dialPair(t, "multi", func(s *server) {
		for i, want := range msg {
			f, err := s.readFrame()
			if err != nil {
				t.Errorf("server: frame %d: %v", i, err)
				return
			}
			more := f.flags&0x01 != 0
			if more != (i < len(msg)-1) || f.flags&0x04 != 0 || !bytes.Equal(f.body, want) {
				t.Errorf("server: frame %d: flags %#x, %d bytes", i, f.flags, len(f.body))
			}
		}
		// a message interleaved with commands, then a second message
		var b []byte
		b = append(b, short(0x01, []byte("one"))...)
		b = append(b, short(0x04, []byte("\x04PING\x00\x00"))...)
		b = append(b, long(0x01, pattern(400))...)
		b = append(b, short(0x00, []byte("three"))...)
		b = append(b, short(0x04, []byte("\x04PING\x00\x01"))...)
		b = append(b, short(0x00, []byte("solo"))...)
		s.write(b)
		// the same message again, for ReadFrameMore
		s.write(short(0x01, []byte("m1")))
		s.write(short(0x00, []byte("m2")))
	})
	if err := p.Send(msg...); err != nil {
		t.Fatal(err)
	}
	got, err := p.Recv(1 << 20)
	if err != nil {
		t.Fatal(err)
	}
	want := [][]byte{[]byte("one"), pattern(400), []byte("three")}
	if len(got) != len(want) {
		t.Fatalf("Recv: %d frames, want %d", len(got), len(want))
	}
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			t.Errorf("Recv: frame %d: %q, want %q", i, got[i][:min(len(got[i]), 16)], want[i][:min(len(want[i]), 16)])
		}
	}
	if got, err := p.Recv(1 << 20); err != nil || len(got) != 1 || string(got[0]) != "solo" {
		t.Errorf("second Recv: %q, %v", got, err)
	}
	for i, w := range []struct {
		body string
		more bool
	}{{"m1", true}, {"m2", false}} {
		body, cmd, more, err := p.ReadFrameMore(nil, 16)
		if err != nil || cmd || more != w.more || string(body) != w.body {
			t.Errorf("ReadFrameMore %d: %q, command %v, more %v, %v; want %q, more %v", i, body, cmd, more, err, w.body, w.more)
		}
	}
	wait(t, done)
}

func TestCommandFrame(t *testing.T) {
	ping := []byte("\x04PING\x00\x10")
	p, done := dialPair(t, "cmd", func(s *server) {
		s.write(short(0x04, ping))
		s.write(long(0x04, pattern(300)))
		s.write(short(0x00, ping)) // the same bytes as a message
	})
	for i, want := range []struct {
		body []byte
		cmd  bool
	}{{ping, true}, {pattern(300), true}, {ping, false}} {
		body, cmd, err := p.ReadFrame(nil, 1<<10)
		if err != nil || cmd != want.cmd || !bytes.Equal(body, want.body) {
			t.Errorf("frame %d: %d bytes, command %v, %v; want command %v", i, len(body), cmd, err, want.cmd)
		}
	}
	wait(t, done)
}

func TestReadFrameLimit(t *testing.T) {
	const oversize = 101 // headers sent for AllocsPerRun (100 runs + 1 warm-up)
	p, done := dialPair(t, "limit", func(s *server) {
		var b []byte
		b = append(b, short(0, pattern(100))...) // at the limit: accepted
		b = append(b, short(0, pattern(101))...) // one byte over: refused
		s.write(b)
		b = b[:0]
		for range oversize { // claims of 1 TiB, bodies never sent
			b = append(b, 0x02, 0, 0, 1, 0, 0, 0, 0, 0)
		}
		s.write(b)
	})
	body, _, err := p.ReadFrame(nil, 100)
	if err != nil || !bytes.Equal(body, pattern(100)) {
		t.Fatalf("a frame of exactly the limit: %d bytes, %v", len(body), err)
	}
	body, _, err = p.ReadFrame(make([]byte, 0, 512), 100)
	if !errors.Is(err, ErrFrameTooBig) || body != nil {
		t.Fatalf("a frame one byte over the limit: %d bytes, %v; want ErrFrameTooBig", len(body), err)
	}
	// discard the refused frame's body so that the 1 TiB headers are next
	if _, err := io.ReadFull(p.r, make([]byte, 101)); err != nil {
		t.Fatal(err)
	}
	// have all the headers buffered, so that no run waits on the network
	if _, err := p.r.Peek(oversize * 9); err != nil {
		t.Fatal(err)
	}
	var bad error
	allocs := testing.AllocsPerRun(oversize-1, func() {
		if _, _, err := p.ReadFrame(nil, 1<<20); !errors.Is(err, ErrFrameTooBig) {
			bad = err
		}
	})
	if bad != nil {
		t.Errorf("a frame claiming 1 TiB: %v, want ErrFrameTooBig", bad)
	}
	if allocs != 0 {
		t.Errorf("refusing an oversize frame allocates %v times", allocs)
	}
	if p.r.Buffered() != 0 {
		t.Errorf("%d bytes left after the oversize headers", p.r.Buffered())
	}
	wait(t, done)
}

func TestReadFrameReusesBuffer(t *testing.T) {
	const n = 101 // frames for AllocsPerRun (100 runs + 1 warm-up)
	want := make([][]byte, n)
	var all []byte
	for i := range want {
		want[i] = pattern(10 + i)
		all = append(all, short(0, want[i])...)
	}
	all = append(all, long(0, pattern(300))...)
	p, done := dialPair(t, "reuse", func(s *server) { s.write(all) }, ReadBufferSize(64<<10))
	// have everything buffered, so that no run waits on the network
	if _, err := p.r.Peek(len(all)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 256)
	i := 0
	var bad []int
	allocs := testing.AllocsPerRun(n-1, func() {
		body, _, err := p.ReadFrame(buf, 1<<20)
		if err != nil || !bytes.Equal(body, want[i]) || &body[0] != &buf[0] {
			bad = append(bad, i)
		}
		i++
	})
	if i != n || len(bad) > 0 {
		t.Errorf("%d frames read, wrong or not in buf: %v", i, bad)
	}
	if allocs != 0 {
		t.Errorf("ReadFrame into a large enough buffer allocates %v times", allocs)
	}
	// a frame larger than the buffer gets a new slice; buf is untouched
	body, _, err := p.ReadFrame(buf, 1<<20)
	if err != nil || !bytes.Equal(body, pattern(300)) || cap(buf) != 256 || &body[0] == &buf[0] {
		t.Errorf("a frame larger than buf: %d bytes, %v", len(body), err)
	}
	wait(t, done)
}

func TestReadFrameTruncated(t *testing.T) {
	p, done := dialPair(t, "trunc", func(s *server) {
		s.write([]byte{0, 10, 'a', 'b', 'c'})
	})
	<-done // the server closed after its write
	if _, _, err := p.ReadFrame(nil, 100); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("a frame cut short: %v, want io.ErrUnexpectedEOF", err)
	}
	if _, _, err := p.ReadFrame(nil, 100); !errors.Is(err, io.EOF) {
		t.Errorf("after the close: %v, want io.EOF", err)
	}
}

func TestDialErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		server func(s *server)
		check  func(err error) bool
	}{
		{"bad greeting", func(s *server) {
			s.readHello()
			g := serverGreeting()
			g[9] = 0 // not a ZMTP 3 signature
			s.write(g)
			s.drain()
		}, func(err error) bool { return strings.Contains(err.Error(), "unexpected greeting") }},
		{"ZMTP 2", func(s *server) {
			s.readHello()
			g := serverGreeting()
			g[10] = 2
			s.write(g)
			s.drain()
		}, func(err error) bool { return strings.Contains(err.Error(), "unexpected greeting") }},
		{"CURVE", func(s *server) {
			s.readHello()
			g := serverGreeting()
			copy(g[12:], "CURVE")
			s.write(g)
			s.drain()
		}, func(err error) bool { return strings.Contains(err.Error(), "unexpected greeting") }},
		{"ERROR command", func(s *server) {
			s.readHello()
			s.write(append(serverGreeting(), short(0x04, []byte("\x05ERROR\x06denied"))...))
			s.drain()
		}, func(err error) bool {
			return strings.Contains(err.Error(), `handshake refused (command true): "\x05ERROR\x06denied"`)
		}},
		{"message instead of READY", func(s *server) {
			s.readHello()
			s.write(append(serverGreeting(), short(0, []byte("\x05READY"))...))
			s.drain()
		}, func(err error) bool { return strings.Contains(err.Error(), "handshake refused (command false)") }},
		{"oversize READY", func(s *server) {
			s.readHello()
			s.write(append(serverGreeting(), 0x06, 0, 0, 0, 0, 0, 1, 0, 1))
			s.drain()
		}, func(err error) bool { return errors.Is(err, ErrFrameTooBig) }},
		{"close before the greeting", func(s *server) {
			s.readHello()
		}, func(err error) bool {
			return strings.HasPrefix(err.Error(), "zmtp: read greeting:") && (errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET))
		}},
		{"close before READY", func(s *server) {
			s.readHello()
			s.write(serverGreeting())
		}, func(err error) bool {
			return strings.HasPrefix(err.Error(), "zmtp: read READY:") && (errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr, _ := listen(t, tc.server)
			p, err := Dial(addr, "x", 5*time.Second)
			if err == nil {
				p.Close()
				t.Fatal("Dial succeeded")
			}
			if !tc.check(err) {
				t.Errorf("Dial: unexpected error %v", err)
			}
		})
	}
}

func TestDialTimeout(t *testing.T) {
	release := make(chan struct{})
	addr, _ := listen(t, func(s *server) {
		select { // accept and never answer
		case <-release:
		case <-time.After(10 * time.Second):
		}
	})
	defer close(release)
	start := time.Now()
	p, err := Dial(addr, "x", 300*time.Millisecond)
	if err == nil {
		p.Close()
		t.Fatal("Dial succeeded against a silent server")
	}
	if !errors.Is(err, os.ErrDeadlineExceeded) || !strings.HasPrefix(err.Error(), "zmtp: read greeting:") {
		t.Errorf("Dial: %v, want a read-greeting deadline error", err)
	}
	if d := time.Since(start); d < 250*time.Millisecond || d > 5*time.Second {
		t.Errorf("Dial gave up after %v, want about 300 ms", d)
	}
}

func TestDialNoDeadlineAfterHandshake(t *testing.T) {
	addr, done := listen(t, func(s *server) {
		if _, err := s.handshake(); err != nil {
			t.Error(err)
			return
		}
		time.Sleep(400 * time.Millisecond)
		s.write(short(0, []byte("late")))
	})
	p, err := Dial(addr, "short", 200*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	body, _, err := p.ReadFrame(nil, 16)
	if err != nil || string(body) != "late" {
		t.Errorf("a frame 400 ms after a handshake with a 200 ms timeout: %q, %v", body, err)
	}
	wait(t, done)
}

func TestOptions(t *testing.T) {
	p, done := dialPair(t, "opts", func(s *server) {}, ReadBufferSize(64<<10))
	if got := p.r.Size(); got != 64<<10 {
		t.Errorf("ReadBufferSize(64 KiB): buffer of %d bytes", got)
	}
	wait(t, done)
	q, done := dialPair(t, "default", func(s *server) {})
	if got := q.r.Size(); got != 4096 {
		t.Errorf("default read buffer of %d bytes, want 4096", got)
	}
	wait(t, done)

	if runtime.GOOS != "linux" {
		t.Skip("SO_RCVBUF's reported value is checked on Linux only")
	}
	rcvbuf := func(p *Peer) int {
		rc, err := p.Conn().(*net.TCPConn).SyscallConn()
		if err != nil {
			t.Fatal(err)
		}
		var v int
		var gerr error
		if err := rc.Control(func(fd uintptr) {
			v, gerr = getsockoptInt(syscall.GetsockoptInt, fd, syscall.SOL_SOCKET, syscall.SO_RCVBUF)
		}); err != nil || gerr != nil {
			t.Fatal(err, gerr)
		}
		return v
	}
	def := rcvbuf(q)
	r, done := dialPair(t, "rcvbuf", func(s *server) {}, RcvBuf(4096))
	// Linux doubles the value set (for its bookkeeping)
	if got := rcvbuf(r); got != 2*4096 {
		t.Errorf("RcvBuf(4096): SO_RCVBUF is %d, want 8192 (the default here is %d)", got, def)
	}
	wait(t, done)
}

func getsockoptInt[FD ~int | ~uintptr](get func(FD, int, int) (int, error), fd uintptr, level, opt int) (int, error) {
	return get(FD(fd), level, opt)
}
