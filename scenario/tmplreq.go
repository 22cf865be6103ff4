package scenario

import (
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// A templated request is compiled once, when the scenario loads: every
// expression of its URL, headers and body is replaced by a marker (the
// template's prefix, its number and "_", text that URL, form and JSON
// encoding leave alone), so the request is rendered for a host and
// profile as any other (prepare), with markers where the values go. The
// rendering is then cut at the markers into segments (tseg). Per request,
// the user evaluates each expression once (evalTemplate) and the segments
// are written with the values in between, each escaped for where it goes,
// into the pooled send buffer: no allocation once the buffers have grown.
// A request without "${" has no template and takes the usual path.

// escMode is how a value is written where a template puts it.
type escMode uint8

const (
	escRaw    escMode = iota // the body, the stats name, expectations: as it is
	escHeader                // a header value: as it is, but no line breaks
	escURI                   // the URL's path and query as written: as requests requotes a URL
	escQuery                 // a value of query or form: form-encoded
	escJSON                  // inside a JSON string
)

// Segment markers beyond the expressions.
const (
	tokNone = -1 // a literal with no value after it
	tokCL   = -2 // the Content-Length of the rendered body
)

// clMarker stands for the Content-Length value in a rendered head.
const clMarker = "\x00"

// tseg is literal text followed by the value of an expression (tok, an
// index in reqTemplate.exprs) or a marker.
type tseg struct {
	lit string
	tok int
}

// reqTemplate is the compiled template of a request.
type reqTemplate struct {
	prefix string   // the markers' prefix in the request's URL, headers and body
	exprs  []*texpr // by marker number
	modes  []escMode
	body   []tseg // the body; nil: none
	// bodyTail is the body's last literal when it is larger than
	// maxWireBody (the files of a multipart body), written after the
	// rest from where it is; it is not in body.
	bodyTail []byte
	name     []tseg // the stats name; nil: the URL as written
	expect   []tseg // expect_body_contains; nil: none
	display  string // the URL as written, with "${...}": the default stats name
	extract  []*extraction
	failIf   []*failCheck // fail_if (yaml_steps.go); runs after extract
}

// marker returns the text that stands for expression i.
func (t *reqTemplate) marker(i int) string { return t.prefix + strconv.Itoa(i) + "_" }

// mark returns nodes as text with markers for their expressions, which
// are added with the escaping of where the text goes.
func (t *reqTemplate) mark(nodes []tnode, mode escMode) string {
	var b strings.Builder
	for _, n := range nodes {
		if n.ex == nil {
			b.WriteString(n.lit)
			continue
		}
		b.WriteString(t.marker(len(t.exprs)))
		t.exprs = append(t.exprs, n.ex)
		t.modes = append(t.modes, mode)
	}
	return b.String()
}

// choosePrefix picks a marker prefix that none of the literal texts and
// blobs (files) holds.
func choosePrefix(literals []string, blobs [][]byte) string {
	for n := 0; ; n++ {
		p := "gLtPl" + strconv.Itoa(n) + "x"
		clash := false
		for _, l := range literals {
			if strings.Contains(l, p) {
				clash = true
				break
			}
		}
		for _, b := range blobs {
			clash = clash || bytes.Contains(b, []byte(p))
		}
		if !clash {
			return p
		}
	}
}

// split cuts marked text into segments. With head, the Content-Length
// marker is recognised too. It reports how many expression markers it
// found.
func (t *reqTemplate) split(s string, head bool) ([]tseg, int) {
	var segs []tseg
	found := 0
	for {
		i := strings.Index(s, t.prefix)
		if head {
			if j := strings.Index(s, clMarker); j >= 0 && (i < 0 || j < i) {
				segs = append(segs, tseg{lit: s[:j], tok: tokCL})
				s = s[j+len(clMarker):]
				continue
			}
		}
		if i < 0 {
			return append(segs, tseg{lit: s, tok: tokNone}), found
		}
		j := i + len(t.prefix)
		k := j
		for k < len(s) && s[k] >= '0' && s[k] <= '9' {
			k++
		}
		n, err := strconv.Atoi(s[j:k])
		if err != nil || k >= len(s) || s[k] != '_' || n >= len(t.exprs) {
			// Not a marker after all (choosePrefix makes this impossible
			// in the request's own text).
			segs = append(segs, tseg{lit: s[:j], tok: tokNone})
			s = s[j:]
			continue
		}
		segs = append(segs, tseg{lit: s[:i], tok: n})
		found++
		s = s[k+1:]
	}
}

// replaceMarkers returns marked text with each expression as "${src}".
func (t *reqTemplate) replaceMarkers(s string) string {
	segs, _ := t.split(s, false)
	var b strings.Builder
	for _, sg := range segs {
		b.WriteString(sg.lit)
		if sg.tok >= 0 {
			b.WriteString("${" + t.exprs[sg.tok].src + "}")
		}
	}
	return b.String()
}

// renders reports whether t has expressions to render (a template may
// hold only extractions).
func (t *reqTemplate) renders() bool { return t != nil && len(t.exprs) > 0 }

// prepareTemplate finishes p, rendered from a templated request with
// markers: its head becomes segments.
func (t *reqTemplate) prepareTemplate(p *prepared, r *Request) error {
	segs, n := t.split(string(p.head), true)
	want := 0
	for _, h := range r.Header {
		for _, v := range h {
			want += strings.Count(v, t.prefix)
		}
	}
	want += strings.Count(r.URL, t.prefix)
	if n != want {
		return fmt.Errorf("cannot render the template of %s: the host or proxy holds the text %q", t.display, t.prefix)
	}
	if n > 0 || t.body != nil {
		p.headSegs, p.wire = segs, nil
	}
	if r.Name == "" {
		p.name = t.replaceMarkers(requestURI(p.url))
	}
	if k := strings.Index(p.path, t.prefix); k >= 0 {
		p.path = p.path[:k] // cookies are matched on the path up to the first value
	}
	return nil
}

// tvals holds the values of a template's expressions for one request.
type tvals struct {
	v [][]byte
}

// evalTemplate evaluates every expression of t for c's user.
func (c *HTTPClient) evalTemplate(t *reqTemplate) error {
	u := c.u
	u.vars.gen = u.vars.gen[:0]
	c.tv.v = c.tv.v[:0]
	for i, ex := range t.exprs {
		val, err := u.eval(ex)
		if err != nil {
			return err
		}
		if t.modes[i] == escHeader && bytes.ContainsAny(val, "\r\n\x00") {
			return &TemplateValueError{Expr: ex.src, Msg: "the value holds a line break or NUL, which a header value cannot"}
		}
		c.tv.v = append(c.tv.v, val)
	}
	return nil
}

// appendSegs writes segments with the values of vals; bodyLen is the value
// of a Content-Length marker.
func (t *reqTemplate) appendSegs(dst []byte, segs []tseg, vals [][]byte, bodyLen int) []byte {
	for _, sg := range segs {
		dst = append(dst, sg.lit...)
		switch {
		case sg.tok >= 0:
			dst = appendEscaped(dst, vals[sg.tok], t.modes[sg.tok])
		case sg.tok == tokCL:
			dst = strconv.AppendInt(dst, int64(bodyLen), 10)
		}
	}
	return dst
}

// segsLen is the length appendSegs writes for segs without markers for the
// Content-Length.
func (t *reqTemplate) segsLen(segs []tseg, vals [][]byte) int {
	n := 0
	for _, sg := range segs {
		n += len(sg.lit)
		if sg.tok >= 0 {
			n += escapedLen(vals[sg.tok], t.modes[sg.tok])
		}
	}
	return n
}

// renderWire appends the whole templated request for p to dst: the head,
// the cookies, the blank line and the body, but for a large literal end
// of the body, returned as tail (see appendBody).
func (c *HTTPClient) renderWire(dst []byte, p *prepared) (out, tail []byte) {
	t, vals := p.tpl, c.tv.v
	bodyLen := 0
	if t.body != nil {
		bodyLen = t.segsLen(t.body, vals) + len(t.bodyTail)
	}
	dst = t.appendSegs(dst, p.headSegs, vals, bodyLen)
	dst = c.jar.appendHeader(dst, p.target.hostname, p.path, p.secure, c.cookieTime())
	dst = append(dst, "\r\n"...)
	if t.body != nil {
		return t.appendSegs(dst, t.body, vals, 0), t.bodyTail
	}
	return appendBody(dst, p.body)
}

// render returns marked text with the values of the current request, for
// the rare paths that need plain strings (redirects).
func (c *HTTPClient) render(t *reqTemplate, s string) string {
	segs, _ := t.split(s, false)
	return string(t.appendSegs(nil, segs, c.tv.v, 0))
}

// flatten renders a templated request's URL, headers and body, for
// following a redirect from it (allocates; rare).
func (c *HTTPClient) flatten(p *prepared, req *Request) (*url.URL, http.Header, []byte, error) {
	t := p.tpl
	u, err := url.Parse(c.render(t, p.url.String()))
	if err != nil {
		return nil, nil, nil, err
	}
	h := make(http.Header, len(req.Header))
	for k, vs := range req.Header {
		for _, v := range vs {
			h[k] = append(h[k], c.render(t, v))
		}
	}
	var body []byte
	if t.body != nil {
		body = append(t.appendSegs(nil, t.body, c.tv.v, 0), t.bodyTail...)
	}
	return u, h, body, nil
}

// statsEntry returns the entry of a request with a templated name.
func (c *HTTPClient) statsEntry(p *prepared) EntryRecorder {
	t := p.tpl
	u := &c.u.vars
	start := len(u.gen)
	u.gen = t.appendSegs(u.gen, t.name, c.tv.v, 0)
	name := u.gen[start:]
	cache := c.u.tnames[t]
	if e, ok := cache[string(name)]; ok {
		return e
	}
	e := c.u.entry(p.method, string(name))
	if cache == nil {
		if c.u.tnames == nil {
			c.u.tnames = map[*reqTemplate]map[string]EntryRecorder{}
		}
		cache = map[string]EntryRecorder{}
		c.u.tnames[t] = cache
	}
	if len(cache) < maxUserEntries {
		cache[string(name)] = e
	}
	return e
}

// checkBodyTemplate runs a templated expect_body_contains.
func (c *HTTPClient) checkBodyTemplate(t *reqTemplate, resp *Response) error {
	// Appended after the values, which may live in gen too.
	u := &c.u.vars
	start := len(u.gen)
	u.gen = t.appendSegs(u.gen, t.expect, c.tv.v, 0)
	body, err := resp.body()
	if err != nil {
		return err
	}
	if want := u.gen[start:]; !bytes.Contains(body, want) {
		return fmt.Errorf("response body does not contain %q", want)
	}
	return nil
}

// uriSafe marks the bytes a URL keeps as they are when a value is put in
// its path or query as written: unreserved and reserved characters, as
// Python requests' requote_uri does ('%' only when it starts an escape).
var uriSafe = func() (t [256]bool) {
	for _, c := range []byte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=:@/?") {
		t[c] = true
	}
	return t
}()

// querySafe marks the bytes url.QueryEscape keeps.
var querySafe = func() (t [256]bool) {
	for _, c := range []byte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~") {
		t[c] = true
	}
	return t
}()

const upperHex = "0123456789ABCDEF"

func isHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

// uriKeeps reports whether byte i of v stays as it is in escURI.
func uriKeeps(v []byte, i int) bool {
	if v[i] == '%' {
		return i+2 < len(v) && isHex(v[i+1]) && isHex(v[i+2])
	}
	return uriSafe[v[i]]
}

// appendEscaped appends v escaped for mode.
func appendEscaped(dst, v []byte, mode escMode) []byte {
	switch mode {
	case escURI:
		for i, c := range v {
			if uriKeeps(v, i) {
				dst = append(dst, c)
			} else {
				dst = append(dst, '%', upperHex[c>>4], upperHex[c&15])
			}
		}
		return dst
	case escQuery:
		for _, c := range v {
			switch {
			case querySafe[c]:
				dst = append(dst, c)
			case c == ' ':
				dst = append(dst, '+')
			default:
				dst = append(dst, '%', upperHex[c>>4], upperHex[c&15])
			}
		}
		return dst
	case escJSON:
		for _, c := range v {
			switch {
			case c == '"' || c == '\\':
				dst = append(dst, '\\', c)
			case c == '\n':
				dst = append(dst, '\\', 'n')
			case c == '\r':
				dst = append(dst, '\\', 'r')
			case c == '\t':
				dst = append(dst, '\\', 't')
			case c < 0x20:
				dst = append(dst, '\\', 'u', '0', '0', upperHex[c>>4], upperHex[c&15])
			default:
				dst = append(dst, c)
			}
		}
		return dst
	}
	return append(dst, v...)
}

// escapedLen is len(appendEscaped(nil, v, mode)).
func escapedLen(v []byte, mode escMode) int {
	n := len(v)
	switch mode {
	case escURI:
		for i := range v {
			if !uriKeeps(v, i) {
				n += 2
			}
		}
	case escQuery:
		for _, c := range v {
			if !querySafe[c] && c != ' ' {
				n += 2
			}
		}
	case escJSON:
		for _, c := range v {
			switch {
			case c == '"' || c == '\\' || c == '\n' || c == '\r' || c == '\t':
				n++
			case c < 0x20:
				n += 5
			}
		}
	}
	return n
}
