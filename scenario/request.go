package scenario

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// UserAgent is sent unless a request sets its own User-Agent header.
const UserAgent = "glocust"

// Request describes one HTTP request. Build it once (e.g. as a package
// variable or when compiling a scenario) and reuse it from every user: the
// wire form of its headers is rendered on first use per host and cached, so
// the hot path does no formatting. A Request must not be modified after its
// first use.
type Request struct {
	// Method defaults to GET.
	Method string
	// URL is a path relative to the user's host ("/item?id=1"; the host
	// and path are concatenated, as Locust does) or an absolute http(s) URL.
	URL string
	// Name is the stats name; empty means the path and query of the URL,
	// like Locust's default.
	Name   string
	Header http.Header
	Body   []byte
	// Timeout bounds the whole exchange; 0 means none (Locust's default),
	// though a deadline of the task's context still applies.
	Timeout time.Duration
	// ExpectStatus lists the successful status codes. Empty means Locust's
	// rule: status codes below 400 succeed.
	ExpectStatus []int
	// ExpectBodyContains, when set, must occur in the response body.
	ExpectBodyContains string
	// Check, when set, runs after the other checks passed; a non-nil
	// error marks the request failed with its text (Locust's
	// catch_response with response.failure()).
	Check func(*Response) error
	// NoRedirects disables following redirects (Locust follows them).
	NoRedirects bool

	prep atomic.Pointer[prepared]
}

// maxRedirects is the redirect limit of Python requests.
const maxRedirects = 30

// target is where a request goes.
type target struct {
	addr     string // host:port to dial
	hostname string // for cookie domain matching
	tls      *tls.Config
	key      string // identifies the user's connection to the target
}

// prepared is a Request rendered for one host.
type prepared struct {
	hostKey string // the base host it was prepared for
	url     *url.URL
	method  string
	name    string
	target  target
	head    []byte // request line and headers, without the final CRLF
	body    []byte
	wire    []byte // head, CRLF and body: the whole request when no cookie is sent; nil for large bodies
	path    string // URL path, for cookie matching
	isHead  bool
	secure  bool

	entry atomic.Pointer[entryCache]
}

type entryCache struct {
	owner *Runner
	e     EntryRecorder
}

// preparedFor returns the request rendered for host, from the cache when
// the last use was for the same host.
func (r *Request) preparedFor(host string) (*prepared, error) {
	if p := r.prep.Load(); p != nil && p.hostKey == host {
		return p, nil
	}
	p, err := prepare(r, host)
	if err != nil {
		return nil, err
	}
	r.prep.Store(p)
	return p, nil
}

// statsName is the name a request is recorded under when it cannot even be
// prepared.
func (r *Request) statsName() string {
	if r.Name != "" {
		return r.Name
	}
	return r.URL
}

func (r *Request) method() string {
	if r.Method == "" {
		return http.MethodGet
	}
	return strings.ToUpper(r.Method)
}

var errNoHost = errors.New("no host set (use --host, the scenario's host or an absolute URL)")

// resolveURL joins host and a relative path the way Locust does (plain
// concatenation) or parses an absolute URL.
func resolveURL(host, raw string) (*url.URL, error) {
	if !isAbsoluteURL(raw) {
		if host == "" {
			return nil, errNoHost
		}
		raw = strings.TrimSuffix(host, "/") + ensureSlash(raw)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("invalid URL %q: %w", raw, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("unsupported URL scheme %q in %q", u.Scheme, raw)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("no host in URL %q", raw)
	}
	return u, nil
}

func ensureSlash(p string) string {
	if p == "" || p[0] == '/' || p[0] == '?' {
		return p
	}
	return "/" + p
}

func isAbsoluteURL(s string) bool {
	return hasPrefixFold(s, "http://") || hasPrefixFold(s, "https://")
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

func targetOf(u *url.URL) target {
	t := target{hostname: u.Hostname()}
	port := u.Port()
	if u.Scheme == "https" {
		if port == "" {
			port = "443"
		}
		t.tls = &tls.Config{ServerName: t.hostname, MinVersion: tls.VersionTLS12}
	} else if port == "" {
		port = "80"
	}
	t.addr = net.JoinHostPort(t.hostname, port)
	t.key = t.addr
	if t.tls != nil {
		t.key = "https://" + t.addr
	}
	return t
}

// maxWireBody is the largest body kept pre-rendered with its request head.
const maxWireBody = 64 << 10

// render pre-renders the whole request, for sending it in one write.
func (p *prepared) render() {
	if len(p.body) > maxWireBody {
		return
	}
	w := make([]byte, 0, len(p.head)+2+len(p.body))
	w = append(w, p.head...)
	w = append(w, "\r\n"...)
	p.wire = append(w, p.body...)
}

func requestURI(u *url.URL) string {
	p := u.EscapedPath()
	if p == "" {
		p = "/"
	}
	if u.RawQuery != "" {
		p += "?" + u.RawQuery
	}
	return p
}

// prepare renders r for host.
func prepare(r *Request, host string) (*prepared, error) {
	u, err := resolveURL(host, r.URL)
	if err != nil {
		return nil, err
	}
	p := &prepared{hostKey: host, url: u, method: r.method(), target: targetOf(u), body: r.Body}
	p.path = u.Path
	if p.path == "" {
		p.path = "/"
	}
	p.isHead = p.method == http.MethodHead
	p.secure = u.Scheme == "https"
	uri := requestURI(u)
	p.name = r.Name
	if p.name == "" {
		p.name = uri
	}
	p.head, err = renderHead(p.method, uri, u.Host, r.Header, len(r.Body))
	if err != nil {
		return nil, err
	}
	p.render()
	return p, nil
}

// renderHead renders the request line and headers (without the final CRLF).
func renderHead(method, uri, host string, h http.Header, bodyLen int) ([]byte, error) {
	if strings.ContainsAny(method, " \r\n") || strings.ContainsAny(uri, " \r\n") {
		return nil, fmt.Errorf("invalid method or URI %q %q", method, uri)
	}
	b := make([]byte, 0, 128)
	b = append(b, method...)
	b = append(b, ' ')
	b = append(b, uri...)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, host...)
	b = append(b, "\r\n"...)
	has := func(k string) bool { _, ok := h[http.CanonicalHeaderKey(k)]; return ok || h.Get(k) != "" }
	if !has("User-Agent") {
		b = append(b, "User-Agent: "+UserAgent+"\r\n"...)
	}
	if !has("Accept") {
		b = append(b, "Accept: */*\r\n"...)
	}
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		ck := http.CanonicalHeaderKey(k)
		if ck == "Host" || ck == "Content-Length" || ck == "Transfer-Encoding" {
			continue // owned by the client
		}
		if strings.ContainsAny(k, " :\r\n") || k == "" {
			return nil, fmt.Errorf("invalid header name %q", k)
		}
		for _, v := range h[k] {
			if strings.ContainsAny(v, "\r\n") {
				return nil, fmt.Errorf("invalid value for header %s", k)
			}
			b = append(b, k...)
			b = append(b, ": "...)
			b = append(b, v...)
			b = append(b, "\r\n"...)
		}
	}
	if bodyLen > 0 || method == http.MethodPost || method == http.MethodPut || method == http.MethodPatch {
		b = append(b, "Content-Length: "...)
		b = strconv.AppendInt(b, int64(bodyLen), 10)
		b = append(b, "\r\n"...)
	}
	return b, nil
}
