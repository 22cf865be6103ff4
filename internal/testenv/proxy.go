package testenv

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
)

// Proxy is a TCP proxy on 127.0.0.1 in front of one upstream address that
// injects the faults a network between a worker and its master has:
//
//   - Reset closes every proxied connection on both sides with a TCP RST;
//   - ResetClients resets only the client side and leaves the upstream
//     side open and silent, as when a NAT or a worker's host loses the
//     connection's state and the upstream never hears of it (until
//     DropOrphans resets those upstream sides too);
//   - Refuse makes new connections fail (accepted, then reset at once);
//   - Hold stops delivering bytes in both directions (a partition); Release
//     delivers what was held, in order, and resumes;
//   - CutMidChunk arms a cut: the next chunk from a client of at least
//     minLen bytes is delivered only in part (its first half), then the
//     connection is reset on both sides, so the upstream sees a frame cut
//     in the middle.
//
// A proxied connection ends, on both sides, as soon as either side closes.
// All methods are safe for concurrent use; Close ends every goroutine the
// proxy started and waits for them.
type Proxy struct {
	ln       net.Listener
	upstream string

	mu       sync.Mutex
	conns    map[*proxyConn]struct{}
	orphans  map[*proxyConn]struct{} // client side reset, server side open
	refusing bool
	held     chan struct{} // non-nil while held; closed by Release
	cutMin   int           // > 0: a cut is armed
	closed   bool
	stats    ProxyStats

	wg sync.WaitGroup
}

// ProxyStats counts what a Proxy did.
type ProxyStats struct {
	Accepted int // connections proxied
	Refused  int // connections reset at once while refusing
	Resets   int // connections reset by Reset
	Cuts     int // cuts done (CutMidChunk)
	// CutDelivered is how many bytes of the last cut chunk were delivered,
	// and CutLen its length.
	CutDelivered, CutLen int
	// ToUpstream and ToClients count the bytes delivered each way.
	ToUpstream, ToClients int64
}

type proxyConn struct {
	client, server *net.TCPConn
	once           sync.Once
	done           chan struct{}
	orphan         atomic.Bool // the client side was reset alone: keep the server side open
}

// close resets both sides (SO_LINGER 0: an RST, not a FIN) once.
func (c *proxyConn) close() {
	c.once.Do(func() {
		close(c.done)
		resetConn(c.client)
		if !c.orphan.Load() {
			resetConn(c.server)
		}
	})
}

// resetConn closes c with an RST (SO_LINGER 0) instead of a FIN.
func resetConn(c *net.TCPConn) {
	c.SetLinger(0) //nolint:errcheck // best effort: the close still ends the connection
	c.Close()
}

// StartProxy listens on 127.0.0.1 (a free port) and proxies every
// connection to upstream (host:port).
func StartProxy(upstream string) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("testenv: proxy listen: %w", err)
	}
	p := &Proxy{ln: ln, upstream: upstream, conns: map[*proxyConn]struct{}{}, orphans: map[*proxyConn]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// Addr returns the proxy's listening address (127.0.0.1:port).
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Port returns the proxy's listening port.
func (p *Proxy) Port() int { return p.ln.Addr().(*net.TCPAddr).Port }

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return // closed
		}
		p.mu.Lock()
		refuse := p.refusing
		if refuse {
			p.stats.Refused++
		}
		p.mu.Unlock()
		tc := c.(*net.TCPConn)
		if refuse {
			resetConn(tc)
			continue
		}
		up, err := net.Dial("tcp", p.upstream)
		if err != nil {
			resetConn(tc)
			continue
		}
		pc := &proxyConn{client: tc, server: up.(*net.TCPConn), done: make(chan struct{})}
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			pc.close()
			return
		}
		p.conns[pc] = struct{}{}
		p.stats.Accepted++
		p.wg.Add(2)
		p.mu.Unlock()
		go p.pump(pc, pc.client, pc.server, true)
		go p.pump(pc, pc.server, pc.client, false)
	}
}

// pump copies src to dst chunk by chunk, waiting while the proxy holds.
func (p *Proxy) pump(pc *proxyConn, src, dst *net.TCPConn, fromClient bool) {
	defer p.wg.Done()
	defer p.forget(pc)
	buf := make([]byte, 64<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if !p.waitReleased(pc) {
				return
			}
			chunk := buf[:n]
			cut := fromClient && p.takeCut(n)
			if cut {
				chunk = chunk[:n/2]
			}
			nw, werr := dst.Write(chunk)
			p.delivered(fromClient, nw)
			if werr != nil {
				pc.close()
				return
			}
			if cut {
				pc.close()
				return
			}
		}
		if err != nil {
			pc.close()
			return
		}
	}
}

func (p *Proxy) delivered(fromClient bool, n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if fromClient {
		p.stats.ToUpstream += int64(n)
	} else {
		p.stats.ToClients += int64(n)
	}
}

func (p *Proxy) forget(pc *proxyConn) {
	pc.close()
	p.mu.Lock()
	delete(p.conns, pc)
	p.mu.Unlock()
}

// waitReleased blocks while the proxy holds; false if pc closed meanwhile.
func (p *Proxy) waitReleased(pc *proxyConn) bool {
	for {
		p.mu.Lock()
		held := p.held
		p.mu.Unlock()
		if held == nil {
			select {
			case <-pc.done:
				return false
			default:
				return true
			}
		}
		select {
		case <-held:
		case <-pc.done:
			return false
		}
	}
}

// takeCut reports whether a chunk of n bytes from a client is to be cut,
// and disarms the cut if so.
func (p *Proxy) takeCut(n int) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cutMin <= 0 || n < p.cutMin {
		return false
	}
	p.cutMin = 0
	p.stats.Cuts++
	p.stats.CutDelivered, p.stats.CutLen = n/2, n
	return true
}

// Reset resets every proxied connection on both sides and returns how
// many there were. Orphans (see ResetClients) stay until DropOrphans.
func (p *Proxy) Reset() int {
	p.mu.Lock()
	list := make([]*proxyConn, 0, len(p.conns))
	for pc := range p.conns {
		list = append(list, pc)
	}
	p.stats.Resets += len(list)
	p.mu.Unlock()
	for _, pc := range list {
		pc.close()
	}
	return len(list)
}

// ResetClients resets the client side of every proxied connection and
// keeps its upstream side open, silent, until DropOrphans, Reset or
// Close. It returns how many connections it reset.
func (p *Proxy) ResetClients() int {
	p.mu.Lock()
	list := make([]*proxyConn, 0, len(p.conns))
	for pc := range p.conns {
		pc.orphan.Store(true) // before close: it keeps the server side open
		p.orphans[pc] = struct{}{}
		list = append(list, pc)
	}
	clear(p.conns)
	p.stats.Resets += len(list)
	p.mu.Unlock()
	for _, pc := range list {
		pc.close()
	}
	return len(list)
}

// DropOrphans resets the upstream sides ResetClients left open and
// returns how many there were.
func (p *Proxy) DropOrphans() int {
	p.mu.Lock()
	list := make([]*proxyConn, 0, len(p.orphans))
	for pc := range p.orphans {
		list = append(list, pc)
	}
	clear(p.orphans)
	p.mu.Unlock()
	for _, pc := range list {
		resetConn(pc.server)
	}
	return len(list)
}

// Refuse makes new connections fail (on) or be proxied again (off).
func (p *Proxy) Refuse(on bool) {
	p.mu.Lock()
	p.refusing = on
	p.mu.Unlock()
}

// Hold stops delivering bytes in both directions until Release. Bytes
// keep being read from the sockets up to one chunk per direction; the
// rest waits in the kernels' buffers, as in a partition that heals.
func (p *Proxy) Hold() {
	p.mu.Lock()
	if p.held == nil {
		p.held = make(chan struct{})
	}
	p.mu.Unlock()
}

// Release delivers what was held, in order, and resumes.
func (p *Proxy) Release() {
	p.mu.Lock()
	if p.held != nil {
		close(p.held)
		p.held = nil
	}
	p.mu.Unlock()
}

// CutMidChunk arms a cut of the next chunk of at least minLen (>= 2)
// bytes from a client: its first half is delivered, then the connection
// is reset on both sides. ProxyStats.Cuts counts the cuts done.
func (p *Proxy) CutMidChunk(minLen int) {
	p.mu.Lock()
	p.cutMin = max(minLen, 2)
	p.mu.Unlock()
}

// Disarm cancels an armed cut that has not happened.
func (p *Proxy) Disarm() {
	p.mu.Lock()
	p.cutMin = 0
	p.mu.Unlock()
}

// Stats returns what the proxy did so far.
func (p *Proxy) Stats() ProxyStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stats
}

// Active returns the number of connections being proxied.
func (p *Proxy) Active() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.conns)
}

// Close stops listening, resets every connection and waits for the
// proxy's goroutines. It is idempotent.
func (p *Proxy) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	p.mu.Unlock()
	err := p.ln.Close()
	p.Release()
	p.Reset()
	p.DropOrphans()
	p.wg.Wait()
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	return err
}
