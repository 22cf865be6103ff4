// Package fanin is the master fan-in benchmark (issue 5, goal 3): a
// simulator of N Locust workers over real ZeroMQ connections (a minimal
// hand-written ZMTP 3.0 NULL DEALER per worker), a probe that times the
// master's replies, and the measurement of the master's CPU over a window.
// cmd/faninsim runs it against a master process; cmd/faninprof runs it
// against master.New in the same process and takes a CPU profile.
package fanin

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"time"
)

// dealer is one worker's ZMTP 3.0 DEALER connection (NULL security). A
// DEALER sends exactly one frame per message (no delimiter); the ROUTER's
// replies arrive as one frame too.
type dealer struct {
	conn net.Conn
	r    *bufio.Reader
}

func zmtpGreeting() []byte {
	g := make([]byte, 64)
	g[0], g[9] = 0xff, 0x7f
	g[10], g[11] = 3, 0 // ZMTP 3.0
	copy(g[12:32], "NULL")
	return g // as-server 0, filler zeros
}

// frameHeader appends the header of one final (no MORE) message frame.
func frameHeader(dst []byte, size int, command bool) []byte {
	var flags byte
	if command {
		flags |= 0x04
	}
	if size > 255 {
		dst = append(dst, flags|0x02)
		return binary.BigEndian.AppendUint64(dst, uint64(size))
	}
	return append(dst, flags, byte(size))
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
	return append(frameHeader(nil, len(body), true), body...)
}

// dialDealer connects to addr and completes the ZMTP handshake as a DEALER
// with the given identity.
func dialDealer(addr, identity string, timeout time.Duration) (*dealer, error) {
	conn, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return nil, err
	}
	d := &dealer{conn: conn, r: bufio.NewReaderSize(conn, 4096)}
	_ = conn.SetDeadline(time.Now().Add(timeout))
	if _, err := conn.Write(append(zmtpGreeting(), zmtpReady(identity)...)); err != nil {
		conn.Close()
		return nil, fmt.Errorf("zmtp: send greeting: %w", err)
	}
	g := make([]byte, 64)
	if _, err := io.ReadFull(d.r, g); err != nil {
		conn.Close()
		return nil, fmt.Errorf("zmtp: read greeting: %w", err)
	}
	if g[0] != 0xff || g[9] != 0x7f || g[10] < 3 || !bytes.HasPrefix(g[12:32], []byte("NULL")) {
		conn.Close()
		return nil, fmt.Errorf("zmtp: unexpected greeting % x", g[:16])
	}
	body, cmd, err := d.readFrame(nil)
	if err != nil || !cmd || !bytes.HasPrefix(body, []byte("\x05READY")) {
		conn.Close()
		return nil, fmt.Errorf("zmtp: no READY from the master (command %v): %v", cmd, err)
	}
	_ = conn.SetDeadline(time.Time{})
	return d, nil
}

var errFrameTooBig = errors.New("zmtp: frame from the master larger than 1 MiB")

// readFrame reads one frame into buf (reused when large enough).
func (d *dealer) readFrame(buf []byte) (body []byte, command bool, err error) {
	flags, err := d.r.ReadByte()
	if err != nil {
		return nil, false, err
	}
	var size uint64
	if flags&0x02 != 0 {
		var b [8]byte
		if _, err := io.ReadFull(d.r, b[:]); err != nil {
			return nil, false, err
		}
		size = binary.BigEndian.Uint64(b[:])
	} else {
		s, err := d.r.ReadByte()
		if err != nil {
			return nil, false, err
		}
		size = uint64(s)
	}
	if size > 1<<20 {
		return nil, false, errFrameTooBig
	}
	if uint64(cap(buf)) < size {
		buf = make([]byte, size)
	}
	buf = buf[:size]
	if _, err := io.ReadFull(d.r, buf); err != nil {
		return nil, false, err
	}
	return buf, flags&0x04 != 0, nil
}
