package webguard

import (
	"net/http"
	"net/netip"
	"sync"
	"time"
)

// Failed logins are limited per client with a token bucket: a client may
// fail FailureBurst times in a row, then once per FailureRefill. While its
// bucket is empty, its attempts get 429 without a password check, right or
// wrong.
const (
	FailureBurst  = 10
	FailureRefill = 6 * time.Second
	// MaxClients bounds the table of clients with recent failures. When it
	// is full of clients still limited, further clients share one bucket:
	// an attacker with many addresses slows down together, and the table
	// stays bounded.
	MaxClients = 4096
)

// limiter is the failed-login limiter: buckets by client key.
type limiter struct {
	mu       sync.Mutex
	burst    float64
	refill   time.Duration
	max      int
	clients  map[string]*bucket
	overflow bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newLimiter(burst int, refill time.Duration, maxClients int) *limiter {
	return &limiter{burst: float64(burst), refill: refill, max: maxClients, clients: map[string]*bucket{},
		overflow: bucket{tokens: float64(burst)}}
}

// fill adds the tokens earned since b.last.
func (l *limiter) fill(b *bucket, now time.Time) {
	if !b.last.IsZero() {
		b.tokens = min(l.burst, b.tokens+float64(now.Sub(b.last))/float64(l.refill))
	}
	b.last = now
}

// bucketFor returns key's bucket, making one if the table has room (after
// dropping the buckets that are full again), else the shared one.
func (l *limiter) bucketFor(key string, now time.Time) *bucket {
	if b := l.clients[key]; b != nil {
		return b
	}
	if len(l.clients) >= l.max {
		for k, b := range l.clients {
			if l.fill(b, now); b.tokens >= l.burst {
				delete(l.clients, k)
			}
		}
	}
	if len(l.clients) >= l.max {
		return &l.overflow
	}
	b := &bucket{tokens: l.burst}
	l.clients[key] = b
	return b
}

// take reserves one attempt for key. It returns false, with the time until
// the next attempt, when key has none left.
func (l *limiter) take(key string, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.bucketFor(key, now)
	l.fill(b, now)
	if b.tokens < 1 {
		return false, time.Duration((1 - b.tokens) * float64(l.refill))
	}
	b.tokens--
	return true, 0
}

// refund gives back the attempt of a successful login.
func (l *limiter) refund(key string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.bucketFor(key, now)
	l.fill(b, now)
	b.tokens = min(l.burst, b.tokens+1)
}

// clientKey is the client's address from the connection (a proxy's
// X-Forwarded-For is not trusted: anyone can send it). An IPv6 client is
// keyed by its /64, which one host usually has whole.
func clientKey(r *http.Request) string {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	a := ap.Addr().Unmap()
	if a.Is6() {
		p, _ := a.WithZone("").Prefix(64)
		return p.String()
	}
	return a.String()
}
