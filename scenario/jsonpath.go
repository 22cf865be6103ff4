package scenario

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// JSON paths of extract's json: a subset of JSONPath.
//
//	path  = [ "$" ] [ step0 ] { step }
//	step0 = name                         the first key may go without "."
//	step  = "." name                     an object's member
//	      | "[" integer "]"              an array's element; negative counts from the end
//	      | "[*]"                        every element of an array (or member of an object)
//	      | "[" quoted "]"               a member whose name has ".", "[" or spaces
//	name  = one or more of any byte but ".", "[", "]", space
//	quoted = '"' ... '"' | "'" ... "'"   (with \" \' \\ escapes)
//
// "$" alone (or "") is the whole document. A path with "[*]" can match
// several values; the extraction's pick chooses one: first, last or
// random (the default). A member that appears twice in an object is the
// last one, as Python's json module reads it.

// jpKind is the kind of a path step.
type jpKind uint8

const (
	jpKey jpKind = iota
	jpIndex
	jpWild
)

type jpStep struct {
	kind jpKind
	key  string
	idx  int
}

// jsonPath is a parsed path.
type jsonPath struct {
	src   string
	steps []jpStep
	wild  bool // has a [*] step
}

// pickMode chooses among the matches of a path with [*].
type pickMode uint8

const (
	pickRandom pickMode = iota
	pickFirst
	pickLast
)

var pickModes = []string{"random", "first", "last"}

// parseJSONPath parses a path.
func parseJSONPath(src string) (*jsonPath, error) {
	jp := &jsonPath{src: src}
	s := strings.TrimPrefix(src, "$")
	first := len(s) == len(src) // no "$": the first key needs no "."
	for i := 0; i < len(s); {
		switch c := s[i]; {
		case c == '.' || first && c != '[':
			if c == '.' {
				i++
			}
			j := i
			for j < len(s) && s[j] != '.' && s[j] != '[' && s[j] != ']' && s[j] != ' ' {
				j++
			}
			if j == i {
				return nil, fmt.Errorf("json path %q: a name is required at byte %d", src, i+len(src)-len(s))
			}
			jp.steps = append(jp.steps, jpStep{kind: jpKey, key: s[i:j]})
			i = j
		case c == '[':
			st, n, err := parseBracket(s[i:])
			if err != nil {
				return nil, fmt.Errorf("json path %q: %v at byte %d", src, err, i+len(src)-len(s))
			}
			jp.steps = append(jp.steps, st)
			jp.wild = jp.wild || st.kind == jpWild
			i += n
		default:
			return nil, fmt.Errorf("json path %q: unexpected %q at byte %d (want \".\" or \"[\")", src, c, i+len(src)-len(s))
		}
		first = false
	}
	return jp, nil
}

// parseBracket parses a "[...]" step at the start of s and returns its
// length.
func parseBracket(s string) (jpStep, int, error) {
	end := strings.IndexByte(s, ']')
	if len(s) > 1 && (s[1] == '"' || s[1] == '\'') {
		q := s[1]
		var b strings.Builder
		for i := 2; i < len(s); i++ {
			switch {
			case s[i] == '\\' && i+1 < len(s) && (s[i+1] == q || s[i+1] == '\\'):
				i++
				b.WriteByte(s[i])
			case s[i] == q:
				if i+1 >= len(s) || s[i+1] != ']' {
					return jpStep{}, 0, errors.New(`want "]" after the quoted name`)
				}
				return jpStep{kind: jpKey, key: b.String()}, i + 2, nil
			default:
				b.WriteByte(s[i])
			}
		}
		return jpStep{}, 0, errors.New("unterminated quoted name")
	}
	if end < 0 {
		return jpStep{}, 0, errors.New(`"[" without "]"`)
	}
	in := strings.TrimSpace(s[1:end])
	if in == "*" {
		return jpStep{kind: jpWild}, end + 1, nil
	}
	n, err := strconv.Atoi(in)
	if err != nil || n > 1<<31 || n < -(1<<31) {
		return jpStep{}, 0, fmt.Errorf("%q is not an index (want an integer, *, or a quoted name)", in)
	}
	return jpStep{kind: jpIndex, idx: n}, end + 1, nil
}

// String returns the path as written.
func (jp *jsonPath) String() string { return jp.src }

// jpResult is the value a path selected: raw JSON text.
type jpResult struct {
	raw   []byte
	n     int // matches seen
	pick  pickMode
	rnd   *rand.Rand
	stop  bool      // pickFirst found its match, or visit asked to stop
	miss  jpMiss    // the first miss
	visit jpVisitor // each: receives every match instead of a pick
}

// jpVisitor receives the values a path matches (jsonPath.each).
type jpVisitor interface {
	// match is called with each value, raw JSON text, until it returns
	// false.
	match(v []byte) (more bool)
}

// errMissed is run's and each's error when the path does not lead to a
// value in a document that is valid JSON: a member or element that is not
// there, a step into a value of another kind, or no match of a path with
// [*]. What was missing is in a jpMiss, rendered only when reported.
var errMissed = errors.New("json path: no value")

// missWhy is why a path found no value.
type missWhy uint8

const (
	missNoMatch      missWhy = iota // a path with [*] matched nothing
	missNotObject                   // a member of a value that is not an object
	missNoMember                    // an object without the member
	missNotArray                    // an element of a value that is not an array
	missNoElement                   // an array without the element
	missNotContainer                // [*] of a value that is neither
)

// jpMiss is where and why a path found no value.
type jpMiss struct {
	set   bool
	why   missWhy
	depth int    // the steps walked before the one that missed
	kind  string // the kind of value found there (jsonKind)
	n     int    // missNoElement: the array's length
}

// text says what was missing, e.g. `$.data has no member "token"`.
func (m *jpMiss) text(jp *jsonPath) string {
	at := jp.prefix(m.depth)
	switch m.why {
	case missNotObject:
		return at + " is " + m.kind + ", not an object"
	case missNoMember:
		return fmt.Sprintf("%s has no member %q", at, jp.steps[m.depth].key)
	case missNotArray:
		return at + " is " + m.kind + ", not an array"
	case missNoElement:
		return fmt.Sprintf("%s has %d elements, no [%d]", at, m.n, jp.steps[m.depth].idx)
	case missNotContainer:
		return at + " is " + m.kind + ", not an array or object"
	}
	return "no match"
}

// missError is the error of a miss, naming the path.
func (jp *jsonPath) missError(m *jpMiss) error {
	return fmt.Errorf("json path %s: %s", jp.src, m.text(jp))
}

// eval finds the value of jp in doc. With [*] it picks one of the matches
// with pick (rnd for random). The value is raw JSON text within doc.
func (jp *jsonPath) eval(doc []byte, pick pickMode, rnd *rand.Rand) ([]byte, error) {
	res := jpResult{pick: pick, rnd: rnd}
	if err := jp.run(doc, &res); err != nil {
		if err == errMissed {
			err = jp.missError(&res.miss)
		}
		return nil, err
	}
	return res.raw, nil
}

// each calls visit with every value jp matches in root (a document's
// value, from jsonRoot), in document order, until visit returns false.
// When nothing matches it returns errMissed and sets *miss.
func (jp *jsonPath) each(root []byte, visit jpVisitor, miss *jpMiss) error {
	res := jpResult{visit: visit}
	err := jp.runIn(root, &res)
	if err == errMissed {
		*miss = res.miss
	}
	return err
}

// jsonRoot checks that doc is one JSON value and returns it without the
// white space around it.
func jsonRoot(doc []byte) ([]byte, error) {
	i := skipWS(doc, 0)
	end, err := skipValue(doc, i)
	if err != nil {
		return nil, err
	}
	if j := skipWS(doc, end); j != len(doc) {
		return nil, &jsonSyntaxError{pos: j, msg: "data after the JSON value"}
	}
	return doc[i:end], nil
}

// run checks that doc is one JSON value and walks jp in it into res.
func (jp *jsonPath) run(doc []byte, res *jpResult) error {
	root, err := jsonRoot(doc)
	if err != nil {
		return err
	}
	return jp.runIn(root, res)
}

// runIn walks jp in root, a value from jsonRoot, into res.
func (jp *jsonPath) runIn(root []byte, res *jpResult) error {
	if err := jp.walk(root, jp.steps, res, 0); err != nil {
		return err
	}
	if res.n == 0 {
		res.miss.set = true // missNoMatch unless a step missed
		return errMissed
	}
	return nil
}

// walk visits the values of v (one JSON value) that steps select. Outside
// a [*] a missing member or element is an error naming the step; inside
// one it is no match.
func (jp *jsonPath) walk(v []byte, steps []jpStep, res *jpResult, inWild int) error {
	if res.stop {
		return nil
	}
	if len(steps) == 0 {
		res.n++
		switch {
		case res.visit != nil:
			res.stop = !res.visit.match(v)
		case res.pick == pickFirst:
			res.raw, res.stop = v, true
		case res.pick == pickLast, res.n == 1, res.rnd == nil:
			res.raw = v
		case res.rnd.IntN(res.n) == 0: // reservoir sampling: each match with probability 1/n
			res.raw = v
		}
		return nil
	}
	st := steps[0]
	// miss records the first miss; outside a [*] it ends the walk.
	miss := func(why missWhy, kind string, n int) error {
		if !res.miss.set {
			res.miss = jpMiss{set: true, why: why, depth: len(jp.steps) - len(steps), kind: kind, n: n}
		}
		if inWild > 0 {
			return nil
		}
		return errMissed
	}
	switch st.kind {
	case jpKey:
		if v[0] != '{' {
			return miss(missNotObject, jsonKind(v), 0)
		}
		var found []byte
		err := eachMember(v, func(key, val []byte) bool {
			if jsonKeyEquals(key, st.key) {
				found = val // the last one wins
			}
			return true
		})
		if err != nil {
			return err
		}
		if found == nil {
			return miss(missNoMember, "", 0)
		}
		return jp.walk(found, steps[1:], res, inWild)
	case jpIndex:
		if v[0] != '[' {
			return miss(missNotArray, jsonKind(v), 0)
		}
		n := 0
		if err := eachElement(v, func([]byte) bool { n++; return true }); err != nil {
			return err
		}
		idx := st.idx
		if idx < 0 {
			idx += n
		}
		if idx < 0 || idx >= n {
			return miss(missNoElement, "", n)
		}
		var found []byte
		k := 0
		eachElement(v, func(e []byte) bool {
			if k == idx {
				found = e
				return false
			}
			k++
			return true
		})
		return jp.walk(found, steps[1:], res, inWild)
	default: // jpWild
		var err error
		visit := func(e []byte) bool {
			err = jp.walk(e, steps[1:], res, inWild+1)
			return err == nil && !res.stop
		}
		switch v[0] {
		case '[':
			if e := eachElement(v, visit); e != nil {
				return e
			}
		case '{':
			if e := eachMember(v, func(_, val []byte) bool { return visit(val) }); e != nil {
				return e
			}
		default:
			return miss(missNotContainer, jsonKind(v), 0)
		}
		return err
	}
}

// prefix renders the first n steps, for messages ("$" for none).
func (jp *jsonPath) prefix(n int) string {
	var b strings.Builder
	b.WriteByte('$')
	for _, st := range jp.steps[:n] {
		switch st.kind {
		case jpKey:
			if strings.ContainsAny(st.key, ".[] ") {
				b.WriteString("[" + strconv.Quote(st.key) + "]")
			} else {
				b.WriteString("." + st.key)
			}
		case jpIndex:
			b.WriteString("[" + strconv.Itoa(st.idx) + "]")
		default:
			b.WriteString("[*]")
		}
	}
	return b.String()
}

func jsonKind(v []byte) string {
	switch v[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

// jsonSyntaxError is a document the evaluator cannot read.
type jsonSyntaxError struct {
	pos int
	msg string
}

func (e *jsonSyntaxError) Error() string {
	return fmt.Sprintf("the response is not valid JSON: %s at byte %d", e.msg, e.pos)
}

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index after the string starting at b[i] == '"'.
func skipString(b []byte, i int) (int, error) {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1, nil
		}
	}
	return 0, &jsonSyntaxError{pos: i, msg: "unterminated string"}
}

// skipValue returns the index after the value starting at b[i]. Nesting is
// tracked with a counter, so deep documents cost no stack.
func skipValue(b []byte, i int) (int, error) {
	if i >= len(b) {
		return 0, &jsonSyntaxError{pos: i, msg: "unexpected end"}
	}
	switch c := b[i]; {
	case c == '"':
		return skipString(b, i)
	case c == '{' || c == '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				e, err := skipString(b, j)
				if err != nil {
					return 0, err
				}
				j = e - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return j + 1, nil
				}
			}
		}
		what := "unterminated object"
		if b[i] == '[' {
			what = "unterminated array"
		}
		return 0, &jsonSyntaxError{pos: i, msg: what}
	case c == '-' || c >= '0' && c <= '9' || c == 't' || c == 'f' || c == 'n':
		j := i
		for j < len(b) && (b[j] == '-' || b[j] == '+' || b[j] == '.' || b[j] >= '0' && b[j] <= '9' ||
			b[j] >= 'a' && b[j] <= 'z' || b[j] == 'E') {
			j++
		}
		return j, nil
	}
	return 0, &jsonSyntaxError{pos: i, msg: fmt.Sprintf("unexpected %q", b[i])}
}

// eachMember calls fn with the raw key (quotes included) and value of each
// member of the object v, until fn returns false.
func eachMember(v []byte, fn func(key, val []byte) bool) error {
	return eachItem(v, '}', func(b []byte, i int) (int, bool, error) {
		if b[i] != '"' {
			return 0, false, &jsonSyntaxError{pos: i, msg: "want a member name"}
		}
		ke, err := skipString(b, i)
		if err != nil {
			return 0, false, err
		}
		j := skipWS(b, ke)
		if j >= len(b) || b[j] != ':' {
			return 0, false, &jsonSyntaxError{pos: j, msg: `want ":"`}
		}
		j = skipWS(b, j+1)
		ve, err := skipValue(b, j)
		if err != nil {
			return 0, false, err
		}
		return ve, fn(b[i:ke], b[j:ve]), nil
	})
}

// eachElement calls fn with each element of the array v until it returns
// false.
func eachElement(v []byte, fn func(e []byte) bool) error {
	return eachItem(v, ']', func(b []byte, i int) (int, bool, error) {
		e, err := skipValue(b, i)
		if err != nil {
			return 0, false, err
		}
		return e, fn(b[i:e]), nil
	})
}

// eachItem walks the comma-separated items of an object or array v (whose
// last byte is closer), calling item at the start of each.
func eachItem(v []byte, closer byte, item func(b []byte, i int) (end int, more bool, err error)) error {
	i := skipWS(v, 1)
	if i < len(v) && v[i] == closer {
		return nil
	}
	for {
		if i >= len(v) {
			return &jsonSyntaxError{pos: i, msg: "unexpected end"}
		}
		end, more, err := item(v, i)
		if err != nil || !more {
			return err
		}
		i = skipWS(v, end)
		if i >= len(v) {
			return &jsonSyntaxError{pos: i, msg: "unexpected end"}
		}
		switch v[i] {
		case ',':
			i = skipWS(v, i+1)
		case closer:
			return nil
		default:
			return &jsonSyntaxError{pos: i, msg: fmt.Sprintf("unexpected %q", v[i])}
		}
	}
}

// jsonKeyEquals reports whether the raw JSON string key (quotes included)
// is name.
func jsonKeyEquals(key []byte, name string) bool {
	in := key[1 : len(key)-1]
	if !containsByte(in, '\\') && utf8.Valid(in) {
		return string(in) == name
	}
	var buf [64]byte
	return string(appendJSONString(buf[:0], key)) == name
}

func containsByte(b []byte, c byte) bool {
	for _, x := range b {
		if x == c {
			return true
		}
	}
	return false
}

// appendJSONString appends the value of the raw JSON string s (quotes
// included), as encoding/json decodes it: invalid UTF-8 and lone
// surrogates become U+FFFD.
func appendJSONString(dst, s []byte) []byte {
	s = s[1 : len(s)-1]
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s):
			i += 2
			switch s[i-1] {
			case 'b':
				dst = append(dst, '\b')
			case 'f':
				dst = append(dst, '\f')
			case 'n':
				dst = append(dst, '\n')
			case 'r':
				dst = append(dst, '\r')
			case 't':
				dst = append(dst, '\t')
			case 'u':
				r, n := hex4(s[i:])
				i += n
				if utf16.IsSurrogate(r) {
					r2, n2 := rune(-1), 0
					if len(s) > i+1 && s[i] == '\\' && s[i+1] == 'u' {
						r2, n2 = hex4(s[i+2:])
					}
					if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
						r, i = d, i+2+n2
					} else {
						r = utf8.RuneError
					}
				}
				dst = utf8.AppendRune(dst, r)
			default:
				dst = append(dst, s[i-1])
			}
		case c < utf8.RuneSelf:
			dst = append(dst, c)
			i++
		default:
			r, n := utf8.DecodeRune(s[i:])
			dst = utf8.AppendRune(dst, r)
			i += n
		}
	}
	return dst
}

// hex4 reads four hex digits; a bad escape gives U+FFFD.
func hex4(b []byte) (rune, int) {
	if len(b) < 4 {
		return utf8.RuneError, 0
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return utf8.RuneError, 0
		}
		r = r<<4 | rune(c)
	}
	return r, 4
}
