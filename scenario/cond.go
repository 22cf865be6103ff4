package scenario

import (
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unsafe"
)

// Conditions: the if, unless and fail_if of YAML steps. A condition is
// compiled once, when the scenario loads, and evaluated per use without
// allocating (its templates write into the user's scratch buffer).
//
// Grammar (spaces between tokens are ignored):
//
//	cond    = and { "or" and }
//	and     = unary { "and" unary }
//	unary   = "not" unary | "(" cond ")" | compare
//	compare = operand [ op operand ]
//	op      = "==" | "!=" | "<" | "<=" | ">" | ">=" | "contains" | "matches"
//	operand = "${" expr "}"          a template expression (template.go)
//	        | '"' text '"' | "'" text "'"  text, which may hold ${...}; \" \' \\ escape
//	        | number                 [-] digits [. digits] [e [+|-] digits]
//
// A bare operand holds when its value is not empty. == != < <= > >=
// compare as numbers when both values are decimal numbers ("401", "1.5",
// "-2e3"), else as text (byte by byte). a contains b holds when b occurs
// in a; a matches 'RE' when the regular expression RE (a literal, compiled
// when the scenario loads) matches somewhere in a. "not" binds tighter
// than "and", "and" tighter than "or"; "and" and "or" stop at the first
// operand that decides. A condition that needs the value of a variable
// without one (not extracted yet) or of a row the user lacks is false as
// a whole.

// condOp is what a cond node does.
type condOp uint8

const (
	cBare condOp = iota // l is not empty
	cNot                // not x
	cAnd                // x and y
	cOr                 // x or y
	cEq
	cNe
	cLt
	cLe
	cGt
	cGe
	cContains
	cMatches
)

var condOpText = [...]string{cEq: "==", cNe: "!=", cLt: "<", cLe: "<=", cGt: ">", cGe: ">=", cContains: "contains", cMatches: "matches"}

// cond is a compiled condition.
type cond struct {
	op   condOp
	x, y *cond          // cNot: x; cAnd, cOr: x and y
	l, r operand        // cBare: l; comparisons: l and r
	re   *regexp.Regexp // cMatches
	src  string         // the condition as written (the root only), for messages
}

// operand is a value of a condition: a literal or a template.
type operand struct {
	nodes []tnode // a template with expressions; nil: lit
	lit   []byte
	num   float64 // lit as a number, when isNum
	isNum bool
	text  string // as written, for String
}

// condError is a condition that does not parse: pos is the byte offset in
// it where the problem is.
type condError struct {
	pos int
	msg string
}

func (e *condError) Error() string { return fmt.Sprintf("at byte %d: %s", e.pos, e.msg) }

// condParser parses one condition.
type condParser struct {
	s   string
	i   int
	env func(string) (string, bool)
}

// parseCond compiles a condition. env looks up ${env.NAME}, as for
// templates.
func parseCond(s string, env func(string) (string, bool)) (*cond, error) {
	cp := &condParser{s: s, env: env}
	cp.space()
	if cp.i == len(s) {
		return nil, &condError{pos: 0, msg: "empty condition"}
	}
	c, err := cp.or(0)
	if err != nil {
		return nil, err
	}
	if cp.i < len(s) {
		return nil, cp.unexpected("")
	}
	c.src = s
	return c, nil
}

// maxCondDepth bounds the nesting of not and parentheses.
const maxCondDepth = 100

func (cp *condParser) space() {
	for cp.i < len(cp.s) && (cp.s[cp.i] == ' ' || cp.s[cp.i] == '\t' || cp.s[cp.i] == '\n' || cp.s[cp.i] == '\r') {
		cp.i++
	}
}

// word returns the word (letters, digits and _) at the cursor, without
// moving.
func (cp *condParser) word() string {
	j := cp.i
	for j < len(cp.s) && isNameByte(cp.s[j]) {
		j++
	}
	return cp.s[cp.i:j]
}

// keyword consumes the word w if it is next (and whole).
func (cp *condParser) keyword(w string) bool {
	if cp.word() != w {
		return false
	}
	cp.i += len(w)
	cp.space()
	return true
}

func (cp *condParser) unexpected(want string) error {
	if cp.i >= len(cp.s) {
		return &condError{pos: cp.i, msg: "unexpected end" + want}
	}
	if w := cp.word(); w != "" {
		return &condError{pos: cp.i, msg: fmt.Sprintf("unexpected word %q (quote text: \"%s\"; a variable is ${%s})", w, w, w)}
	}
	return &condError{pos: cp.i, msg: fmt.Sprintf("unexpected %q%s", cp.s[cp.i], want)}
}

func (cp *condParser) or(depth int) (*cond, error) {
	x, err := cp.and(depth)
	if err != nil {
		return nil, err
	}
	for cp.keyword("or") {
		y, err := cp.and(depth)
		if err != nil {
			return nil, err
		}
		x = &cond{op: cOr, x: x, y: y}
	}
	return x, nil
}

func (cp *condParser) and(depth int) (*cond, error) {
	x, err := cp.unary(depth)
	if err != nil {
		return nil, err
	}
	for cp.keyword("and") {
		y, err := cp.unary(depth)
		if err != nil {
			return nil, err
		}
		x = &cond{op: cAnd, x: x, y: y}
	}
	return x, nil
}

func (cp *condParser) unary(depth int) (*cond, error) {
	if depth > maxCondDepth {
		return nil, &condError{pos: cp.i, msg: fmt.Sprintf("nested more than %d deep", maxCondDepth)}
	}
	if cp.keyword("not") {
		x, err := cp.unary(depth + 1)
		if err != nil {
			return nil, err
		}
		return &cond{op: cNot, x: x}, nil
	}
	if cp.i < len(cp.s) && cp.s[cp.i] == '(' {
		open := cp.i
		cp.i++
		cp.space()
		x, err := cp.or(depth + 1)
		if err != nil {
			return nil, err
		}
		if cp.i >= len(cp.s) || cp.s[cp.i] != ')' {
			if cp.i >= len(cp.s) {
				return nil, &condError{pos: open, msg: `"(" without a closing ")"`}
			}
			return nil, cp.unexpected(` (want ")")`)
		}
		cp.i++
		cp.space()
		return x, nil
	}
	return cp.compare()
}

func (cp *condParser) compare() (*cond, error) {
	l, err := cp.operand()
	if err != nil {
		return nil, err
	}
	op, ok := cp.op()
	if !ok {
		return &cond{op: cBare, l: l}, nil
	}
	at := cp.i
	r, err := cp.operand()
	if err != nil {
		return nil, err
	}
	c := &cond{op: op, l: l, r: r}
	if op == cMatches {
		if r.nodes != nil || r.text == "" || (r.text[0] != '"' && r.text[0] != '\'') {
			return nil, &condError{pos: at, msg: "matches takes a quoted regular expression without templates"}
		}
		if c.re, err = regexp.Compile(string(r.lit)); err != nil {
			return nil, &condError{pos: at, msg: err.Error()}
		}
	}
	return c, nil
}

// op consumes a comparison operator, if one is next.
func (cp *condParser) op() (condOp, bool) {
	s := cp.s[cp.i:]
	for _, o := range []condOp{cEq, cNe, cLe, cGe, cLt, cGt} {
		if strings.HasPrefix(s, condOpText[o]) {
			cp.i += len(condOpText[o])
			cp.space()
			return o, true
		}
	}
	if cp.keyword("contains") {
		return cContains, true
	}
	if cp.keyword("matches") {
		return cMatches, true
	}
	return 0, false
}

// operand reads an operand: ${expr}, a quoted text or a number.
func (cp *condParser) operand() (operand, error) {
	s, start := cp.s, cp.i
	if start >= len(s) {
		return operand{}, cp.unexpected(" (want a value: ${...}, \"text\" or a number)")
	}
	var o operand
	switch c := s[start]; {
	case c == '$' && start+1 < len(s) && s[start+1] == '{':
		end := strings.IndexByte(s[start+2:], '}')
		if end < 0 {
			return o, &condError{pos: start, msg: `"${" without a closing "}"`}
		}
		ex, err := parseExpr(s[start+2:start+2+end], cp.env)
		if err != nil {
			return o, cp.templateErr(err, start+2)
		}
		cp.i = start + 2 + end + 1
		if ex.kind == exLiteral {
			o.lit = []byte(ex.lit)
		} else {
			o.nodes = []tnode{{ex: ex}}
		}
	case c == '"' || c == '\'':
		var b strings.Builder
		j := start + 1
		for ; j < len(s) && s[j] != c; j++ {
			if s[j] == '\\' && j+1 < len(s) && (s[j+1] == c || s[j+1] == '\\') {
				j++
			}
			b.WriteByte(s[j])
		}
		if j >= len(s) {
			return o, &condError{pos: start, msg: "unterminated quoted text"}
		}
		cp.i = j + 1
		nodes, err := parseTemplate(b.String(), cp.env)
		if err != nil {
			// The position is in the unescaped text: near enough.
			return o, cp.templateErr(err, start+1)
		}
		if hasExpr(nodes) {
			o.nodes = nodes
		} else {
			o.lit = []byte(literalOf(nodes))
		}
	case c == '-' || c >= '0' && c <= '9':
		j := scanNumber(s, start)
		if j == start || j < len(s) && isNameByte(s[j]) {
			return o, &condError{pos: start, msg: "invalid number"}
		}
		cp.i = j
		o.lit = []byte(s[start:j])
	default:
		return o, cp.unexpected(" (want a value: ${...}, \"text\" or a number)")
	}
	o.text = s[start:cp.i]
	if o.nodes == nil {
		o.num, o.isNum = parseNum(o.lit)
	}
	cp.space()
	return o, nil
}

func (cp *condParser) templateErr(err error, base int) error {
	if te, ok := err.(*TemplateError); ok {
		return &condError{pos: base + te.Pos, msg: te.Msg}
	}
	return &condError{pos: base, msg: err.Error()}
}

func hasExpr(nodes []tnode) bool {
	for _, n := range nodes {
		if n.ex != nil {
			return true
		}
	}
	return false
}

// scanNumber returns the end of the number at s[i:] (i if none).
func scanNumber(s string, i int) int {
	j := i
	if j < len(s) && s[j] == '-' {
		j++
	}
	d := j
	for j < len(s) && s[j] >= '0' && s[j] <= '9' {
		j++
	}
	if j == d {
		return i
	}
	if j+1 < len(s) && s[j] == '.' && s[j+1] >= '0' && s[j+1] <= '9' {
		j++
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
		}
	}
	if j < len(s) && (s[j] == 'e' || s[j] == 'E') {
		k := j + 1
		if k < len(s) && (s[k] == '+' || s[k] == '-') {
			k++
		}
		e := k
		for k < len(s) && s[k] >= '0' && s[k] <= '9' {
			k++
		}
		if k > e {
			j = k
		}
	}
	return j
}

// parseNum reads b as a decimal number (the syntax scanNumber accepts, the
// whole of b, finite), without allocating.
func parseNum(b []byte) (float64, bool) {
	if len(b) == 0 || len(b) > 64 {
		return 0, false
	}
	s := unsafe.String(&b[0], len(b))
	if scanNumber(s, 0) != len(s) {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil { // out of range: ±Inf
		return 0, false
	}
	return f, true
}

// refs calls fn for every template expression of c.
func (c *cond) refs(fn func(*texpr)) {
	if c == nil {
		return
	}
	for _, o := range []*operand{&c.l, &c.r} {
		for _, n := range o.nodes {
			if n.ex != nil {
				fn(n.ex)
			}
		}
	}
	c.x.refs(fn)
	c.y.refs(fn)
}

// holds evaluates c for user u: false when it needs a value that cannot
// be had.
func (c *cond) holds(u *UserContext) bool {
	v := &u.vars
	start := len(v.gen)
	ok, err := c.eval(u)
	v.gen = v.gen[:start]
	return ok && err == nil
}

func (c *cond) eval(u *UserContext) (bool, error) {
	switch c.op {
	case cNot:
		ok, err := c.x.eval(u)
		return !ok, err
	case cAnd, cOr:
		ok, err := c.x.eval(u)
		if err != nil || ok == (c.op == cOr) {
			return ok, err
		}
		return c.y.eval(u)
	}
	a, err := c.l.value(u)
	if err != nil {
		return false, err
	}
	if c.op == cBare {
		return len(a) > 0, nil
	}
	if c.op == cMatches {
		return c.re.Match(a), nil
	}
	b, err := c.r.value(u)
	if err != nil {
		return false, err
	}
	if c.op == cContains {
		return bytes.Contains(a, b), nil
	}
	var cmp int
	fa, na := c.l.number(a)
	fb, nb := c.r.number(b)
	if na && nb {
		switch {
		case fa < fb:
			cmp = -1
		case fa > fb:
			cmp = 1
		}
	} else {
		cmp = bytes.Compare(a, b)
	}
	switch c.op {
	case cEq:
		return cmp == 0, nil
	case cNe:
		return cmp != 0, nil
	case cLt:
		return cmp < 0, nil
	case cLe:
		return cmp <= 0, nil
	case cGt:
		return cmp > 0, nil
	}
	return cmp >= 0, nil
}

// number reads the operand's value b as a number.
func (o *operand) number(b []byte) (float64, bool) {
	if o.nodes == nil {
		return o.num, o.isNum
	}
	return parseNum(b)
}

// value returns the operand's value for u. A generated value or a text
// with several parts is written at the end of u.vars.gen, which the
// caller truncates after use.
func (o *operand) value(u *UserContext) ([]byte, error) {
	if o.nodes == nil {
		return o.lit, nil
	}
	if len(o.nodes) == 1 {
		return u.eval(o.nodes[0].ex)
	}
	return u.renderNodes(o.nodes)
}

// renderNodes writes a template's text with its values at the end of
// u.vars.gen and returns it. An expression's generated value is appended
// there by eval itself; a variable's is copied.
func (u *UserContext) renderNodes(nodes []tnode) ([]byte, error) {
	v := &u.vars
	start := len(v.gen)
	for _, n := range nodes {
		if n.ex == nil {
			v.gen = append(v.gen, n.lit...)
			continue
		}
		m := len(v.gen)
		val, err := u.eval(n.ex)
		if err != nil {
			return nil, err
		}
		if len(v.gen) == m {
			v.gen = append(v.gen, val...)
		}
	}
	return v.gen[start:], nil
}

// String returns c in a canonical form, fully parenthesised, that parses
// back to the same condition.
func (c *cond) String() string {
	var b strings.Builder
	c.write(&b)
	return b.String()
}

func (c *cond) write(b *strings.Builder) {
	switch c.op {
	case cNot:
		b.WriteString("not (")
		c.x.write(b)
		b.WriteString(")")
	case cAnd, cOr:
		b.WriteString("(")
		c.x.write(b)
		if c.op == cAnd {
			b.WriteString(") and (")
		} else {
			b.WriteString(") or (")
		}
		c.y.write(b)
		b.WriteString(")")
	case cBare:
		c.l.write(b)
	default:
		c.l.write(b)
		b.WriteString(" " + condOpText[c.op] + " ")
		c.r.write(b)
	}
}

// write writes the operand: a number as written, anything else as a
// double-quoted template.
func (o *operand) write(b *strings.Builder) {
	if o.nodes == nil && o.isNum && o.text != "" && o.text[0] != '"' && o.text[0] != '\'' {
		b.WriteString(o.text)
		return
	}
	nodes := o.nodes
	if nodes == nil {
		nodes = []tnode{{lit: string(o.lit)}}
	}
	b.WriteByte('"')
	for i, n := range nodes {
		if n.ex != nil {
			b.WriteString("${")
			for j := 0; j < len(n.ex.src); j++ {
				if n.ex.src[j] == '"' || n.ex.src[j] == '\\' {
					b.WriteByte('\\')
				}
				b.WriteByte(n.ex.src[j])
			}
			b.WriteString("}")
			continue
		}
		// "$" before "{" or before an expression is written "$$".
		next := i+1 < len(nodes) && nodes[i+1].ex != nil
		for j := 0; j < len(n.lit); j++ {
			ch := n.lit[j]
			if ch == '$' {
				k := j
				for k < len(n.lit) && n.lit[k] == '$' {
					k++
				}
				run := n.lit[j:k]
				if k < len(n.lit) && n.lit[k] == '{' || k == len(n.lit) && next {
					run += run
				}
				b.WriteString(run)
				j = k - 1
				continue
			}
			if ch == '"' || ch == '\\' {
				b.WriteByte('\\')
			}
			b.WriteByte(ch)
		}
	}
	b.WriteByte('"')
}
