package scenario

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Tracer observes a runner's users in detail, for debugging a scenario
// ("glocust debug"): every request as sent and received, the checks it
// made, the variables it set. Set it with WithTracer; a runner without one
// (every load run) pays a nil check per request. Each function may be nil.
//
// The functions are called on the user's goroutine, so users of a runner
// call them concurrently; a slow function slows its user down. The values
// they get (byte slices in particular) are valid only during the call.
type Tracer struct {
	// UserStart is called when a user starts, before on_start, with the
	// variables that have a value: vars defaults, values given with --var
	// or by the master, the columns of the user's data row.
	UserStart func(u *UserContext, vars []TraceVar)
	// Task is called before each task, on_start and on_stop the user runs:
	// task is the task's name, "on_start" or "on_stop".
	Task func(u *UserContext, task string)
	// Request is called once per HTTPClient.Do, when the request ended.
	Request func(u *UserContext, rt *RequestTrace)
	// Var is called when UserContext.SetVar sets a variable outside of a
	// request (a variable set by a request, its extract or its Check, is
	// in RequestTrace.Vars).
	Var func(u *UserContext, v TraceVar)
	// UserStop is called when the user ended, after on_stop.
	UserStop func(u *UserContext)
}

// TraceVar is a variable's value and where it came from.
type TraceVar struct {
	Name, Value string
	// From says where the value came from: "vars default", "--var or
	// master", "data row", "extract json path data.token", "SetVar".
	From string
}

// RequestTrace is one request as Tracer.Request sees it.
type RequestTrace struct {
	// Task is the task, "on_start" or "on_stop" the request ran in ("" if
	// it ran outside of one).
	Task string
	// Method and Name are the request's method and stats name as written
	// (a templated name with its ${...}).
	Method, Name string
	// URL is the URL the last request was sent to; the request's URL as
	// written when nothing was sent.
	URL string
	// Sent are the requests written to the connection: the first, then
	// one per redirect followed. Empty when the request failed before
	// sending (a template without a value, no host, a connection error).
	Sent []TraceHop
	// StatusCode is the final response's status (0: none). Header is its
	// head as received: the status line and the header fields.
	StatusCode int
	Header     []byte
	// Body is the final response's body decoded per its Content-Encoding
	// (Encoding, "" if it has none); Received is the body as received.
	// When it cannot be decoded, BodyErr says why and Body is nil.
	Body, Received []byte
	Encoding       string
	BodyErr        error
	// Elapsed is the response time recorded.
	Elapsed time.Duration
	// Checks names the checks the request makes, in the order they run
	// (the status check always). They all passed when Err is nil;
	// otherwise Err says which one failed and why.
	Checks []string
	// Extracts names the variables the request extracts and from where.
	Extracts []string
	// Vars are the variables the request set (its extract, SetVar in its
	// Check), in the order they were set.
	Vars []TraceVar
	// Err is nil when the request succeeded, else the failure recorded
	// (Response.Err).
	Err error
	// Recorded is false when the user was stopped during the request:
	// nothing was recorded in stats.
	Recorded bool
}

// TraceHop is one request written to the connection.
type TraceHop struct {
	// URL is the absolute URL the request was sent to.
	URL string
	// Head is the request line and the header fields as sent (CRLF line
	// ends, without the blank line); Body the body as sent.
	Head, Body []byte
	// Resent is true when the request was written a second time, on a new
	// connection, because the server had closed the reused one.
	Resent bool
	// For a redirect followed: its status and head (the last hop's
	// response is RequestTrace's).
	StatusCode int
	RespHead   []byte
}

// WithTracer sets the runner's tracer (see Tracer); nil: none.
func WithTracer(t *Tracer) RunnerOption {
	return func(r *Runner) {
		if t == nil {
			r.trace = nil
			return
		}
		r.trace = &tracing{t: t, users: map[*UserContext]*userTrace{}}
	}
}

// tracing is a runner's tracer and the state of its users' requests in
// flight. It is used only when a tracer is set: nothing of it is on the
// hot path of a normal run.
type tracing struct {
	t     *Tracer
	mu    sync.Mutex
	users map[*UserContext]*userTrace
}

type userTrace struct {
	task     string
	inFlight bool
	rt       RequestTrace
	answered bool // the last hop got its (redirect) response
}

// tracing returns the runner's tracing, nil without a tracer.
func (u *UserContext) tracing() *tracing {
	if u.r == nil {
		return nil
	}
	return u.r.trace
}

func (tr *tracing) state(u *UserContext) *userTrace {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	s := tr.users[u]
	if s == nil {
		s = &userTrace{}
		tr.users[u] = s
	}
	return s
}

// userStart reports a user's start with its initial variables.
func (tr *tracing) userStart(u *user, over map[string]string) {
	tr.state(&u.uc)
	if tr.t.UserStart == nil {
		return
	}
	v := &u.uc.vars
	var vars []TraceVar
	if v.scope != nil {
		for i, name := range v.scope.names {
			if !v.vals[i].set {
				continue
			}
			from := "vars default"
			switch _, over := over[name]; {
			case v.scope.column[i] >= 0 && v.row.set != nil:
				from = "data row " + v.row.set.Name
			case over:
				from = "--var or master"
			}
			vars = append(vars, TraceVar{Name: name, Value: string(v.vals[i].b), From: from})
		}
	}
	tr.t.UserStart(&u.uc, vars)
}

// userStop reports a user's end and forgets its state.
func (tr *tracing) userStop(u *UserContext) {
	tr.mu.Lock()
	delete(tr.users, u)
	tr.mu.Unlock()
	if tr.t.UserStop != nil {
		tr.t.UserStop(u)
	}
}

// task reports the start of a task.
func (tr *tracing) task(u *UserContext, task string) {
	tr.state(u).task = task
	if tr.t.Task != nil {
		tr.t.Task(u, task)
	}
}

// inDo reports whether u's request is being traced: do called Do.
func (tr *tracing) inDo(u *UserContext) bool { return tr.state(u).inFlight }

// do is HTTPClient.Do with a tracer: it calls Do again, which runs the
// request as usual, calling sent, redirected and extracted on the way.
func (tr *tracing) do(ctx context.Context, c *HTTPClient, req *Request) *Response {
	s := tr.state(c.u)
	s.rt = RequestTrace{Task: s.task, Method: req.method(), Name: req.statsName()}
	s.inFlight, s.answered = true, false
	resp := c.Do(ctx, req)
	s.inFlight = false
	rt := &s.rt
	rt.StatusCode, rt.Elapsed, rt.Err = resp.StatusCode, resp.Elapsed, resp.Err
	rt.Recorded = !(resp.Err != nil && ctx.Err() != nil && errors.Is(resp.Err, ctx.Err()))
	if n := len(rt.Sent); n > 0 {
		rt.URL = rt.Sent[n-1].URL
	} else {
		rt.URL = req.URL
	}
	if resp.w.header != nil {
		rt.Header, rt.Received = resp.w.header, resp.w.body
		rt.Body, rt.BodyErr = resp.body()
		if resp.w.coded {
			rt.Encoding = codingValue(resp.w.header)
		}
	}
	if p, err := req.preparedFor(c.u.Host, c.prof); err == nil {
		rt.Checks = checkNames(req, p)
	}
	if req.tpl != nil {
		for _, ex := range req.tpl.extract {
			rt.Extracts = append(rt.Extracts, ex.name+" ("+ex.what()+")")
		}
	}
	if tr.t.Request != nil {
		tr.t.Request(c.u, rt)
	}
	s.rt = RequestTrace{}
	return resp
}

// checkNames names the checks of req (prepared as p), in the order
// checkResponse runs them.
func checkNames(req *Request, p *prepared) []string {
	var out []string
	if len(req.ExpectStatus) == 0 {
		out = append(out, "status < 400")
	} else {
		codes := make([]string, len(req.ExpectStatus))
		for i, c := range req.ExpectStatus {
			codes[i] = strconv.Itoa(c)
		}
		out = append(out, "expect_status "+strings.Join(codes, " or "))
	}
	if req.ExpectBodyContains != "" || req.tpl != nil && req.tpl.expect != nil {
		out = append(out, "expect_body_contains")
	}
	if k := p.chk; k != nil {
		if n := len(k.json); n > 0 {
			out = append(out, fmt.Sprintf("expect_json (%d)", n))
		}
		if n := len(k.header); n > 0 {
			out = append(out, fmt.Sprintf("expect_header (%d)", n))
		}
		if k.maxTime > 0 {
			out = append(out, "expect_max_ms "+strconv.FormatInt(k.maxTime.Milliseconds(), 10))
		}
	}
	if req.Check != nil {
		out = append(out, "Check")
	}
	return out
}

// sent records a request written to the connection: wire (head, blank
// line, body) and tail (the rest of a large body, written after it).
func (tr *tracing) sent(u *UserContext, p *prepared, wire, tail []byte) {
	s := tr.state(u)
	if !s.inFlight {
		return
	}
	head, body := wire, []byte(nil)
	if i := bytes.Index(wire, []byte("\r\n\r\n")); i >= 0 {
		head, body = wire[:i], wire[i+4:]
	}
	h := TraceHop{Head: bytes.Clone(head), URL: hopURL(head, p.secure)}
	switch {
	case len(tail) == 0:
		h.Body = bytes.Clone(body)
	case len(body) == 0:
		h.Body = tail // a file's bytes, which stay where they are
	default:
		h.Body = append(bytes.Clone(body), tail...)
	}
	if n := len(s.rt.Sent); n > 0 && !s.answered {
		h.Resent = true
		s.rt.Sent[n-1] = h // the reused connection was stale
	} else {
		s.rt.Sent = append(s.rt.Sent, h)
	}
	s.answered = false
}

// redirected records the response of a redirect that is followed.
func (tr *tracing) redirected(u *UserContext, resp *Response) {
	s := tr.state(u)
	if n := len(s.rt.Sent); s.inFlight && n > 0 {
		h := &s.rt.Sent[n-1]
		h.StatusCode, h.RespHead = resp.w.status, bytes.Clone(resp.w.header)
		s.answered = true
	}
}

// hopURL is the absolute URL of a request from its head: the request
// line's target (absolute already when sent to a proxy) on the Host
// field's host.
func hopURL(head []byte, secure bool) string {
	line, fields, _ := bytes.Cut(head, []byte("\r\n"))
	parts := bytes.SplitN(line, []byte(" "), 3)
	if len(parts) < 2 {
		return ""
	}
	target := string(parts[1])
	if strings.HasPrefix(target, "http://") || strings.HasPrefix(target, "https://") {
		return target
	}
	host := ""
	for len(fields) > 0 {
		var f []byte
		f, fields, _ = bytes.Cut(fields, []byte("\r\n"))
		if k, v, ok := bytes.Cut(f, []byte(":")); ok && strings.EqualFold(string(k), "host") {
			host = string(bytes.TrimSpace(v))
			break
		}
	}
	scheme := "http://"
	if secure {
		scheme = "https://"
	}
	return scheme + host + target
}

// extracted records the variables a request's extractions set.
func (tr *tracing) extracted(u *UserContext, exs []*extraction) {
	s := tr.state(u)
	for _, ex := range exs {
		val, _ := u.Var(ex.name)
		v := TraceVar{Name: ex.name, Value: val, From: "extract " + ex.what()}
		if s.inFlight {
			s.rt.Vars = append(s.rt.Vars, v)
		} else if tr.t.Var != nil {
			tr.t.Var(u, v)
		}
	}
}

// setVar records a SetVar.
func (tr *tracing) setVar(u *UserContext, name, value string) {
	v := TraceVar{Name: name, Value: value, From: "SetVar"}
	if s := tr.state(u); s.inFlight {
		s.rt.Vars = append(s.rt.Vars, v)
		return
	}
	if tr.t.Var != nil {
		tr.t.Var(u, v)
	}
}
