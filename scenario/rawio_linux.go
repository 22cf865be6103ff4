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
type rawIO struct {
	rc  syscall.RawConn
	buf []byte // the buffer of the call in progress
	n   int
	err error

	readFn, writeFn func(fd uintptr) bool // bound once per connection
}

// newRawIO returns nil if c is not a plain socket (e.g. TLS).
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
	r.buf, r.n, r.err = p, 0, nil
	err := r.rc.Read(r.readFn)
	n, rerr := r.n, r.err
	r.buf, r.err = nil, nil
	if err != nil {
		return n, renameOp(err, "read")
	}
	return n, rerr
}

func (r *rawIO) doRead(fd uintptr) bool {
	for {
		n, _, e := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&r.buf[0])), uintptr(len(r.buf)))
		switch e {
		case 0:
			if n == 0 {
				r.err = io.EOF
			}
			r.n = int(n)
			return true
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return false // wait in the poller
		default:
			r.err = &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", e)}
			return true
		}
	}
}

// Write writes all of p.
func (r *rawIO) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	r.buf, r.n, r.err = p, 0, nil
	err := r.rc.Write(r.writeFn)
	n, werr := r.n, r.err
	r.buf, r.err = nil, nil
	if err != nil {
		return n, renameOp(err, "write")
	}
	return n, werr
}

func (r *rawIO) doWrite(fd uintptr) bool {
	for r.n < len(r.buf) {
		b := r.buf[r.n:]
		n, _, e := syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
		switch e {
		case 0:
			r.n += int(n)
		case syscall.EINTR:
		case syscall.EAGAIN:
			return false // wait until writable
		default:
			r.err = &net.OpError{Op: "write", Net: "tcp", Err: os.NewSyscallError("write", e)}
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
