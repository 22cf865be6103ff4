package scenario

import (
	"bytes"
	"strings"
	"time"

	"github.com/valyala/fasthttp"
)

// jar is a user's cookie jar: enough of RFC 6265 for load tests (host-only
// and domain cookies, path prefix, Secure, Max-Age/Expires). It belongs to
// the user's goroutine.
type jar struct {
	cookies []jarCookie
}

type jarCookie struct {
	name, value string
	domain      string // lower-case host or domain
	hostOnly    bool
	path        string
	secure      bool
	expires     time.Time // zero: session cookie
}

func (c *jarCookie) matches(host, path string, secure bool, now time.Time) bool {
	if c.secure && !secure {
		return false
	}
	if !c.expires.IsZero() && !now.Before(c.expires) {
		return false
	}
	if c.hostOnly {
		if !strings.EqualFold(host, c.domain) {
			return false
		}
	} else if !domainMatch(host, c.domain) {
		return false
	}
	return pathMatch(path, c.path)
}

func domainMatch(host, domain string) bool {
	if strings.EqualFold(host, domain) {
		return true
	}
	return len(host) > len(domain) && strings.EqualFold(host[len(host)-len(domain):], domain) &&
		host[len(host)-len(domain)-1] == '.'
}

func pathMatch(reqPath, cookiePath string) bool {
	if reqPath == cookiePath || cookiePath == "/" {
		return true
	}
	if !strings.HasPrefix(reqPath, cookiePath) {
		return false
	}
	return strings.HasSuffix(cookiePath, "/") || reqPath[len(cookiePath)] == '/'
}

// defaultPath is RFC 6265's default-path of a request path.
func defaultPath(p string) string {
	i := strings.LastIndexByte(p, '/')
	if i <= 0 {
		return "/"
	}
	return p[:i]
}

// appendHeader appends a "Cookie: ...\r\n" line for the matching cookies.
func (j *jar) appendHeader(b []byte, host, path string, secure bool, now time.Time) []byte {
	first := true
	for i := range j.cookies {
		c := &j.cookies[i]
		if !c.matches(host, path, secure, now) {
			continue
		}
		if first {
			b = append(b, "Cookie: "...)
			first = false
		} else {
			b = append(b, "; "...)
		}
		b = append(b, c.name...)
		b = append(b, '=')
		b = append(b, c.value...)
	}
	if !first {
		b = append(b, "\r\n"...)
	}
	return b
}

// update stores the Set-Cookie headers of resp, received for host and path.
func (j *jar) update(resp *fasthttp.Response, host, path string, now time.Time) {
	var ck *fasthttp.Cookie
	for _, raw := range resp.Header.Cookies() {
		if ck == nil {
			ck = fasthttp.AcquireCookie()
		} else {
			ck.Reset()
		}
		if ck.ParseBytes(raw) != nil || len(ck.Key()) == 0 {
			continue
		}
		j.set(ck, host, path, now)
	}
	if ck != nil {
		fasthttp.ReleaseCookie(ck)
	}
}

func (j *jar) set(ck *fasthttp.Cookie, host, reqPath string, now time.Time) {
	domain, hostOnly := strings.ToLower(host), true
	if d := bytes.TrimPrefix(ck.Domain(), []byte(".")); len(d) > 0 {
		if !domainMatch(host, string(d)) {
			return // a domain the host may not set
		}
		domain, hostOnly = strings.ToLower(string(d)), false
	}
	path := string(ck.Path())
	if path == "" || path[0] != '/' {
		path = defaultPath(reqPath)
	}
	var expires time.Time
	switch ma := ck.MaxAge(); {
	case ma < 0:
		expires = now.Add(-time.Second)
	case ma > 0:
		expires = now.Add(time.Duration(ma) * time.Second)
	default:
		if e := ck.Expire(); !e.Equal(fasthttp.CookieExpireUnlimited) {
			expires = e
		}
	}
	for i := range j.cookies {
		c := &j.cookies[i]
		if c.domain != domain || c.path != path || c.name != string(ck.Key()) {
			continue
		}
		if !expires.IsZero() && !now.Before(expires) {
			j.cookies = append(j.cookies[:i], j.cookies[i+1:]...)
			return
		}
		if c.value != string(ck.Value()) {
			c.value = string(ck.Value())
		}
		c.hostOnly, c.secure, c.expires = hostOnly, ck.Secure(), expires
		return
	}
	if !expires.IsZero() && !now.Before(expires) {
		return
	}
	j.cookies = append(j.cookies, jarCookie{
		name: string(ck.Key()), value: string(ck.Value()), domain: domain, hostOnly: hostOnly,
		path: path, secure: ck.Secure(), expires: expires,
	})
}
