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
// the hot path does no formatting. The cache holds one rendering (one host
// and one class HTTP configuration), so a Request shared by classes with
// different hosts or HTTPConfigs is rendered again whenever the other class
// uses it. A Request must not be modified after its first use.
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
	// ConnectTimeout and ReadTimeout are Python requests' timeout=(connect,
	// read), as urllib3 applies them: ConnectTimeout bounds connecting (the
	// TCP connect, a proxy's CONNECT and the TLS handshake) and then
	// sending the request; ReadTimeout bounds each wait for the response
	// (for its first bytes, then between reads), not the whole response.
	// 0 means no limit. They apply besides Timeout.
	ConnectTimeout, ReadTimeout time.Duration
	// ExpectStatus lists the successful status codes. Empty means Locust's
	// rule: status codes below 400 succeed.
	ExpectStatus []int
	// ExpectBodyContains, when set, must occur in the response body.
	ExpectBodyContains string
	// ExpectJSON checks values of the response body read as JSON (after
	// decoding its Content-Encoding): every check must hold (checks.go).
	ExpectJSON []JSONCheck
	// ExpectHeader checks the response's header fields: every check
	// must hold.
	ExpectHeader []HeaderCheck
	// ExpectMaxTime, when more than 0, fails a response whose response
	// time (Response.Elapsed, as measured, without latency correction) is
	// longer. The request is recorded with that response time, as a
	// failure.
	ExpectMaxTime time.Duration
	// Check, when set, runs after the other checks passed; a non-nil
	// error marks the request failed with its text (Locust's
	// catch_response with response.failure()).
	//
	// The checks run in this order, and the first that fails gives the
	// request's failure: ExpectStatus, ExpectBodyContains, ExpectJSON,
	// ExpectHeader, ExpectMaxTime, Check; extractions (YAML extract) run
	// only when all passed.
	Check func(*Response) error
	// NoRedirects disables following redirects (Locust follows them).
	NoRedirects bool
	// Close sends the request with "Connection: close" and closes the
	// connection after the response (HTTPConfig.ConnectionClose does it
	// for every request of a class).
	Close bool

	tpl  *reqTemplate // the compiled "${...}" of a YAML request (tmplreq.go); nil: none
	prep atomic.Pointer[prepared]
}

// maxRedirects is the redirect limit of Python requests.
const maxRedirects = 30

// target is where a request goes, and how.
type target struct {
	hostname string // the URL's host name: cookie domain matching, SNI
	port     string // the URL's explicit port, "" if none
	addr     string // host:port of the target
	tls      *tls.Config
	proxy    *proxyURL // nil: direct
	key      string    // identifies the user's connection to the target
}

// hop returns the host and port of the first hop: the proxy or the target.
func (t *target) hop() (host, port string) {
	if t.proxy != nil {
		return t.proxy.host, t.proxy.port
	}
	h, p, _ := net.SplitHostPort(t.addr)
	return h, p
}

// prepared is a Request rendered for one host and HTTP profile.
type prepared struct {
	hostKey  string       // the base host it was prepared for
	prof     *httpProfile // and the profile
	url      *url.URL
	method   string
	name     string
	target   target
	head     []byte // request line and headers, without the final CRLF
	body     []byte
	wire     []byte       // head, CRLF and body: the whole request when no cookie is sent; nil for large bodies
	path     string       // URL path, for cookie matching
	tpl      *reqTemplate // a templated request: head is rendered from headSegs
	headSegs []tseg
	isHead   bool
	secure   bool
	close    bool        // close the connection after the response
	chk      *respChecks // ExpectJSON, ExpectHeader, ExpectMaxTime; nil: none

	entry atomic.Pointer[entryCache]
}

type entryCache struct {
	owner *Runner
	e     EntryRecorder
}

// preparedFor returns the request rendered for host and prof, from the
// cache when the last use was for the same host and profile.
func (r *Request) preparedFor(host string, prof *httpProfile) (*prepared, error) {
	if p := r.prep.Load(); p != nil && p.hostKey == host && p.prof == prof {
		return p, nil
	}
	p, err := prepare(r, host, prof)
	if err != nil {
		return nil, err
	}
	r.prep.Store(p)
	return p, nil
}

// statsName is the name a request is recorded under when it cannot even be
// prepared.
func (r *Request) statsName() string {
	switch {
	case r.Name != "":
		return r.Name
	case r.tpl != nil && r.tpl.display != "":
		return r.tpl.display
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

// maxWireBody is the largest body kept pre-rendered with its request head.
const maxWireBody = 64 << 10

// appendBody appends a body of at most maxWireBody bytes to dst; a larger
// one is returned as tail, to be written from where it is rather than
// copied for every request.
func appendBody(dst, body []byte) (out, tail []byte) {
	if len(body) > maxWireBody {
		return dst, body
	}
	return append(dst, body...), nil
}

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

// prepare renders r for host and prof.
func prepare(r *Request, host string, prof *httpProfile) (*prepared, error) {
	u, err := resolveURL(host, r.URL)
	if err != nil {
		return nil, err
	}
	p := &prepared{hostKey: host, prof: prof, url: u, method: r.method(), body: r.Body,
		close: r.Close || prof.cfg.ConnectionClose}
	if r.tpl.renders() {
		p.tpl = r.tpl
	}
	p.name = r.Name
	if p.name == "" {
		p.name = requestURI(u)
	}
	if err := p.renderFor(u, r.Header); err != nil {
		return nil, err
	}
	if p.tpl != nil {
		if err := p.tpl.prepareTemplate(p, r); err != nil {
			return nil, err
		}
	}
	if p.chk, err = compileChecks(r); err != nil {
		return nil, err
	}
	return p, nil
}

// renderFor sets p's target, path and rendered head for URL u with the
// request's headers h: in absolute form with the proxy's credentials for a
// plain HTTP request through a proxy, with "Connection: close" if p closes.
func (p *prepared) renderFor(u *url.URL, h http.Header) error {
	p.url = u
	p.target = p.prof.target(u)
	p.path = u.Path
	if p.path == "" {
		p.path = "/"
	}
	p.isHead = p.method == http.MethodHead
	p.secure = u.Scheme == "https"
	uri := requestURI(u)
	var extra []string
	if t := &p.target; t.proxy != nil && t.tls == nil {
		uri = u.Scheme + "://" + u.Host + uri
		if t.proxy.auth != "" {
			extra = append(extra, "Proxy-Authorization", t.proxy.auth)
		}
	}
	if p.close {
		extra = append(extra, "Connection", "close")
	}
	bodyLen := len(p.body)
	if p.tpl != nil && p.tpl.body != nil {
		bodyLen = templatedBody
	}
	var err error
	if p.head, err = renderHead(p.method, uri, u.Host, h, bodyLen, p.prof.acceptEncoding, extra...); err != nil {
		return err
	}
	p.render()
	return nil
}

// templatedBody, as renderHead's bodyLen, writes clMarker for the
// Content-Length, which a templated request writes per request.
const templatedBody = -1

// renderHead renders the request line and headers (without the final
// CRLF). User-Agent, Accept-Encoding (ae, unless empty) and Accept are
// sent unless the request has its own, in the order Python requests sends
// them. extra are pairs of header names and values the client adds; they
// replace the request's own headers of the same names.
func renderHead(method, uri, host string, h http.Header, bodyLen int, ae string, extra ...string) ([]byte, error) {
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
	// A YAML request keeps its header names as written ("user-agent").
	has := func(k string) bool {
		for hk := range h {
			if strings.EqualFold(hk, k) {
				return true
			}
		}
		return false
	}
	if !has("User-Agent") {
		b = append(b, "User-Agent: "+UserAgent+"\r\n"...)
	}
	if ae != "" && !has("Accept-Encoding") {
		b = append(b, "Accept-Encoding: "...)
		b = append(b, ae...)
		b = append(b, "\r\n"...)
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
		if ck == "Host" || ck == "Content-Length" || ck == "Transfer-Encoding" || isExtra(ck, extra) {
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
	for i := 0; i+1 < len(extra); i += 2 {
		b = append(b, extra[i]...)
		b = append(b, ": "...)
		b = append(b, extra[i+1]...)
		b = append(b, "\r\n"...)
	}
	if bodyLen == templatedBody {
		b = append(b, "Content-Length: "+clMarker+"\r\n"...)
	} else if bodyLen > 0 || method == http.MethodPost || method == http.MethodPut || method == http.MethodPatch {
		b = append(b, "Content-Length: "...)
		b = strconv.AppendInt(b, int64(bodyLen), 10)
		b = append(b, "\r\n"...)
	}
	return b, nil
}

// isExtra reports whether the canonical header name ck is among the
// client's extra headers.
func isExtra(ck string, extra []string) bool {
	for i := 0; i < len(extra); i += 2 {
		if ck == extra[i] {
			return true
		}
	}
	return false
}
