package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/glocust/glocust/internal/config"
	"github.com/glocust/glocust/internal/logging"
	"github.com/glocust/glocust/protocol"
	"github.com/glocust/glocust/scenario"
)

const debugUsageLine = "usage: glocust debug [-h] [-f FILE] [-H HOST] [--class NAME] [-u N] [-i N] [--var NAME=VALUE] [--body-limit BYTES] [--wait] [CLASS ...]"

const debugHelp = debugUsageLine + `

Run the scenario's users once, locally (no master, no stats), and print
every request they make: the request as sent, the response (its body
decoded), the time taken, the checks and extractions and the variables
set. Exit code 0 when every request succeeded; 1 when a request failed,
a task raised an error, the run was interrupted or the scenario cannot be
loaded; 2 for bad flags.

options:
  -h, --help            show this help message and exit
  -f, --locustfile FILE
                        the YAML scenario (as for a run: default
                        ./scenario.yaml or ./locustfile.yaml; LOCUST_LOCUSTFILE)
  -H, --host HOST       the host relative paths go to (default: the
                        scenario's host; LOCUST_HOST)
  --class NAME          run only this user class (repeatable; also as
                        positional CLASS arguments). Default: every class
  -u, --users N         users per class, run at the same time (default 1)
  -i, --iterations N    tasks per user: each user runs on_start, N tasks,
                        on_stop (default 1)
  --var NAME=VALUE [NAME=VALUE ...]
                        set scenario variables (repeatable), as for a run
  --body-limit BYTES    bytes shown of each request and response body
                        (default 2048; 0 shows none)
  --wait                keep the classes' wait_time pauses between tasks
                        (default: skipped)
`

// debugFlags are glocust debug's options.
type debugFlags struct {
	files, classes, vars []string
	host                 string
	users, iterations    int
	bodyLimit            int
	wait                 bool
}

// debugOption is one flag of glocust debug.
type debugOption struct {
	names []string // "-u", "--users"
	value bool     // takes a value
	set   func(f *debugFlags, v string) error
}

func (o *debugOption) display() string { return strings.Join(o.names, "/") }

// intFlag parses an int flag between lo and hi, with argparse's wording.
func intFlag(field func(f *debugFlags) *int, lo, hi int) func(f *debugFlags, v string) error {
	return func(f *debugFlags, v string) error {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil {
			return fmt.Errorf("invalid int value: '%s'", v)
		}
		if n < lo || n > hi {
			return fmt.Errorf("must be between %d and %d, not %d", lo, hi, n)
		}
		*field(f) = n
		return nil
	}
}

const maxDebugUsers = 1000

var debugOptions = []*debugOption{
	{names: []string{"-f", "--locustfile"}, value: true, set: func(f *debugFlags, v string) error {
		f.files = append(f.files, v)
		return nil
	}},
	{names: []string{"-H", "--host"}, value: true, set: func(f *debugFlags, v string) error {
		f.host = v
		return nil
	}},
	{names: []string{"--class"}, value: true, set: func(f *debugFlags, v string) error {
		if v == "" {
			return errors.New("expected a user class name")
		}
		f.classes = append(f.classes, v)
		return nil
	}},
	{names: []string{"-u", "--users"}, value: true, set: intFlag(func(f *debugFlags) *int { return &f.users }, 1, maxDebugUsers)},
	{names: []string{"-i", "--iterations"}, value: true, set: intFlag(func(f *debugFlags) *int { return &f.iterations }, 1, 1<<30)},
	{names: []string{"--var"}, value: true, set: func(f *debugFlags, v string) error {
		if name, _, ok := strings.Cut(v, "="); !ok || name == "" {
			return fmt.Errorf("expected NAME=VALUE, not '%s'", v)
		}
		f.vars = append(f.vars, v)
		return nil
	}},
	{names: []string{"--body-limit"}, value: true, set: intFlag(func(f *debugFlags) *int { return &f.bodyLimit }, 0, 1<<30)},
	{names: []string{"--wait"}, set: func(f *debugFlags, _ string) error {
		f.wait = true
		return nil
	}},
}

// errDebugHelp is parseDebugFlags' answer to -h/--help.
var errDebugHelp = errors.New("help")

// parseDebugFlags parses glocust debug's arguments as argparse would:
// "--name value", "--name=value", "-xVALUE"; positional arguments are
// class names. Errors are worded like argparse's (exit code 2).
func parseDebugFlags(args []string) (*debugFlags, error) {
	f := &debugFlags{users: 1, iterations: 1, bodyLimit: 2048}
	byName := map[string]*debugOption{}
	var names []string
	for _, o := range debugOptions {
		for _, n := range o.names {
			byName[n] = o
			names = append(names, n)
		}
	}
	var extras []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "-h" || a == "--help" {
			return nil, errDebugHelp
		}
		if len(a) < 2 || a[0] != '-' {
			f.classes = append(f.classes, a)
			continue
		}
		name, val, hasVal := a, "", false
		if strings.HasPrefix(a, "--") {
			name, val, hasVal = strings.Cut(a, "=")
		} else if len(a) > 2 {
			if o := byName[a[:2]]; o != nil && o.value {
				name, val, hasVal = a[:2], a[2:], true
			}
		}
		o := byName[name]
		if o == nil {
			extras = append(extras, a)
			continue
		}
		switch {
		case !o.value && hasVal:
			return nil, &config.Error{Msg: fmt.Sprintf("argument %s: ignored explicit argument '%s'", o.display(), val), Code: 2}
		case o.value && !hasVal:
			if i+1 >= len(args) || looksLikeFlag(args[i+1]) {
				return nil, &config.Error{Msg: fmt.Sprintf("argument %s: expected one argument", o.display()), Code: 2}
			}
			i++
			val = args[i]
		}
		if err := o.set(f, val); err != nil {
			return nil, &config.Error{Msg: fmt.Sprintf("argument %s: %v", o.display(), err), Code: 2}
		}
		// --var a=1 b=2, as for a run; a class name has no '='.
		for o.names[0] == "--var" && !hasVal && i+1 < len(args) && !looksLikeFlag(args[i+1]) && strings.Contains(args[i+1], "=") {
			i++
			if err := o.set(f, args[i]); err != nil {
				return nil, &config.Error{Msg: fmt.Sprintf("argument %s: %v", o.display(), err), Code: 2}
			}
		}
	}
	if len(extras) > 0 {
		e := &config.Error{Msg: "unrecognized arguments: " + strings.Join(extras, " "), Code: 2}
		bad, _, _ := strings.Cut(extras[0], "=")
		if s := config.ClosestMatch(bad, names); s != "" {
			e.Hint = fmt.Sprintf("did you mean '%s'?", s)
		}
		return nil, e
	}
	return f, nil
}

// looksLikeFlag is argparse's test of an argument that cannot be an
// option's value: it starts with '-' and is not a negative number.
func looksLikeFlag(a string) bool {
	if len(a) < 2 || a[0] != '-' {
		return false
	}
	_, err := strconv.ParseFloat(a, 64)
	return err != nil
}

// debugCmd runs "glocust debug": the scenario's users, each for a bounded
// number of tasks, with every request printed to stdout. It returns the
// exit code.
func debugCmd(args, env []string, stdout, stderr io.Writer) int {
	f, err := parseDebugFlags(args)
	if errors.Is(err, errDebugHelp) {
		io.WriteString(stdout, debugHelp)
		return 0
	}
	var ce *config.Error
	if errors.As(err, &ce) {
		msg := ce.Msg
		if ce.Hint != "" {
			msg += " (" + ce.Hint + ")"
		}
		fmt.Fprintf(stderr, "%s\nglocust debug: error: %s\n", debugUsageLine, msg)
		return ce.Code
	}
	// The scenario is found and loaded as for a run (-f, LOCUST_LOCUSTFILE,
	// locust.conf, --var and LOCUST_<NAME>): the run's parser reads the
	// options debug shares with it.
	var runArgs []string
	for _, file := range f.files {
		runArgs = append(runArgs, "-f", file)
	}
	if f.host != "" {
		runArgs = append(runArgs, "-H", f.host)
	}
	for _, v := range f.vars {
		runArgs = append(runArgs, "--var="+v) // one value: what follows is not taken for another
	}
	for i, c := range f.classes {
		if !slices.Contains(f.classes[:i], c) {
			runArgs = append(runArgs, c)
		}
	}
	opts, err := config.Parse(runArgs, env)
	if err != nil {
		fmt.Fprintf(stderr, "glocust debug: error: %v\n", err)
		return config.ExitCode(err)
	}
	l, err := loadClasses(opts, env, false)
	if err != nil {
		fmt.Fprintf(stderr, "glocust debug: error: %v\n", err)
		return 1
	}
	classes := make([]*scenario.Class, len(l.classes))
	counts := make([]protocol.ClassCount, len(l.classes))
	names := make([]string, len(l.classes))
	for i, c := range l.classes {
		cp := *c
		if !f.wait {
			cp.WaitTime = nil
		}
		classes[i] = &cp
		counts[i] = protocol.ClassCount{Class: c.Name, Count: int64(f.users)}
		names[i] = c.Name
	}

	p := &debugPrinter{w: stdout, limit: f.bodyLimit, iterations: f.iterations}
	log := slog.New(skipUserExceptions{logging.New(stderr, slog.LevelWarn, "glocust.debug").Handler()})
	runner := scenario.NewRunner(classes, nil,
		scenario.WithHost(l.host),
		scenario.WithEnvironment(env),
		scenario.WithVars(opts.Vars),
		scenario.WithLogger(log),
		scenario.WithExceptionHandler(p.exception),
		scenario.WithTracer(p.tracer()),
		scenario.WithIterations(f.iterations),
	)
	defer runner.Close()

	host := l.host
	if host == "" {
		host = "(none: the scenario's classes or absolute URLs)"
	}
	waits := "wait_time skipped (--wait keeps it)"
	if f.wait {
		waits = "with wait_time"
	}
	of := "of " + names[0]
	if len(names) > 1 {
		of = "of each of " + strings.Join(names, ", ")
	}
	p.printf("glocust debug: %s %s, %s each (on_start, %s, on_stop); host %s; %s\n",
		plural(f.users, "user"), of, plural(f.iterations, "iteration"),
		plural(f.iterations, "task"), host, waits)

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	runner.Apply(counts)
	interrupted := false
	if err := runner.Wait(ctx); err != nil {
		interrupted = true
		p.printf("glocust debug: interrupted; stopping the users (their on_stop runs)\n")
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		runner.StopAll(sctx, 0)
		cancel()
	}
	runner.Close()
	return p.summary(interrupted)
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return strconv.Itoa(n) + " " + what + "s"
}

// skipUserExceptions drops the runner's log record of a user exception:
// the debug output shows it in its place.
type skipUserExceptions struct{ slog.Handler }

func (h skipUserExceptions) Handle(ctx context.Context, r slog.Record) error {
	if r.Message == "scenario: user exception" {
		return nil
	}
	return h.Handler.Handle(ctx, r)
}

func (h skipUserExceptions) WithAttrs(as []slog.Attr) slog.Handler {
	return skipUserExceptions{h.Handler.WithAttrs(as)}
}

func (h skipUserExceptions) WithGroup(name string) slog.Handler {
	return skipUserExceptions{h.Handler.WithGroup(name)}
}

// debugPrinter writes the debug run's output: one block per event, whole,
// so that the blocks of users running at once do not mix.
type debugPrinter struct {
	mu         sync.Mutex
	w          io.Writer
	limit      int // --body-limit
	iterations int

	users, requests, failed, exceptions int
}

func (p *debugPrinter) printf(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, format, args...)
}

func (p *debugPrinter) write(b *strings.Builder) {
	p.mu.Lock()
	defer p.mu.Unlock()
	io.WriteString(p.w, b.String())
}

func (p *debugPrinter) tracer() *scenario.Tracer {
	return &scenario.Tracer{
		UserStart: p.userStart,
		Task:      p.task,
		Request:   p.request,
		Var: func(u *scenario.UserContext, v scenario.TraceVar) {
			var b strings.Builder
			fmt.Fprintf(&b, "%s set %s\n", who(u), varText(v))
			p.write(&b)
		},
		UserStop: func(u *scenario.UserContext) { p.printf("\n=== %s stopped\n", who(u)) },
	}
}

func who(u *scenario.UserContext) string { return fmt.Sprintf("user %d (%s)", u.ID, u.Class) }

// maxVarShown bounds a variable's value in the output.
const maxVarShown = 1024

func varText(v scenario.TraceVar) string {
	val := v.Value
	more := ""
	if len(val) > maxVarShown {
		more = fmt.Sprintf(" ... %d bytes in all", len(val))
		val = val[:maxVarShown]
	}
	return fmt.Sprintf("%s = %s%s (%s)", v.Name, strconv.Quote(val), more, v.From)
}

func (p *debugPrinter) userStart(u *scenario.UserContext, vars []scenario.TraceVar) {
	var b strings.Builder
	fmt.Fprintf(&b, "\n=== %s started\n", who(u))
	for _, v := range vars {
		fmt.Fprintf(&b, "    var %s\n", varText(v))
	}
	p.mu.Lock()
	p.users++
	p.mu.Unlock()
	p.write(&b)
}

func (p *debugPrinter) task(u *scenario.UserContext, task string) {
	switch task {
	case "on_start", "on_stop":
		p.printf("\n--- %s %s\n", who(u), task)
	default:
		p.printf("\n--- %s task %d of %d: %s\n", who(u), u.Iteration(), p.iterations, task)
	}
}

func (p *debugPrinter) request(u *scenario.UserContext, rt *scenario.RequestTrace) {
	var b strings.Builder
	task := rt.Task
	if task == "" {
		task = "-"
	}
	fmt.Fprintf(&b, "\n>>> %s %s: %s %s\n", who(u), task, rt.Method, rt.Name)
	url := rt.URL // the final URL
	if len(rt.Sent) > 0 {
		url = rt.Sent[0].URL // what was asked for; the redirects followed are below
	}
	fmt.Fprintf(&b, "    %s %s\n", rt.Method, url)
	if len(rt.Sent) == 0 {
		b.WriteString("    (nothing sent)\n")
	}
	for i, h := range rt.Sent {
		if h.Resent {
			b.WriteString("    (sent again on a new connection: the server had closed the reused one)\n")
		}
		writeLines(&b, "    > ", h.Head)
		b.WriteString("    >\n")
		p.writeBody(&b, "    > ", h.Body)
		if i < len(rt.Sent)-1 {
			writeLines(&b, "    < ", h.RespHead)
			fmt.Fprintf(&b, "    redirect %d followed to %s\n", h.StatusCode, rt.Sent[i+1].URL)
		}
	}
	if rt.Header != nil {
		writeLines(&b, "    < ", rt.Header)
		b.WriteString("    <\n")
		switch {
		case rt.BodyErr != nil:
			fmt.Fprintf(&b, "    < [the body cannot be decoded (%v); as received, %d bytes:]\n", rt.BodyErr, len(rt.Received))
			p.writeBody(&b, "    < ", rt.Received)
		case rt.Encoding != "" && len(rt.Received) > 0:
			fmt.Fprintf(&b, "    < [%d bytes decoded from Content-Encoding %s, %d received:]\n", len(rt.Body), rt.Encoding, len(rt.Received))
			p.writeBody(&b, "    < ", rt.Body)
		default:
			p.writeBody(&b, "    < ", rt.Body)
		}
	}
	status := "without a response"
	if len(rt.Sent) == 0 {
		status = "before sending"
	}
	if rt.StatusCode != 0 {
		status = strconv.Itoa(rt.StatusCode) + " " + statusText(rt.Header)
	}
	ms := float64(rt.Elapsed.Microseconds()) / 1000 // 0.01 ms is the precision that means something
	checks := strings.Join(rt.Checks, ", ")
	if len(rt.Extracts) > 0 {
		checks += "; extracts " + strings.Join(rt.Extracts, ", ")
	}
	switch {
	case !rt.Recorded:
		fmt.Fprintf(&b, "    INTERRUPTED after %.2f ms (the user was stopped; not recorded): %v\n", ms, rt.Err)
	case rt.Err != nil:
		fmt.Fprintf(&b, "    FAILED %s in %.2f ms: %v\n", status, ms, rt.Err)
		if rt.StatusCode != 0 {
			fmt.Fprintf(&b, "    (checks: %s)\n", checks)
		}
	default:
		fmt.Fprintf(&b, "    OK %s in %.2f ms (checks passed: %s)\n", status, ms, checks)
	}
	for _, v := range rt.Vars {
		fmt.Fprintf(&b, "    set %s\n", varText(v))
	}
	p.mu.Lock()
	if rt.Recorded {
		p.requests++
		if rt.Err != nil {
			p.failed++
		}
	}
	p.mu.Unlock()
	p.write(&b)
}

// statusText is the reason phrase of a response head's status line.
func statusText(head []byte) string {
	line, _, _ := strings.Cut(string(head), "\r\n")
	parts := strings.SplitN(line, " ", 3)
	if len(parts) < 3 {
		return ""
	}
	return parts[2]
}

// writeLines writes a head's lines, each after prefix.
func writeLines(b *strings.Builder, prefix string, head []byte) {
	for _, line := range strings.Split(strings.TrimRight(string(head), "\r\n"), "\n") {
		b.WriteString(prefix)
		b.WriteString(strings.TrimSuffix(line, "\r"))
		b.WriteByte('\n')
	}
}

// writeBody writes at most p.limit bytes of body as lines after prefix,
// or a note for binary data.
func (p *debugPrinter) writeBody(b *strings.Builder, prefix string, body []byte) {
	if len(body) == 0 {
		return
	}
	if p.limit == 0 {
		fmt.Fprintf(b, "%s[%d bytes, not shown: --body-limit 0]\n", prefix, len(body))
		return
	}
	shown := body
	if len(shown) > p.limit {
		shown = shown[:p.limit]
		for i := 0; i < utf8.UTFMax-1 && len(shown) > 0 && !utf8.Valid(shown); i++ {
			shown = shown[:len(shown)-1] // a character cut at the limit
		}
	}
	if !isText(shown) {
		fmt.Fprintf(b, "%s[%d bytes of binary data]\n", prefix, len(body))
		return
	}
	writeLines(b, prefix, shown)
	if len(shown) < len(body) {
		fmt.Fprintf(b, "%s[... %d more bytes, %d in all; --body-limit %d]\n", prefix, len(body)-len(shown), len(body), p.limit)
	}
}

// isText reports whether b is UTF-8 text without control characters
// other than tab and line ends.
func isText(b []byte) bool {
	if !utf8.Valid(b) {
		return false
	}
	for _, c := range b {
		if c < 0x20 && c != '\t' && c != '\n' && c != '\r' || c == 0x7f {
			return false
		}
	}
	return true
}

// exception prints a user exception (a task's error or panic).
func (p *debugPrinter) exception(msg, traceback string) {
	var b strings.Builder
	fmt.Fprintf(&b, "\n!!! EXCEPTION: %s\n", msg)
	writeLines(&b, "    ", []byte(traceback))
	p.mu.Lock()
	p.exceptions++
	p.mu.Unlock()
	p.write(&b)
}

// summary prints the totals and returns the exit code.
func (p *debugPrinter) summary(interrupted bool) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	code := 0
	if p.failed > 0 || p.exceptions > 0 || interrupted {
		code = 1
	}
	fmt.Fprintf(p.w, "\nglocust debug: %s, %s, %d failed, %s; exit code %d\n",
		plural(p.users, "user"), plural(p.requests, "request"), p.failed, plural(p.exceptions, "exception"), code)
	return code
}
