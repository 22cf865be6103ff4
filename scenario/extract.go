package scenario

import (
	"fmt"
	"regexp"
	"strconv"

	"github.com/valyala/fasthttp"
)

// extractKind is where an extraction takes its value from.
type extractKind uint8

const (
	extJSON extractKind = iota
	extRegex
	extHeader
	extCookie
	extStatus
)

var extractKinds = []string{"json", "regex", "header", "cookie", "status"}

// extraction sets one of the user's variables from a response: a request's
// "extract" entry. It runs after the response passed the request's checks;
// a value it cannot find fails the request.
type extraction struct {
	name string // the variable
	slot int    // its slot in the class's scope
	kind extractKind
	path *jsonPath      // extJSON
	pick pickMode       // extJSON with [*]
	re   *regexp.Regexp // extRegex
	grp  int            // extRegex: the group
	key  string         // extHeader, extCookie
}

// what describes the source, for messages.
func (e *extraction) what() string {
	switch e.kind {
	case extJSON:
		return "json path " + e.path.src
	case extRegex:
		return "regex " + strconv.Quote(e.re.String())
	case extHeader:
		return "header " + e.key
	case extCookie:
		return "cookie " + e.key
	}
	return "status"
}

// ExtractError is the failure of a request whose response lacked a value
// it extracts.
type ExtractError struct {
	Var  string // the variable
	From string // e.g. "json path data.token"
	Msg  string
}

func (e *ExtractError) Error() string {
	return "extract " + e.Var + " (" + e.From + "): " + e.Msg
}

// extractAll runs a request's extractions on resp and, only if all of them
// found their value, sets the user's variables. The values are gathered in
// the user's generated-values buffer first, so that a failed extraction
// changes nothing.
func (u *UserContext) extractAll(exs []*extraction, resp *Response) error {
	v := &u.vars
	v.gen, v.ends = v.gen[:0], v.ends[:0]
	for _, ex := range exs {
		if err := u.extractOne(ex, resp); err != nil {
			return err
		}
		v.ends = append(v.ends, len(v.gen))
	}
	start := 0
	for i, ex := range exs {
		val := v.gen[start:v.ends[i]]
		start = v.ends[i]
		if ex.slot >= 0 && ex.slot < len(v.vals) {
			v.setBytes(ex.slot, val)
		} else {
			u.setVar(ex.name, string(val))
		}
	}
	if tr := u.tracing(); tr != nil {
		tr.extracted(u, exs)
	}
	return nil
}

// extractOne appends ex's value in resp to u.vars.gen.
func (u *UserContext) extractOne(ex *extraction, resp *Response) error {
	v := &u.vars
	fail := func(format string, args ...any) error {
		return &ExtractError{Var: ex.name, From: ex.what(), Msg: fmt.Sprintf(format, args...)}
	}
	var body []byte
	if ex.kind == extJSON || ex.kind == extRegex {
		var err error
		if body, err = resp.body(); err != nil {
			return err
		}
	}
	switch ex.kind {
	case extJSON:
		raw, err := ex.path.eval(body, ex.pick, u.Rand)
		if err != nil {
			return fail("%v", err)
		}
		if raw[0] == '"' {
			v.gen = appendJSONString(v.gen, raw)
		} else {
			v.gen = append(v.gen, raw...)
		}
	case extRegex:
		m := ex.re.FindSubmatchIndex(body)
		if m == nil || m[2*ex.grp] < 0 {
			return fail("no match in the response body")
		}
		v.gen = append(v.gen, body[m[2*ex.grp]:m[2*ex.grp+1]]...)
	case extHeader:
		raw := resp.Raw()
		if raw == nil {
			return fail("no response")
		}
		h := raw.Header.Peek(ex.key)
		if h == nil {
			return fail("the response has no %s header", ex.key)
		}
		v.gen = append(v.gen, h...)
	case extCookie:
		raw := resp.Raw()
		if raw == nil {
			return fail("no response")
		}
		ck := fasthttp.AcquireCookie()
		defer fasthttp.ReleaseCookie(ck)
		ck.SetKey(ex.key)
		if !raw.Header.Cookie(ck) {
			return fail("the response sets no cookie %s", ex.key)
		}
		v.gen = append(v.gen, ck.Value()...)
	case extStatus:
		v.gen = strconv.AppendInt(v.gen, int64(resp.StatusCode), 10)
	}
	return nil
}
