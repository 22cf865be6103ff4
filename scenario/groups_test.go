package scenario

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// flowTarget records, per user (the X-User header), the paths it was sent
// in the order it received them.
type flowTarget struct {
	mu    sync.Mutex
	paths map[string][]string
}

func newFlowTarget(t *testing.T) (*flowTarget, string) {
	t.Helper()
	f := &flowTarget{paths: map[string][]string{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		u := r.Header.Get("X-User")
		f.paths[u] = append(f.paths[u], r.URL.Path)
		f.mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	return f, srv.URL
}

// users returns a copy of every user's paths.
func (f *flowTarget) users() map[string][]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make(map[string][]string, len(f.paths))
	for u, p := range f.paths {
		out[u] = slices.Clone(p)
	}
	return out
}

// counts returns how many requests of each path the target received.
func (f *flowTarget) counts() map[string]int {
	out := map[string]int{}
	for _, ps := range f.users() {
		for _, p := range ps {
			out[p]++
		}
	}
	return out
}

// rq is a YAML request task (or step) to path carrying the user's id.
func rq(path string) string {
	return `{request: {path: ` + path + `, headers: {X-User: "${user.id}"}}}`
}

// runFlow runs n users of the scenario's first class against host until
// cond holds on what the target received, then stops them with grace (so
// that no request is cut) and returns the stats records.
func runFlow(t *testing.T, src, host string, n int, f *flowTarget, cond func(map[string][]string) bool) []rec {
	t.Helper()
	sc, err := Parse("flow.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	st := newFakeStats()
	r := NewRunner(sc.Classes, st, WithHost(host))
	defer r.Close()
	r.Apply(counts(sc.Classes[0].Name, n))
	waitFor(t, "the flow", func() bool { return cond(f.users()) })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r.StopAll(ctx, 5*time.Second)
	if ctx.Err() != nil {
		t.Fatal("users did not stop")
	}
	return st.all()
}

// checkRecorded checks that every request the target received was
// recorded as a success, and nothing else.
func checkRecorded(t *testing.T, recs []rec, f *flowTarget) {
	t.Helper()
	got := map[string]int{}
	for _, r := range recs {
		if r.fail {
			t.Errorf("failure recorded: %s %s: %s", r.method, r.name, r.err)
		}
		got[r.name]++
	}
	want := f.counts()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("recorded %v, target received %v", got, want)
	}
}

// each reports whether every one of n users sent at least min requests.
func each(n, min int) func(map[string][]string) bool {
	return func(us map[string][]string) bool {
		if len(us) < n {
			return false
		}
		for _, ps := range us {
			if len(ps) < min {
				return false
			}
		}
		return true
	}
}

func TestSequentialClass(t *testing.T) {
	t.Parallel()
	f, host := newFlowTarget(t)
	src := "users:\n  - class: A\n    sequential: true\n    tasks:\n" +
		"      - " + rq("/a") + "\n" +
		"      - {weight: 2, request: {path: /b, headers: {X-User: \"${user.id}\"}}}\n" +
		"      - {weight: 0, request: {path: /never}}\n" +
		"      - " + rq("/c") + "\n"
	recs := runFlow(t, src, host, 2, f, each(2, 30))
	cycle := []string{"/a", "/b", "/b", "/c"}
	for u, ps := range f.users() {
		for i, p := range ps {
			if want := cycle[i%len(cycle)]; p != want {
				t.Fatalf("user %s: request %d is %s, want %s (paths %v)", u, i, p, want, ps)
			}
		}
	}
	checkRecorded(t, recs, f)
}

// TestTaskGroupInterrupt: a weighted group with an interrupt task; the
// user enters it (on_start), stays until the interrupt (on_stop), and
// goes back to the class's tasks.
func TestTaskGroupInterrupt(t *testing.T) {
	t.Parallel()
	f, host := newFlowTarget(t)
	src := "users:\n  - class: A\n    tasks:\n" +
		"      - " + rq("/top") + "\n" +
		"      - name: shop\n        weight: 3\n" +
		"        on_start: [" + rq("/shop/in") + "]\n" +
		"        on_stop: [" + rq("/shop/out") + "]\n" +
		"        tasks:\n" +
		"          - {weight: 5, request: {path: /browse, headers: {X-User: \"${user.id}\"}}}\n" +
		"          - " + rq("/cart") + "\n" +
		"          - {interrupt: true}\n"
	// Done when some user went back from the group to the class's task
	// and every user left the group a few times.
	backToTop := func(us map[string][]string) bool {
		if !each(2, 1)(us) {
			return false
		}
		back := false
		for _, ps := range us {
			if slices.Index(ps, "/shop/out") < 0 {
				return false
			}
			for i := 1; i < len(ps); i++ {
				back = back || ps[i-1] == "/shop/out" && ps[i] == "/top"
			}
		}
		return back
	}
	recs := runFlow(t, src, host, 2, f, backToTop)
	for u, ps := range f.users() {
		in := false
		for i, p := range ps {
			ok := false
			switch p {
			case "/top":
				ok = !in
			case "/shop/in":
				ok, in = !in, true
			case "/browse", "/cart":
				ok = in
			case "/shop/out":
				ok, in = in, false
			}
			if !ok {
				t.Fatalf("user %s: request %d (%s) out of place: %v", u, i, p, ps)
			}
		}
		if in {
			t.Errorf("user %s stopped inside the group without its on_stop: %v", u, ps)
		}
	}
	checkRecorded(t, recs, f)
}

// TestNestedGroups: two levels of sequential groups with on_start/on_stop,
// an interrupt in the inner one and iterations on the outer one; users
// stopped anywhere run the on_stop of every group they are in.
func TestNestedGroups(t *testing.T) {
	t.Parallel()
	f, host := newFlowTarget(t)
	src := "users:\n  - class: A\n    sequential: true\n    tasks:\n" +
		"      - " + rq("/start") + "\n" +
		"      - name: outer\n        sequential: true\n        iterations: 1\n" +
		"        on_start: [" + rq("/outer/in") + "]\n" +
		"        on_stop: [" + rq("/outer/out") + "]\n" +
		"        tasks:\n" +
		"          - " + rq("/o1") + "\n" +
		"          - name: inner\n            sequential: true\n" +
		"            on_start: [" + rq("/inner/in") + "]\n" +
		"            on_stop: [" + rq("/inner/out") + "]\n" +
		"            tasks: [" + rq("/i1") + ", " + rq("/i2") + ", {interrupt: true}]\n" +
		"          - " + rq("/o2") + "\n" +
		"      - " + rq("/end") + "\n"
	cycle := []string{"/start", "/outer/in", "/o1", "/inner/in", "/i1", "/i2", "/inner/out", "/o2", "/outer/out", "/end"}
	// closing[i]: the on_stop requests due when stopped after cycle[i].
	closing := [][]string{nil, {"/outer/out"}, {"/outer/out"}, {"/inner/out", "/outer/out"}, {"/inner/out", "/outer/out"},
		{"/inner/out", "/outer/out"}, {"/outer/out"}, {"/outer/out"}, nil, nil}
	recs := runFlow(t, src, host, 2, f, each(2, 3*len(cycle)))
	for u, ps := range f.users() {
		i := 0
		for i < len(ps) && ps[i] == cycle[i%len(cycle)] {
			i++
		}
		var due []string
		if i > 0 {
			due = closing[(i-1)%len(cycle)]
		}
		if !slices.Equal(ps[i:], due) {
			t.Errorf("user %s: after %d requests in order, got %v, want the on_stops %v", u, i, ps[i:], due)
		}
	}
	checkRecorded(t, recs, f)
}

// events is a concurrency-safe log of what tasks did.
type events struct {
	mu  sync.Mutex
	log []string
}

func (e *events) add(s string) {
	e.mu.Lock()
	e.log = append(e.log, s)
	e.mu.Unlock()
}

func (e *events) get() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.log)
}

func (e *events) count(s string) int {
	n := 0
	for _, x := range e.get() {
		if x == s {
			n++
		}
	}
	return n
}

func (e *events) fn(s string, err error) TaskFunc {
	return func(context.Context, *UserContext) error { e.add(s); return err }
}

// TestGroupWaitsAndInterrupt checks where the waits fall: after each task
// of the group, not after the interrupt, and not between leaving the group
// and the parent's next pick (Locust's interrupt(reschedule=True)); a
// group's own wait time is used inside it, the class's elsewhere.
func TestGroupWaitsAndInterrupt(t *testing.T) {
	t.Parallel()
	var ev events
	wait := func(name string) WaitTime {
		return func(*UserContext) time.Duration { ev.add(name); return 0 }
	}
	g := &TaskGroup{Sequential: true, WaitTime: wait("gwait"),
		OnStart: ev.fn("in", nil), OnStop: ev.fn("out", nil),
		Tasks: []Task{{Name: "a", Fn: ev.fn("a", nil)}, {Name: "b", Weight: 2, Fn: ev.fn("b", nil)}, {Name: "stop", Fn: Interrupt}}}
	c := &Class{Name: "A", Sequential: true, WaitTime: wait("wait"),
		Tasks: []Task{{Name: "top", Fn: ev.fn("top", nil)}, {Name: "g", Group: g}}}
	r := NewRunner([]*Class{c}, nil)
	defer r.Close()
	r.Apply(counts("A", 1))
	waitFor(t, "three rounds", func() bool { return ev.count("out") >= 3 })
	r.StopAll(context.Background(), 0)
	round := []string{"top", "wait", "in", "a", "gwait", "b", "gwait", "b", "gwait", "out"}
	got := ev.get()
	for i := 0; i < 3*len(round); i++ {
		if got[i] != round[i%len(round)] {
			t.Fatalf("event %d = %q, want %q; events %v", i, got[i], round[i%len(round)], got[:3*len(round)])
		}
	}
}

// TestGroupIterations: a weighted group with iterations: N runs N tasks
// (waits after each) and leaves; a nested group counts as one task.
func TestGroupIterations(t *testing.T) {
	t.Parallel()
	var ev events
	inner := &TaskGroup{Iterations: 2, Tasks: []Task{{Name: "i", Fn: ev.fn("i", nil)}}}
	g := &TaskGroup{Iterations: 3, OnStop: ev.fn("out", nil),
		Tasks: []Task{{Name: "x", Fn: ev.fn("x", nil)}, {Name: "inner", Group: inner}}}
	c := &Class{Name: "A", Tasks: []Task{{Name: "g", Group: g}}}
	r := NewRunner([]*Class{c}, nil)
	defer r.Close()
	r.Apply(counts("A", 1))
	waitFor(t, "20 group exits", func() bool { return ev.count("out") >= 20 })
	r.StopAll(context.Background(), 0)
	got := ev.get()
	last := slices.Index(got, "out")
	for n := 0; n < 20; n++ {
		// Between two exits: 3 picks, each "x" or "i i".
		seg := got[:last]
		picks := 0
		for j := 0; j < len(seg); picks++ {
			switch {
			case seg[j] == "x":
				j++
			case j+1 < len(seg) && seg[j] == "i" && seg[j+1] == "i":
				j += 2
			default:
				t.Fatalf("exit %d: unexpected events %v", n, seg)
			}
		}
		if picks != 3 {
			t.Fatalf("exit %d: %d tasks ran in the group, want 3: %v", n, picks, seg)
		}
		got = got[last+1:]
		last = slices.Index(got, "out")
	}
}

// TestGroupOnStartFailure: an error in a group's on_start is an
// exception, the group is not entered and its on_stop does not run; the
// parent waits and picks again. ErrInterrupt in on_start leaves at once.
func TestGroupOnStartFailure(t *testing.T) {
	t.Parallel()
	var ev events
	var excs atomic.Int64
	boom := errors.New("boom")
	waits := func(*UserContext) time.Duration { ev.add("wait"); return 0 }
	bad := &TaskGroup{OnStart: ev.fn("bad.in", boom), OnStop: ev.fn("bad.out", nil), Tasks: []Task{{Fn: ev.fn("never", nil)}}}
	skip := &TaskGroup{OnStart: ev.fn("skip.in", ErrInterrupt), OnStop: ev.fn("skip.out", nil), Tasks: []Task{{Fn: ev.fn("never", nil)}}}
	c := &Class{Name: "A", Sequential: true, WaitTime: waits,
		Tasks: []Task{{Name: "bad", Group: bad}, {Name: "skip", Group: skip}}}
	r := NewRunner([]*Class{c}, nil, WithExceptionHandler(func(msg, _ string) {
		if msg == "boom" {
			excs.Add(1)
		}
	}))
	defer r.Close()
	r.Apply(counts("A", 1))
	waitFor(t, "5 rounds", func() bool { return ev.count("skip.in") >= 5 })
	r.StopAll(context.Background(), 0)
	got := ev.get()
	round := []string{"bad.in", "wait", "skip.in"}
	for i := 0; i < 5*len(round); i++ {
		if got[i] != round[i%len(round)] {
			t.Fatalf("event %d = %q, want %q; events %v", i, got[i], round[i%len(round)], got)
		}
	}
	if n := excs.Load(); n < 5 {
		t.Errorf("%d exceptions for on_start's error, want >= 5", n)
	}
}

// TestInterruptOutsideGroup: ErrInterrupt from a class's own task is a
// user exception; the user goes on.
func TestInterruptOutsideGroup(t *testing.T) {
	t.Parallel()
	var excs atomic.Int64
	var runs atomic.Int64
	c := &Class{Name: "A", Tasks: []Task{{Name: "t", Fn: func(context.Context, *UserContext) error {
		runs.Add(1)
		return ErrInterrupt
	}}}}
	r := NewRunner([]*Class{c}, nil, WithExceptionHandler(func(msg, tb string) {
		if strings.Contains(msg, "outside a task group") && strings.Contains(tb, "task t") {
			excs.Add(1)
		}
	}))
	defer r.Close()
	r.Apply(counts("A", 1))
	waitFor(t, "3 exceptions", func() bool { return excs.Load() >= 3 })
	r.StopAll(context.Background(), 0)
	if runs.Load() < 3 {
		t.Errorf("task ran %d times", runs.Load())
	}
}

// TestStopInsideGroup stops users inside nested groups: without grace
// (the task is interrupted), with grace (the task finishes), with a grace
// that runs out, and by ErrStopUser. Every group's on_stop runs, innermost
// first, then the class's (ErrStopUser from a group's on_stop stops the
// user too); goleak (TestMain) checks nothing is left.
func TestStopInsideGroup(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		grace    time.Duration
		finish   bool // the task finishes within the grace (else it waits for its ctx)
		stopUser bool
		want     []string
	}{
		{"no grace", 0, false, false, []string{"task cancelled", "inner.out", "outer.out", "user.out"}},
		{"grace", 5 * time.Second, true, false, []string{"task done", "inner.out", "outer.out", "user.out"}},
		{"grace runs out", 20 * time.Millisecond, false, false, []string{"task cancelled", "inner.out", "outer.out", "user.out"}},
		{"StopUser", 0, false, true, []string{"task stops the user", "inner.out", "outer.out", "user.out"}},
		{"StopUser in on_stop", 0, false, true, []string{"task leaves", "inner.out stops the user", "outer.out", "user.out"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var ev events
			entered := make(chan struct{})
			var once sync.Once
			release := make(chan struct{})
			task := func(ctx context.Context, _ *UserContext) error {
				if tc.stopUser && tc.want[0] == "task leaves" {
					ev.add("task leaves")
					return ErrInterrupt
				}
				if tc.stopUser {
					ev.add("task stops the user")
					return ErrStopUser
				}
				once.Do(func() { close(entered) })
				select {
				case <-ctx.Done():
					ev.add("task cancelled")
					return ctx.Err()
				case <-release:
					ev.add("task done")
					return nil
				}
			}
			onStop := func(name string) TaskFunc {
				return func(ctx context.Context, _ *UserContext) error {
					if ctx.Err() != nil {
						name += " (cancelled ctx)"
					}
					ev.add(name)
					return nil
				}
			}
			innerStop := onStop("inner.out")
			if tc.want[1] == "inner.out stops the user" {
				innerStop = func(context.Context, *UserContext) error { ev.add("inner.out stops the user"); return ErrStopUser }
			}
			inner := &TaskGroup{OnStop: innerStop, Tasks: []Task{{Name: "t", Fn: task}}}
			outer := &TaskGroup{OnStop: onStop("outer.out"), Tasks: []Task{{Name: "inner", Group: inner}}}
			c := &Class{Name: "A", OnStop: onStop("user.out"), Tasks: []Task{{Name: "outer", Group: outer}}}
			r := NewRunner([]*Class{c}, nil)
			defer r.Close()
			r.Apply(counts("A", 1))
			if tc.stopUser {
				waitFor(t, "the user to stop itself", func() bool { return len(ev.get()) == len(tc.want) })
				if n := r.UserCount(); n != 0 {
					t.Errorf("user count %d after ErrStopUser", n)
				}
			} else {
				<-entered
				done := make(chan struct{})
				go func() { defer close(done); r.StopAll(context.Background(), tc.grace) }()
				if tc.finish {
					// Once StopAll asked the user to stop (its users are
					// gone from the count, under the runner's lock), the
					// task finishes.
					waitFor(t, "the stop", func() bool { return r.UserCount() == 0 })
					r.mu.Lock()
					r.mu.Unlock() //nolint:staticcheck // waits for StopAll's critical section
					close(release)
				}
				<-done
			}
			if got := ev.get(); !slices.Equal(got, tc.want) {
				t.Errorf("events %v, want %v", got, tc.want)
			}
		})
	}
}

// TestGroupTags: a group's tags apply to its tasks (Locust's @tag on a
// TaskSet); a group is kept with its tasks that pass, dropped when none.
func TestGroupTags(t *testing.T) {
	t.Parallel()
	src := "users:\n  - class: A\n    tasks:\n" +
		"      - {tags: [a], request: {path: /x}}\n" +
		"      - name: g\n        tags: [b]\n        tasks:\n" +
		"          - request: {path: /y}\n" +
		"          - {tags: [c], request: {path: /z}}\n" +
		"          - name: h\n            tasks: [{tags: [d], request: {path: /w}}, {interrupt: true}]\n" +
		"          - {interrupt: true}\n"
	// shape renders a class's (filtered) tasks as names, groups in brackets.
	var shape func([]Task) string
	shape = func(ts []Task) string {
		var parts []string
		for _, tk := range ts {
			if tk.Group != nil {
				parts = append(parts, tk.Name+"["+shape(tk.Group.Tasks)+"]")
			} else {
				parts = append(parts, tk.Name)
			}
		}
		return strings.Join(parts, " ")
	}
	for _, tc := range []struct {
		include, exclude []string
		want             string
	}{
		{nil, nil, "/x g[/y /z h[/w interrupt] interrupt]"},
		{[]string{"b"}, nil, "g[/y /z h[/w interrupt] interrupt]"},
		{[]string{"c"}, nil, "g[/z]"},
		{[]string{"d"}, nil, "g[h[/w]]"},
		{[]string{"a", "c"}, nil, "/x g[/z]"},
		{nil, []string{"b"}, "/x"},
		{nil, []string{"c", "d"}, "/x g[/y h[interrupt] interrupt]"},
		{[]string{"nope"}, nil, ""},
	} {
		sc, err := Parse("s.yaml", []byte(src))
		if err != nil {
			t.Fatal(err)
		}
		r := NewRunner(sc.Classes, nil)
		r.FilterTags(tc.include, tc.exclude)
		cr := r.classes["A"]
		if got := shape(cr.base.Tasks); got != tc.want {
			t.Errorf("-T %v -E %v: tasks %q, want %q", tc.include, tc.exclude, got, tc.want)
		}
		// The picker has the same tasks, groups with theirs.
		if got := shape(cr.cfg.Load().tasks.tasks); got != tc.want {
			t.Errorf("-T %v -E %v: picker tasks %q, want %q", tc.include, tc.exclude, got, tc.want)
		}
		r.Close()
		// The parsed class is left alone.
		if got := shape(sc.Classes[0].Tasks); got != "/x g[/y /z h[/w interrupt] interrupt]" {
			t.Errorf("filtering changed the parsed class: %q", got)
		}
	}
}

// TestGroupTagsRun: with -T c only /z runs, inside the group.
func TestGroupTagsRun(t *testing.T) {
	t.Parallel()
	f, host := newFlowTarget(t)
	src := "users:\n  - class: A\n    tasks:\n      - " + rq("/x") + "\n" +
		"      - name: g\n        on_start: [" + rq("/in") + "]\n        tasks:\n" +
		"          - " + rq("/y") + "\n" +
		"          - {tags: [c], request: {path: /z, headers: {X-User: \"${user.id}\"}}}\n"
	sc, err := Parse("flow.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	st := newFakeStats()
	r := NewRunner(sc.Classes, st, WithHost(host))
	defer r.Close()
	r.FilterTags([]string{"c"}, nil)
	r.Apply(counts("A", 1))
	waitFor(t, "20 requests", func() bool { return each(1, 20)(f.users()) })
	r.StopAll(context.Background(), 5*time.Second)
	for _, ps := range f.users() {
		if ps[0] != "/in" || slices.ContainsFunc(ps[1:], func(p string) bool { return p != "/z" }) {
			t.Errorf("paths %v, want /in then /z only", ps)
		}
	}
	checkRecorded(t, st.all(), f)
}

// TestUpdateClassGroupTasks: update_user_class's tasks name a class's
// top-level tasks, groups by their name.
func TestUpdateClassGroupTasks(t *testing.T) {
	t.Parallel()
	var ev events
	g := &TaskGroup{Tasks: []Task{{Name: "inside", Fn: ev.fn("inside", nil)}}}
	c := &Class{Name: "A", Tasks: []Task{{Name: "top", Fn: ev.fn("top", nil)}, {Name: "g", Group: g}}}
	r := NewRunner([]*Class{c}, nil)
	defer r.Close()
	if ignored := r.UpdateClass("A", map[string]any{"tasks": []any{"g"}}); ignored != nil {
		t.Fatalf("ignored %v", ignored)
	}
	r.Apply(counts("A", 1))
	waitFor(t, "10 tasks", func() bool { return len(ev.get()) >= 10 })
	r.StopAll(context.Background(), 0)
	if got := ev.get(); slices.Contains(got, "top") {
		t.Errorf("a task left out by update_user_class ran: %v", got[:10])
	}
}

func TestValidateGroups(t *testing.T) {
	t.Parallel()
	fn := func(context.Context, *UserContext) error { return nil }
	loop := &TaskGroup{}
	loop.Tasks = []Task{{Name: "self", Group: loop}}
	for _, tc := range []struct {
		name  string
		tasks []Task
		want  string
	}{
		{"empty group", []Task{{Name: "g", Group: &TaskGroup{}}}, `A: group "g" has no tasks`},
		{"fn and group", []Task{{Name: "g", Fn: fn, Group: &TaskGroup{Tasks: []Task{{Fn: fn}}}}}, `A: task 0 ("g") has both a function and a group`},
		{"no fn in group", []Task{{Name: "g", Group: &TaskGroup{Tasks: []Task{{Name: "x"}}}}}, `A: group "g": task 0 ("x") has no function`},
		{"negative iterations", []Task{{Name: "g", Group: &TaskGroup{Iterations: -1, Tasks: []Task{{Fn: fn}}}}}, `A: group "g" has negative iterations`},
		{"negative weight inside", []Task{{Name: "g", Group: &TaskGroup{Tasks: []Task{{Fn: fn, Weight: -2}}}}}, `A: group "g": task 0 ("") has a negative weight`},
		{"cycle", []Task{{Name: "g", Group: loop}}, "task groups nest deeper than 32 levels"},
	} {
		c := &Class{Name: "A", Tasks: tc.tasks}
		err := c.Validate()
		if err == nil || !errors.Is(err, ErrInvalidClass) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.want)
		}
		// NewRunner leaves such a class out, and terminates on a cycle.
		if r := NewRunner([]*Class{{Name: "A", Tasks: tc.tasks}}, nil); len(r.order) != 0 {
			t.Errorf("%s: NewRunner kept the class", tc.name)
		}
	}
	// Defaults are filled in groups too, on the runner's copy only.
	g := &TaskGroup{Tasks: []Task{{Fn: fn}}}
	c := &Class{Name: "A", Tasks: []Task{{Group: g}}}
	r := NewRunner([]*Class{c}, nil)
	defer r.Close()
	rg := r.classes["A"].base.Tasks[0]
	if rg.Name != "task0" || rg.Weight != 1 || rg.Group.Tasks[0].Weight != 1 || rg.Group.Tasks[0].Name != "task0" {
		t.Errorf("defaults not filled: %+v %+v", rg, rg.Group.Tasks[0])
	}
	if g.Tasks[0].Weight != 0 || g.Tasks[0].Name != "" {
		t.Errorf("NewRunner changed the caller's group: %+v", g.Tasks[0])
	}
}

func TestParseGroups(t *testing.T) {
	t.Parallel()
	sc, err := Parse("s.yaml", []byte("users:\n  - class: A\n    sequential: true\n    wait_time: {constant: 1}\n    tasks:\n"+
		"      - {request: {path: /a}}\n"+
		"      - name: shop\n        weight: 3\n        sequential: true\n        iterations: 2\n        wait_time: {between: [1, 2]}\n"+
		"        tags: [s]\n        on_start: [{request: {path: /in}}]\n        on_stop: [{request: {path: /out}}]\n"+
		"        tasks:\n          - {weight: 5, request: {path: /b}}\n          - {name: leave, weight: 2, tags: [x], interrupt: true}\n"+
		"          - {name: inner, tasks: [{interrupt: true}]}\n          - {name: off, weight: 0, tasks: [{interrupt: true}]}\n"))
	if err != nil {
		t.Fatal(err)
	}
	c := sc.Classes[0]
	if !c.Sequential || len(c.Tasks) != 2 {
		t.Fatalf("class: sequential %v, %d tasks", c.Sequential, len(c.Tasks))
	}
	tk := c.Tasks[1]
	g := tk.Group
	if tk.Name != "shop" || tk.Weight != 3 || tk.Fn != nil || g == nil || !slices.Equal(tk.Tags, []string{"s"}) {
		t.Fatalf("group task %+v", tk)
	}
	if !g.Sequential || g.Iterations != 2 || g.WaitTime == nil || g.OnStart == nil || g.OnStop == nil || len(g.Tasks) != 3 {
		t.Fatalf("group %+v", g)
	}
	leave := g.Tasks[1]
	if leave.Name != "leave" || leave.Weight != 2 || !slices.Equal(leave.Tags, []string{"x"}) || !errors.Is(leave.Fn(context.Background(), nil), ErrInterrupt) {
		t.Errorf("interrupt task %+v", leave)
	}
	if in := g.Tasks[2]; in.Name != "inner" || in.Group == nil || in.Group.Tasks[0].Name != "interrupt" || in.Group.Sequential {
		t.Errorf("inner group %+v", in)
	}
}

func TestGroupParseErrors(t *testing.T) {
	t.Parallel()
	// pre is a class whose tasks list starts on line 4.
	const pre = "users:\n  - class: A\n    tasks:\n"
	deep := pre
	for i := range MaxGroupDepth + 1 {
		deep += strings.Repeat("  ", i+3) + fmt.Sprintf("- name: g%d\n", i) + strings.Repeat("  ", i+4) + "tasks:\n"
	}
	deep += strings.Repeat("  ", MaxGroupDepth+4) + "- {request: {path: /}}\n"
	bomb := pre + "      - &g0 {name: g0, tasks: [{request: {path: /}}, {request: {path: /}}]}\n"
	for i := 1; i <= 30; i++ {
		bomb += fmt.Sprintf("      - &g%d {name: g%d, tasks: [*g%d, *g%d]}\n", i, i, i-1, i-1)
	}
	for _, tc := range []struct{ name, yaml, want string }{
		{"class sequential not bool", "users:\n  - class: A\n    sequential: yes\n    tasks: [{request: {path: /}}]\n",
			"s.yaml:3: users[0].sequential: expected true or false"},
		{"group sequential not bool", pre + "      - {name: g, sequential: 1, tasks: [{interrupt: true}]}\n",
			"s.yaml:4: users[0].tasks[0].sequential: expected true or false"},
		{"interrupt with request", pre + "      - name: g\n        tasks:\n          - {interrupt: true, request: {path: /}}\n",
			"s.yaml:6: users[0].tasks[0].tasks[0].request: an interrupt task has no request or steps"},
		{"interrupt with steps", pre + "      - name: g\n        tasks:\n          - {steps: [{request: {path: /}}], interrupt: true}\n",
			"s.yaml:6: users[0].tasks[0].tasks[0].steps: an interrupt task has no request or steps"},
		{"interrupt false", pre + "      - name: g\n        tasks:\n          - {interrupt: false}\n",
			"s.yaml:6: users[0].tasks[0].tasks[0].interrupt: must be true"},
		{"interrupt not bool", pre + "      - name: g\n        tasks:\n          - {interrupt: now}\n",
			"s.yaml:6: users[0].tasks[0].tasks[0].interrupt: expected true or false"},
		{"interrupt in class", pre + "      - {interrupt: true}\n",
			"s.yaml:4: users[0].tasks[0].interrupt: only a task of a task group can interrupt"},
		{"interrupt with a group key", pre + "      - name: g\n        tasks:\n          - {interrupt: true, sequential: true}\n",
			"s.yaml:6: users[0].tasks[0].tasks[0].interrupt: a task group cannot be an interrupt task"},
		{"group with request", pre + "      - {name: g, request: {path: /}, tasks: [{interrupt: true}]}\n",
			"s.yaml:4: users[0].tasks[0].request: a task group has tasks, not a request or steps of its own"},
		{"group no tasks", pre + "      - {name: g, tasks: []}\n",
			"s.yaml:4: users[0].tasks[0].tasks: at least one task is required"},
		{"group tasks not a list", pre + "      - {name: g, tasks: {request: {path: /}}}\n",
			"s.yaml:4: users[0].tasks[0].tasks: expected a list"},
		{"group keys without tasks", pre + "      - {name: g, sequential: true}\n",
			"s.yaml:4: users[0].tasks[0].tasks: required: a task group's tasks"},
		{"group without name", pre + "      - {tasks: [{interrupt: true}]}\n",
			"s.yaml:4: users[0].tasks[0].name: required for a task group"},
		{"group empty name", pre + "      - {name: '', tasks: [{interrupt: true}]}\n",
			"s.yaml:4: users[0].tasks[0].name: required for a task group"},
		{"group weights all 0", pre + "      - {name: g, tasks: [{weight: 0, interrupt: true}]}\n",
			"s.yaml:4: users[0].tasks[0].tasks: at least one task with a weight > 0 is required"},
		{"unknown key in task", pre + "      - {name: g, taks: [{interrupt: true}]}\n",
			`s.yaml:4: users[0].tasks[0]: unknown key "taks" (want name, weight, tags, request, steps, interrupt, tasks, sequential, iterations, wait_time, on_start, on_stop)`},
		{"request with a group key", pre + "      - name: g\n        tasks:\n          - {request: {path: /}, iterations: 2}\n",
			"s.yaml:6: users[0].tasks[0].tasks[0].request: a task group has tasks, not a request or steps of its own (iterations goes with tasks)"},
		{"iterations 0", pre + "      - {name: g, iterations: 0, tasks: [{interrupt: true}]}\n",
			"s.yaml:4: users[0].tasks[0].iterations: expected an integer in [1, 1073741824], got 0"},
		{"iterations not int", pre + "      - {name: g, iterations: once, tasks: [{interrupt: true}]}\n",
			"s.yaml:4: users[0].tasks[0].iterations: expected an integer"},
		{"group weight", pre + "      - {name: g, weight: -1, tasks: [{interrupt: true}]}\n",
			"s.yaml:4: users[0].tasks[0].weight: expected an integer in [0, 1048576], got -1"},
		{"group wait_time", pre + "      - {name: g, wait_time: {betwen: [1, 2]}, tasks: [{interrupt: true}]}\n",
			`s.yaml:4: users[0].tasks[0].wait_time: unknown kind "betwen"`},
		{"group on_start", pre + "      - {name: g, on_start: [], tasks: [{interrupt: true}]}\n",
			"s.yaml:4: users[0].tasks[0].on_start: at least one step is required"},
		{"group on_stop", pre + "      - {name: g, on_stop: [{request: {}}], tasks: [{interrupt: true}]}\n",
			"s.yaml:4: users[0].tasks[0].on_stop[0].request.path: required"},
		{"group tags", pre + "      - {name: g, tags: b, tasks: [{interrupt: true}]}\n",
			"s.yaml:4: users[0].tasks[0].tags: expected a list"},
		{"nested request error", pre + "      - name: g\n        tasks:\n          - name: h\n            tasks:\n              - {request: {method: 'A B', path: /}}\n",
			"s.yaml:8: users[0].tasks[0].tasks[0].tasks[0].request.method: invalid method"},
		{"task not a mapping", pre + "      - name: g\n        tasks: [x]\n",
			"s.yaml:5: users[0].tasks[0].tasks[0]: expected a mapping"},
		{"too deep", deep, "task groups nest deeper than 32 levels"},
		{"recursive alias", pre + "      - &g {name: g, tasks: [*g]}\n", "task groups nest deeper than 32 levels"},
		{"alias bomb", bomb, "more than 16384 tasks in task groups"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse("s.yaml", []byte(tc.yaml))
			if err == nil {
				t.Fatalf("no error, want %q", tc.want)
			}
			got := err.Error()
			if strings.Contains(got, "\n") || !strings.HasPrefix(got, "s.yaml:") {
				t.Errorf("error = %q, want one line naming the file and line", got)
			}
			if !strings.HasPrefix(got, tc.want) && !strings.Contains(got, ": "+tc.want) {
				t.Errorf("error = %q, want %q", got, tc.want)
			}
		})
	}
}

// FuzzTaskGroups parses scenarios with task groups: an error is a
// *ParseError with a line, and a parsed class is valid, its groups within
// MaxGroupDepth and non-empty.
func FuzzTaskGroups(f *testing.F) {
	f.Add([]byte("users:\n  - class: A\n    sequential: true\n    tasks:\n      - {request: {path: /a}}\n" +
		"      - name: g\n        weight: 2\n        sequential: true\n        iterations: 1\n        wait_time: {constant: 0}\n" +
		"        on_start: [{request: {path: /i}}]\n        on_stop: [{request: {path: /o}}]\n        tags: [t]\n" +
		"        tasks:\n          - {weight: 3, request: {path: /b}}\n          - {interrupt: true}\n" +
		"          - {name: h, tasks: [{steps: [{request: {path: /c}}], name: s}, {interrupt: true, weight: 0}]}\n"))
	f.Add([]byte("users:\n  - class: A\n    tasks:\n      - &g {name: g, tasks: [*g]}\n"))
	f.Add([]byte("users:\n  - class: A\n    tasks:\n      - &g {name: g, tasks: [{interrupt: true}]}\n      - {name: h, tasks: [*g, *g]}\n"))
	f.Add([]byte("users:\n  - class: A\n    tasks: [{interrupt: true}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		sc, err := Parse("fuzz.yaml", data)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %q (%T) is not a *ParseError", err, err)
			}
			if pe.Line < 1 && pe.Msg != "empty scenario" {
				t.Fatalf("error %q names no line", err)
			}
			return
		}
		var check func(ts []Task, depth int)
		check = func(ts []Task, depth int) {
			if len(ts) == 0 {
				t.Fatal("a task list is empty")
			}
			for _, tk := range ts {
				if (tk.Fn == nil) == (tk.Group == nil) || tk.Weight < 1 {
					t.Fatalf("invalid task %+v", tk)
				}
				if tk.Group != nil {
					if depth >= MaxGroupDepth || tk.Name == "" {
						t.Fatalf("group %q at depth %d", tk.Name, depth)
					}
					check(tk.Group.Tasks, depth+1)
				}
			}
		}
		for _, c := range sc.Classes {
			check(c.Tasks, 0)
			if err := c.Validate(); err != nil {
				t.Fatalf("a parsed class is invalid: %v", err)
			}
		}
	})
}

// TestGroupLoopAllocs checks that the task loop allocates nothing per
// task, in a class, a sequential class, and groups entered and left over
// and over (with their own wait time, on_start and on_stop).
func TestGroupLoopAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	noop := func(context.Context, *UserContext) error { return nil }
	for _, tc := range []struct {
		name  string
		build func(Task) *Class
	}{
		{"class", func(tk Task) *Class { return &Class{Name: "B", Tasks: []Task{tk}} }},
		{"sequential", func(tk Task) *Class {
			return &Class{Name: "B", Sequential: true, Tasks: []Task{tk, {Name: "n", Fn: noop}}}
		}},
		{"groups", func(tk Task) *Class {
			inner := &TaskGroup{Sequential: true, Iterations: 1, WaitTime: Constant(0), OnStart: noop, OnStop: noop,
				Tasks: []Task{tk, {Name: "leave", Fn: Interrupt}}}
			outer := &TaskGroup{Iterations: 2, OnStop: noop, Tasks: []Task{{Name: "inner", Group: inner}}}
			return &Class{Name: "B", WaitTime: ConstantPacing(0), Tasks: []Task{{Name: "outer", Group: outer}}}
		}},
	} {
		const n = 100000
		var ran int
		allocs := testing.AllocsPerRun(1, func() {
			ran = 0
			done := make(chan struct{})
			c := tc.build(Task{Name: "t", Fn: func(context.Context, *UserContext) error {
				if ran++; ran == n {
					close(done)
					return ErrStopUser
				}
				return nil
			}})
			r := NewRunner([]*Class{c}, newBenchStats())
			r.Apply(counts("B", 1))
			<-done
			r.Close()
		})
		if ran != n {
			t.Fatalf("%s: %d tasks ran, want %d", tc.name, ran, n)
		}
		// The runner and the user's start allocate a few dozen times.
		if perTask := allocs / n; perTask > 0.001 {
			t.Errorf("%s: %.0f allocations for %d tasks", tc.name, allocs, n)
		}
	}
}
