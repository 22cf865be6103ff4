package zmq

import (
	"context"
	"fmt"
	"io"
	"log"
	"strings"
	"sync"
	"time"

	"github.com/go-zeromq/zmq4"
)

// Defaults of the ROUTER transport.
const (
	// DefaultWriteTimeout bounds one write to one peer of a ROUTER.
	DefaultWriteTimeout = 250 * time.Millisecond
	// DefaultHandshakeTimeout bounds a new connection's ZMTP handshake.
	DefaultHandshakeTimeout = 5 * time.Second
)

// ZMQOption configures a ZeroMQ transport.
type ZMQOption func(*zmqConfig)

type zmqConfig struct {
	maxFrame         int
	sendTimeout      time.Duration
	logger           *log.Logger
	writeTimeout     time.Duration // ROUTER: per-peer write deadline
	handshakeTimeout time.Duration // ROUTER: bound on a new peer's handshake
	batchInterval    time.Duration // ROUTER on Linux: the poller's round interval (0: default; < 0: no poller)
}

// WithMaxFrameSize sets the largest payload Recv accepts.
func WithMaxFrameSize(n int) ZMQOption { return func(c *zmqConfig) { c.maxFrame = n } }

// WithSendTimeout bounds a blocked Send (default 10 s). A timed-out send
// leaves the socket in an unknown state: callers recreate the transport.
func WithSendTimeout(d time.Duration) ZMQOption { return func(c *zmqConfig) { c.sendTimeout = d } }

// WithWriteTimeout bounds each write to one peer of a ROUTER (default
// DefaultWriteTimeout); a peer that does not read for that long is dropped.
func WithWriteTimeout(d time.Duration) ZMQOption { return func(c *zmqConfig) { c.writeTimeout = d } }

// WithHandshakeTimeout bounds a new ROUTER peer's ZMTP handshake (default
// DefaultHandshakeTimeout).
func WithHandshakeTimeout(d time.Duration) ZMQOption {
	return func(c *zmqConfig) { c.handshakeTimeout = d }
}

// WithBatchInterval sets how long the native ROUTER's poller (Linux)
// gathers incoming messages between rounds (default 50 ms). Longer rounds
// cost the master fewer wake-ups per worker and delay replies by up to
// the interval; a negative interval serves each connection from its own
// goroutines instead.
func WithBatchInterval(d time.Duration) ZMQOption { return func(c *zmqConfig) { c.batchInterval = d } }

// WithZMQLogger routes go-zeromq's own log lines (default: discarded).
func WithZMQLogger(l *log.Logger) ZMQOption { return func(c *zmqConfig) { c.logger = l } }

func newZMQConfig(opts []ZMQOption) zmqConfig {
	c := zmqConfig{maxFrame: DefaultMaxFrameSize, sendTimeout: 10 * time.Second, logger: log.New(io.Discard, "", 0),
		writeTimeout: DefaultWriteTimeout, handshakeTimeout: DefaultHandshakeTimeout}
	for _, o := range opts {
		o(&c)
	}
	return c
}

type recvResult struct {
	f   Frame
	err error
}

// zmqTransport adapts a go-zeromq DEALER socket to Transport.
type zmqTransport struct {
	sock   zmq4.Socket
	cfg    zmqConfig
	cancel context.CancelFunc

	in       chan recvResult
	done     chan struct{}
	closeOne sync.Once
	sendMu   sync.Mutex
}

var _ Transport = (*zmqTransport)(nil)

// DialDealer connects a DEALER socket with the given identity (the worker's
// node id) to endpoint, e.g. "tcp://127.0.0.1:5557". It returns once the
// TCP connection and ZMTP handshake succeeded, retrying until ctx ends.
// A frame Send returned for is in the kernel, and Close lets it reach the
// master: it shuts the connection's write side and waits (at most
// DefaultCloseLinger) for the master to close its side before closing
// (see lingerNetwork).
func DialDealer(ctx context.Context, endpoint, identity string, opts ...ZMQOption) (Transport, error) {
	cfg := newZMQConfig(opts)
	sctx, cancel := context.WithCancel(context.Background())
	sock := zmq4.NewDealer(sctx,
		zmq4.WithID(zmq4.SocketIdentity(identity)),
		zmq4.WithDialerMaxRetries(-1),
		zmq4.WithDialerRetry(250*time.Millisecond),
		zmq4.WithDialerTimeout(5*time.Second),
		zmq4.WithTimeout(cfg.sendTimeout),
		zmq4.WithLogger(cfg.logger),
	)
	ep, err := lingerEndpoint(endpoint)
	if err != nil {
		cancel()
		sock.Close()
		return nil, fmt.Errorf("zmq: dial %s: %w", endpoint, err)
	}
	// Dial blocks while it retries; stop it when ctx ends.
	stop := context.AfterFunc(ctx, cancel)
	err = sock.Dial(ep)
	stop()
	if err != nil {
		cancel()
		sock.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("zmq: dial %s: %w", endpoint, err)
	}
	return start(sock, cfg, cancel), nil
}

// ListenRouter binds a ROUTER socket on endpoint, e.g. "tcp://*:5557".
// Use Addr to learn the port when binding port 0.
//
// A tcp:// endpoint is served by the native ZMTP 3.0 ROUTER
// (zmtp_router.go): frames over the size limit are refused before they are
// allocated, a peer that does not read is dropped after the write timeout
// (sends never block), slow handshakes are bounded, and a new connection
// with an identity in use takes it over. Connections closed for
// misbehaving are reported by Recv as *BadFrame errors with an empty Peer.
// Only tcp:// endpoints are served (Locust's master binds TCP only).
func ListenRouter(endpoint string, opts ...ZMQOption) (*Router, error) {
	cfg := newZMQConfig(opts)
	rest, ok := strings.CutPrefix(endpoint, "tcp://")
	if !ok {
		return nil, fmt.Errorf("zmq: listen %s: only tcp:// endpoints are supported", endpoint)
	}
	zr, err := listenZMTPRouter(rest, cfg)
	if err != nil {
		return nil, fmt.Errorf("zmq: listen %s: %w", endpoint, err)
	}
	return &Router{zmtpRouter: zr}, nil
}

// Router is a bound ROUTER transport.
type Router struct {
	*zmtpRouter
}

// Addr returns the bound address (host:port).
func (r *Router) Addr() string { return r.zmtpRouter.addr() }

func start(sock zmq4.Socket, cfg zmqConfig, cancel context.CancelFunc) *zmqTransport {
	t := &zmqTransport{sock: sock, cfg: cfg, cancel: cancel,
		in: make(chan recvResult, 256), done: make(chan struct{})}
	go t.readLoop()
	return t
}

// readLoop owns sock.Recv; it ends when the socket is closed.
func (t *zmqTransport) readLoop() {
	defer close(t.in)
	for {
		msg, err := t.sock.Recv()
		if err != nil {
			select {
			case t.in <- recvResult{err: fmt.Errorf("zmq: recv: %w", err)}:
			case <-t.done:
			}
			return
		}
		if msg.Type == zmq4.CmdMsg {
			continue
		}
		r := t.frame(msg)
		select {
		case t.in <- r:
		case <-t.done:
			return
		}
	}
}

func (t *zmqTransport) frame(msg zmq4.Msg) recvResult {
	frames := msg.Frames
	if len(frames) != 1 {
		return recvResult{err: &BadFrame{Reason: fmt.Sprintf("%d frames, want 1", len(frames))}}
	}
	if len(frames[0]) > t.cfg.maxFrame {
		return recvResult{err: &BadFrame{Reason: fmt.Sprintf("frame of %d bytes exceeds limit %d", len(frames[0]), t.cfg.maxFrame)}}
	}
	return recvResult{f: Frame{Payload: frames[0]}}
}

// Recv returns the next frame, a *BadFrame error for a malformed message
// (the transport stays usable), or another error once the socket failed.
func (t *zmqTransport) Recv(ctx context.Context) (Frame, error) {
	select {
	case r, ok := <-t.in:
		if !ok {
			return Frame{}, ErrClosed
		}
		return r.f, r.err
	case <-ctx.Done():
		return Frame{}, ctx.Err()
	case <-t.done:
		return Frame{}, ErrClosed
	}
}

// Send writes one frame to the master (f.Peer is ignored).
func (t *zmqTransport) Send(ctx context.Context, f Frame) error {
	select {
	case <-t.done:
		return ErrClosed
	default:
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	t.sendMu.Lock()
	defer t.sendMu.Unlock()
	if err := t.sock.Send(zmq4.NewMsg(f.Payload)); err != nil {
		return fmt.Errorf("zmq: send: %w", err)
	}
	return nil
}

// Close closes the socket and stops the read loop. It is safe to call more
// than once.
func (t *zmqTransport) Close() error {
	var err error
	t.closeOne.Do(func() {
		close(t.done)
		t.cancel()
		err = t.sock.Close()
		for range t.in { // wait for readLoop to end
		}
	})
	return err
}
