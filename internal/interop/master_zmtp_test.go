package interop

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"time"
)

// zmtpPeer is a hand-rolled ZMTP 3.0 DEALER over a raw TCP connection, so
// that tests control every byte, the socket buffers and when (or whether)
// the peer reads: the rogue, huge-frame and slow-peer tests need all three.
type zmtpPeer struct {
	conn net.Conn
	r    *bufio.Reader
	id   string
}

// testNodeID returns a node id in Locust's <host>_<32 hex> form.
func testNodeID(host string) string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return host + "_" + hex.EncodeToString(b[:])
}

func zmtpGreeting() []byte {
	g := make([]byte, 64)
	g[0], g[9] = 0xff, 0x7f
	g[10], g[11] = 3, 0 // ZMTP 3.0
	copy(g[12:32], "NULL")
	return g // as-server 0, filler zeros
}

// appendZMTPFrame appends one ZMTP frame (header and body).
func appendZMTPFrame(dst, body []byte, more, command bool) []byte {
	var flags byte
	if more {
		flags |= 0x01
	}
	if command {
		flags |= 0x04
	}
	if len(body) > 255 {
		dst = append(dst, flags|0x02)
		dst = binary.BigEndian.AppendUint64(dst, uint64(len(body)))
	} else {
		dst = append(dst, flags, byte(len(body)))
	}
	return append(dst, body...)
}

func zmtpReady(identity string) []byte {
	body := []byte("\x05READY")
	prop := func(k, v string) {
		body = append(body, byte(len(k)))
		body = append(body, k...)
		body = binary.BigEndian.AppendUint32(body, uint32(len(v)))
		body = append(body, v...)
	}
	prop("Socket-Type", "DEALER")
	prop("Identity", identity)
	return appendZMTPFrame(nil, body, false, true)
}

// dialZMTP connects to addr and completes the ZMTP handshake as a DEALER
// with the given identity. rcvbuf > 0 sets SO_RCVBUF before connecting.
func dialZMTP(addr, identity string, rcvbuf int, timeout time.Duration) (*zmtpPeer, error) {
	d := net.Dialer{Timeout: timeout}
	if rcvbuf > 0 {
		d.Control = func(_, _ string, c syscall.RawConn) error {
			var serr error
			if err := c.Control(func(fd uintptr) {
				serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, rcvbuf)
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
	p := &zmtpPeer{conn: conn, r: bufio.NewReaderSize(conn, 64<<10), id: identity}
	_ = conn.SetDeadline(time.Now().Add(timeout))
	if _, err := conn.Write(append(zmtpGreeting(), zmtpReady(identity)...)); err != nil {
		conn.Close()
		return nil, fmt.Errorf("zmtp: send greeting: %w", err)
	}
	g := make([]byte, 64)
	if _, err := io.ReadFull(p.r, g); err != nil {
		conn.Close()
		return nil, fmt.Errorf("zmtp: read greeting: %w", err)
	}
	if g[0] != 0xff || g[9] != 0x7f || g[10] < 3 || !bytes.HasPrefix(g[12:32], []byte("NULL")) {
		conn.Close()
		return nil, fmt.Errorf("zmtp: unexpected greeting % x", g)
	}
	cmd, isCmd, err := p.readFrame(1 << 16)
	if err != nil || !isCmd {
		conn.Close()
		return nil, fmt.Errorf("zmtp: read READY (command %v): %w", isCmd, err)
	}
	if !bytes.HasPrefix(cmd, []byte("\x05READY")) {
		conn.Close()
		return nil, fmt.Errorf("zmtp: handshake refused: %q", cmd)
	}
	_ = conn.SetDeadline(time.Time{})
	return p, nil
}

var errFrameTooBig = errors.New("zmtp: frame larger than the test allows")

// readFrame reads one frame; more frames of the same message follow when the
// MORE flag was set, which readFrame folds into the returned body only for
// commands (they are single-frame).
func (p *zmtpPeer) readFrame(max uint64) (body []byte, command bool, err error) {
	body, command, _, err = p.readFrameMore(max)
	return body, command, err
}

func (p *zmtpPeer) readFrameMore(max uint64) (body []byte, command, more bool, err error) {
	flags, err := p.r.ReadByte()
	if err != nil {
		return nil, false, false, err
	}
	var size uint64
	if flags&0x02 != 0 {
		var b [8]byte
		if _, err := io.ReadFull(p.r, b[:]); err != nil {
			return nil, false, false, err
		}
		size = binary.BigEndian.Uint64(b[:])
	} else {
		s, err := p.r.ReadByte()
		if err != nil {
			return nil, false, false, err
		}
		size = uint64(s)
	}
	if size > max {
		return nil, false, false, errFrameTooBig
	}
	body = make([]byte, size)
	if _, err := io.ReadFull(p.r, body); err != nil {
		return nil, false, false, err
	}
	return body, flags&0x04 != 0, flags&0x01 != 0, nil
}

// recv reads one message (all its frames), skipping ZMTP commands.
func (p *zmtpPeer) recv() ([][]byte, error) {
	var frames [][]byte
	for {
		body, cmd, more, err := p.readFrameMore(16 << 20)
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

// send writes one message with the given frames in a single write.
func (p *zmtpPeer) send(frames ...[]byte) error {
	var buf []byte
	for i, f := range frames {
		buf = appendZMTPFrame(buf, f, i < len(frames)-1, false)
	}
	_, err := p.conn.Write(buf)
	return err
}

func (p *zmtpPeer) Close() error { return p.conn.Close() }

// isClosedErr reports errors that mean the other side closed or reset the
// connection.
func isClosedErr(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, net.ErrClosed) || errors.Is(err, io.ErrUnexpectedEOF)
}

func isTimeout(err error) bool { return errors.Is(err, os.ErrDeadlineExceeded) }
