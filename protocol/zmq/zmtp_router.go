package zmq

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"math/rand/v2"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// The native ZMTP 3.0 ROUTER behind ListenRouter: doc.go describes its
// wire format, its guarantees and how it serves connections.

const (
	zmtpReadBuffer     = 4 << 10   // per-connection bufio.Reader (handshake; the path without the poller)
	zmtpQueueMsgs      = 1024      // messages queued for one peer before it is dropped
	zmtpQueueBytes     = 256 << 20 // bytes queued for one peer before it is dropped (a single larger message passes)
	zmtpKeepWriteBuf   = 1 << 20   // a writer buffer that grew past this is released after use
	zmtpInboundBacklog = 1024
)

// violation says why the ROUTER closed a connection (Recv reports it as a
// *BadFrame with an empty Peer).
type violation struct {
	remote string // the peer's TCP address (and identity, once known)
	reason string
}

var (
	zmtpSignature = [10]byte{0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0x7f}
	errZMTPClosed = errors.New("zmq: connection closed")
)

// zmtpGreeting is the 64-byte ZMTP 3.0 NULL greeting of a client (as-server 0).
var zmtpGreeting = func() [zmtpGreetingLen]byte {
	var g [zmtpGreetingLen]byte
	copy(g[:], zmtpSignature[:])
	g[10], g[11] = 3, 0
	copy(g[12:32], "NULL")
	return g
}()

// zmtpReady is the READY command a ROUTER sends.
var zmtpReady = appendZMTPCommand(nil, "READY", appendZMTPProperty(appendZMTPProperty(nil, "Socket-Type", "ROUTER"), "Identity", ""))

func appendZMTPProperty(b []byte, k, v string) []byte {
	b = append(b, byte(len(k)))
	b = append(b, k...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(v)))
	return append(b, v...)
}

func appendZMTPCommand(b []byte, name string, data []byte) []byte {
	n := 1 + len(name) + len(data)
	b = appendZMTPHeader(b, flagCommand, n)
	b = append(b, byte(len(name)))
	b = append(b, name...)
	return append(b, data...)
}

func appendZMTPHeader(b []byte, flags byte, n int) []byte {
	if n < 256 {
		return append(b, flags, byte(n))
	}
	b = append(b, flags|flagLong)
	return binary.BigEndian.AppendUint64(b, uint64(n))
}

// zmtpMsg is one parsed message: the body of its first frame, its frame
// count, and whether it is a command.
type zmtpMsg struct {
	body    []byte
	nframes int
	cmd     bool
}

// Received bodies up to zmtpMaxPooledBody bytes come from free lists, one
// per power-of-two capacity, which ReleasePayload refills: a master that
// receives a report and a heartbeat per worker and second need not
// allocate them.
const (
	zmtpMinPooledBody = 512
	zmtpMaxPooledBody = 64 << 10
	zmtpPooledBodies  = 64 // kept per capacity
)

var zmtpBodies = func() (lists [8]chan []byte) { // 512 B .. 64 KiB
	for i := range lists {
		lists[i] = make(chan []byte, zmtpPooledBodies)
	}
	return lists
}()

// bodyClass returns the free list for a capacity, or -1.
func bodyClass(c uint64) int {
	if c < zmtpMinPooledBody || c > zmtpMaxPooledBody || c&(c-1) != 0 {
		return -1
	}
	return bits.Len64(c) - bits.Len64(zmtpMinPooledBody)
}

// newBody returns a slice of size bytes (its contents are overwritten by
// the caller) from the free lists when its class has one.
func newBody(size uint64) []byte {
	if size > zmtpMaxPooledBody {
		return make([]byte, size)
	}
	c := uint64(zmtpMinPooledBody)
	for c < size {
		c <<= 1
	}
	select {
	case b := <-zmtpBodies[bodyClass(c)]:
		return b[:size]
	default:
		return make([]byte, size, c)
	}
}

// releaseBody puts a body back on its free list (if it came from one and
// the list has room).
func releaseBody(b []byte) {
	if i := bodyClass(uint64(cap(b))); i >= 0 {
		select {
		case zmtpBodies[i] <- b[:0]:
		default:
		}
	}
}

// parseZMTPCommand splits a command body into its name and data.
func parseZMTPCommand(b []byte) (name string, data []byte, err error) {
	if len(b) == 0 || int(b[0]) > len(b)-1 {
		return "", nil, fmt.Errorf("%w: malformed command", ErrBadFraming)
	}
	return string(b[1 : 1+b[0]]), b[1+b[0]:], nil
}

// parseZMTPProperties decodes READY metadata.
func parseZMTPProperties(b []byte, fn func(k string, v []byte)) error {
	for len(b) > 0 {
		kl := int(b[0])
		if len(b) < 1+kl+4 {
			return fmt.Errorf("%w: malformed property", ErrBadFraming)
		}
		k := string(b[1 : 1+kl])
		vl := binary.BigEndian.Uint32(b[1+kl:])
		b = b[1+kl+4:]
		if uint64(vl) > uint64(len(b)) {
			return fmt.Errorf("%w: malformed property %q", ErrBadFraming, k)
		}
		fn(k, b[:vl])
		b = b[vl:]
	}
	return nil
}

// zmtpRouter is the native ROUTER transport.
type zmtpRouter struct {
	cfg  zmqConfig
	ln   net.Listener
	in   chan recvResult
	viol chan violation
	done chan struct{}
	wg   sync.WaitGroup
	once sync.Once
	seq  atomic.Uint32 // generated identities

	mu     sync.RWMutex
	closed bool
	peers  map[string]*zmtpConn   // identity → connection (handshake done)
	conns  map[*zmtpConn]struct{} // every open connection

	poller *zmtpPoller // Linux: serves every handshaken connection (nil: a goroutine pair per connection)
	epoch  time.Time   // origin of the connections' blockedAt clock
}

// clock is the time since r's start on the monotonic clock, never 0.
func (r *zmtpRouter) clock() int64 { return int64(time.Since(r.epoch)) + 1 }

var _ Transport = (*zmtpRouter)(nil)

type zmtpConn struct {
	r      *zmtpRouter
	nc     net.Conn
	rc     syscall.RawConn // after the handshake, for raw reads and writes (nil: use nc)
	remote string
	id     string
	wake   chan struct{}
	dead   chan struct{}
	once   sync.Once

	mu      sync.Mutex
	closed  bool
	pending []byte // framed messages waiting for the writer (or, polled, for room)
	nmsgs   int

	// Polled connections (Linux): the socket's own descriptor, outside the
	// runtime's poller; -1 before the handshake or without the poller.
	fd        int
	fdOnce    sync.Once
	parser    zmtpParser
	emit      func(zmtpMsg) bool
	dirty     bool         // pending waits for the next flush
	blockedAt atomic.Int64 // r.clock() when a write last found the socket full (or last made progress); 0: not waiting for EPOLLOUT
}

func listenZMTPRouter(addr string, cfg zmqConfig) (*zmtpRouter, error) {
	if host, port, err := net.SplitHostPort(addr); err == nil && host == "*" {
		addr = net.JoinHostPort("", port)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	if cfg.maxFrame <= 0 {
		cfg.maxFrame = DefaultMaxFrameSize
	}
	if cfg.handshakeTimeout <= 0 {
		cfg.handshakeTimeout = DefaultHandshakeTimeout
	}
	r := &zmtpRouter{cfg: cfg, ln: ln, in: make(chan recvResult, zmtpInboundBacklog), viol: make(chan violation, 64),
		done: make(chan struct{}), peers: map[string]*zmtpConn{}, conns: map[*zmtpConn]struct{}{}, epoch: time.Now()}
	r.seq.Store(rand.Uint32())
	if havePoller && cfg.batchInterval >= 0 {
		iv := cfg.batchInterval
		if iv == 0 {
			iv = zmtpBatchInterval
		}
		p, err := newZMTPPoller(r, iv)
		if err != nil {
			ln.Close()
			return nil, err
		}
		r.poller = p
		r.wg.Add(1)
		go p.run()
	}
	r.wg.Add(1)
	go r.acceptLoop()
	return r, nil
}

func (r *zmtpRouter) addr() string { return r.ln.Addr().String() }

func (r *zmtpRouter) acceptLoop() {
	defer r.wg.Done()
	for {
		nc, err := r.ln.Accept()
		if err != nil {
			select {
			case <-r.done:
				return
			default:
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			r.cfg.logger.Printf("zmq: accept: %v", err)
			select { // e.g. EMFILE: do not spin
			case <-time.After(10 * time.Millisecond):
			case <-r.done:
				return
			}
			continue
		}
		c := &zmtpConn{r: r, nc: nc, remote: nc.RemoteAddr().String(), wake: make(chan struct{}, 1), dead: make(chan struct{}), fd: -1}
		c.parser.max = uint64(r.cfg.maxFrame)
		r.mu.Lock()
		if r.closed {
			r.mu.Unlock()
			nc.Close()
			return
		}
		r.conns[c] = struct{}{}
		r.wg.Add(1)
		r.mu.Unlock()
		go c.serve()
	}
}

func (r *zmtpRouter) violation(c *zmtpConn, reason string) {
	who := c.remote
	if c.id != "" {
		who += fmt.Sprintf(" (identity %q)", c.id)
	}
	r.cfg.logger.Printf("zmq: closing connection from %s: %s", who, reason)
	select {
	case r.viol <- violation{remote: who, reason: reason}:
	default: // flooded with bad peers: drop the report
	}
}

// serve runs the handshake and then the read loop of one connection.
func (c *zmtpConn) serve() {
	r := c.r
	defer r.wg.Done()
	cr := &connReader{c: c}
	br := bufio.NewReaderSize(cr, zmtpReadBuffer)
	zr := &zmtpReader{br: br, max: uint64(r.cfg.maxFrame)}
	if err := c.handshake(zr); err != nil {
		c.close(err.Error(), reportHandshake(err))
		return
	}
	if p := r.poller; p != nil {
		if err := p.takeFD(c); err != nil {
			c.close(err.Error(), false)
			return
		}
	}
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		c.close("router closed", false)
		return
	}
	old := r.peers[c.id]
	r.peers[c.id] = c
	if r.poller == nil {
		r.wg.Add(1) // the writer
	}
	r.mu.Unlock()
	if old != nil {
		r.cfg.logger.Printf("zmq: identity %q reconnected from %s; closing its connection from %s", c.id, c.remote, old.remote)
		old.close("replaced by a newer connection with the same identity", false)
	}
	if p := r.poller; p != nil {
		leftover, _ := br.Peek(br.Buffered())
		p.adopt(c, leftover)
		return
	}
	if sc, ok := c.nc.(syscall.Conn); ok && haveRawIO {
		if rc, err := sc.SyscallConn(); err == nil {
			c.rc, cr.raw = rc, true // before the writer starts
		}
	}
	go c.writeLoop()
	for {
		m, err := zr.next()
		if err != nil {
			c.close(err.Error(), errors.Is(err, ErrFrameTooLarge) || errors.Is(err, ErrBadFraming))
			return
		}
		if !c.dispatch(m) {
			return
		}
	}
}

// dispatch handles one received message and hands what is for Recv over
// at once. It returns false once the connection is closed.
func (c *zmtpConn) dispatch(m zmtpMsg) bool {
	res, deliver, alive := c.interpret(m)
	if !deliver {
		return alive
	}
	select {
	case c.r.in <- res:
		return true
	case <-c.r.done:
		c.close("router closed", false)
		return false
	}
}

// interpret handles one received message: a command is answered or acted
// on here; anything else becomes a result for Recv (deliver). alive is
// false once the connection is closed.
func (c *zmtpConn) interpret(m zmtpMsg) (res recvResult, deliver, alive bool) {
	switch {
	case m.cmd:
		name, data, err := parseZMTPCommand(m.body)
		defer releaseBody(m.body)
		if err != nil {
			c.close(err.Error(), true)
			return res, false, false
		}
		switch name {
		case "PING":
			// PING: TTL (2 bytes) then a context echoed by PONG.
			if len(data) >= 2 {
				c.enqueue(flagCommand, append([]byte("\x04PONG"), data[2:]...))
			}
		case "ERROR":
			c.close("peer sent ERROR", false)
			return res, false, false
		}
		return res, false, true
	case m.nframes != 1:
		releaseBody(m.body)
		res.err = &BadFrame{Peer: c.id, Reason: fmt.Sprintf("%d frames, want 1", m.nframes)}
	default:
		res.f = Frame{Peer: c.id, Payload: m.body}
	}
	return res, true, true
}

type handshakeError struct {
	reason string
	report bool
}

func (e *handshakeError) Error() string { return e.reason }

func reportHandshake(err error) bool {
	var he *handshakeError
	if errors.As(err, &he) {
		return he.report
	}
	return errors.Is(err, ErrFrameTooLarge) || errors.Is(err, ErrBadFraming)
}

// handshake exchanges greetings and READY commands and sets c.id.
func (c *zmtpConn) handshake(zr *zmtpReader) error {
	ht := c.r.cfg.handshakeTimeout
	_ = c.nc.SetDeadline(time.Now().Add(ht))
	timeout := func(err error) error {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return &handshakeError{reason: "no ZMTP handshake within " + ht.String(), report: true}
		}
		return err
	}
	if _, err := c.nc.Write(zmtpGreeting[:]); err != nil {
		return timeout(err)
	}
	var g [zmtpGreetingLen]byte
	if _, err := io.ReadFull(zr.br, g[:zmtpSignatureLen]); err != nil {
		return timeout(err)
	}
	if g[0] != 0xff || g[9]&1 != 1 {
		return &handshakeError{reason: "not a ZMTP 3 peer (bad signature)", report: true}
	}
	if _, err := io.ReadFull(zr.br, g[zmtpSignatureLen:]); err != nil {
		return timeout(err)
	}
	if g[10] < 3 {
		return &handshakeError{reason: fmt.Sprintf("ZMTP %d.%d peer, want 3.x", g[10], g[11]), report: true}
	}
	if mech := strings.TrimRight(string(g[12:32]), "\x00"); mech != "NULL" {
		return &handshakeError{reason: fmt.Sprintf("security mechanism %q, want NULL", mech), report: true}
	}
	if _, err := c.nc.Write(zmtpReady); err != nil {
		return timeout(err)
	}
	// The peer's READY is bounded by the frame limit like any frame.
	m, err := zr.next()
	if err != nil {
		return timeout(err)
	}
	if !m.cmd {
		return &handshakeError{reason: "expected a READY command", report: true}
	}
	name, data, err := parseZMTPCommand(m.body)
	if err != nil {
		return err
	}
	if name != "READY" {
		return &handshakeError{reason: fmt.Sprintf("expected READY, got %q", name), report: name != "ERROR"}
	}
	var sockType string
	var id []byte
	if err := parseZMTPProperties(data, func(k string, v []byte) {
		switch {
		case strings.EqualFold(k, "Socket-Type"):
			sockType = string(v)
		case strings.EqualFold(k, "Identity"):
			id = v
		}
	}); err != nil {
		return err
	}
	if sockType != "DEALER" {
		return &handshakeError{reason: fmt.Sprintf("socket type %q cannot talk to a ROUTER here (want DEALER)", sockType), report: true}
	}
	if len(id) == 0 {
		id = binary.BigEndian.AppendUint32([]byte{0}, c.r.seq.Add(1))
	}
	c.id = string(id)
	_ = c.nc.SetDeadline(time.Time{})
	return nil
}

// enqueue frames p for the writer. It never blocks; a full queue drops the
// peer.
func (c *zmtpConn) enqueue(flags byte, p []byte) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	if c.nmsgs >= zmtpQueueMsgs || (c.nmsgs > 0 && len(c.pending)+len(p) > zmtpQueueBytes) {
		n := c.nmsgs
		c.mu.Unlock()
		c.close(fmt.Sprintf("peer is not reading: %d messages queued", n), true)
		return
	}
	if c.fd >= 0 {
		if c.stalled() {
			c.mu.Unlock()
			c.closeStalled()
			return
		}
		ring := c.sendPolled(c.r.poller, flags, p)
		c.mu.Unlock()
		if ring {
			c.r.poller.ring()
		}
		return
	}
	c.pending = appendZMTPHeader(c.pending, flags, len(p))
	c.pending = append(c.pending, p...)
	c.nmsgs++
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// waitingOut reports whether c's queue waits for EPOLLOUT.
func (c *zmtpConn) waitingOut() bool { return c.blockedAt.Load() != 0 }

// stalled reports whether c's queued writes have waited for room longer
// than the write timeout.
func (c *zmtpConn) stalled() bool {
	wt := c.r.cfg.writeTimeout
	at := c.blockedAt.Load()
	return wt > 0 && at != 0 && time.Duration(c.r.clock()-at) > wt
}

// closeStalled drops a peer that did not take its messages within the
// write timeout, and reports it.
func (c *zmtpConn) closeStalled() {
	c.close(fmt.Sprintf("peer did not read for %v; closing its connection", c.r.cfg.writeTimeout), true)
}

func (c *zmtpConn) writeLoop() {
	defer c.r.wg.Done()
	wt := c.r.cfg.writeTimeout
	var buf []byte
	for {
		select {
		case <-c.wake:
		case <-c.dead:
			return
		}
		c.mu.Lock()
		buf, c.pending = c.pending, buf[:0]
		c.nmsgs = 0
		c.mu.Unlock()
		if len(buf) == 0 {
			continue
		}
		if err := c.write(buf, wt); err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				c.closeStalled()
			} else {
				c.close("write: "+err.Error(), false)
			}
			return
		}
		if cap(buf) > zmtpKeepWriteBuf {
			buf = nil
		}
	}
}

// connReader reads a connection: through the net.Conn during the
// handshake (which has a deadline), then with raw reads.
type connReader struct {
	c   *zmtpConn
	raw bool
}

func (cr *connReader) Read(p []byte) (int, error) {
	if !cr.raw {
		return cr.c.nc.Read(p)
	}
	var n int
	var errno syscall.Errno
	err := cr.c.rc.Read(func(fd uintptr) bool {
		for {
			n, errno = rawRead(fd, p)
			if errno != syscall.EINTR {
				return errno != syscall.EAGAIN // EAGAIN: wait until readable
			}
		}
	})
	switch {
	case err != nil:
		return 0, err
	case errno != 0:
		return 0, os.NewSyscallError("read", errno)
	case n == 0 && len(p) > 0:
		return 0, io.EOF
	}
	return n, nil
}

// write writes buf to the peer. A peer that does not take it all within
// wt is an error wrapping os.ErrDeadlineExceeded. The deadline is only
// armed when the socket is full: the usual write costs no timer.
func (c *zmtpConn) write(buf []byte, wt time.Duration) error {
	if c.rc == nil {
		if wt > 0 {
			_ = c.nc.SetWriteDeadline(time.Now().Add(wt))
		}
		_, err := c.nc.Write(buf)
		return err
	}
	n, err := c.rawWrite(buf, false)
	if err != nil || n == len(buf) {
		return err
	}
	if wt > 0 {
		_ = c.nc.SetWriteDeadline(time.Now().Add(wt))
		defer func() { _ = c.nc.SetWriteDeadline(time.Time{}) }()
	}
	_, err = c.rawWrite(buf[n:], true)
	return err
}

// rawWrite writes buf with raw writes; when the socket is full it waits
// for room (honouring the write deadline) if wait is set, and otherwise
// returns what it wrote.
func (c *zmtpConn) rawWrite(buf []byte, wait bool) (int, error) {
	var done int
	var errno syscall.Errno
	err := c.rc.Write(func(fd uintptr) bool {
		for done < len(buf) {
			n, e := rawWrite(fd, buf[done:])
			switch e {
			case 0:
				done += n
			case syscall.EINTR:
			case syscall.EAGAIN:
				return !wait
			default:
				errno = e
				return true
			}
		}
		return true
	})
	if err == nil && errno != 0 {
		err = os.NewSyscallError("write", errno)
	}
	return done, err
}

// close ends the connection once and forgets it.
func (c *zmtpConn) close(reason string, report bool) {
	c.once.Do(func() {
		c.mu.Lock()
		c.closed = true
		c.pending = nil
		fd := c.fd
		c.mu.Unlock()
		close(c.dead)
		if fd >= 0 {
			c.r.poller.forget(c)
		} else {
			c.nc.Close()
		}
		r := c.r
		r.mu.Lock()
		if c.id != "" && r.peers[c.id] == c {
			delete(r.peers, c.id)
		}
		delete(r.conns, c)
		r.mu.Unlock()
		if report {
			r.violation(c, reason)
		}
	})
}

// Recv returns the next frame, a *BadFrame for a malformed message or a
// connection closed for misbehaving, or ErrClosed after Close.
func (r *zmtpRouter) Recv(ctx context.Context) (Frame, error) {
	select {
	case <-r.done: // after Close, even with messages still buffered
		return Frame{}, ErrClosed
	default:
	}
	select {
	case res := <-r.in:
		return res.f, res.err
	case v := <-r.viol:
		return Frame{}, &BadFrame{Reason: "connection from " + v.remote + " closed: " + v.reason}
	case <-ctx.Done():
		return Frame{}, ctx.Err()
	case <-r.done:
		return Frame{}, ErrClosed
	}
}

// Send queues f.Payload for the peer f.Peer and returns at once; the
// payload is copied, so the caller may reuse it. A frame for an unknown (or
// dropped) peer is discarded silently, as with libzmq.
func (r *zmtpRouter) Send(ctx context.Context, f Frame) error {
	select {
	case <-r.done:
		return ErrClosed
	default:
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	r.mu.RLock()
	c := r.peers[f.Peer]
	r.mu.RUnlock()
	if c != nil {
		c.enqueue(0, f.Payload)
	}
	return nil
}

// ReleasePayload hands the payload of a frame that r's Recv returned back
// to the transport, which may reuse its memory for a later frame. The
// caller must hold no reference into it any more (decoded strings are
// copies; Decoder payloads do not point into the frame).
func (r *Router) ReleasePayload(p []byte) { releaseBody(p) }

// Flush writes what Send queued. The native ROUTER on Linux holds sent
// frames until Flush, or at the latest its poller's next round (within the
// batch interval), so that a caller replying to a batch of received frames
// writes the replies in one burst; a caller that sends in reply to what
// Recv returned calls Flush once it has nothing more to handle. Without the
// poller (other systems, or a negative batch interval) the writer
// goroutines write at Send, and Flush does nothing.
func (r *Router) Flush() {
	if r.poller != nil {
		r.poller.flushDirty(false)
	}
}

// SendNeverBlocks reports that r's Send returns without waiting for any
// peer, so that a caller may send from a loop that must not stall. It is
// the capability the master looks for (an in-memory router lacks it).
func (r *Router) SendNeverBlocks() bool { return true }

// Close closes the listener and every connection, and waits for all the
// router's goroutines.
func (r *zmtpRouter) Close() error {
	var err error
	r.once.Do(func() {
		if r.poller != nil {
			r.poller.flushDirty(true) // what was sent before Close leaves, as with the writer goroutines
		}
		close(r.done)
		if r.poller != nil {
			r.poller.ring()
		}
		err = r.ln.Close()
		r.mu.Lock()
		r.closed = true
		conns := make([]*zmtpConn, 0, len(r.conns))
		for c := range r.conns {
			conns = append(conns, c)
		}
		r.mu.Unlock()
		for _, c := range conns {
			c.close("router closed", false)
		}
		r.wg.Wait()
	})
	return err
}
