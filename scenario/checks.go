package scenario

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Response checks beyond the status and the body's text: values in a JSON
// body (Request.ExpectJSON), the response's header fields (ExpectHeader)
// and its response time (ExpectMaxTime); in YAML the request keys
// expect_json, expect_header and expect_max_ms (yaml_checks.go).
//
// A request's checks are compiled when it is rendered for a host
// (prepare): a request without them has none (prepared.chk is nil) and
// pays nothing for them. They run after expect_status and
// expect_body_contains and before Request.Check and the extractions, in
// this order: ExpectJSON, ExpectHeader, ExpectMaxTime. The first that
// fails fails the request with a *CheckError, recorded in stats as a
// failure with the response's real response time, as Locust records a
// response marked with catch_response's response.failure().
//
// A templated value (a YAML string with "${...}") is rendered per
// request into the client's scratch buffer; a check allocates nothing
// once that buffer has grown, failures aside.

// JSONCheckKind is what a JSONCheck checks.
type JSONCheckKind uint8

const (
	// JSONEqual: the value equals Value, a JSON scalar written as JSON
	// text: `"ok"`, `3`, `1.5`, `true`, `null`. Strings are compared by
	// their characters (escapes decoded), numbers as numbers (1 equals
	// 1.0); a value of another type is not equal.
	JSONEqual JSONCheckKind = iota
	// JSONEqualText: the value, read as an extraction reads it, equals
	// the text Value: a string's characters; a number compared as a
	// number, with Value read as one; true, false, null, an array or an
	// object as their JSON text in the response. A YAML string with a
	// template is checked this way, since a template's value is text.
	JSONEqualText
	// JSONType: the value has the JSON type Value names: "string",
	// "number", "integer" (a number without a fractional part: 2 and 2.0,
	// not 2.5), "boolean", "null", "array" or "object".
	JSONType
	// JSONExists: the path has a value (null is one).
	JSONExists
	// JSONAbsent: the path has no value: a member or element that is not
	// there, or a step into a value of another type.
	JSONAbsent
)

// JSONCheck is one check of a value in a JSON response body
// (Request.ExpectJSON). A body that is not JSON fails every check, even
// JSONAbsent.
type JSONCheck struct {
	// Path selects the value, as an extraction's json path does:
	// "status", "$.data.id", "items[0].id", "items[-1].id",
	// "$['key.with.dots']", "items[*].id". A path with [*] checks every
	// value it matches, and needs one at least (JSONAbsent: none).
	Path string
	// Kind is the check; Value its argument (see the kinds).
	Kind  JSONCheckKind
	Value string
}

// HeaderCheckKind is what a HeaderCheck checks.
type HeaderCheckKind uint8

const (
	// HeaderEqual: the header's value equals Value exactly.
	HeaderEqual HeaderCheckKind = iota
	// HeaderContains: the header's value contains Value.
	HeaderContains
	// HeaderExists: the response has the header.
	HeaderExists
	// HeaderAbsent: the response does not have the header.
	HeaderAbsent
)

// HeaderCheck is one check of a response header (Request.ExpectHeader).
// The name is matched without regard to case. A header sent in several
// fields has their values joined with ", ", as Python requests shows them
// in response.headers.
type HeaderCheck struct {
	Name  string
	Kind  HeaderCheckKind
	Value string
}

// CheckError is the failure of a response check: ExpectJSON, ExpectHeader
// or ExpectMaxTime.
type CheckError struct {
	// Check is the YAML key of the check: "expect_json", "expect_header"
	// or "expect_max_ms".
	Check string
	// Msg is the whole message, the text recorded in stats, e.g.
	// `expect_json: $.status is "pending", want "ok"`.
	Msg string
}

func (e *CheckError) Error() string { return e.Msg }

// jsonType is a JSON type JSONType can name.
type jsonType uint8

const (
	jtString jsonType = iota
	jtNumber
	jtInteger
	jtBoolean
	jtNull
	jtArray
	jtObject
)

var jsonTypeNames = []string{"string", "number", "integer", "boolean", "null", "array", "object"}

// respChecks are a request's compiled checks.
type respChecks struct {
	json    []jsonCheck
	header  []headerCheck
	maxTime time.Duration
	tpl     *reqTemplate // renders the templated values
}

type jsonCheck struct {
	JSONCheck
	path *jsonPath
	typ  jsonType   // JSONType
	want jsonScalar // JSONEqual
	text []byte     // JSONEqualText without a template
	segs []tseg     // JSONEqualText with a template: rendered per request
}

type headerCheck struct {
	HeaderCheck
	lower string // the name in lower case
	value []byte // Value without a template
	segs  []tseg // a templated Value
}

// jsonScalar is a JSON scalar to compare with: raw's first byte says
// which kind.
type jsonScalar struct {
	raw []byte // the JSON text
	str string // a string's characters
	num jsonNum
}

// jsonNum is a JSON number's value; an integer literal that fits an int64
// is kept exactly.
type jsonNum struct {
	f     float64
	i     int64
	isInt bool
}

func (a jsonNum) equal(b jsonNum) bool {
	if a.isInt && b.isInt {
		return a.i == b.i
	}
	return a.f == b.f
}

// hasChecks reports whether r has checks compileChecks compiles.
func (r *Request) hasChecks() bool {
	return len(r.ExpectJSON) > 0 || len(r.ExpectHeader) > 0 || r.ExpectMaxTime != 0
}

// compileChecks compiles r's checks; nil when it has none.
func compileChecks(r *Request) (*respChecks, error) {
	if !r.hasChecks() {
		return nil, nil
	}
	if r.ExpectMaxTime < 0 {
		return nil, fmt.Errorf("expect_max_ms: %v is negative", r.ExpectMaxTime)
	}
	c := &respChecks{maxTime: r.ExpectMaxTime}
	if r.tpl.renders() {
		c.tpl = r.tpl
	}
	for i, jc := range r.ExpectJSON {
		cc, err := c.compileJSON(jc)
		if err != nil {
			return nil, fmt.Errorf("expect_json[%d] %s: %w", i, jc.Path, err)
		}
		c.json = append(c.json, cc)
	}
	for i, hc := range r.ExpectHeader {
		cc, err := c.compileHeader(hc)
		if err != nil {
			return nil, fmt.Errorf("expect_header[%d] %s: %w", i, hc.Name, err)
		}
		c.header = append(c.header, cc)
	}
	return c, nil
}

// segsOf returns the segments of a value with the template's markers, or
// nil for a value without.
func (c *respChecks) segsOf(v string) []tseg {
	if c.tpl == nil || !strings.Contains(v, c.tpl.prefix) {
		return nil
	}
	segs, _ := c.tpl.split(v, false)
	return segs
}

func (c *respChecks) compileJSON(jc JSONCheck) (jsonCheck, error) {
	cc := jsonCheck{JSONCheck: jc}
	var err error
	if cc.path, err = parseJSONPath(jc.Path); err != nil {
		return cc, err
	}
	switch jc.Kind {
	case JSONEqual:
		if cc.want, err = parseJSONScalar(jc.Value); err != nil {
			return cc, err
		}
	case JSONEqualText:
		if cc.segs = c.segsOf(jc.Value); cc.segs == nil {
			cc.text = []byte(jc.Value)
		}
	case JSONType:
		i := slices.Index(jsonTypeNames, jc.Value)
		if i < 0 {
			return cc, fmt.Errorf("unknown type %q (want %s)", jc.Value, strings.Join(jsonTypeNames, ", "))
		}
		cc.typ = jsonType(i)
	case JSONExists, JSONAbsent:
	default:
		return cc, fmt.Errorf("unknown kind %d", jc.Kind)
	}
	return cc, nil
}

func (c *respChecks) compileHeader(hc HeaderCheck) (headerCheck, error) {
	cc := headerCheck{HeaderCheck: hc, lower: strings.ToLower(hc.Name)}
	if err := checkHeaderName(hc.Name); err != nil {
		return cc, err
	}
	switch hc.Kind {
	case HeaderEqual, HeaderContains:
		if strings.ContainsAny(hc.Value, "\r\n") {
			return cc, fmt.Errorf("the value %q has a line break, which no header value has", hc.Value)
		}
		if hc.Kind == HeaderContains && hc.Value == "" {
			return cc, errors.New("contains needs a text")
		}
		if cc.segs = c.segsOf(hc.Value); cc.segs == nil {
			cc.value = []byte(hc.Value)
		}
	case HeaderExists, HeaderAbsent:
	default:
		return cc, fmt.Errorf("unknown kind %d", hc.Kind)
	}
	return cc, nil
}

// checkHeaderName rejects what cannot be a header field's name.
func checkHeaderName(name string) error {
	if name == "" || strings.ContainsAny(name, " \t:\r\n") {
		return fmt.Errorf("invalid header name %q", name)
	}
	return nil
}

// parseJSONScalar reads the JSON text of a string, number, true, false or
// null.
func parseJSONScalar(s string) (jsonScalar, error) {
	v := jsonScalar{raw: []byte(s)}
	bad := fmt.Errorf("%q is not a JSON string, number, true, false or null", s)
	switch {
	case s == "true" || s == "false" || s == "null":
	case len(s) > 0 && s[0] == '"':
		if err := json.Unmarshal(v.raw, &v.str); err != nil {
			return v, bad
		}
	default:
		n, ok := parseJSONNumber(v.raw)
		if !ok {
			return v, bad
		}
		v.num = n
	}
	return v, nil
}

// validJSONNumber reports whether b is a JSON number:
// -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?. integer is true
// without fraction and exponent.
func validJSONNumber(b []byte) (ok, integer bool) {
	i := 0
	if i < len(b) && b[i] == '-' {
		i++
	}
	digits := func() int {
		j := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		return i - j
	}
	start := i
	if n := digits(); n == 0 || n > 1 && b[start] == '0' {
		return false, false
	}
	integer = true
	if i < len(b) && b[i] == '.' {
		i++
		if digits() == 0 {
			return false, false
		}
		integer = false
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false, false
		}
		integer = false
	}
	if i != len(b) {
		return false, false
	}
	return true, integer
}

// parseJSONNumber reads a JSON number; ok is false for anything else and
// for a number beyond float64's range.
func parseJSONNumber(b []byte) (jsonNum, bool) {
	ok, integer := validJSONNumber(b)
	if !ok {
		return jsonNum{}, false
	}
	if integer {
		if i, err := strconv.ParseInt(string(b), 10, 64); err == nil {
			return jsonNum{f: float64(i), i: i, isInt: true}, true
		}
	}
	f, err := strconv.ParseFloat(string(b), 64)
	return jsonNum{f: f}, err == nil
}

// equal reports whether the raw JSON value v equals w.
func (w *jsonScalar) equal(v []byte) bool {
	switch w.raw[0] {
	case '"':
		return v[0] == '"' && jsonKeyEquals(v, w.str)
	case 't', 'f', 'n':
		return string(v) == string(w.raw)
	}
	n, ok := parseJSONNumber(v)
	return ok && n.equal(w.num)
}

// textEqual reports whether the raw JSON value v, read as an extraction
// reads it, equals text (see JSONEqualText).
func textEqual(v, text []byte) bool {
	switch v[0] {
	case '"':
		in := v[1 : len(v)-1]
		if !containsByte(in, '\\') && utf8.Valid(in) {
			return bytes.Equal(in, text)
		}
		var buf [64]byte
		return bytes.Equal(appendJSONString(buf[:0], v), text)
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		a, ok := parseJSONNumber(v)
		b, ok2 := parseJSONNumber(text)
		return ok && ok2 && a.equal(b)
	}
	return bytes.Equal(v, text)
}

// is reports whether the raw JSON value v has type t.
func (t jsonType) is(v []byte) bool {
	switch t {
	case jtString:
		return v[0] == '"'
	case jtNumber:
		ok, _ := validJSONNumber(v)
		return ok
	case jtInteger:
		n, ok := parseJSONNumber(v)
		return ok && (n.isInt || n.f == math.Trunc(n.f) && !math.IsInf(n.f, 0))
	case jtBoolean:
		return string(v) == "true" || string(v) == "false"
	case jtNull:
		return string(v) == "null"
	case jtArray:
		return v[0] == '['
	}
	return v[0] == '{'
}

// jsonMatch checks the values a path matches (a jpVisitor); the client
// keeps one, so that checking allocates nothing.
type jsonMatch struct {
	chk  *jsonCheck
	text []byte // JSONEqualText's value for this request
	bad  []byte // the first value that failed
}

func (m *jsonMatch) match(v []byte) bool {
	var ok bool
	switch m.chk.Kind {
	case JSONEqual:
		ok = m.chk.want.equal(v)
	case JSONEqualText:
		ok = textEqual(v, m.text)
	case JSONType:
		ok = m.chk.typ.is(v)
	case JSONExists:
		ok = true
	}
	if !ok {
		m.bad = v
	}
	return ok
}

// checkState is a user's working memory for checks, kept across its
// requests so that checks allocate nothing; only users whose requests have
// checks have one.
type checkState struct {
	jm      jsonMatch // the JSON check in progress
	scratch []byte    // rendered values and header values
}

// runChecks runs the compiled checks of a request on its response.
func (c *HTTPClient) runChecks(chk *respChecks, resp *Response) error {
	if c.cs == nil {
		c.cs = &checkState{}
	}
	if len(chk.json) > 0 {
		body, err := resp.body()
		if err != nil {
			return err
		}
		root, err := jsonRoot(body) // read once for all the paths
		if err != nil {
			return jsonFailure(chk.json[0].Path + ": " + err.Error())
		}
		for i := range chk.json {
			if err := c.checkJSON(chk, &chk.json[i], root); err != nil {
				return err
			}
		}
		c.cs.jm = jsonMatch{} // holds no slice of the response past the request
	}
	for i := range chk.header {
		if err := c.checkHeader(chk, &chk.header[i], resp.w.header); err != nil {
			return err
		}
	}
	if chk.maxTime > 0 && resp.Elapsed > chk.maxTime {
		return slowError(chk.maxTime)
	}
	return nil
}

// checkJSON runs one JSON check on root (from jsonRoot), rendering its
// template.
func (c *HTTPClient) checkJSON(chk *respChecks, jc *jsonCheck, root []byte) error {
	text := jc.text
	if jc.segs != nil {
		c.cs.scratch = chk.tpl.appendSegs(c.cs.scratch[:0], jc.segs, c.tv.v, 0)
		text = c.cs.scratch
	}
	return jc.check(root, text, &c.cs.jm)
}

// check runs jc on root (from jsonRoot), with text as JSONEqualText's
// value; m is the caller's, reused.
func (jc *jsonCheck) check(root, text []byte, m *jsonMatch) error {
	*m = jsonMatch{chk: jc, text: text}
	var miss jpMiss
	err := jc.path.each(root, m, &miss)
	switch {
	case err == errMissed && jc.Kind == JSONAbsent:
		return nil
	case err == errMissed:
		return jsonFailure(jc.Path + ": " + miss.text(jc.path))
	case err != nil:
		return jsonFailure(jc.Path + ": " + err.Error())
	case jc.Kind == JSONAbsent:
		return jsonFailure(jc.Path + " is " + shownJSON(m.bad) + ", want no value (exists: false)")
	case m.bad != nil:
		return jsonFailure(jc.Path + " is " + shownJSON(m.bad) + ", want " + wantText(jc, m.text))
	}
	return nil
}

func jsonFailure(msg string) error {
	return &CheckError{Check: "expect_json", Msg: "expect_json: " + msg}
}

// wantText says what a failed JSON check wanted, for its message.
func wantText(jc *jsonCheck, text []byte) string {
	switch jc.Kind {
	case JSONEqual:
		return shorten(jc.Value)
	case JSONEqualText:
		if ok, _ := validJSONNumber(text); ok || isWord(text, "true", "false", "null") {
			return string(text)
		}
		b, _ := encodeJSON(string(text))
		return shorten(string(b))
	case JSONType:
		switch jc.typ {
		case jtNull:
			return "null"
		case jtInteger, jtArray, jtObject:
			return "an " + jc.Value
		}
		return "a " + jc.Value
	}
	return "a value"
}

// isWord reports whether b is one of words.
func isWord(b []byte, words ...string) bool {
	for _, w := range words {
		if string(b) == w {
			return true
		}
	}
	return false
}

// maxShown bounds a value quoted in a failure message.
const maxShown = 64

// shownJSON is a raw JSON value as a failure message quotes it: a scalar
// as its JSON text, shortened; an array or object by its kind, since its
// text may be long and span lines.
func shownJSON(v []byte) string {
	if v[0] == '[' || v[0] == '{' {
		return jsonKind(v)
	}
	return shorten(string(v))
}

// shorten cuts s to about maxShown bytes, at a character boundary, and
// marks the cut with "…".
func shorten(s string) string {
	if len(s) <= maxShown {
		return s
	}
	n := maxShown
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// checkHeader runs one header check on the response's header.
func (c *HTTPClient) checkHeader(chk *respChecks, hc *headerCheck, header []byte) error {
	buf := c.cs.scratch[:0]
	if hc.segs != nil {
		buf = chk.tpl.appendSegs(buf, hc.segs, c.tv.v, 0)
	}
	wantEnd := len(buf)
	buf, found := appendHeaderValues(buf, header, hc.lower)
	c.cs.scratch = buf
	got, want := buf[wantEnd:], hc.value
	if hc.segs != nil {
		want = buf[:wantEnd]
	}
	var ok bool
	switch hc.Kind {
	case HeaderEqual:
		ok = found && bytes.Equal(got, want)
	case HeaderContains:
		ok = found && bytes.Contains(got, want)
	case HeaderExists:
		ok = found
	case HeaderAbsent:
		ok = !found
	}
	if ok {
		return nil
	}
	var msg string
	switch {
	case hc.Kind == HeaderAbsent:
		msg = hc.Name + " is " + quoted(got) + ", want no such header (exists: false)"
	case !found && hc.Kind == HeaderExists:
		msg = hc.Name + ": no such header"
	case !found:
		msg = hc.Name + ": no such header, want " + headerWant(hc.Kind, want)
	default:
		msg = hc.Name + " is " + quoted(got) + ", want " + headerWant(hc.Kind, want)
	}
	return &CheckError{Check: "expect_header", Msg: "expect_header: " + msg}
}

func headerWant(k HeaderCheckKind, want []byte) string {
	if k == HeaderContains {
		return "it to contain " + quoted(want)
	}
	return quoted(want)
}

func quoted(b []byte) string { return strconv.Quote(shorten(string(b))) }

// appendHeaderValues appends to dst the values of the fields named lower
// (in lower case) of header (status line to blank line), joined with
// ", ", and reports whether there was one. A line continued by obsolete
// folding joins its field's value with a space.
func appendHeaderValues(dst, header []byte, lower string) ([]byte, bool) {
	found, in := false, false
	for p, first := 0, true; p < len(header); first = false {
		end := bytes.IndexByte(header[p:], '\n')
		if end < 0 {
			end = len(header)
		} else {
			end += p
		}
		line := trimCR(header[p:end])
		p = end + 1
		switch {
		case first:
			continue // the status line
		case len(line) == 0:
			return dst, found
		case line[0] == ' ' || line[0] == '\t':
			if in {
				dst = append(dst, ' ')
				dst = append(dst, trimSpace(line)...)
			}
			continue
		}
		colon := bytes.IndexByte(line, ':')
		in = colon > 0 && equalFoldLower(line[:colon], lower)
		if !in {
			continue
		}
		if found {
			dst = append(dst, ", "...)
		}
		dst = append(dst, trimSpace(line[colon+1:])...)
		found = true
	}
	return dst, found
}

// slowError is the failure of a response slower than expect_max_ms. Its
// text names the limit, not the time taken (that is the request's recorded
// response time): one error row per request and limit, as a Locust user's
// response.failure("too slow") gives, instead of one per millisecond.
func slowError(limit time.Duration) error {
	lim := float64(limit) / float64(time.Millisecond)
	return &CheckError{Check: "expect_max_ms",
		Msg: "response took more than expect_max_ms " + strconv.FormatFloat(lim, 'f', -1, 64)}
}
