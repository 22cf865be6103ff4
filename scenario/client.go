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
	"net/netip"
	"os"
	"slices"
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
	prof *httpProfile // the class's HTTP configuration
	jar  jar
	resp Response
	tv   tvals // the values of the templated request in flight

	cs *checkState // checks.go: made by the first request with checks

	sessions tls.ClientSessionCache // the user's TLS sessions, with TLSConfig.SessionResumption

	mu      sync.Mutex // guards conns against abort; only abort and conn changes take it
	aborted bool
	// lastStatus is the status of the last response, 0 if it got none
	// (UserContext.LastStatus); owned by the user, beside aborted.
	lastStatus uint16
	gen        uint64 // binding generation, see bind
	conns      []*hconn

	start time.Time // of the request in flight
}

type hconn struct {
	key         string // target key
	c           net.Conn
	rw          io.ReadWriter // c, or raw syscalls on its socket (rawio_linux.go)
	uses        int
	hasDeadline bool
	tls         bool

	// The address the connection was dialled to, when the first hop was
	// a host name: the name's entry, the snapshot generation the address
	// was picked from, and the address (see current).
	host *hostAddrs
	gen  uint64
	ip   netip.Addr
}

// Response is the outcome of one request. It is owned by the client and
// reused: it stays valid until the user's next request or the end of the
// current task, whichever comes first.
type Response struct {
	// StatusCode is the final response's status; 0 if none was read.
	StatusCode int
	// Elapsed is the recorded response time: from before sending until
	// the whole body was read (redirects included).
	Elapsed time.Duration
	// Err is nil when the request succeeded, otherwise the reason it was
	// recorded as a failure (or the context error if the user was stopped,
	// in which case nothing was recorded).
	Err error

	rb    *rbuf        // the bytes read, borrowed for the task
	w     wireResponse // the parsed response; slices into rb
	raw   *fasthttp.Response
	rawOK bool // raw holds w

	// The body decoded per its Content-Encoding (decode.go), once asked
	// for: into db, borrowed for the task. decDone sits beside rawOK so
	// that both take one word (a user holds its Response).
	decDone bool
	db      *rbuf
	dec     []byte
	decErr  error
}

// OK reports whether the request succeeded.
func (r *Response) OK() bool { return r.Err == nil }

// Body returns the response body, de-chunked and decoded as its
// Content-Encoding says (gzip, deflate, br, zstd; a coding glocust does
// not know is left as received), as Locust's response.content. A body
// that cannot be decoded returns nil; Err then says why (a request whose
// checks or recorded content size needed the decoded body was recorded as
// failed with that error; otherwise Err is set by the first call to Body).
func (r *Response) Body() []byte {
	b, err := r.body()
	if err != nil {
		if r.Err == nil {
			r.Err = err
		}
		return nil
	}
	return b
}

// ReceivedBody returns the response body as received: de-chunked, still
// coded as its Content-Encoding says.
func (r *Response) ReceivedBody() []byte { return r.w.body }

// body returns the decoded body, decoding it on the first call.
func (r *Response) body() ([]byte, error) {
	if !r.w.coded || len(r.w.body) == 0 {
		return r.w.body, nil // no body (HEAD, 204, 304) is no coded body, as for urllib3
	}
	if !r.decDone {
		r.decode()
	}
	return r.dec, r.decErr
}

// decode decodes the body per the header's Content-Encoding (cold path:
// only responses that have one).
func (r *Response) decode() {
	r.decDone = true
	r.dec = r.w.body
	cs, known, err := contentCodings(r.w.header)
	if err == nil && (!known || cs.n == 0) {
		return
	}
	if err == nil {
		if r.db == nil {
			r.db = getRbuf()
		}
		r.db.b, err = decodeBody(r.db.b[:0], r.w.body, cs.list())
		r.dec = r.db.b
	}
	if err != nil {
		r.dec, r.decErr = nil, &DecodeError{Encoding: codingValue(r.w.header), Err: err}
	}
}

// Header returns the first value of a response header.
func (r *Response) Header(key string) string {
	raw := r.Raw()
	if raw == nil {
		return ""
	}
	return string(raw.Header.Peek(key))
}

// Raw returns the response as a fasthttp response (nil if no response was
// read). The header is parsed by fasthttp on the first call after a
// request; the body is ReceivedBody's (fasthttp's BodyUncompressed
// decodes it).
func (r *Response) Raw() *fasthttp.Response {
	if r.w.header == nil {
		return nil
	}
	if !r.rawOK {
		if r.raw == nil {
			r.raw = fasthttp.AcquireResponse()
		} else {
			r.raw.Reset()
		}
		r.raw.SkipBody = true
		br := bufio.NewReaderSize(bytes.NewReader(r.w.header), len(r.w.header)+16)
		r.raw.Header.Read(br) // the header was valid for our parser; fasthttp is as lenient
		r.raw.SkipBody = false
		r.raw.SetStatusCode(r.w.status)
		r.raw.SetBodyRaw(r.w.body)
		if r.w.close {
			r.raw.SetConnectionClose()
		}
		r.rawOK = true
	}
	return r.raw
}

// clear forgets the parsed response, keeping the buffers.
func (r *Response) clear() {
	r.w = wireResponse{}
	r.rawOK = false
	r.dec, r.decErr, r.decDone = nil, nil, false
}

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
	if tr := c.u.tracing(); tr != nil && !tr.inDo(c.u) {
		return tr.do(ctx, c, req) // trace.go: Do traced
	}
	resp := c.response()
	p, err := req.preparedFor(c.u.Host, c.prof)
	if err == nil {
		err = c.prof.err
	}
	if err == nil && req.tpl != nil {
		err = c.evalTemplate(req.tpl)
	}
	if err != nil {
		resp.Err = err
		c.lastStatus = 0
		c.u.entry(req.method(), req.statsName()).RecordFailure(c.u.now(), 0, 0, err.Error())
		return resp
	}
	var entry EntryRecorder
	if p.tpl != nil && p.tpl.name != nil {
		entry = c.statsEntry(p)
	} else {
		entry = c.entryFor(p)
	}
	// The clock is read twice per request: time.Now before sending and
	// time.Since at the end. The end's wall time (for stats) is derived
	// from them.
	start := time.Now()
	c.start = start
	err = c.roundTrip(ctx, req, p, resp)
	resp.Elapsed = time.Since(start)
	c.lastStatus = uint16(resp.w.status)
	if err != nil && ctx.Err() != nil {
		resp.Err = ctx.Err() // the user is being stopped: not recorded, as in Locust
		return resp
	}
	resp.StatusCode = resp.w.status
	length := int64(len(resp.w.body))
	if err == nil && resp.w.coded && !c.prof.cfg.ReceivedContentSize {
		length, err = decodedLength(resp)
	}
	if err == nil {
		err = c.checkResponse(req, p, resp)
	}
	if err == nil && req.tpl != nil && len(req.tpl.extract) > 0 {
		err = c.u.extractAll(req.tpl.extract, resp)
	}
	if err == nil && req.tpl != nil && req.tpl.failIf != nil {
		err = c.u.failIf(req.tpl.failIf)
	}
	now := c.endTime(start, resp.Elapsed)
	if err != nil {
		resp.Err = err
		c.u.recordFailure(entry, now, resp.Elapsed, length, failureText(err))
		return resp
	}
	c.u.record(entry, now, resp.Elapsed, length)
	return resp
}

// endTime is the runner clock's time at the end of a request that started
// at start and took elapsed, without reading the clock again when the
// runner uses the real clock.
func (c *HTTPClient) endTime(start time.Time, elapsed time.Duration) time.Time {
	if r := c.u.r; r != nil && !r.realClock {
		return r.now()
	}
	return start.Add(elapsed)
}

// cookieTime is the runner clock's time for cookie expiry during the
// current request (its start, with the real clock).
func (c *HTTPClient) cookieTime() time.Time {
	if r := c.u.r; r != nil && !r.realClock {
		return r.now()
	}
	return c.start
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
	r := &c.resp
	if r.rb == nil {
		r.rb = getRbuf()
	}
	r.clear()
	r.StatusCode, r.Elapsed, r.Err = 0, 0, nil
	return r
}

// endTask returns borrowed buffers; the user calls it after every task.
func (c *HTTPClient) endTask() {
	r := &c.resp
	if r.rb == nil && r.raw == nil && r.db == nil {
		return
	}
	if r.rb != nil {
		putRbuf(r.rb)
	}
	if r.db != nil {
		putRbuf(r.db)
	}
	if r.raw != nil {
		fasthttp.ReleaseResponse(r.raw)
	}
	*r = Response{}
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

// decodedLength decodes a coded response's body and returns its length,
// the content size Locust records (len(response.content)); 0 if it cannot
// be decoded, as Locust records a request that failed that way.
func decodedLength(resp *Response) (int64, error) {
	b, err := resp.body()
	return int64(len(b)), err
}

// checkResponse runs req's checks on resp, in the order Request.Check's
// comment gives; p is req as prepared.
func (c *HTTPClient) checkResponse(req *Request, p *prepared, resp *Response) error {
	code := resp.StatusCode
	if len(req.ExpectStatus) == 0 {
		if code >= 400 {
			return &StatusError{StatusCode: code}
		}
	} else if !slices.Contains(req.ExpectStatus, code) {
		return &StatusError{StatusCode: code, Expected: req.ExpectStatus}
	}
	if req.ExpectBodyContains != "" {
		body, err := resp.body()
		if err != nil {
			return err
		}
		if !bytes.Contains(body, []byte(req.ExpectBodyContains)) {
			return fmt.Errorf("response body does not contain %q", req.ExpectBodyContains)
		}
	}
	if req.tpl != nil && req.tpl.expect != nil {
		if err := c.checkBodyTemplate(req.tpl, resp); err != nil {
			return err
		}
	}
	if p.chk != nil {
		if err := c.runChecks(p.chk, resp); err != nil {
			return err
		}
	}
	if req.Check != nil {
		if err := req.Check(resp); err != nil {
			return err
		}
		return resp.decErr // Check read a body that could not be decoded
	}
	return nil
}

// deadlines are a request's time limits.
type deadlines struct {
	whole time.Time // the whole request (Request.Timeout, the context's deadline); zero: none
	// Request.ConnectTimeout and ReadTimeout; 0: none.
	connect, read time.Duration
}

// within returns the deadline of a step limited to d from now, and by the
// whole request's deadline (d 0: only that).
func (dl *deadlines) within(d time.Duration) time.Time {
	if d <= 0 {
		return dl.whole
	}
	t := time.Now().Add(d)
	if !dl.whole.IsZero() && dl.whole.Before(t) {
		return dl.whole
	}
	return t
}

// TimeoutError is the failure of a request that exceeded its
// ConnectTimeout or ReadTimeout (YAML: timeout.connect, timeout.read).
type TimeoutError struct {
	Step  string // what timed out: "connect", "send" or "read"
	Key   string // the limit: "connect" or "read"
	Limit time.Duration
	Err   error
}

func (e *TimeoutError) Error() string {
	return e.Step + " timed out (timeout." + e.Key + ": " + e.Limit.String() + ")"
}

func (e *TimeoutError) Unwrap() error { return e.Err }

// stepTimeout returns err as a *TimeoutError when it is the deadline of a
// step limited by the key's limit d, not the whole request's deadline nor
// a fault of the generator.
func (dl *deadlines) stepTimeout(err error, step, key string, d time.Duration) error {
	var ge *GeneratorError
	var te *TimeoutError
	if d <= 0 || !errors.Is(err, os.ErrDeadlineExceeded) || errors.As(err, &ge) || errors.As(err, &te) ||
		!dl.whole.IsZero() && !time.Now().Before(dl.whole) {
		return err
	}
	return &TimeoutError{Step: step, Key: key, Limit: d, Err: err}
}

// roundTrip sends p and reads the response into resp, following redirects
// unless req disables them.
func (c *HTTPClient) roundTrip(ctx context.Context, req *Request, p *prepared, resp *Response) error {
	dl := deadlines{connect: req.ConnectTimeout, read: req.ReadTimeout}
	if req.Timeout > 0 {
		dl.whole = time.Now().Add(req.Timeout)
	}
	if d, ok := ctx.Deadline(); ok && (dl.whole.IsZero() || d.Before(dl.whole)) {
		dl.whole = d
	}
	for hops := 0; ; hops++ {
		if err := c.exchange(ctx, p, resp, &dl); err != nil {
			return err
		}
		if req.NoRedirects || !isRedirect(resp.w.status) {
			return nil
		}
		loc := resp.Raw().Header.Peek("Location")
		if len(loc) == 0 {
			return nil
		}
		if hops >= maxRedirects {
			return fmt.Errorf("exceeded %d redirects", maxRedirects)
		}
		next, err := c.redirectTo(p, resp.w.status, string(loc), req)
		if err != nil {
			return err
		}
		if tr := c.u.tracing(); tr != nil {
			tr.redirected(c.u, resp)
		}
		p = next
		resp.clear()
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
// A templated request is rendered into a plain one first.
func (c *HTTPClient) redirectTo(p *prepared, code int, location string, req *Request) (*prepared, error) {
	base, body, hdr := p.url, p.body, req.Header
	if p.tpl != nil {
		var err error
		if base, hdr, body, err = c.flatten(p, req); err != nil {
			return nil, err
		}
	}
	u, err := base.Parse(location)
	if err != nil {
		return nil, fmt.Errorf("invalid redirect location %q: %w", location, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("unsupported redirect location %q", location)
	}
	method := p.method
	if code == 303 && method != http.MethodHead || (code == 301 || code == 302) && method == http.MethodPost {
		method, body = http.MethodGet, nil
		hdr = hdr.Clone()
		if hdr != nil {
			hdr.Del("Content-Type")
		}
	}
	n := &prepared{prof: p.prof, method: method, name: p.name, body: body, close: p.close}
	return n, n.renderFor(u, hdr)
}

// exchange performs one request/response on the user's connection to
// p's target, redialling once if a reused keep-alive connection turned out
// to be closed by the server.
func (c *HTTPClient) exchange(ctx context.Context, p *prepared, resp *Response, dl *deadlines) error {
	for attempt := 0; ; attempt++ {
		hc, err := c.conn(ctx, &p.target, dl.within(dl.connect))
		if err != nil {
			return dl.stepTimeout(err, "connect", "connect", dl.connect)
		}
		reused := hc.uses > 0
		err = c.send(hc, p, resp, dl)
		if err == nil {
			hc.uses++
			if resp.w.setCookie {
				c.jar.update(resp.Raw(), p.target.hostname, p.path, c.cookieTime())
			}
			if resp.w.close || p.close {
				c.drop(hc)
			}
			return nil
		}
		c.drop(hc)
		if hc.tls && isRemoteAlert(err) {
			// A TLS 1.3 server checks the client's certificate after the
			// client's side of the handshake: its alert comes with the
			// first response.
			return &tlsError{err: err, hasCert: len(c.prof.cfg.TLS.Certificates) > 0}
		}
		if ctx.Err() != nil || !reused || attempt > 0 || !isStaleConn(err) {
			return dl.stepTimeout(err, "read", "read", dl.read)
		}
		resp.clear()
	}
}

// send writes the request in one write and reads the response into resp.
// Sending is bounded as connecting is (as urllib3 sends with the connect
// timeout), then each read by the read timeout.
func (c *HTTPClient) send(hc *hconn, p *prepared, resp *Response, dl *deadlines) error {
	deadline := dl.whole
	if dl.connect > 0 {
		deadline = dl.within(dl.connect)
	}
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
	buf := resp.rb.b[:0]
	var err error
	if wire := p.wire; wire != nil && len(c.jar.cookies) == 0 {
		_, err = hc.rw.Write(wire) // the common case: pre-rendered
		if tr := c.u.tracing(); tr != nil {
			tr.sent(c.u, p, wire, nil)
		}
	} else {
		// Templates, cookies or a large body: render into the response
		// buffer, which is free until the response is read. A large body
		// (a file) is written from where it is, after the rest.
		var tail []byte
		if p.headSegs != nil {
			buf, tail = c.renderWire(buf, p)
		} else {
			buf = append(buf, p.head...)
			buf = c.jar.appendHeader(buf, p.target.hostname, p.path, p.secure, c.cookieTime())
			buf = append(buf, "\r\n"...)
			buf, tail = appendBody(buf, p.body)
		}
		if _, err = hc.rw.Write(buf); err == nil && tail != nil {
			_, err = hc.rw.Write(tail)
		}
		if tr := c.u.tracing(); tr != nil {
			tr.sent(c.u, p, buf, tail)
		}
	}
	if err != nil {
		resp.rb.b = buf
		return dl.stepTimeout(err, "send", "connect", dl.connect)
	}
	rr := respReader{r: hc.rw, buf: buf[:cap(buf)]}
	if dl.connect > 0 || dl.read > 0 {
		rr.dl, rr.conn = *dl, hc.c
		hc.hasDeadline = true
		if dl.read == 0 {
			err = hc.c.SetReadDeadline(dl.whole) // the send's limit does not bound reading
		}
	}
	if err == nil {
		err = rr.readResponse(p.isHead, &resp.w)
	}
	resp.rb.b = rr.buf[:0]
	if err != nil {
		resp.clear()
	}
	return err
}

// conn returns the user's connection to t, dialling it if needed (within
// deadline, if not zero).
func (c *HTTPClient) conn(ctx context.Context, t *target, deadline time.Time) (*hconn, error) {
	for _, hc := range c.conns {
		if hc.key == t.key {
			if hc.host == nil || c.current(hc) {
				return hc, nil
			}
			c.drop(hc) // the name resolves to other addresses now
			break
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	hc, err := c.dial(ctx, t, deadline)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.aborted {
		hc.c.Close()
		return nil, context.Canceled
	}
	c.conns = append(c.conns, hc)
	return hc, nil
}

// current reports whether hc, dialled to one of a host name's addresses,
// still goes where the user would connect now: true unless the name was
// resolved again to a set of addresses in which the user's pick is
// another. It also starts the name's next resolution when it is due.
func (c *HTTPClient) current(hc *hconn) bool {
	s := hc.host.snap.Load()
	if s.gen == hc.gen {
		hc.host.maybeRefresh(s, c.start, c.u.r, c.prof.hosts.interval)
		return true
	}
	if s.addrs[s.pick(c.u.ID, hc.host.offset)] == hc.ip {
		hc.gen = s.gen
		return true
	}
	return false
}

func (c *HTTPClient) drop(hc *hconn) {
	hc.c.Close()
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, o := range c.conns {
		if o == hc {
			c.conns = slices.Delete(c.conns, i, i+1) // clears the freed slot: no closed conn stays reachable
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
