package webguard

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"sync"
	"time"
)

// Limits of the password checks.
const (
	// maxChecks is how many bcrypt comparisons run at once; more wait.
	maxChecks = 2
	// goodTTL is how long credentials that passed are remembered, so a
	// script polling with basic auth costs one bcrypt, not one per request.
	goodTTL = 5 * time.Minute
	// maxGood bounds the remembered credentials.
	maxGood = 256
)

// outcome is the result of a password check.
type outcome int

const (
	accepted outcome = iota
	refused
	limited // too many failures from the client: not checked
)

// verifier checks user names and passwords against Users, limiting failures
// per client and the bcrypt work done at once.
type verifier struct {
	users *Users
	limit *limiter
	slots chan struct{}

	mu   sync.Mutex
	key  [32]byte
	good map[[32]byte]time.Time // HMAC of passed credentials -> when forgotten
}

func newVerifier(u *Users) *verifier {
	v := &verifier{users: u, limit: newLimiter(FailureBurst, FailureRefill, MaxClients),
		slots: make(chan struct{}, maxChecks), good: map[[32]byte]time.Time{}}
	rand.Read(v.key[:])
	return v
}

func (v *verifier) digest(user, pass string) [32]byte {
	m := hmac.New(sha256.New, v.key[:])
	m.Write([]byte(user + "\x00" + pass))
	return [32]byte(m.Sum(nil))
}

// remembered reports whether these credentials passed recently.
func (v *verifier) remembered(d [32]byte, now time.Time) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	exp, ok := v.good[d]
	return ok && now.Before(exp)
}

func (v *verifier) remember(d [32]byte, now time.Time) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.good) >= maxGood {
		for k, exp := range v.good {
			if !now.Before(exp) {
				delete(v.good, k)
			}
		}
	}
	if len(v.good) < maxGood {
		v.good[d] = now.Add(goodTTL)
	}
}

// verify checks user and pass for client. When the client has used up its
// failures it returns limited and the wait, without checking.
func (v *verifier) verify(ctx context.Context, client, user, pass string, now time.Time) (outcome, time.Duration) {
	d := v.digest(user, pass)
	if v.remembered(d, now) {
		return accepted, 0
	}
	if ok, wait := v.limit.take(client, now); !ok {
		return limited, wait
	}
	select {
	case v.slots <- struct{}{}:
	case <-ctx.Done():
		return refused, 0
	}
	ok := v.users.check(user, pass)
	<-v.slots
	if !ok {
		return refused, 0
	}
	v.limit.refund(client, now)
	v.remember(d, now)
	return accepted, 0
}
