// Package zmtptest is a minimal, hand-written ZMTP 3.0 client for tests and
// benchmarks: a DEALER with NULL security over a raw TCP connection, so that
// the caller controls every byte, the socket buffers and when (or whether)
// the peer reads. The interop tests' hostile peers and the fan-in
// benchmark's simulated workers use it.
//
// It uses the standard library only and does not import package protocol:
// it is an independent implementation to test that package's ROUTER against.
// (protocol's own tests keep their helpers: they cannot import a package
// that imports protocol, and they exercise its unexported encoders.)
package zmtptest

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"time"
)

// Frame flags (ZMTP 3.0, section "Framing").
const (
	FlagMore    = 0x01 // more frames of the same message follow
	FlagLong    = 0x02 // the size is 8 bytes (network order), not 1
	FlagCommand = 0x04 // a command frame, not a message frame
)

// GreetingSize is the length of a ZMTP 3.x greeting.
const GreetingSize = 64

// HandshakeMaxFrame bounds the peer's READY command read by Dial.
const HandshakeMaxFrame = 1 << 16

// ErrFrameTooBig is returned by ReadFrame, ReadFrameMore and Recv for a
// frame whose size exceeds the caller's limit; the body is neither
// allocated nor read, so the stream is no longer framed after it.
var ErrFrameTooBig = errors.New("zmtp: frame larger than the reader's limit")

var readyName = []byte("\x05READY")

// Greeting returns a ZMTP 3.0 greeting for the NULL mechanism as a client
// (as-server 0).
func Greeting() []byte {
	g := make([]byte, GreetingSize)
	g[0], g[9] = 0xff, 0x7f
	g[10], g[11] = 3, 0 // ZMTP 3.0
	copy(g[12:32], "NULL")
	return g // as-server 0, filler zeros
}

// AppendHeader appends the header of one frame whose body is size bytes:
// the short form (2 bytes) up to 255 bytes, the long form (9 bytes) above.
// With a [9]byte array as dst it does not allocate, so that a writer can
// send the header and a body it does not copy (net.Buffers).
func AppendHeader(dst []byte, size int, more, command bool) []byte {
	var flags byte
	if more {
		flags |= FlagMore
	}
	if command {
		flags |= FlagCommand
	}
	if size > 255 {
		dst = append(dst, flags|FlagLong)
		return binary.BigEndian.AppendUint64(dst, uint64(size))
	}
	return append(dst, flags, byte(size))
}

// AppendFrame appends one frame (header and body).
func AppendFrame(dst, body []byte, more, command bool) []byte {
	return append(AppendHeader(dst, len(body), more, command), body...)
}

// Ready returns the READY command frame of a DEALER with the given
// identity (properties Socket-Type and Identity, in that order).
func Ready(identity string) []byte {
	body := append([]byte(nil), readyName...)
	prop := func(k, v string) {
		body = append(body, byte(len(k)))
		body = append(body, k...)
		body = binary.BigEndian.AppendUint32(body, uint32(len(v)))
		body = append(body, v...)
	}
	prop("Socket-Type", "DEALER")
	prop("Identity", identity)
	return AppendFrame(nil, body, false, true)
}

// Option configures Dial.
type Option func(*options)

type options struct {
	rcvbuf  int
	bufSize int
}

// RcvBuf sets SO_RCVBUF to n bytes before connecting (so that the TCP
// window is negotiated with it); n <= 0 keeps the system's default.
func RcvBuf(n int) Option { return func(o *options) { o.rcvbuf = n } }

// ReadBufferSize sets the size of the peer's read buffer (default 4096).
func ReadBufferSize(n int) Option { return func(o *options) { o.bufSize = n } }

// Peer is one DEALER connection.
type Peer struct {
	conn net.Conn
	r    *bufio.Reader
	size [8]byte // a long frame size; a local would escape through io.ReadFull
}

// Dial connects to addr and completes the ZMTP handshake as a DEALER with
// the given identity: it sends its greeting and READY in one write, checks
// the other side's greeting (ZMTP 3 or later, NULL) and waits for its READY
// command. timeout bounds the connect and, separately, the whole handshake;
// the connection has no deadline afterwards.
func Dial(addr, identity string, timeout time.Duration, opts ...Option) (*Peer, error) {
	o := options{bufSize: 4096}
	for _, opt := range opts {
		opt(&o)
	}
	d := net.Dialer{Timeout: timeout}
	if o.rcvbuf > 0 {
		d.Control = func(_, _ string, c syscall.RawConn) error {
			var serr error
			if err := c.Control(func(fd uintptr) {
				serr = setsockoptInt(syscall.SetsockoptInt, fd, syscall.SOL_SOCKET, syscall.SO_RCVBUF, o.rcvbuf)
			}); err != nil {
				return err
			}
			return serr
		}
	}
	conn, err := d.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	p := &Peer{conn: conn, r: bufio.NewReaderSize(conn, o.bufSize)}
	if err := p.handshake(identity, timeout); err != nil {
		conn.Close()
		return nil, err
	}
	return p, nil
}

func (p *Peer) handshake(identity string, timeout time.Duration) error {
	_ = p.conn.SetDeadline(time.Now().Add(timeout))
	if _, err := p.conn.Write(append(Greeting(), Ready(identity)...)); err != nil {
		return fmt.Errorf("zmtp: send greeting: %w", err)
	}
	g := make([]byte, GreetingSize)
	if _, err := io.ReadFull(p.r, g); err != nil {
		return fmt.Errorf("zmtp: read greeting: %w", err)
	}
	if g[0] != 0xff || g[9] != 0x7f || g[10] < 3 || !bytes.HasPrefix(g[12:32], []byte("NULL")) {
		return fmt.Errorf("zmtp: unexpected greeting % x", g)
	}
	cmd, isCmd, err := p.ReadFrame(nil, HandshakeMaxFrame)
	if err != nil {
		return fmt.Errorf("zmtp: read READY: %w", err)
	}
	if !isCmd || !bytes.HasPrefix(cmd, readyName) {
		return fmt.Errorf("zmtp: handshake refused (command %v): %q", isCmd, cmd)
	}
	_ = p.conn.SetDeadline(time.Time{})
	return nil
}

// setsockoptInt calls syscall.SetsockoptInt, whose descriptor is an int on
// Unix and a Handle on Windows, with the descriptor RawConn.Control gives.
func setsockoptInt[FD ~int | ~uintptr](set func(FD, int, int, int) error, fd uintptr, level, opt, value int) error {
	return set(FD(fd), level, opt, value)
}

// Conn returns the TCP connection, for raw writes, deadlines and reads that
// bypass the peer's read buffer.
func (p *Peer) Conn() net.Conn { return p.conn }

// Close closes the connection.
func (p *Peer) Close() error { return p.conn.Close() }

// ReadFrame reads one frame, like ReadFrameMore without the MORE flag.
func (p *Peer) ReadFrame(buf []byte, max uint64) (body []byte, command bool, err error) {
	body, command, _, err = p.ReadFrameMore(buf, max)
	return body, command, err
}

// ReadFrameMore reads one frame of at most max bytes. The body is read into
// buf when buf is not nil and its capacity suffices (then it does not
// allocate); otherwise into a new slice. A frame larger than max is refused
// with ErrFrameTooBig before anything is allocated for it.
func (p *Peer) ReadFrameMore(buf []byte, max uint64) (body []byte, command, more bool, err error) {
	flags, err := p.r.ReadByte()
	if err != nil {
		return nil, false, false, err
	}
	var size uint64
	if flags&FlagLong != 0 {
		if _, err := io.ReadFull(p.r, p.size[:]); err != nil {
			return nil, false, false, err
		}
		size = binary.BigEndian.Uint64(p.size[:])
	} else {
		s, err := p.r.ReadByte()
		if err != nil {
			return nil, false, false, err
		}
		size = uint64(s)
	}
	if size > max {
		return nil, false, false, ErrFrameTooBig
	}
	if buf == nil || uint64(cap(buf)) < size {
		buf = make([]byte, size)
	}
	buf = buf[:size]
	if _, err := io.ReadFull(p.r, buf); err != nil {
		return nil, false, false, err
	}
	return buf, flags&FlagCommand != 0, flags&FlagMore != 0, nil
}

// Recv reads one message (all its frames, each of at most max bytes, each
// in a new slice), skipping ZMTP commands.
func (p *Peer) Recv(max uint64) ([][]byte, error) {
	var frames [][]byte
	for {
		body, cmd, more, err := p.ReadFrameMore(nil, max)
		if err != nil {
			return nil, err
		}
		if cmd {
			continue
		}
		frames = append(frames, body)
		if !more {
			return frames, nil
		}
	}
}

// Send writes one message with the given frames in a single write.
func (p *Peer) Send(frames ...[]byte) error {
	var buf []byte
	for i, f := range frames {
		buf = AppendFrame(buf, f, i < len(frames)-1, false)
	}
	_, err := p.conn.Write(buf)
	return err
}
