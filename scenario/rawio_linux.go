package scenario

import (
	"io"
	"net"
	"os"
	"syscall"
	"unsafe"
)

// rawIO does a connection's reads and writes with raw syscalls on its
// non-blocking socket, through the runtime's poller (syscall.RawConn), so
// waiting, deadlines and Close behave as with net.Conn.
//
// Why: net.Conn's Read and Write enter the scheduler's syscall state around
// every call (a socket that never blocks does not need it) and, after the
// process was idle, wake the runtime's monitor thread (sysmon), which then
// polls every 20 µs for a while. With the generator on one core each of
// those wake-ups is a context switch away from the user goroutines; on a VM
// they cost more than the parser. Raw syscalls on a non-blocking socket
// return within microseconds, so keeping the P is harmless.
//
// A read and a write may run at the same time (TLS sends its close_notify
// while a read is blocked), so each direction has its own state.
type rawIO struct {
	rc syscall.RawConn
	rd rawOp
	wr rawOp

	readFn, writeFn func(fd uintptr) bool // bound once per connection
}

// rawOp is the state of the read or write call in progress.
type rawOp struct {
	buf []byte
	n   int
	err error
}

// newRawIO returns nil if c is not a plain TCP socket.
func newRawIO(c net.Conn) *rawIO {
	sc, ok := c.(*net.TCPConn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	r := &rawIO{rc: rc}
	r.readFn, r.writeFn = r.doRead, r.doWrite
	return r
}

func (r *rawIO) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	o := &r.rd
	o.buf, o.n, o.err = p, 0, nil
	err := r.rc.Read(r.readFn)
	n, rerr := o.n, o.err
	o.buf, o.err = nil, nil
	if err != nil {
		return n, renameOp(err, "read")
	}
	return n, rerr
}

func (r *rawIO) doRead(fd uintptr) bool {
	o := &r.rd
	for {
		n, _, e := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&o.buf[0])), uintptr(len(o.buf)))
		switch e {
		case 0:
			if n == 0 {
				o.err = io.EOF
			}
			o.n = int(n)
			return true
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return false // wait in the poller
		default:
			o.err = &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", e)}
			return true
		}
	}
}

// Write writes all of p.
func (r *rawIO) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	o := &r.wr
	o.buf, o.n, o.err = p, 0, nil
	err := r.rc.Write(r.writeFn)
	n, werr := o.n, o.err
	o.buf, o.err = nil, nil
	if err != nil {
		return n, renameOp(err, "write")
	}
	return n, werr
}

func (r *rawIO) doWrite(fd uintptr) bool {
	o := &r.wr
	for o.n < len(o.buf) {
		b := o.buf[o.n:]
		n, _, e := syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
		switch e {
		case 0:
			o.n += int(n)
		case syscall.EINTR:
		case syscall.EAGAIN:
			return false // wait until writable
		default:
			o.err = &net.OpError{Op: "write", Net: "tcp", Err: os.NewSyscallError("write", e)}
			return true
		}
	}
	return true
}

// renameOp turns the poller's "raw-read"/"raw-write" errors (deadline,
// closed connection) into what net.Conn would have returned.
func renameOp(err error, op string) error {
	if oe, ok := err.(*net.OpError); ok {
		e := *oe
		e.Op = op
		return &e
	}
	return err
}
