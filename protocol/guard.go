package protocol

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-zeromq/zmq4"
	"github.com/go-zeromq/zmq4/transport"
)

// The guarded TCP transport protects a ROUTER from its peers, below
// go-zeromq (style.md section 5, pitfalls 3 and 10):
//
//   - Reads are parsed as ZMTP 3 framing (a 64-byte greeting, then frames of
//     flags, a 1- or 8-byte size and a body). A frame header claiming more
//     than the frame limit, or a multipart message whose frames add up to
//     more, closes the connection before go-zeromq sees the size, so
//     nothing is allocated for it. Reserved flag bits do the same.
//   - Every write has a deadline. go-zeromq's ROUTER holds one mutex across
//     all peers while it writes to one, so a peer that never reads would
//     stall the master's messages to everybody; instead the write fails
//     after the deadline and the connection is closed.
//   - go-zeromq runs the ZMTP handshake of each accepted connection in its
//     single accept goroutine. The guard hands it a connection only once
//     the peer sent its 10-byte ZMTP signature, and bounds the rest of the
//     handshake with a read deadline, so a silent TCP client cannot keep
//     other workers from connecting.
//
// Each ListenRouter registers its own scheme name with zmq4 (the registry
// is global and append-only), so limits are per listener.

// Defaults of the guarded ROUTER transport.
const (
	// DefaultWriteTimeout bounds one write to one peer of a ROUTER.
	DefaultWriteTimeout = 250 * time.Millisecond
	// DefaultHandshakeTimeout bounds a new connection's ZMTP handshake.
	DefaultHandshakeTimeout = 5 * time.Second
)

const (
	zmtpGreetingLen  = 64
	zmtpSignatureLen = 10
	flagMore         = 0x01
	flagLong         = 0x02
	flagCommand      = 0x04
)

// ErrFrameTooLarge is the read error of a guarded connection whose peer
// announced a frame (or multipart message) larger than the limit.
var ErrFrameTooLarge = errors.New("protocol: frame exceeds size limit")

// ErrBadFraming is the read error of a guarded connection whose peer sent
// a frame header with reserved flag bits set.
var ErrBadFraming = errors.New("protocol: invalid ZMTP frame header")

// Violation describes why the guard closed a connection.
type Violation struct {
	Remote string // the peer's TCP address
	Reason string
}

type guardConfig struct {
	maxFrame         int64 // 0: no limit
	writeTimeout     time.Duration
	handshakeTimeout time.Duration
	onViolation      func(Violation)
}

var guardSeq atomic.Int64

// registerGuard registers a guarded TCP transport and returns its scheme.
func registerGuard(cfg guardConfig) (string, error) {
	name := fmt.Sprintf("glocust-tcp%d", guardSeq.Add(1))
	if err := zmq4.RegisterTransport(name, &guardTransport{cfg: cfg}); err != nil {
		return "", fmt.Errorf("protocol: register transport: %w", err)
	}
	return name, nil
}

type guardTransport struct{ cfg guardConfig }

var _ transport.Transport = (*guardTransport)(nil)

var plainTCP = transport.New("tcp")

func (g *guardTransport) Dial(ctx context.Context, d transport.Dialer, addr string) (net.Conn, error) {
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	return newGuardConn(c, &g.cfg, nil), nil
}

func (g *guardTransport) Listen(ctx context.Context, addr string) (net.Listener, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	gl := &guardListener{Listener: l, cfg: &g.cfg, ready: make(chan net.Conn), done: make(chan struct{}),
		pending: map[net.Conn]struct{}{}}
	go gl.acceptLoop()
	return gl, nil
}

func (g *guardTransport) Addr(ep string) (string, error) { return plainTCP.Addr(ep) }

// guardListener accepts TCP connections in its own goroutine and passes
// them to go-zeromq once their ZMTP signature arrived.
type guardListener struct {
	net.Listener
	cfg   *guardConfig
	ready chan net.Conn
	done  chan struct{}
	once  sync.Once
	wg    sync.WaitGroup

	mu      sync.Mutex
	pending map[net.Conn]struct{} // connections still in preHandshake
}

func (l *guardListener) acceptLoop() {
	defer l.wg.Wait()
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			select {
			case <-l.done:
				return
			default:
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			time.Sleep(10 * time.Millisecond) // e.g. EMFILE: do not spin
			continue
		}
		l.mu.Lock()
		select {
		case <-l.done:
			l.mu.Unlock()
			c.Close()
			return
		default:
		}
		l.pending[c] = struct{}{}
		l.wg.Add(1)
		l.mu.Unlock()
		go l.preHandshake(c)
	}
}

// preHandshake waits for the peer's 10-byte signature with a deadline.
func (l *guardListener) preHandshake(c net.Conn) {
	defer func() {
		l.mu.Lock()
		delete(l.pending, c)
		l.mu.Unlock()
		l.wg.Done()
	}()
	ht := l.cfg.handshakeTimeout
	if ht <= 0 {
		ht = DefaultHandshakeTimeout
	}
	_ = c.SetReadDeadline(time.Now().Add(ht))
	sig := make([]byte, zmtpSignatureLen)
	if _, err := io.ReadFull(c, sig); err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			l.cfg.violation(c, "no ZMTP greeting within "+ht.String())
		}
		c.Close()
		return
	}
	if sig[0] != 0xff || sig[9] != 0x7f {
		l.cfg.violation(c, "not a ZMTP 3 peer (bad signature)")
		c.Close()
		return
	}
	gc := newGuardConn(c, l.cfg, sig) // keeps the handshake deadline
	select {
	case l.ready <- gc:
	case <-l.done:
		c.Close()
	}
}

func (l *guardListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ready:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *guardListener) Close() error {
	var err error
	l.once.Do(func() {
		l.mu.Lock()
		close(l.done)
		for c := range l.pending {
			c.Close()
		}
		l.mu.Unlock()
		err = l.Listener.Close()
	})
	return err
}

func (cfg *guardConfig) violation(c net.Conn, reason string) {
	if cfg.onViolation != nil {
		cfg.onViolation(Violation{Remote: c.RemoteAddr().String(), Reason: reason})
	}
}

// guardConn parses ZMTP framing on reads and bounds writes.
type guardConn struct {
	net.Conn
	cfg *guardConfig
	pre []byte // bytes read before go-zeromq got the connection

	// Read state; go-zeromq reads a connection from one goroutine at a time.
	greetLeft   int
	hdr         [9]byte
	hdrN        int
	hdrNeed     int
	bodyLeft    uint64
	msgTotal    uint64
	more, cmd   bool
	handshaking bool
	closeOnce   sync.Once
}

func newGuardConn(c net.Conn, cfg *guardConfig, pre []byte) *guardConn {
	g := &guardConn{Conn: c, cfg: cfg, greetLeft: zmtpGreetingLen, handshaking: pre != nil}
	if pre != nil {
		g.pre = pre
	}
	return g
}

func (c *guardConn) Read(p []byte) (int, error) {
	var n int
	var err error
	if len(c.pre) > 0 {
		n = copy(p, c.pre)
		c.pre = c.pre[n:]
	} else {
		n, err = c.Conn.Read(p)
	}
	if n > 0 {
		if verr := c.scan(p[:n]); verr != nil {
			c.cfg.violation(c.Conn, verr.Error())
			c.Close()
			return 0, verr
		}
	}
	return n, err
}

// scan advances the framing state over b and fails on a frame that must
// not be read.
func (c *guardConn) scan(b []byte) error {
	for i := 0; i < len(b); {
		switch {
		case c.greetLeft > 0:
			k := min(c.greetLeft, len(b)-i)
			c.greetLeft -= k
			i += k
		case c.bodyLeft > 0:
			k := min(c.bodyLeft, uint64(len(b)-i))
			c.bodyLeft -= k
			i += int(k)
			if c.bodyLeft == 0 {
				c.frameDone()
			}
		default:
			c.hdr[c.hdrN] = b[i]
			c.hdrN++
			i++
			if c.hdrN == 1 {
				if c.hdr[0]&^(flagMore|flagLong|flagCommand) != 0 {
					return fmt.Errorf("%w: flags %#02x", ErrBadFraming, c.hdr[0])
				}
				c.hdrNeed = 2
				if c.hdr[0]&flagLong != 0 {
					c.hdrNeed = 9
				}
			}
			if c.hdrN < c.hdrNeed {
				continue
			}
			var size uint64
			if c.hdrNeed == 2 {
				size = uint64(c.hdr[1])
			} else {
				size = binary.BigEndian.Uint64(c.hdr[1:9])
			}
			c.hdrN = 0
			c.more = c.hdr[0]&flagMore != 0
			c.cmd = c.hdr[0]&flagCommand != 0
			if max := c.cfg.maxFrame; max > 0 {
				if size > uint64(max) || c.msgTotal+size > uint64(max) {
					return fmt.Errorf("%w: frame of %d bytes (limit %d)", ErrFrameTooLarge, size, max)
				}
			}
			c.msgTotal += size
			c.bodyLeft = size
			if size == 0 {
				c.frameDone()
			}
		}
	}
	return nil
}

func (c *guardConn) frameDone() {
	if c.cmd && c.handshaking {
		// The peer's READY: the handshake is over, lift the deadline.
		c.handshaking = false
		_ = c.Conn.SetReadDeadline(time.Time{})
	}
	if !c.more {
		c.msgTotal = 0
	}
}

func (c *guardConn) Write(p []byte) (int, error) {
	if c.cfg.writeTimeout > 0 {
		_ = c.Conn.SetWriteDeadline(time.Now().Add(c.cfg.writeTimeout))
	}
	n, err := c.Conn.Write(p)
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			c.cfg.violation(c.Conn, fmt.Sprintf("peer did not read for %v; closing its connection", c.cfg.writeTimeout))
		}
		c.Close()
	}
	return n, err
}

func (c *guardConn) Close() error {
	var err error
	c.closeOnce.Do(func() { err = c.Conn.Close() })
	return err
}
