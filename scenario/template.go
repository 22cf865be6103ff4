package scenario

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Templates: "${...}" in the strings of a YAML request.
//
// Grammar (a template is any string; only "${" starts an expression):
//
//	template = { literal | "$${" | "${" expr "}" }
//	expr     = ref [ ":-" default ] | call
//	ref      = name                        a variable
//	         | "row." column               a column of the user's data row
//	         | "user.id" | "user.iteration"
//	         | "worker.index" | "worker.count"
//	         | "response.status"           the status of the user's last response
//	         | "env." name                 an environment variable, read at load
//	default  = bare | quoted               used when the value is unset or empty
//	call     = fn "(" [ arg { "," arg } ] ")"
//	fn       = "uuid" | "randint" | "choice" | "time" | "time_ms"
//	         | "wchoice" | a fake-data generator (fake.go)
//	arg      = bare | quoted
//	quoted   = '"' { char | '\"' | '\\' } '"'
//	name     = letter-or-_ { letter | digit | _ }
//	column   = { letter | digit | _ | - }
//
// Before "{", "$$" stands for one literal "$": "$${" is a literal "${",
// "$$${x}" a "$" followed by x's value; "$" elsewhere is literal. Spaces
// around an expression, a call's parentheses and its arguments are
// ignored. Any other text between "${" and "}" is an error, so that new
// forms (filters) can be added without changing what existing scenarios
// mean.
//
// A default ("${token:-anonymous}", "${row.city:-}", "${env.REGION:-eu}")
// is literal text up to the "}", trimmed (quote it to keep spaces around
// it or to write "${" in it), never a template: it is the value when the
// variable, the row's cell or the environment variable is unset or empty,
// as the shell's ":-". A plain name or row column with a default needs no
// declaration. user.*, worker.* and calls always have a value and take
// none.

// exprKind is what an expression evaluates.
type exprKind uint8

const (
	exVar         exprKind = iota // a plain variable (extracted, data row or vars)
	exRow                         // row.column
	exUserID                      // user.id
	exUserIter                    // user.iteration
	exWorkerIndex                 // worker.index
	exWorkerCount                 // worker.count
	exUUID                        // uuid()
	exRandInt                     // randint(lo, hi)
	exChoice                      // choice(a, b, ...)
	exTime                        // time(): Unix seconds
	exTimeMs                      // time_ms(): Unix milliseconds
	exLiteral                     // env.NAME, resolved at load
	exBasicAuth                   // a request's auth: the base64 of its parts (auth.go)
	exRespStatus                  // response.status: the user's last status (yaml_steps.go)
)

// texpr is one parsed expression.
type texpr struct {
	kind    exprKind
	src     string // the text between "${" and "}", trimmed, for messages
	name    string // variable, column or environment variable name
	slot    int    // exVar: the slot in the class's variable scope; exRow: the column
	lo, hi  int64  // exRandInt, inclusive
	choices []string
	lit     string  // exLiteral
	parts   []tnode // exBasicAuth: user, ":", password
	def     []byte  // a ref's default ("${x:-def}"), valid where hasDef
	hasDef  bool
	cum     []uint64 // wchoice: the cumulative weights of choices
	n       int      // words, hex, alnum: the count; float: the decimals
}

// tnode is a piece of a parsed template: literal text or an expression.
type tnode struct {
	lit string
	ex  *texpr // nil: literal
}

// TemplateError is a template that does not parse: Pos is the byte offset
// in the template where the problem is.
type TemplateError struct {
	Pos int
	Msg string
}

func (e *TemplateError) Error() string { return fmt.Sprintf("template: at byte %d: %s", e.Pos, e.Msg) }

// builtinFuncs are the functions a template can call.
var builtinFuncs = append([]string{"uuid", "randint", "choice", "time", "time_ms"}, fakeFuncs...)

// namespaces are the dotted names a template can refer to.
var namespaces = []string{"row", "user", "worker", "env", "response"}

// hasTemplate reports whether s may hold an expression or an escape: a
// string without "${" is literal text.
func hasTemplate(s string) bool { return strings.Contains(s, "${") }

// parseTemplate parses s into literal text and expressions. env looks up
// environment variables for ${env.NAME} (nil: none is set). Adjacent
// literals are merged; a template without expressions is one literal node
// (or none for "").
func parseTemplate(s string, env func(string) (string, bool)) ([]tnode, error) {
	var out []tnode
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			out = append(out, tnode{lit: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(s); {
		j := strings.IndexByte(s[i:], '$')
		if j < 0 {
			lit.WriteString(s[i:])
			break
		}
		lit.WriteString(s[i : i+j])
		i += j
		k := 0 // the run of '$'
		for i+k < len(s) && s[i+k] == '$' {
			k++
		}
		if i+k >= len(s) || s[i+k] != '{' {
			lit.WriteString(s[i : i+k])
			i += k
			continue
		}
		// Before "{", "$$" is one literal "$"; an odd run ends in "${".
		lit.WriteString(s[i : i+k/2])
		i += k
		if k%2 == 0 {
			lit.WriteByte('{')
			i++
			continue
		}
		start := i - 1
		end := strings.IndexByte(s[i+1:], '}')
		if end < 0 {
			return nil, &TemplateError{Pos: start, Msg: `"${" without a closing "}"`}
		}
		ex, err := parseExpr(s[i+1:i+1+end], env)
		if err != nil {
			var te *TemplateError
			if errors.As(err, &te) {
				te.Pos += i + 1
			}
			return nil, err
		}
		if ex.kind == exLiteral {
			lit.WriteString(ex.lit)
		} else {
			flush()
			out = append(out, tnode{ex: ex})
		}
		i += 1 + end + 1
	}
	flush()
	return out, nil
}

// parseExpr parses the text between "${" and "}".
func parseExpr(body string, env func(string) (string, bool)) (*texpr, error) {
	lead := len(body) - len(strings.TrimLeft(body, " \t"))
	src := strings.TrimSpace(body)
	if src == "" {
		return nil, &TemplateError{Pos: lead, Msg: "empty expression"}
	}
	ex := &texpr{src: src}
	if k := strings.Index(src, ":-"); k >= 0 && strings.Contains(src[:k], "(") &&
		strings.HasSuffix(strings.TrimRight(src[:k], " \t"), ")") && !inQuotes(src[:k]) {
		return nil, &TemplateError{Pos: lead + k, Msg: "a call always has a value: it takes no default"}
	}
	if k := strings.Index(src, ":-"); k >= 0 && !strings.ContainsAny(src[:k], `("`) {
		if err := parseDefault(ex, src[k+2:], lead+k+2); err != nil {
			return nil, err
		}
		if src = strings.TrimRight(src[:k], " \t"); src == "" {
			return nil, &TemplateError{Pos: lead, Msg: `a name is required before ":-"`}
		}
	}
	if k := strings.IndexByte(src, '('); k >= 0 {
		return ex, parseCall(ex, src, k, lead)
	}
	ns, name, dotted := strings.Cut(src, ".")
	if !dotted {
		if !isName(src) {
			return nil, badChar(src, lead, isNameByte)
		}
		ex.kind, ex.name = exVar, src
		return ex, nil
	}
	at := lead + len(ns) + 1
	switch ns {
	case "row":
		if name == "" || strings.IndexFunc(name, func(r rune) bool { return r >= 0x80 || !isColumnByte(byte(r)) }) >= 0 {
			return nil, badChar(name, at, isColumnByte)
		}
		ex.kind, ex.name = exRow, name
	case "user":
		switch name {
		case "id":
			ex.kind = exUserID
		case "iteration":
			ex.kind = exUserIter
		default:
			return nil, &TemplateError{Pos: at, Msg: fmt.Sprintf("unknown name user.%s (want user.id or user.iteration)", name)}
		}
	case "worker":
		switch name {
		case "index":
			ex.kind = exWorkerIndex
		case "count":
			ex.kind = exWorkerCount
		default:
			return nil, &TemplateError{Pos: at, Msg: fmt.Sprintf("unknown name worker.%s (want worker.index or worker.count)", name)}
		}
	case "response":
		if name != "status" {
			return nil, &TemplateError{Pos: at, Msg: fmt.Sprintf("unknown name response.%s (want response.status)", name)}
		}
		ex.kind = exRespStatus
	case "env":
		if !isName(name) {
			return nil, badChar(name, at, isNameByte)
		}
		v, ok := "", false
		if env != nil {
			v, ok = env(name)
		}
		if ex.hasDef && v == "" {
			v, ok = string(ex.def), true
		}
		if !ok {
			return nil, &TemplateError{Pos: at, Msg: fmt.Sprintf("environment variable %s is not set", name)}
		}
		ex.kind, ex.name, ex.lit = exLiteral, name, v
	default:
		if !isName(ns) {
			return nil, badChar(ns, lead, isNameByte)
		}
		return nil, &TemplateError{Pos: lead, Msg: fmt.Sprintf("unknown namespace %q (want %s)", ns, strings.Join(namespaces, ", "))}
	}
	if ex.hasDef && ex.kind != exRow && ex.kind != exLiteral {
		return nil, &TemplateError{Pos: lead, Msg: fmt.Sprintf("%s always has a value: it takes no default", src)}
	}
	return ex, nil
}

// inQuotes reports whether s ends inside a quoted argument.
func inQuotes(s string) bool {
	in := false
	for i := 0; i < len(s); i++ {
		switch {
		case in && s[i] == '\\':
			i++
		case s[i] == '"':
			in = !in
		}
	}
	return in
}

// parseDefault parses the default after ":-" (s, at offset base): bare
// text, trimmed, or one quoted string.
func parseDefault(ex *texpr, s string, base int) error {
	d := strings.TrimSpace(s)
	base += len(s) - len(strings.TrimLeft(s, " \t"))
	switch {
	case strings.HasPrefix(d, `"`):
		args, err := splitArgs(d, base)
		if err != nil {
			return err
		}
		if len(args) != 1 {
			return &TemplateError{Pos: base, Msg: "a quoted default is one string (it ends at its closing quote)"}
		}
		d = args[0]
	case strings.Contains(d, "${"):
		return &TemplateError{Pos: base + strings.Index(d, "${"), Msg: "a default is literal text: it cannot hold a template"}
	}
	ex.def, ex.hasDef = []byte(d), true
	return nil
}

// badChar reports the first byte of s that ok refuses, at offset base.
func badChar(s string, base int, ok func(byte) bool) error {
	what := "names are letters, digits and _, not starting with a digit"
	if ok('-') {
		what = "columns are letters, digits, _ and -"
	}
	for i := 0; i < len(s); i++ {
		if !ok(s[i]) || (i == 0 && s[i] >= '0' && s[i] <= '9' && !ok('-')) {
			return &TemplateError{Pos: base + i, Msg: fmt.Sprintf("unexpected %q in %q (%s)", s[i], s, what)}
		}
	}
	return &TemplateError{Pos: base, Msg: "a name is required"}
}

// parseCall parses a function call; k is the index of "(" in src.
func parseCall(ex *texpr, src string, k, lead int) error {
	fn := strings.TrimSpace(src[:k])
	if !strings.HasSuffix(src, ")") {
		return &TemplateError{Pos: lead + len(src), Msg: fmt.Sprintf("%s(...: missing \")\"", fn)}
	}
	args, err := splitArgs(src[k+1:len(src)-1], lead+k+1)
	if err != nil {
		return err
	}
	arity := func(want int) error {
		if len(args) != want {
			return &TemplateError{Pos: lead, Msg: fmt.Sprintf("%s takes %d argument(s), got %d", fn, want, len(args))}
		}
		return nil
	}
	switch fn {
	case "uuid":
		ex.kind = exUUID
		return arity(0)
	case "time":
		ex.kind = exTime
		return arity(0)
	case "time_ms":
		ex.kind = exTimeMs
		return arity(0)
	case "randint":
		ex.kind = exRandInt
		if err := arity(2); err != nil {
			return err
		}
		var errs [2]error
		ex.lo, errs[0] = strconv.ParseInt(args[0], 10, 64)
		ex.hi, errs[1] = strconv.ParseInt(args[1], 10, 64)
		if errs[0] != nil || errs[1] != nil {
			return &TemplateError{Pos: lead, Msg: fmt.Sprintf("randint takes two integers, got %q and %q", args[0], args[1])}
		}
		if ex.lo > ex.hi {
			return &TemplateError{Pos: lead, Msg: fmt.Sprintf("randint: %d is greater than %d", ex.lo, ex.hi)}
		}
	case "choice":
		ex.kind = exChoice
		if len(args) == 0 {
			return &TemplateError{Pos: lead, Msg: "choice takes at least one argument"}
		}
		ex.choices = args
	default:
		if ok, err := parseFakeCall(ex, fn, args, lead); ok {
			return err
		}
		return &TemplateError{Pos: lead, Msg: fmt.Sprintf("unknown function %q (want %s)", fn, strings.Join(builtinFuncs, ", "))}
	}
	return nil
}

// splitArgs splits a call's arguments at commas; base is the offset of s.
// Bare arguments are trimmed; quoted ones keep their spaces and may hold
// commas, parentheses and "}" is not possible (it ends the expression).
func splitArgs(s string, base int) ([]string, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var args []string
	for i := 0; ; {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
			i++
		}
		var arg string
		if i < len(s) && s[i] == '"' {
			var b strings.Builder
			j := i + 1
			for ; j < len(s) && s[j] != '"'; j++ {
				if s[j] == '\\' && j+1 < len(s) && (s[j+1] == '"' || s[j+1] == '\\') {
					j++
				}
				b.WriteByte(s[j])
			}
			if j >= len(s) {
				return nil, &TemplateError{Pos: base + i, Msg: "unterminated quoted argument"}
			}
			arg, i = b.String(), j+1
			for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
				i++
			}
			if i < len(s) && s[i] != ',' {
				return nil, &TemplateError{Pos: base + i, Msg: fmt.Sprintf("unexpected %q after a quoted argument", s[i])}
			}
		} else {
			j := strings.IndexByte(s[i:], ',')
			if j < 0 {
				j = len(s) - i
			}
			arg = strings.TrimSpace(s[i : i+j])
			if arg == "" {
				return nil, &TemplateError{Pos: base + i, Msg: "empty argument"}
			}
			if k := strings.IndexAny(arg, `"()`); k >= 0 {
				return nil, &TemplateError{Pos: base + i, Msg: fmt.Sprintf("unexpected %q in argument %q (quote it)", arg[k], arg)}
			}
			i += j
		}
		args = append(args, arg)
		if i >= len(s) {
			return args, nil
		}
		i++ // the comma
		if strings.TrimSpace(s[i:]) == "" {
			return nil, &TemplateError{Pos: base + i, Msg: "empty argument"}
		}
	}
}

func isNameByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func isColumnByte(c byte) bool { return isNameByte(c) || c == '-' }

// isName reports whether s is letters, digits and _, not starting with a
// digit.
func isName(s string) bool {
	if s == "" || s[0] >= '0' && s[0] <= '9' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isNameByte(s[i]) {
			return false
		}
	}
	return true
}
