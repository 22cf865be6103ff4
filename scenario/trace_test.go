package scenario

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/glocust/glocust/protocol"
)

// traceLog is a Tracer that writes its events as lines, per user.
type traceLog struct {
	mu     sync.Mutex
	lines  map[int64][]string
	traces []RequestTrace // copies of the Request events
	users  atomic.Int64   // started minus stopped
}

func (l *traceLog) add(u *UserContext, format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lines == nil {
		l.lines = map[int64][]string{}
	}
	l.lines[u.ID] = append(l.lines[u.ID], fmt.Sprintf(format, args...))
}

func (l *traceLog) tracer() *Tracer {
	return &Tracer{
		UserStart: func(u *UserContext, vars []TraceVar) {
			l.users.Add(1)
			l.add(u, "start %s %v", u.Class, vars)
		},
		Task: func(u *UserContext, task string) { l.add(u, "task %s", task) },
		Request: func(u *UserContext, rt *RequestTrace) {
			var hops []string
			for _, h := range rt.Sent {
				line, _, _ := strings.Cut(string(h.Head), "\r\n")
				hops = append(hops, fmt.Sprintf("%s|%s|%d|%s", h.URL, line, h.StatusCode, h.Body))
			}
			l.add(u, "request %s %s in %s: %v -> %d %q err=%v vars=%v checks=%v", rt.Method, rt.Name, rt.Task,
				hops, rt.StatusCode, rt.Body, rt.Err, rt.Vars, rt.Checks)
			cp := *rt
			cp.Header, cp.Body, cp.Received = slices.Clone(rt.Header), slices.Clone(rt.Body), slices.Clone(rt.Received)
			l.mu.Lock()
			l.traces = append(l.traces, cp)
			l.mu.Unlock()
		},
		Var:      func(u *UserContext, v TraceVar) { l.add(u, "var %v", v) },
		UserStop: func(u *UserContext) { l.add(u, "stop"); l.users.Add(-1) },
	}
}

func (l *traceLog) of(id int64) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.lines[id])
}

// TestTracer runs a YAML class (login, extract, a redirect) and a Go
// class (SetVar in a task and in a Check) for 2 iterations each, with a
// tracer, and checks every event against what the target received.
func TestTracer(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	hits := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		hits[r.Method+" "+r.URL.Path]++
		mu.Unlock()
		switch r.URL.Path {
		case "/login":
			fmt.Fprintf(w, `{"token":"tk-%s"}`, b)
		case "/old":
			http.Redirect(w, r, "/new?t="+r.Header.Get("X-Token"), http.StatusFound)
		default:
			io.WriteString(w, "at "+r.URL.String())
		}
	}))
	defer srv.Close()
	sc, err := Parse("t.yaml", []byte(`vars: {who: ann}
users:
  - class: Y
    wait_time: {constant: 0}
    on_start: [{request: {method: POST, path: /login, body: "${who}", extract: {token: {json: token}}}}]
    tasks:
      - {name: hop, request: {path: /old, headers: {X-Token: "${token}"}, expect_status: [200]}}
`))
	if err != nil {
		t.Fatal(err)
	}
	goClass := &Class{Name: "G", Tasks: []Task{{Name: "go", Fn: func(ctx context.Context, u *UserContext) error {
		u.SetVar("step", fmt.Sprint(u.Iteration()))
		u.HTTP.Do(ctx, &Request{URL: "/go", Check: func(r *Response) error {
			u.SetVar("seen", string(r.Body()))
			return nil
		}})
		return nil
	}}}}
	var log traceLog
	st := newFakeStats()
	r := NewRunner(append(sc.Classes, goClass), st, WithHost(srv.URL), WithVars(map[string]string{"who": "bob"}),
		WithTracer(log.tracer()), WithIterations(2))
	defer r.Close()
	r.Apply(append(counts("Y", 1), counts("G", 1)...))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if n := log.users.Load(); n != 0 {
		t.Fatalf("%d users started and not stopped", n)
	}
	mu.Lock()
	got := fmt.Sprint(hits)
	mu.Unlock()
	if want := "map[GET /go:2 GET /new:2 GET /old:2 POST /login:1]"; got != want {
		t.Fatalf("the target got %s, want %s", got, want)
	}
	if n := len(st.all()); n != 5 {
		t.Fatalf("%d requests recorded, want 5", n)
	}

	// Users are numbered in start order: Y is 1.
	host := srv.URL
	wantY := []string{
		"start Y [{who bob --var or master}]",
		"task on_start",
		"request POST /login in on_start: [" + host + "/login|POST /login HTTP/1.1|0|bob] -> 200 \"{\\\"token\\\":\\\"tk-bob\\\"}\" err=<nil> vars=[{token tk-bob extract json path token}] checks=[status < 400]",
		"task hop",
		"request GET /old in hop: [" + host + "/old|GET /old HTTP/1.1|302| " + host + "/new?t=tk-bob|GET /new?t=tk-bob HTTP/1.1|0|] -> 200 \"at /new?t=tk-bob\" err=<nil> vars=[] checks=[expect_status 200]",
		"task hop",
		"request GET /old in hop: [" + host + "/old|GET /old HTTP/1.1|302| " + host + "/new?t=tk-bob|GET /new?t=tk-bob HTTP/1.1|0|] -> 200 \"at /new?t=tk-bob\" err=<nil> vars=[] checks=[expect_status 200]",
		"stop",
	}
	wantG := []string{
		"start G []",
		"task go",
		"var {step 1 SetVar}",
		"request GET /go in go: [" + host + "/go|GET /go HTTP/1.1|0|] -> 200 \"at /go\" err=<nil> vars=[{seen at /go SetVar}] checks=[status < 400 Check]",
		"task go",
		"var {step 2 SetVar}",
		"request GET /go in go: [" + host + "/go|GET /go HTTP/1.1|0|] -> 200 \"at /go\" err=<nil> vars=[{seen at /go SetVar}] checks=[status < 400 Check]",
		"stop",
	}
	for id, want := range map[int64][]string{1: wantY, 2: wantG} {
		if got := log.of(id); !slices.Equal(got, want) {
			t.Errorf("user %d's events:\n%s\nwant:\n%s", id, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
}

// TestTracerFailures: a request that cannot be sent, a status check that
// fails, a resend on a stale keep-alive connection, and a stopped user's
// request (not recorded).
func TestTracerFailures(t *testing.T) {
	t.Parallel()
	var n atomic.Int64
	block := make(chan struct{})
	ctx := context.Background()
	cctx, cancel := context.WithCancel(ctx) // cancelled by the target once it has /block
	defer cancel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		switch r.URL.Path {
		case "/missing":
			http.NotFound(w, r)
		case "/block":
			cancel()
			<-block
		default:
			io.WriteString(w, "ok")
		}
	}))
	defer srv.Close()
	defer close(block)
	var log traceLog
	st := newFakeStats()
	r := NewRunner(nil, st, WithTracer(log.tracer()))
	defer r.Close()
	u := testUser(t, r, srv.URL)

	u.HTTP.Do(ctx, &Request{URL: "http://"}) // no host: nothing sent
	u.HTTP.Get(ctx, "/missing", "")
	u.HTTP.Get(ctx, "/a", "")
	srv.CloseClientConnections() // the next request finds its connection closed and sends again
	u.HTTP.Get(ctx, "/b", "")
	unbind := u.HTTP.bind(cctx)
	u.HTTP.Get(cctx, "/block", "")
	unbind()

	log.mu.Lock()
	trs := slices.Clone(log.traces)
	log.mu.Unlock()
	if len(trs) != 5 {
		t.Fatalf("%d traces, want 5", len(trs))
	}
	if tr := trs[0]; len(tr.Sent) != 0 || tr.Err == nil || !tr.Recorded || tr.URL != "http://" {
		t.Errorf("unsendable: %+v", tr)
	}
	var se *StatusError
	if tr := trs[1]; !errors.As(tr.Err, &se) || tr.StatusCode != 404 || !tr.Recorded || !strings.HasPrefix(string(tr.Header), "HTTP/1.1 404 Not Found\r\n") {
		t.Errorf("404: %+v", tr)
	}
	if tr := trs[3]; tr.Err != nil || len(tr.Sent) != 1 || !tr.Sent[0].Resent || tr.URL != srv.URL+"/b" {
		t.Errorf("resent: %+v", tr)
	}
	if tr := trs[4]; tr.Recorded || !errors.Is(tr.Err, context.Canceled) || len(tr.Sent) != 1 {
		t.Errorf("interrupted: %+v", tr)
	}
	if got := len(st.all()); got != 4 {
		t.Errorf("%d requests recorded, want 4 (the interrupted one is not)", got)
	}
	if got := n.Load(); got != 4 {
		t.Errorf("the target got %d requests, want 4", got)
	}
}

// TestRunnerIterations: without a tracer, WithIterations stops each user
// after its tasks and runs its on_stop, Wait returns; there is no wait
// after the last task (S waits an hour between tasks); a class left
// without tasks (update_user_class) stops its users.
func TestRunnerIterations(t *testing.T) {
	t.Parallel()
	var tasks, stops atomic.Int64
	task := []Task{{Name: "t", Fn: func(context.Context, *UserContext) error { tasks.Add(1); return nil }}}
	a := &Class{Name: "A", WaitTime: Constant(20 * time.Millisecond), Tasks: task,
		OnStop: func(context.Context, *UserContext) error { stops.Add(1); return nil }}
	slow := &Class{Name: "S", WaitTime: Constant(time.Hour), Tasks: task}
	// A group with no way out: the bound ends it, its on_stop and the
	// class's run once per user.
	grouped := &Class{Name: "G", Tasks: []Task{{Name: "g", Group: &TaskGroup{Tasks: task,
		OnStop: func(context.Context, *UserContext) error { stops.Add(1); return nil }}}},
		OnStop: func(context.Context, *UserContext) error { stops.Add(1); return nil }}
	empty := &Class{Name: "E", Tasks: task}
	var exc atomic.Int64
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, c := range []struct {
		classes []*Class
		iter    int
		counts  []protocol.ClassCount
		tasks   int64
		stops   int64
		exc     int64
	}{
		{[]*Class{a}, 3, counts("A", 3), 9, 3, 0},
		{[]*Class{slow}, 1, counts("S", 2), 2, 0, 0},
		{[]*Class{empty}, 1, counts("E", 2), 0, 0, 2},
		{[]*Class{grouped}, 4, counts("G", 2), 8, 4, 0},
	} {
		tasks.Store(0)
		stops.Store(0)
		exc.Store(0)
		r := NewRunner(c.classes, nil, WithIterations(c.iter),
			WithExceptionHandler(func(string, string) { exc.Add(1) }))
		if c.classes[0] == empty {
			r.UpdateClass("E", map[string]any{"tasks": []any{}})
		}
		r.Apply(c.counts)
		err := r.Wait(ctx)
		r.Close()
		if err != nil {
			t.Fatalf("%s: Wait: %v", c.classes[0].Name, err)
		}
		if tasks.Load() != c.tasks || stops.Load() != c.stops || exc.Load() != c.exc || r.UserCount() != 0 {
			t.Fatalf("%s: tasks %d (want %d), on_stop %d (want %d), exceptions %d (want %d), users %d",
				c.classes[0].Name, tasks.Load(), c.tasks, stops.Load(), c.stops, exc.Load(), c.exc, r.UserCount())
		}
	}
}
