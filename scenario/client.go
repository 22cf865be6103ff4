package scenario

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/valyala/fasthttp"
)

// HTTPClient is one user's HTTP client, in the role of Locust's
// HttpSession: every request is recorded in stats (name, response time,
// body length, failure text), cookies are kept per user, and the user owns
// one keep-alive connection per host, dialled on first use. Buffers are
// borrowed from pools per request, so an idle user holds little memory.
//
// It belongs to its user's goroutine; do not share it. A request in flight
// is interrupted (its connection closed) when the user is stopped without
// grace; a deadline of the context passed to Do also bounds the request.
type HTTPClient struct {
	u    *UserContext
	jar  jar
	resp Response

	mu      sync.Mutex // guards conns against abort; only abort and conn changes take it
	aborted bool
	gen     uint64 // binding generation, see bind
	conns   []*hconn
}

type hconn struct {
	key         string // target key
	c           net.Conn
	uses        int
	hasDeadline bool
}

// Response is the outcome of one request. It is owned by the client and
// reused: it stays valid until the user's next request or the end of the
// current task, whichever comes first.
type Response struct {
	StatusCode int
	// Elapsed is the recorded response time: from before sending until
	// the whole body was read (redirects included).
	Elapsed time.Duration
	// Err is nil when the request succeeded, otherwise the reason it was
	// recorded as a failure (or the context error if the user was stopped,
	// in which case nothing was recorded).
	Err error
	raw *fasthttp.Response
}

// OK reports whether the request succeeded.
func (r *Response) OK() bool { return r.Err == nil }

// Body returns the response body (de-chunked, not decompressed).
func (r *Response) Body() []byte {
	if r.raw == nil {
		return nil
	}
	return r.raw.Body()
}

// Header returns the first value of a response header.
func (r *Response) Header(key string) string {
	if r.raw == nil {
		return ""
	}
	return string(r.raw.Header.Peek(key))
}

// Raw returns the underlying fasthttp response (nil if nothing was read).
func (r *Response) Raw() *fasthttp.Response { return r.raw }

// Get sends a GET request for path (relative to the user's host, or an
// absolute URL), recorded under name (empty: the path). It renders the
// request on every call; hot paths should reuse a *Request with Do.
func (c *HTTPClient) Get(ctx context.Context, path, name string) *Response {
	return c.Do(ctx, &Request{URL: path, Name: name})
}

// Post sends a POST request with the given body and Content-Type.
func (c *HTTPClient) Post(ctx context.Context, path, name, contentType string, body []byte) *Response {
	r := &Request{Method: http.MethodPost, URL: path, Name: name, Body: body}
	if contentType != "" {
		r.Header = http.Header{"Content-Type": {contentType}}
	}
	return c.Do(ctx, r)
}

// Do sends req, records it in stats and returns the response. Failures
// (connection errors, unexpected status, failed checks) are recorded and
// described in Response.Err; they are data, not exceptions.
func (c *HTTPClient) Do(ctx context.Context, req *Request) *Response {
	resp := c.response()
	p, err := req.preparedFor(c.u.Host)
	if err != nil {
		resp.Err = err
		c.u.entry(req.method(), req.statsName()).RecordFailure(c.u.now(), 0, 0, err.Error())
		return resp
	}
	entry := c.entryFor(p)
	start := time.Now()
	err = c.roundTrip(ctx, req, p, resp.raw)
	resp.Elapsed = time.Since(start)
	if err != nil && ctx.Err() != nil {
		resp.Err = ctx.Err() // the user is being stopped: not recorded, as in Locust
		return resp
	}
	resp.StatusCode = resp.raw.StatusCode()
	length := int64(len(resp.raw.Body()))
	if err == nil {
		err = checkResponse(req, resp)
	}
	if err != nil {
		resp.Err = err
		entry.RecordFailure(c.u.now(), resp.Elapsed, length, failureText(err))
		return resp
	}
	entry.Record(c.u.now(), resp.Elapsed, length)
	return resp
}

// entryFor returns p's stats entry: cached in p for request definitions
// that are reused, else from the user's cache (requests built per call).
func (c *HTTPClient) entryFor(p *prepared) EntryRecorder {
	r := c.u.r
	if ec := p.entry.Load(); ec != nil && ec.owner == r {
		return ec.e
	}
	e := c.u.entry(p.method, p.name)
	p.entry.Store(&entryCache{owner: r, e: e})
	return e
}

// response readies the client's reused Response.
func (c *HTTPClient) response() *Response {
	if c.resp.raw == nil {
		c.resp.raw = fasthttp.AcquireResponse()
	} else {
		c.resp.raw.Reset()
	}
	c.resp.StatusCode, c.resp.Elapsed, c.resp.Err = 0, 0, nil
	return &c.resp
}

// endTask returns borrowed buffers; the user calls it after every task.
func (c *HTTPClient) endTask() {
	if c.resp.raw != nil {
		fasthttp.ReleaseResponse(c.resp.raw)
		c.resp = Response{}
	}
}

// StatusError is the failure of a response with an unexpected status.
type StatusError struct {
	StatusCode int
	Expected   []int // nil: Locust's rule (below 400)
}

func (e *StatusError) Error() string {
	s := "HTTP " + strconv.Itoa(e.StatusCode) + " " + fasthttp.StatusMessage(e.StatusCode)
	if len(e.Expected) == 0 {
		return s
	}
	exp := make([]string, len(e.Expected))
	for i, c := range e.Expected {
		exp[i] = strconv.Itoa(c)
	}
	return s + " (expected " + strings.Join(exp, " or ") + ")"
}

func checkResponse(req *Request, resp *Response) error {
	code := resp.StatusCode
	if len(req.ExpectStatus) == 0 {
		if code >= 400 {
			return &StatusError{StatusCode: code}
		}
	} else if !containsInt(req.ExpectStatus, code) {
		return &StatusError{StatusCode: code, Expected: req.ExpectStatus}
	}
	if req.ExpectBodyContains != "" && !bytes.Contains(resp.Body(), []byte(req.ExpectBodyContains)) {
		return fmt.Errorf("response body does not contain %q", req.ExpectBodyContains)
	}
	if req.Check != nil {
		return req.Check(resp)
	}
	return nil
}

func containsInt(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// roundTrip sends p and reads the response into resp, following redirects
// unless req disables them.
func (c *HTTPClient) roundTrip(ctx context.Context, req *Request, p *prepared, resp *fasthttp.Response) error {
	var deadline time.Time
	if req.Timeout > 0 {
		deadline = time.Now().Add(req.Timeout)
	}
	if d, ok := ctx.Deadline(); ok && (deadline.IsZero() || d.Before(deadline)) {
		deadline = d
	}
	for hops := 0; ; hops++ {
		if err := c.exchange(ctx, p, resp, deadline); err != nil {
			return err
		}
		if req.NoRedirects || !isRedirect(resp.StatusCode()) {
			return nil
		}
		loc := resp.Header.Peek("Location")
		if len(loc) == 0 {
			return nil
		}
		if hops >= maxRedirects {
			return fmt.Errorf("exceeded %d redirects", maxRedirects)
		}
		next, err := redirectTo(p, resp.StatusCode(), string(loc), req)
		if err != nil {
			return err
		}
		p = next
		resp.Reset()
	}
}

func isRedirect(code int) bool {
	switch code {
	case 301, 302, 303, 307, 308:
		return true
	}
	return false
}

// redirectTo prepares the request a redirect leads to (rare; allocates).
func redirectTo(p *prepared, code int, location string, req *Request) (*prepared, error) {
	u, err := p.url.Parse(location)
	if err != nil {
		return nil, fmt.Errorf("invalid redirect location %q: %w", location, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("unsupported redirect location %q", location)
	}
	method, body, hdr := p.method, p.body, req.Header
	if code == 303 && method != http.MethodHead || (code == 301 || code == 302) && method == http.MethodPost {
		method, body = http.MethodGet, nil
		hdr = hdr.Clone()
		if hdr != nil {
			hdr.Del("Content-Type")
		}
	}
	n := &prepared{url: u, method: method, name: p.name, target: targetOf(u), body: body, path: u.Path,
		isHead: method == http.MethodHead, secure: u.Scheme == "https"}
	if n.path == "" {
		n.path = "/"
	}
	n.head, err = renderHead(method, requestURI(u), u.Host, hdr, len(body))
	return n, err
}

// exchange performs one request/response on the user's connection to
// p's target, redialling once if a reused keep-alive connection turned out
// to be closed by the server.
func (c *HTTPClient) exchange(ctx context.Context, p *prepared, resp *fasthttp.Response, deadline time.Time) error {
	for attempt := 0; ; attempt++ {
		hc, err := c.conn(ctx, p.target)
		if err != nil {
			return err
		}
		reused := hc.uses > 0
		err = c.send(hc, p, resp, deadline)
		if err == nil {
			hc.uses++
			c.jar.update(resp, p.target.hostname, p.path, c.u.now())
			if resp.ConnectionClose() {
				c.drop(hc)
			}
			return nil
		}
		c.drop(hc)
		if ctx.Err() != nil || !reused || attempt > 0 || !isStaleConn(err) {
			return err
		}
		resp.Reset()
	}
}

var (
	writerPool = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 4096) }}
	readerPool = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 4096) }}
)

func (c *HTTPClient) send(hc *hconn, p *prepared, resp *fasthttp.Response, deadline time.Time) error {
	if !deadline.IsZero() {
		if err := hc.c.SetDeadline(deadline); err != nil {
			return err
		}
		hc.hasDeadline = true
	} else if hc.hasDeadline {
		if err := hc.c.SetDeadline(time.Time{}); err != nil {
			return err
		}
		hc.hasDeadline = false
	}
	w := writerPool.Get().(*bufio.Writer)
	w.Reset(hc.c)
	w.Write(p.head)
	c.jar.writeHeader(w, p.target.hostname, p.path, p.secure, c.u.now())
	w.WriteString("\r\n")
	w.Write(p.body)
	err := w.Flush()
	w.Reset(nil)
	writerPool.Put(w)
	if err != nil {
		return err
	}
	br := readerPool.Get().(*bufio.Reader)
	br.Reset(hc.c)
	resp.SkipBody = p.isHead
	err = resp.Read(br)
	if err == nil && br.Buffered() > 0 {
		resp.SetConnectionClose() // unexpected extra bytes: do not reuse
	}
	br.Reset(nil)
	readerPool.Put(br)
	return err
}

// conn returns the user's connection to t, dialling it if needed.
func (c *HTTPClient) conn(ctx context.Context, t target) (*hconn, error) {
	key := t.key()
	for _, hc := range c.conns {
		if hc.key == key {
			return hc, nil
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	nc, err := c.u.r.dialer.DialContext(ctx, "tcp", t.addr)
	if err != nil {
		return nil, err
	}
	if t.tls != nil {
		tc := tls.Client(nc, t.tls)
		if err := tc.HandshakeContext(ctx); err != nil {
			nc.Close()
			return nil, err
		}
		nc = tc
	}
	hc := &hconn{key: key, c: nc}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.aborted {
		nc.Close()
		return nil, context.Canceled
	}
	c.conns = append(c.conns, hc)
	return hc, nil
}

func (c *HTTPClient) drop(hc *hconn) {
	hc.c.Close()
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, o := range c.conns {
		if o == hc {
			c.conns = append(c.conns[:i], c.conns[i+1:]...)
			break
		}
	}
}

// bind makes a cancellation of ctx interrupt the user's requests by
// closing its connections, until the returned function unbinds it. Each
// binding has its own generation, so a late abort of an earlier binding
// cannot touch the connections of a later one.
func (c *HTTPClient) bind(ctx context.Context) (unbind func() bool) {
	c.mu.Lock()
	if c.aborted {
		for _, hc := range c.conns {
			hc.c.Close()
		}
		c.conns = nil
		c.aborted = false
	}
	c.gen++
	gen := c.gen
	c.mu.Unlock()
	return context.AfterFunc(ctx, func() { c.abort(gen) })
}

func (c *HTTPClient) abort(gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	c.aborted = true
	for _, hc := range c.conns {
		hc.c.Close()
	}
}

// close closes every connection of the user.
func (c *HTTPClient) close() {
	c.endTask()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, hc := range c.conns {
		hc.c.Close()
	}
	c.conns = nil
}

// isStaleConn reports errors that a keep-alive connection closed by the
// server produces on its next use.
func isStaleConn(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, net.ErrClosed) || isConnReset(err) || errors.Is(err, fasthttp.ErrConnectionClosed)
}
