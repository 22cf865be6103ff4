package config

import (
	"errors"
	"fmt"
	"strings"
)

// Error is a parse or validation error. Msg is worded like Locust's (argparse's)
// message, so "glocust: error: " + Msg reads like "locust: error: ...".
type Error struct {
	Msg  string // e.g. "unrecognized arguments: --foo"
	Hint string // e.g. "did you mean '--host'?", or ""
	Code int    // the exit code Locust uses: 2 for usage errors, 1 for others
}

func (e *Error) Error() string {
	if e.Hint != "" {
		return fmt.Sprintf("config: %s (%s)", e.Msg, e.Hint)
	}
	return "config: " + e.Msg
}

// ExitCode returns the exit code for an error from Parse: Error.Code, or 1 for
// any other error, or 0 for nil.
func ExitCode(err error) int {
	if err == nil {
		return 0
	}
	var e *Error
	if errors.As(err, &e) && e.Code != 0 {
		return e.Code
	}
	return 1
}

func usageErr(format string, args ...any) *Error {
	return &Error{Msg: fmt.Sprintf(format, args...), Code: 2}
}

// argErr is argparse's "argument -u/--users: <problem>".
func argErr(op *option, err error) *Error {
	return usageErr("argument %s: %v", op.display(), err)
}

// rejected is the error for an option Locust refuses: its message, and
// glocust's replacement as the hint.
func (op *option) rejected() *Error {
	e := argErr(op, errors.New(op.reject))
	e.Hint = op.hint
	return e
}

// unrecognized reports arguments nobody consumed, suggesting the closest option
// for the first, as Locust does.
func unrecognized(extras []string) *Error {
	e := usageErr("unrecognized arguments: %s", strings.Join(extras, " "))
	bad := extras[0]
	if i := strings.IndexByte(bad, '='); i > 0 {
		bad = bad[:i]
	}
	if s := closestMatch(bad, allNames); s != "" {
		e.Hint = fmt.Sprintf("did you mean '%s'?", s)
	}
	return e
}
