package zmq

import (
	"context"
	"errors"
)

// DefaultMaxFrameSize bounds the payload of one received frame (64 MiB).
// A Locust stats report with thousands of entries is a few MiB at most.
const DefaultMaxFrameSize = 64 << 20

// ErrClosed is returned by a Transport after Close.
var ErrClosed = errors.New("zmq: transport closed")

// Frame is one message on a socket. On a master (ROUTER) Peer is the
// sender's or receiver's identity, which Locust keeps equal to the node id;
// on a worker (DEALER) it is empty.
type Frame struct {
	Peer    string
	Payload []byte
}

// Transport moves frames between a worker and its master. Implementations
// never block Recv on one peer: a dedicated goroutine reads the socket and
// Recv selects on it and on ctx.
//
// Send and Recv are safe for concurrent use; Close unblocks both.
type Transport interface {
	Send(ctx context.Context, f Frame) error
	Recv(ctx context.Context) (Frame, error)
	Close() error
}

// BadFrame is returned by Recv for a message that broke framing (for
// example a DEALER that sent several frames, or an oversized frame). The
// transport stays usable; the caller logs it and goes on.
type BadFrame struct {
	Peer   string
	Reason string
}

func (e *BadFrame) Error() string {
	return "zmq: bad frame from " + quotePeer(e.Peer) + ": " + e.Reason
}

func quotePeer(p string) string {
	if p == "" {
		return "master"
	}
	return "\"" + p + "\""
}
