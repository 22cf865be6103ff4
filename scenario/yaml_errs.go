package scenario

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
)

// Collecting every error of a scenario: the parser records each error where
// it goes on (p.fields with the next key, the lists of classes, tasks and
// steps with the next item), and a construct with an error is left out
// (its parent fails too, without a second message). Parse returns the first
// error, as when parsing stopped there; ParseAll returns them all.

// ParseErrors is every error of a scenario, in file order (the first
// 1,000, then one saying how many more there were).
type ParseErrors []*ParseError

// Error is the errors' messages, one per line.
func (e ParseErrors) Error() string {
	s := make([]string, len(e))
	for i, pe := range e {
		s[i] = pe.Error()
	}
	return strings.Join(s, "\n")
}

// Unwrap returns the errors, for errors.Is and errors.As.
func (e ParseErrors) Unwrap() []error {
	out := make([]error, len(e))
	for i, pe := range e {
		out[i] = pe
	}
	return out
}

// Position is "file:line:col" ("file:line" without a column, "file"
// without a line), as editors and compilers write it.
func (e *ParseError) Position() string { return e.position(true) }

// Long is the error with its column: "file:line:col: path: message".
func (e *ParseError) Long() string { return e.text(true) }

func (e *ParseError) position(col bool) string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		b.WriteString(":" + strconv.Itoa(e.Line))
		if col && e.Col > 0 {
			b.WriteString(":" + strconv.Itoa(e.Col))
		}
	}
	return b.String()
}

// text is "position: path: message" (Error without the column, Long
// with it).
func (e *ParseError) text(col bool) string {
	var b strings.Builder
	b.WriteString(e.position(col) + ": ")
	if e.Path != "" {
		b.WriteString(e.Path + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// errList is the errors a parser found, in the order found.
type errList struct {
	list    []error
	seen    map[error]bool // the errors in list
	dropped int            // errors past maxErrors
}

// maxErrors is how many errors ParseAll lists; it says how many more there
// were.
const maxErrors = 1000

// note records err (when not nil and not recorded yet) and returns first,
// or err when first is nil: the first error of a walk that goes on.
func (p *parser) note(first, err error) error {
	if err == nil {
		return first
	}
	if e := &p.errs; !e.seen[err] {
		if e.seen == nil {
			e.seen = map[error]bool{}
		}
		e.seen[err] = true
		if len(e.list) < maxErrors {
			e.list = append(e.list, err)
		} else {
			e.dropped++
		}
	}
	if first == nil {
		return err
	}
	return first
}

// first returns the first error recorded, the one parsing stopped at before
// it went on after errors, or err when none was recorded.
func (p *parser) first(err error) error {
	if len(p.errs.list) > 0 {
		return p.errs.list[0]
	}
	return err
}

// ParseAll parses a scenario as Parse does and, when it has errors,
// returns every one as ParseErrors, sorted by line and column. A class,
// task or step with an error is not parsed further than its own keys, so
// an error may hide others inside it, but never those of its siblings;
// an error in the top-level http, vars or data stops before the classes
// (which build on them).
func ParseAll(name string, data []byte, opts ...ParseOption) (*Scenario, error) {
	var p *parser
	sc, err := Parse(name, data, append(opts[:len(opts):len(opts)], func(q *parser) { p = q })...)
	if err == nil {
		return sc, nil
	}
	var all []error
	dropped := 0
	if p != nil {
		all, dropped = p.errs.list, p.errs.dropped
	}
	if !slices.Contains(all, err) {
		all = append(all, err)
	}
	var out ParseErrors
	for _, e := range all {
		var pe *ParseError
		if !errors.As(e, &pe) {
			pe = &ParseError{File: name, Msg: e.Error()}
		}
		if !slices.Contains(out, pe) {
			out = append(out, pe)
		}
	}
	slices.SortStableFunc(out, func(a, b *ParseError) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Col, b.Col))
	})
	if dropped > 0 {
		last := out[len(out)-1]
		out = append(out, &ParseError{File: name, Line: last.Line, Col: last.Col, Msg: fmt.Sprintf("%d more errors not listed", dropped)})
	}
	return nil, out
}

// LoadAll reads and parses a scenario file as ParseAll does.
func LoadAll(path string, opts ...ParseOption) (*Scenario, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &ParseError{File: path, Msg: err.Error()}
	}
	return ParseAll(path, data, opts...)
}

// reported reports whether an error at path (a key's) was recorded: a check
// of what the key would have set (such as "required") would repeat it.
func (p *parser) reported(path string) bool {
	for _, err := range p.errs.list {
		if pe, ok := err.(*ParseError); ok && pe.Path == path {
			return true
		}
	}
	return false
}
