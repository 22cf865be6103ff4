package webguard

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"strings"
	"time"
)

// DefaultSessionTTL is how long a browser's login lasts.
const DefaultSessionTTL = 12 * time.Hour

// sessions issues and checks session cookie values:
// base64url(user) "." expiry (Unix seconds) "." base64url(HMAC-SHA256).
// The key is random per process: no store, and a restart ends every session.
type sessions struct {
	key [32]byte
	ttl time.Duration
}

func newSessions(ttl time.Duration) *sessions {
	s := &sessions{ttl: ttl}
	rand.Read(s.key[:])
	return s
}

func (s *sessions) mac(user string, expiry int64) []byte {
	m := hmac.New(sha256.New, s.key[:])
	m.Write([]byte("glocust-session\x00" + user + "\x00" + strconv.FormatInt(expiry, 10)))
	return m.Sum(nil)
}

// issue returns a cookie value for user and when it expires.
func (s *sessions) issue(user string, now time.Time) (string, time.Time) {
	exp := now.Add(s.ttl).Truncate(time.Second)
	b64 := base64.RawURLEncoding
	v := b64.EncodeToString([]byte(user)) + "." + strconv.FormatInt(exp.Unix(), 10) + "." + b64.EncodeToString(s.mac(user, exp.Unix()))
	return v, exp
}

// user returns the user of a cookie value that this process issued and
// that has not expired.
func (s *sessions) user(v string, now time.Time) (string, bool) {
	parts := strings.Split(v, ".")
	if len(parts) != 3 {
		return "", false
	}
	b64 := base64.RawURLEncoding
	user, err1 := b64.DecodeString(parts[0])
	exp, err2 := strconv.ParseInt(parts[1], 10, 64)
	sig, err3 := b64.DecodeString(parts[2])
	if err1 != nil || err2 != nil || err3 != nil {
		return "", false
	}
	if !hmac.Equal(sig, s.mac(string(user), exp)) || !now.Before(time.Unix(exp, 0)) {
		return "", false
	}
	return string(user), true
}
