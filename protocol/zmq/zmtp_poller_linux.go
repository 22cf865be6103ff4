package zmq

import (
	"errors"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// The poller serves every handshaken connection of a native ROUTER from
// one goroutine and one epoll set of its own, outside the Go runtime's
// poller, and batches: after a round of work it sleeps for the batch
// interval and then takes everything that arrived meanwhile in one
// epoll_wait. A master with N workers receives about 1.3·N messages a
// second, evenly spread; waking for each one (a goroutine per connection
// parked in the runtime's poller) cost far more than the messages (on a VM,
// every wake-up from idle is a hypervisor exit). Batched, the master wakes
// at most once per interval however many workers it has, and its replies
// leave in one burst, which wakes each simulator or worker host once too.
//
// When a round finds nothing, the poller waits for the epoll set itself to
// become readable through the runtime's poller (a duplicate of its fd is
// registered for that wait only), so an idle router costs nothing and the
// first message after a quiet spell is served at once.
//
// Writes happen in Send's goroutine: a raw non-blocking write of the framed
// message. What the socket does not take waits in the connection's queue,
// and the poller writes it when epoll reports room; a queue older than the
// write timeout drops the peer. Only the poller closes descriptors, so a
// descriptor is never reused while a read or write may still use it.
const (
	havePoller         = true
	zmtpBatchInterval  = 50 * time.Millisecond
	zmtpPollEvents     = 256
	zmtpPollReadBuffer = 64 << 10
	zmtpReadsPerRound  = 16 // full buffers read from one connection per round (the rest waits for the next)
	zmtpWaitsPerRound  = 64 // epoll_waits per round while each returns zmtpPollEvents
)

type epollEvent struct {
	events uint32
	fd     int32
	pad    int32
}

func epollWait(epfd int, ev []epollEvent) (int, syscall.Errno) {
	for {
		n, _, e := syscall.RawSyscall6(syscall.SYS_EPOLL_PWAIT, uintptr(epfd), uintptr(unsafe.Pointer(&ev[0])), uintptr(len(ev)), 0, 0, 0)
		if e != syscall.EINTR {
			return int(n), e
		}
	}
}

func epollCtl(epfd, op, fd int, events uint32) error {
	ev := epollEvent{events: events, fd: int32(fd)}
	_, _, e := syscall.RawSyscall6(syscall.SYS_EPOLL_CTL, uintptr(epfd), uintptr(op), uintptr(fd), uintptr(unsafe.Pointer(&ev)), 0, 0)
	if e != 0 {
		return os.NewSyscallError("epoll_ctl", e)
	}
	return nil
}

const (
	evIn    = syscall.EPOLLIN | syscall.EPOLLRDHUP
	evInOut = evIn | syscall.EPOLLOUT
)

type zmtpPoller struct {
	r        *zmtpRouter
	epfd     int
	bell     int      // eventfd: rung by close and Close
	gate     int      // an epoll set in the runtime's poller; holds epfd while the poller is idle
	gateF    *os.File // gate, registered with the runtime's poller
	gateRC   syscall.RawConn
	interval time.Duration
	timer    *time.Timer

	mu      sync.Mutex
	byFD    map[int32]*zmtpConn // registered connections
	closing []*zmtpConn         // closed connections whose fd the poller still has to close
	blocked map[*zmtpConn]struct{}
	stopped bool

	fmu   sync.Mutex // held by a flush
	dmu   sync.Mutex
	dirty []*zmtpConn // connections with queued messages to write at the next flush
	spare []*zmtpConn
	idle  atomic.Bool // the poller waits for the epoll set (no round will flush)

	buf []byte
	ev  []epollEvent
	inq []recvResult // the round's results for Recv
}

func newZMTPPoller(r *zmtpRouter, interval time.Duration) (p *zmtpPoller, err error) {
	p = &zmtpPoller{r: r, epfd: -1, bell: -1, gate: -1, interval: interval, byFD: map[int32]*zmtpConn{},
		blocked: map[*zmtpConn]struct{}{}, buf: make([]byte, zmtpPollReadBuffer), ev: make([]epollEvent, zmtpPollEvents)}
	defer func() {
		if err != nil {
			p.closeFDs()
		}
	}()
	if p.epfd, err = syscall.EpollCreate1(syscall.EPOLL_CLOEXEC); err != nil {
		return nil, os.NewSyscallError("epoll_create1", err)
	}
	bell, _, e := syscall.RawSyscall(syscall.SYS_EVENTFD2, 0, syscall.O_CLOEXEC|syscall.O_NONBLOCK, 0)
	if e != 0 {
		return nil, os.NewSyscallError("eventfd2", e)
	}
	p.bell = int(bell)
	if err = epollCtl(p.epfd, syscall.EPOLL_CTL_ADD, p.bell, syscall.EPOLLIN); err != nil {
		return nil, err
	}
	if p.gate, err = syscall.EpollCreate1(syscall.EPOLL_CLOEXEC); err != nil {
		return nil, os.NewSyscallError("epoll_create1", err)
	}
	if err = syscall.SetNonblock(p.gate, true); err != nil {
		return nil, err
	}
	p.gateF = os.NewFile(uintptr(p.gate), "zmtp-epoll")
	if p.gateRC, err = p.gateF.SyscallConn(); err != nil {
		return nil, err
	}
	p.timer = time.NewTimer(time.Hour)
	p.timer.Stop()
	return p, nil
}

func (p *zmtpPoller) closeFDs() {
	if p.gateF != nil {
		p.gateF.Close()
	} else if p.gate >= 0 {
		syscall.Close(p.gate)
	}
	if p.epfd >= 0 {
		syscall.Close(p.epfd)
	}
	if p.bell >= 0 {
		syscall.Close(p.bell)
	}
}

// sleep waits for the round interval, or until the router closes.
func (p *zmtpPoller) sleep() {
	p.timer.Reset(p.interval)
	select {
	case <-p.timer.C:
	case <-p.r.done:
	}
}

func (p *zmtpPoller) ring() {
	one := [8]byte{1}
	syscall.RawSyscall(syscall.SYS_WRITE, uintptr(p.bell), uintptr(unsafe.Pointer(&one[0])), 8)
}

// takeFD moves a handshaken connection's socket out of the runtime's
// poller: its descriptor is duplicated (non-blocking, like the original)
// and the net.Conn closed.
func (p *zmtpPoller) takeFD(c *zmtpConn) error {
	sc, ok := c.nc.(syscall.Conn)
	if !ok {
		return errors.New("not a socket")
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return err
	}
	fd := -1
	var derr error
	if err := rc.Control(func(s uintptr) {
		n, _, e := syscall.RawSyscall(syscall.SYS_FCNTL, s, syscall.F_DUPFD_CLOEXEC, 0)
		if e != 0 {
			derr = os.NewSyscallError("fcntl", e)
			return
		}
		fd = int(n)
	}); err != nil {
		return err
	}
	if derr != nil {
		return derr
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		syscall.Close(fd)
		return errZMTPClosed
	}
	c.fd = fd
	c.mu.Unlock()
	c.nc.Close()
	return nil
}

// adopt parses the bytes the handshake had already buffered and adds the
// connection to the epoll set.
func (p *zmtpPoller) adopt(c *zmtpConn, leftover []byte) {
	c.emit = c.dispatch
	if len(leftover) > 0 && !c.consume(leftover) {
		return
	}
	// Registered under p.mu: a close that races with this finds the
	// connection registered (and the poller closes its fd after the ADD),
	// or is seen here (and its fd is already queued for closing).
	// c.mu is held too, so that a write which found the socket full
	// before the ADD (its MOD failed with ENOENT) is seen here.
	p.mu.Lock()
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		p.mu.Unlock()
		return
	}
	if p.stopped {
		c.mu.Unlock()
		p.mu.Unlock()
		c.close("router closed", false)
		return
	}
	c.emit = c.queue // from now on only the poller reads c
	events := uint32(evIn)
	if c.waitingOut() {
		events = evInOut
	}
	err := epollCtl(p.epfd, syscall.EPOLL_CTL_ADD, c.fd, events)
	c.mu.Unlock()
	if err == nil {
		p.byFD[int32(c.fd)] = c
	}
	p.mu.Unlock()
	if err != nil {
		c.close(err.Error(), false)
	}
}

// forget hands a closed connection's descriptor to the poller, which
// closes it at the start of its next round (at once if it has stopped).
func (p *zmtpPoller) forget(c *zmtpConn) {
	p.mu.Lock()
	if p.stopped {
		p.mu.Unlock()
		c.closeFD(p)
		return
	}
	if p.byFD[int32(c.fd)] == c {
		delete(p.byFD, int32(c.fd))
	}
	delete(p.blocked, c)
	p.closing = append(p.closing, c)
	p.mu.Unlock()
	p.ring()
}

// closeFD closes c's descriptor once. Only the poller calls it while it
// runs, so no read uses a descriptor after it is closed; writes check
// c.closed under c.mu first.
func (c *zmtpConn) closeFD(p *zmtpPoller) {
	c.fdOnce.Do(func() {
		_ = epollCtl(p.epfd, syscall.EPOLL_CTL_DEL, c.fd, 0)
		syscall.Close(c.fd)
	})
}

// consume parses b and delivers its messages. It returns false once the
// connection is closed.
func (c *zmtpConn) consume(b []byte) bool {
	if _, err := c.parser.feed(b, c.emit); err != nil {
		c.close(err.Error(), errors.Is(err, ErrFrameTooLarge) || errors.Is(err, ErrBadFraming))
		return false
	}
	select { // not c.mu: a sender may hold it while it copies a large message
	case <-c.dead:
		return false
	default:
		return true
	}
}

// run is the poller's loop, until the router closes.
func (p *zmtpPoller) run() {
	defer p.r.wg.Done()
	defer p.shutdown()
	for {
		select {
		case <-p.r.done:
			return
		default:
		}
		p.closeForgotten()
		retry := p.flushDirty(false)
		events, more := 0, false
		for range zmtpWaitsPerRound {
			n, errno := epollWait(p.epfd, p.ev)
			if errno != 0 {
				p.r.cfg.logger.Printf("zmq: epoll_wait: %v", errno)
				break
			}
			for i := 0; i < n; i++ {
				more = p.handle(p.ev[i]) || more
			}
			events += n
			if n < len(p.ev) {
				break
			}
		}
		if !p.deliver() {
			return
		}
		busy := p.checkBlocked() || retry
		switch {
		case events == 0 && !busy:
			if !p.waitReadable() {
				return
			}
		case more:
			// A connection had more than a round's reads: no pause.
		default:
			p.sleep()
		}
	}
}

// queue is a polled connection's emit: what is for Recv waits in the
// round's list, and the round hands it over at its end (deliver), so that
// a consumer on another thread is woken once per round, not per message.
func (c *zmtpConn) queue(m zmtpMsg) bool {
	res, deliver, alive := c.interpret(m)
	if deliver {
		p := c.r.poller
		p.inq = append(p.inq, res)
	}
	return alive
}

// deliver hands the round's results to Recv, in order. It returns false
// when the router closed.
func (p *zmtpPoller) deliver() bool {
	defer func() {
		clear(p.inq)
		p.inq = p.inq[:0]
	}()
	for _, res := range p.inq {
		select {
		case p.r.in <- res:
		case <-p.r.done:
			return false
		}
	}
	return true
}

// waitReadable parks until the epoll set has something to report (or the
// bell rings), through the runtime's poller, and returns false when the
// router closed. The runtime watches a second epoll set, the gate, which
// holds the first one only while the poller waits here: between rounds the
// runtime is not woken by what arrives. Every call is a raw system call, so
// the runtime's monitor thread is not woken either.
func (p *zmtpPoller) waitReadable() bool {
	if err := epollCtl(p.gate, syscall.EPOLL_CTL_ADD, p.epfd, syscall.EPOLLIN); err != nil && !errors.Is(err, syscall.EEXIST) {
		p.r.cfg.logger.Printf("zmq: %v", err)
		p.sleep()
		return true
	}
	p.idle.Store(true)
	_ = p.gateRC.Read(func(uintptr) bool {
		select {
		case <-p.r.done:
			return true
		default:
		}
		p.dmu.Lock()
		dirty := len(p.dirty) > 0
		p.dmu.Unlock()
		return dirty || p.ready()
	})
	p.idle.Store(false)
	_ = epollCtl(p.gate, syscall.EPOLL_CTL_DEL, p.epfd, 0)
	select {
	case <-p.r.done:
		return false
	default:
		return true
	}
}

// ready reports whether the set has anything to report. epoll_wait
// consumes nothing here: every registration is level-triggered, so run's
// next epoll_wait sees the same events.
func (p *zmtpPoller) ready() bool {
	var ev [1]epollEvent
	n, _ := epollWait(p.epfd, ev[:])
	return n > 0
}

func (p *zmtpPoller) drainBell() {
	var b [8]byte
	syscall.RawSyscall(syscall.SYS_READ, uintptr(p.bell), uintptr(unsafe.Pointer(&b[0])), 8)
}

// handle serves one event. It reports whether the connection has more to
// read than one round takes.
func (p *zmtpPoller) handle(ev epollEvent) (more bool) {
	if ev.fd == int32(p.bell) {
		p.drainBell()
		return false
	}
	p.mu.Lock()
	c := p.byFD[ev.fd]
	p.mu.Unlock()
	if c == nil {
		return false
	}
	if ev.events&syscall.EPOLLOUT != 0 {
		c.flush(p)
	}
	if ev.events&(syscall.EPOLLIN|syscall.EPOLLRDHUP|syscall.EPOLLHUP|syscall.EPOLLERR) != 0 {
		return p.readConn(c)
	}
	return false
}

// readConn reads what one connection has, up to zmtpReadsPerRound full
// buffers (level triggering brings the rest to the next round), and
// delivers its messages. It reports whether it stopped at that bound.
func (p *zmtpPoller) readConn(c *zmtpConn) (more bool) {
	for i := 0; i < zmtpReadsPerRound; i++ {
		n, errno := rawRead(uintptr(c.fd), p.buf)
		switch {
		case errno == syscall.EAGAIN:
			return false
		case errno == syscall.EINTR:
			continue
		case errno != 0:
			c.close("read: "+errno.Error(), false)
			return false
		case n == 0:
			if c.parser.midMessage() {
				c.close("read: unexpected EOF", false)
			} else {
				c.close("EOF", false)
			}
			return false
		}
		if !c.consume(p.buf[:n]) || n < len(p.buf) {
			return false
		}
	}
	return true
}

// checkBlocked drops peers whose queued writes are older than the write
// timeout. It reports whether any write is still waiting for room. It
// takes no connection's lock, so a sender copying a large message into
// one queue does not hold up the round (and so every other peer).
func (p *zmtpPoller) checkBlocked() bool {
	p.mu.Lock()
	if len(p.blocked) == 0 {
		p.mu.Unlock()
		return false
	}
	var late []*zmtpConn
	for c := range p.blocked {
		if c.stalled() {
			late = append(late, c)
		}
	}
	p.mu.Unlock()
	for _, c := range late {
		// close takes c.mu: a connection whose lock is busy (its sender
		// is queueing) is left to that sender, which sees the stall
		// itself (enqueue), or to the next round.
		if !c.mu.TryLock() {
			continue
		}
		c.mu.Unlock()
		c.closeStalled()
	}
	return true
}

func (p *zmtpPoller) closeForgotten() {
	p.mu.Lock()
	cs := p.closing
	p.closing = nil
	p.mu.Unlock()
	for _, c := range cs {
		c.closeFD(p)
	}
}

func (p *zmtpPoller) shutdown() {
	p.mu.Lock()
	p.stopped = true
	cs := p.closing
	p.closing = nil
	for _, c := range p.byFD {
		cs = append(cs, c)
	}
	p.byFD = map[int32]*zmtpConn{}
	p.mu.Unlock()
	for _, c := range cs {
		c.close("router closed", false)
		c.closeFD(p)
	}
	p.closeFDs()
}

// markBlocked and unblock keep the set of connections with queued writes.
func (p *zmtpPoller) markBlocked(c *zmtpConn) {
	p.mu.Lock()
	if !p.stopped {
		p.blocked[c] = struct{}{}
	}
	p.mu.Unlock()
	p.ring() // an idle poller starts its rounds again, to check the deadline
}

func (p *zmtpPoller) unblock(c *zmtpConn) {
	p.mu.Lock()
	delete(p.blocked, c)
	p.mu.Unlock()
}

// sendPolled frames a message for a polled connection and queues it for
// the next flush; c.mu is held. Writes wait for Flush (or the poller's
// next round) so that the replies to a round of messages leave in one
// burst: a peer host woken by the first write is still awake for the
// next ones. It reports whether the caller, once it has released c.mu,
// must wake the idle poller (nobody may call Flush: the poller flushes).
func (c *zmtpConn) sendPolled(p *zmtpPoller, flags byte, msg []byte) (ring bool) {
	c.pending = appendZMTPHeader(c.pending, flags, len(msg))
	c.pending = append(c.pending, msg...)
	c.nmsgs++
	if c.waitingOut() || c.dirty {
		return false
	}
	c.dirty = true
	p.dmu.Lock()
	p.dirty = append(p.dirty, c)
	first := len(p.dirty) == 1
	p.dmu.Unlock()
	return first && p.idle.Load()
}

// flushDirty writes every queued message; the rest of a message the
// socket does not take waits for room. Unless wait is set, a connection
// whose lock is busy (a sender is queueing to it) stays queued for the
// next flush rather than holding up the others; flushDirty reports
// whether it left any.
func (p *zmtpPoller) flushDirty(wait bool) (left bool) {
	p.fmu.Lock() // one flush at a time: spare is the list the last one wrote
	defer p.fmu.Unlock()
	p.dmu.Lock()
	cs := p.dirty
	p.dirty = p.spare[:0]
	p.dmu.Unlock()
	var busy []*zmtpConn
	for i, c := range cs {
		cs[i] = nil
		if wait {
			c.mu.Lock()
		} else if !c.mu.TryLock() {
			busy = append(busy, c)
			continue
		}
		blocked, err := c.writeOut(p)
		c.mu.Unlock()
		switch {
		case err != nil:
			c.close("write: "+err.Error(), false)
		case blocked:
			p.markBlocked(c)
		}
	}
	p.dmu.Lock()
	p.spare = cs[:0]
	p.dirty = append(p.dirty, busy...) // still marked dirty: nobody else queues them
	p.dmu.Unlock()
	return len(busy) > 0
}

// writeOut writes c's queue; c.mu is held. It reports whether the
// connection now waits for room.
func (c *zmtpConn) writeOut(p *zmtpPoller) (blocked bool, err error) {
	if !c.dirty || c.closed {
		return false, nil
	}
	c.dirty = false
	if c.waitingOut() {
		return false, nil
	}
	if _, err := c.writePending(); err != nil {
		return false, err
	}
	if len(c.pending) == 0 {
		return false, nil
	}
	c.blockedAt.Store(c.r.clock())
	if err := epollCtl(p.epfd, syscall.EPOLL_CTL_MOD, c.fd, evInOut); err != nil && !errors.Is(err, syscall.ENOENT) {
		return false, err // ENOENT: not in the set yet; adopt adds it with EPOLLOUT
	}
	return true, nil
}

// writePending writes c.pending until it is empty or the socket is full,
// and reports whether it wrote anything; c.mu is held.
func (c *zmtpConn) writePending() (progress bool, err error) {
	off := 0
	for off < len(c.pending) {
		n, e := rawWrite(uintptr(c.fd), c.pending[off:])
		switch e {
		case 0:
			off += n
		case syscall.EINTR:
		case syscall.EAGAIN:
			c.pending = c.pending[:copy(c.pending, c.pending[off:])]
			return off > 0, nil
		default:
			return off > 0, os.NewSyscallError("write", e)
		}
	}
	c.pending = c.pending[:0]
	c.nmsgs = 0
	if cap(c.pending) > zmtpKeepWriteBuf {
		c.pending = nil
	}
	return true, nil
}

// flush writes queued output when epoll reports room. A busy lock (a
// sender is queueing) is left for the next round: EPOLLOUT is
// level-triggered.
func (c *zmtpConn) flush(p *zmtpPoller) {
	if !c.mu.TryLock() {
		return
	}
	if c.closed || !c.waitingOut() {
		c.mu.Unlock()
		return
	}
	progress, err := c.writePending()
	if progress {
		c.blockedAt.Store(c.r.clock())
	}
	done := err == nil && len(c.pending) == 0
	if done {
		c.blockedAt.Store(0)
		err = epollCtl(p.epfd, syscall.EPOLL_CTL_MOD, c.fd, evIn)
	}
	c.mu.Unlock()
	if err != nil {
		c.close("write: "+err.Error(), false)
		return
	}
	if done {
		p.unblock(c)
	}
}
