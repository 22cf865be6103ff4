package stats

import (
	"sync"
	"sync/atomic"
	"time"
)

// CoarseClockTick is how often a Registry's coarse clock (used by
// Entry.Observe and its variants) is refreshed while it runs. A record's
// timestamp (its per-second bucket and last_request_timestamp) may lag the
// true time by about this much, plus scheduling delay on a saturated machine.
const CoarseClockTick = 2 * time.Millisecond

// coarseClock is the registry's clock for the Observe* methods: epoch
// nanoseconds in one atomic word, refreshed every CoarseClockTick by one
// goroutine, so a record reads the time with a plain load instead of
// calling time.Now. The goroutine is started by the first read and stopped
// by Registry.Close (or when the Registry and all its entries are garbage).
// After close, and for a registry with a custom clock (WithClock), every
// read calls the clock instead.
type coarseClock struct {
	_  [cacheLine]byte
	ns atomic.Int64 // epoch ns; 0 when not running
	_  [cacheLine - 8]byte

	custom func() time.Time // nil: time.Now and the ticker

	mu      sync.Mutex // guards the fields below
	closed  bool
	stop    chan struct{}
	stopped chan struct{}
}

// nowNs returns the current coarse time in epoch nanoseconds.
func (c *coarseClock) nowNs() int64 {
	if ns := c.ns.Load(); ns != 0 {
		return ns
	}
	return c.slowNow()
}

func (c *coarseClock) slowNow() int64 {
	if c.custom != nil {
		return c.custom().UnixNano()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now().UnixNano()
	if c.closed {
		return now
	}
	if c.stop == nil {
		c.ns.Store(now)
		c.stop, c.stopped = make(chan struct{}), make(chan struct{})
		go c.run(c.stop, c.stopped)
	}
	return now
}

func (c *coarseClock) run(stop <-chan struct{}, stopped chan<- struct{}) {
	defer close(stopped)
	t := time.NewTicker(CoarseClockTick)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			c.ns.Store(time.Now().UnixNano())
		}
	}
}

// close stops the ticker goroutine and waits for it; later reads call
// time.Now. It is idempotent.
func (c *coarseClock) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	if c.stop != nil {
		close(c.stop)
		<-c.stopped
		c.stop = nil
	}
	c.ns.Store(0)
}

// running reports whether the ticker goroutine runs (for tests).
func (c *coarseClock) running() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stop != nil
}
