package zmq

import (
	"context"
	"sync"
)

// InprocRouter is an in-memory ROUTER: the master side of a standalone run,
// where workers live in the same process and no socket is opened. Frames
// are still encoded, so the master and worker code paths are the ones that
// run over ZeroMQ.
//
// It is safe for concurrent use.
type InprocRouter struct {
	in     chan Frame
	done   chan struct{}
	once   sync.Once
	mu     sync.Mutex
	dealer map[string]*inprocDealer
}

var _ Transport = (*InprocRouter)(nil)

// NewInprocRouter returns an empty in-memory router.
func NewInprocRouter() *InprocRouter {
	return &InprocRouter{in: make(chan Frame, 1024), done: make(chan struct{}), dealer: map[string]*inprocDealer{}}
}

// Dial connects a new in-memory DEALER with the given identity. A second
// dealer with the same identity replaces the first, which is closed.
func (r *InprocRouter) Dial(ctx context.Context, identity string) (Transport, error) {
	select {
	case <-r.done:
		return nil, ErrClosed
	default:
	}
	d := &inprocDealer{r: r, id: identity, in: make(chan []byte, 1024), done: make(chan struct{})}
	r.mu.Lock()
	old := r.dealer[identity]
	r.dealer[identity] = d
	r.mu.Unlock()
	if old != nil {
		old.Close()
	}
	return d, nil
}

// Send delivers f.Payload to the dealer named f.Peer; frames for unknown
// peers are dropped, as a ZeroMQ ROUTER does.
func (r *InprocRouter) Send(ctx context.Context, f Frame) error {
	r.mu.Lock()
	d := r.dealer[f.Peer]
	r.mu.Unlock()
	if d == nil {
		return nil
	}
	select {
	case d.in <- f.Payload:
		return nil
	case <-d.done:
		return nil
	case <-r.done:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Recv returns the next frame from any dealer.
func (r *InprocRouter) Recv(ctx context.Context) (Frame, error) {
	select {
	case f := <-r.in:
		return f, nil
	case <-r.done:
		return Frame{}, ErrClosed
	case <-ctx.Done():
		return Frame{}, ctx.Err()
	}
}

// Close closes the router and every dealer.
func (r *InprocRouter) Close() error {
	r.once.Do(func() {
		close(r.done)
		r.mu.Lock()
		ds := r.dealer
		r.dealer = map[string]*inprocDealer{}
		r.mu.Unlock()
		for _, d := range ds {
			d.Close()
		}
	})
	return nil
}

type inprocDealer struct {
	r    *InprocRouter
	id   string
	in   chan []byte
	done chan struct{}
	once sync.Once
}

func (d *inprocDealer) Send(ctx context.Context, f Frame) error {
	select {
	case <-d.done:
		return ErrClosed
	default:
	}
	select {
	case d.r.in <- Frame{Peer: d.id, Payload: f.Payload}:
		return nil
	case <-d.done:
		return ErrClosed
	case <-d.r.done:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (d *inprocDealer) Recv(ctx context.Context) (Frame, error) {
	select {
	case b := <-d.in:
		return Frame{Payload: b}, nil
	case <-d.done:
		return Frame{}, ErrClosed
	case <-ctx.Done():
		return Frame{}, ctx.Err()
	}
}

func (d *inprocDealer) Close() error {
	d.once.Do(func() {
		close(d.done)
		d.r.mu.Lock()
		if d.r.dealer[d.id] == d {
			delete(d.r.dealer, d.id)
		}
		d.r.mu.Unlock()
	})
	return nil
}
