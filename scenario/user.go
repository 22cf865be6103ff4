package scenario

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"time"
)

// ErrStopUser, returned by a task (or wrapped), stops the user that ran it,
// like raising StopUser in a Locust task. on_stop still runs.
var ErrStopUser = errors.New("scenario: stop user")

// errPanicked is what runFn returns after recovering a panic.
var errPanicked = errors.New("scenario: task panicked")

// UserContext is one running user's state, handed to every task, on_start
// and on_stop function of that user. It is owned by the user's goroutine:
// do not use it from other goroutines.
type UserContext struct {
	// Class is the user's class name.
	Class string
	// ID is unique per runner (1, 2, ... in start order).
	ID int64
	// Host is the base URL the user's relative requests go to: the
	// master's host if set, else the class's, else the runner's default.
	Host string
	// HTTP is the user's HTTP client. It records every request in stats
	// and keeps the user's cookies and connections.
	HTTP *HTTPClient
	// Rand is the user's own random source (no shared lock).
	Rand *rand.Rand
	// State is free for the tasks, e.g. a token obtained in OnStart.
	State any

	r       *Runner
	entries map[entryKey]EntryRecorder                // lazily, for names built at run time
	vars    userVars                                  // variables, data row (vars.go)
	tnames  map[*reqTemplate]map[string]EntryRecorder // lazily, for templated names
	steps   *stepState                                // lazily, for YAML steps (yaml_steps.go)

	cpLastRun  time.Time // ConstantPacing state, as Locust's _cp_last_run
	cpLastWait time.Duration

	// Latency correction (openmodel.go): the current task's intended
	// start, the next scheduled start (zero: none) and the current lag.
	intended, nextStart time.Time
	lag                 time.Duration
}

type entryKey struct{ method, name string }

// Now returns the runner clock's time.
func (u *UserContext) Now() time.Time { return u.now() }

func (u *UserContext) now() time.Time {
	if u.r == nil {
		return time.Now()
	}
	return u.r.now()
}

// Record records one request of a non-HTTP protocol, like firing Locust's
// request event: err nil is a success, otherwise a failure with err's text.
func (u *UserContext) Record(method, name string, responseTime time.Duration, contentLength int64, err error) {
	e := u.entry(method, name)
	if err != nil {
		u.recordFailure(e, u.now(), responseTime, contentLength, err.Error())
		return
	}
	u.record(e, u.now(), responseTime, contentLength)
}

// entry returns the cached stats entry of (method, name) for this user.
func (u *UserContext) entry(method, name string) EntryRecorder {
	k := entryKey{method, name}
	if e, ok := u.entries[k]; ok {
		return e
	}
	var e EntryRecorder = discardEntry{}
	if u.r != nil {
		e = u.r.stats.Lookup(method, name)
	}
	if u.entries == nil {
		u.entries = make(map[entryKey]EntryRecorder, 4)
	}
	if len(u.entries) < maxUserEntries {
		u.entries[k] = e
	}
	return e
}

// maxUserEntries bounds the per-user entry cache for run-time names.
const maxUserEntries = 256

// runFn runs one task function, turning errors and panics into exception
// reports. It returns the error the function returned (errPanicked after a panic).
func (u *UserContext) runFn(ctx context.Context, task string, fn TaskFunc) (err error) {
	defer func() {
		if p := recover(); p != nil {
			u.r.reportException(fmt.Sprint(p), panicTraceback(u.Class, task, p))
			err = errPanicked
		}
	}()
	if tr := u.tracing(); tr != nil {
		tr.task(u, task)
	}
	err = fn(ctx, u)
	switch {
	case err == nil, errors.Is(err, ErrStopUser), errors.Is(err, ErrInterrupt):
		// Control flow; ErrInterrupt outside a task group is reported by
		// the caller.
	case ctx.Err() != nil && errors.Is(err, ctx.Err()):
		// The user is being stopped; not an exception.
	default:
		u.r.reportException(err.Error(), fmt.Sprintf("user class %s, task %s: returned error (%T)\n", u.Class, task, err))
	}
	return err
}

// panicTraceback formats the stack of a recovered panic: the frames from
// the panic site down to the task, without goroutine ids or argument
// values, so one bug yields one traceback text.
func panicTraceback(class, task string, p any) string {
	pcs := make([]uintptr, 64)
	n := runtime.Callers(3, pcs)
	frames := runtime.CallersFrames(pcs[:n])
	var lines []string
	for {
		f, more := frames.Next()
		if strings.HasPrefix(f.Function, "runtime.gopanic") || strings.HasPrefix(f.Function, "runtime.panic") ||
			strings.HasPrefix(f.Function, "runtime.sigpanic") {
			lines = lines[:0] // the frames above are the recover machinery
		} else if strings.HasSuffix(f.Function, "scenario.(*UserContext).runFn") {
			break
		} else {
			lines = append(lines, fmt.Sprintf("%s\n\t%s:%d\n", f.Function, f.File, f.Line))
		}
		if !more {
			break
		}
	}
	return fmt.Sprintf("panic: %v\n\nuser class %s, task %s\n%s", p, class, task, strings.Join(lines, ""))
}
