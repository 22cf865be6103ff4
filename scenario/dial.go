package scenario

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/netip"
	"syscall"
	"time"
)

// userSessionCacheSize bounds the TLS sessions one user keeps (one per
// server name).
const userSessionCacheSize = 16

// dial opens the user's connection to t: TCP to the first hop (the target,
// or its proxy), a CONNECT tunnel through the proxy for an https target,
// then the TLS handshake. deadline, if not zero, bounds all of it.
func (c *HTTPClient) dial(ctx context.Context, t *target, deadline time.Time) (*hconn, error) {
	host, port := t.hop()
	nc, hc, err := c.dialHop(ctx, host, port, deadline)
	if err != nil {
		var ge *GeneratorError
		if t.proxy != nil && !errors.As(err, &ge) {
			err = &ProxyError{Proxy: t.proxy.display, Msg: "connect", Err: err}
		}
		return nil, err
	}
	hc.key = t.key
	if t.proxy != nil && t.tls != nil {
		if err := tunnel(ctx, nc, t.proxy, t.addr, deadline); err != nil {
			nc.Close()
			return nil, err
		}
		hc.hasDeadline = true
	}
	raw := newRawIO(nc)
	if t.tls == nil {
		hc.c, hc.rw = nc, nc
		if raw != nil {
			hc.rw = raw
		}
		return hc, nil
	}
	base := nc
	if raw != nil {
		base = &rawConn{Conn: nc, raw: raw}
	}
	cfg := t.tls
	if c.prof.cfg.TLS.SessionResumption {
		if c.sessions == nil {
			c.sessions = tls.NewLRUClientSessionCache(userSessionCacheSize)
		}
		cfg = cfg.Clone()
		cfg.ClientSessionCache = c.sessions
	}
	tc := tls.Client(base, cfg)
	if err := nc.SetDeadline(deadline); err != nil {
		nc.Close()
		return nil, err
	}
	if err := tc.HandshakeContext(ctx); err != nil {
		nc.Close()
		if ctx.Err() != nil {
			return nil, err
		}
		return nil, &tlsError{err: err, hasCert: len(c.prof.cfg.TLS.Certificates) > 0}
	}
	hc.c, hc.rw, hc.tls = tc, tc, true
	hc.hasDeadline = hc.hasDeadline || !deadline.IsZero()
	return hc, nil
}

// dialHop connects to host:port. A host name is resolved through the
// profile's host table and the user connects to its pick among the
// addresses, then to the next ones if that one refuses or is unreachable.
// The returned hconn carries only the address information.
func (c *HTTPClient) dialHop(ctx context.Context, host, port string, deadline time.Time) (net.Conn, *hconn, error) {
	r := c.u.r
	d := r.dialer
	d.Deadline = deadline
	if _, err := netip.ParseAddr(host); err == nil {
		addr := net.JoinHostPort(host, port)
		nc, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return nil, nil, c.dialErr(err, addr, deadline)
		}
		return nc, &hconn{}, nil
	}
	h := c.prof.hosts.get(host)
	lctx := ctx
	if !deadline.IsZero() {
		var cancel context.CancelFunc
		lctx, cancel = context.WithDeadline(ctx, deadline)
		defer cancel()
	}
	s, err := h.addrs(lctx, r, c.prof.hosts.interval)
	if err != nil {
		return nil, nil, err
	}
	h.maybeRefresh(s, c.start, r, c.prof.hosts.interval)
	first := s.pick(c.u.ID, h.offset)
	var firstErr error
	for k := range len(s.addrs) {
		ip := s.addrs[(first+k)%len(s.addrs)]
		addr := net.JoinHostPort(ip.String(), port)
		nc, err := d.DialContext(ctx, "tcp", addr)
		if err == nil {
			return nc, &hconn{host: h, gen: s.gen, ip: ip}, nil
		}
		err = c.dialErr(err, addr, deadline)
		if firstErr == nil {
			firstErr = err
		}
		if ctx.Err() != nil || !tryNextAddr(err) {
			break
		}
	}
	return nil, nil, firstErr
}

// tryNextAddr reports errors after which the next address of a name is
// tried, as urllib3's create_connection tries every address: the address
// refuses or cannot be reached. Timeouts are not retried (the deadline is
// the request's), nor are the generator's own faults.
func tryNextAddr(err error) bool {
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EHOSTUNREACH) ||
		errors.Is(err, syscall.ENETUNREACH)
}

// dialErr classifies a failed connect to addr: a generator-side fault is
// warned about and returned as a *GeneratorError.
func (c *HTTPClient) dialErr(err error, addr string, deadline time.Time) error {
	if ge, ok := generatorFault(err, deadline, time.Now()); ok {
		c.u.r.warnGenerator(ge, addr)
		return ge
	}
	return err
}

// tunnel opens a CONNECT tunnel to addr through the proxy on nc; stopping
// the user (ctx) interrupts it.
func tunnel(ctx context.Context, nc net.Conn, p *proxyURL, addr string, deadline time.Time) error {
	stop := context.AfterFunc(ctx, func() { nc.Close() })
	err := connectTunnel(nc, p, addr, deadline)
	if !stop() {
		return ctx.Err()
	}
	return err
}

// rawConn gives a TLS connection the raw syscalls of rawIO for its reads
// and writes; deadlines and Close go to the socket.
type rawConn struct {
	net.Conn
	raw *rawIO
}

func (c *rawConn) Read(p []byte) (int, error)  { return c.raw.Read(p) }
func (c *rawConn) Write(p []byte) (int, error) { return c.raw.Write(p) }

// isRemoteAlert reports a TLS alert received from the server.
func isRemoteAlert(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "remote error"
}
