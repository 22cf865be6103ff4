package scenario

import (
	"context"
	"math/rand/v2"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Resolver looks up the addresses of a host name; *net.Resolver satisfies
// it. The runner uses net.DefaultResolver unless given another with
// WithResolver (tests inject names that resolve to loopback addresses).
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// WithResolver sets the resolver users look host names up with.
func WithResolver(res Resolver) RunnerOption {
	return func(r *Runner) {
		if res != nil {
			r.resolver = res
		}
	}
}

// refreshTimeout bounds a background re-resolution.
const refreshTimeout = 10 * time.Second

// hostTable holds the resolved addresses of the host names a profile's
// users connect to (the first hop: the target, or the proxy). Safe for
// concurrent use.
type hostTable struct {
	interval time.Duration // between resolutions; < 0: never again
	mu       sync.Mutex
	hosts    map[string]*hostAddrs
}

// hostAddrs is one host name's addresses. The current snapshot is replaced
// as a whole; its generation changes only when the set of addresses does.
type hostAddrs struct {
	name       string
	offset     int        // this process's start in the list, so users spread across processes too
	mu         sync.Mutex // held during the first resolution
	snap       atomic.Pointer[addrSnapshot]
	refreshing atomic.Bool
}

type addrSnapshot struct {
	addrs   []netip.Addr // sorted, without duplicates
	gen     uint64
	expires time.Time // zero: never resolved again
}

// pick returns the index of the address user id connects to.
func (s *addrSnapshot) pick(id int64, offset int) int {
	n := int64(len(s.addrs))
	return int((id + int64(offset)) % n)
}

// get returns the entry of name, creating it.
func (t *hostTable) get(name string) *hostAddrs {
	t.mu.Lock()
	defer t.mu.Unlock()
	if h := t.hosts[name]; h != nil {
		return h
	}
	if t.hosts == nil {
		t.hosts = make(map[string]*hostAddrs)
	}
	h := &hostAddrs{name: name, offset: rand.IntN(1 << 16)}
	t.hosts[name] = h
	return h
}

// addrs returns the current snapshot, resolving the name first if it never
// was (one lookup, however many users ask at once). A failed first lookup
// is not kept: the next dial tries again.
func (h *hostAddrs) addrs(ctx context.Context, r *Runner, interval time.Duration) (*addrSnapshot, error) {
	if s := h.snap.Load(); s != nil {
		return s, nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if s := h.snap.Load(); s != nil {
		return s, nil
	}
	addrs, err := lookup(ctx, r.resolver, h.name)
	if err != nil {
		return nil, err
	}
	s := &addrSnapshot{addrs: addrs, gen: 1}
	if interval > 0 {
		s.expires = time.Now().Add(interval)
	}
	h.snap.Store(s)
	return s, nil
}

// lookup resolves name to its sorted, distinct addresses. On a machine
// without IPv6, IPv6 addresses are left out when the name has IPv4 ones
// (a connect to them would fail with EADDRNOTAVAIL or ENETUNREACH), as
// urllib3 resolves only IPv4 there.
func lookup(ctx context.Context, res Resolver, name string) ([]netip.Addr, error) {
	addrs, err := res.LookupNetIP(ctx, "ip", name)
	if err == nil && len(addrs) == 0 {
		err = &net.DNSError{Err: "no addresses", Name: name}
	}
	if err != nil {
		return nil, err
	}
	for i, a := range addrs {
		addrs[i] = a.Unmap()
	}
	if slices.ContainsFunc(addrs, netip.Addr.Is4) && !ipv6Usable() {
		addrs = slices.DeleteFunc(addrs, func(a netip.Addr) bool { return !a.Is4() })
	}
	slices.SortFunc(addrs, func(a, b netip.Addr) int { return a.Compare(b) })
	return slices.Compact(addrs), nil
}

// ipv6Usable reports whether this machine has IPv6, probed once as urllib3
// probes it (HAS_IPV6: binding a socket to ::1).
var ipv6Usable = sync.OnceValue(func() bool {
	c, err := net.ListenPacket("udp6", "[::1]:0")
	if err != nil {
		return false
	}
	c.Close()
	return true
})

// maybeRefresh starts a background resolution if s has expired at now and
// none is running. The runner owns the goroutine (Close waits for it).
func (h *hostAddrs) maybeRefresh(s *addrSnapshot, now time.Time, r *Runner, interval time.Duration) {
	if s.expires.IsZero() || now.Before(s.expires) || !h.refreshing.CompareAndSwap(false, true) {
		return
	}
	r.bg.Add(1)
	go func() {
		defer r.bg.Done()
		defer h.refreshing.Store(false)
		ctx, cancel := context.WithTimeout(r.ctx, refreshTimeout)
		defer cancel()
		addrs, err := lookup(ctx, r.resolver, h.name)
		old := h.snap.Load()
		next := &addrSnapshot{addrs: old.addrs, gen: old.gen, expires: time.Now().Add(interval)}
		switch {
		case err != nil:
			if r.ctx.Err() == nil {
				r.log.Warn("scenario: resolving a host name again failed; users keep its previous addresses",
					"host", h.name, "err", err, "retry_in", interval)
			}
		case !slices.Equal(addrs, old.addrs):
			next.addrs, next.gen = addrs, old.gen+1
			r.log.Info("scenario: a host name resolves to other addresses; users move to them on their next request",
				"host", h.name, "addresses", len(addrs))
		}
		h.snap.Store(next)
	}()
}
