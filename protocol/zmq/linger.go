package zmq

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/go-zeromq/zmq4"
	"github.com/go-zeromq/zmq4/transport"
)

// DefaultCloseLinger bounds how long closing a DEALER's connection waits
// for the master to have read everything sent on it.
const DefaultCloseLinger = time.Second

// lingerNetwork is the go-zeromq transport DialDealer uses for tcp://
// endpoints: TCP whose Close lets what was sent arrive.
//
// go-zeromq's Send writes the frame to the connection before it returns
// (Conn.SendMsg, one write(2) for the header and one for the body), so
// the bytes are in the kernel when Send returns; but its Close closes the
// connection at once, and closing a TCP socket that holds received bytes
// nobody read (a heartbeat reply that arrived meanwhile) sends an RST
// instead of a FIN and discards what the kernel had not sent yet: the
// final stats and quit could be lost. A lingerConn's Close shuts its
// write side (a FIN after everything sent), waits until the peer closes
// in turn (the read side ends, as go-zeromq's reader sees it) or
// DefaultCloseLinger passes, and only then closes.
const lingerNetwork = "glocust+tcp"

var (
	registerLinger sync.Once
	registerErr    error
)

// lingerEndpoint returns endpoint on lingerNetwork when it is tcp://,
// registering the transport with go-zeromq on first use.
func lingerEndpoint(endpoint string) (string, error) {
	rest, ok := strings.CutPrefix(endpoint, "tcp://")
	if !ok {
		return endpoint, nil
	}
	registerLinger.Do(func() { registerErr = zmq4.RegisterTransport(lingerNetwork, lingerTCP{wait: DefaultCloseLinger}) })
	if registerErr != nil {
		return "", registerErr
	}
	return lingerNetwork + "://" + rest, nil
}

// lingerTCP is go-zeromq's tcp transport for dialing, with lingerConns.
type lingerTCP struct{ wait time.Duration }

func (t lingerTCP) Dial(ctx context.Context, d transport.Dialer, addr string) (net.Conn, error) {
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	if tc, ok := c.(*net.TCPConn); ok {
		return newLingerConn(tc, t.wait), nil
	}
	return c, nil
}

func (lingerTCP) Listen(context.Context, string) (net.Listener, error) {
	return nil, errors.New("zmq: " + lingerNetwork + " only dials")
}

func (lingerTCP) Addr(ep string) (string, error) { return transport.New("tcp").Addr(ep) }

// lingerConn is a TCP connection whose Close waits for the peer to have
// read what was sent (see lingerNetwork). Its methods are safe for
// concurrent use as a net.Conn's are; Close may be called more than once.
type lingerConn struct {
	*net.TCPConn
	wait      time.Duration
	readEnd   chan struct{} // closed when a Read failed (EOF: the peer closed)
	endOnce   sync.Once
	closeOnce sync.Once
	closeErr  error
}

func newLingerConn(c *net.TCPConn, wait time.Duration) *lingerConn {
	return &lingerConn{TCPConn: c, wait: wait, readEnd: make(chan struct{})}
}

func (c *lingerConn) Read(p []byte) (int, error) {
	n, err := c.TCPConn.Read(p)
	if err != nil {
		c.endOnce.Do(func() { close(c.readEnd) })
	}
	return n, err
}

// WriteTo reads through Read (the embedded connection's WriteTo would
// bypass it), so that the end of the read side is seen.
func (c *lingerConn) WriteTo(w io.Writer) (int64, error) {
	return io.Copy(w, struct{ io.Reader }{c})
}

// Close sends a FIN after everything written, waits until the peer closed
// too (or the linger passed), then closes the socket.
func (c *lingerConn) Close() error {
	c.closeOnce.Do(func() {
		if c.TCPConn.CloseWrite() == nil {
			t := time.NewTimer(c.wait)
			select {
			case <-c.readEnd:
			case <-t.C:
			}
			t.Stop()
		}
		c.closeErr = c.TCPConn.Close()
	})
	return c.closeErr
}
