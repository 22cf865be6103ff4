package scenario

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/glocust/glocust/protocol"
)

func sleepTask(d time.Duration) TaskFunc {
	return func(ctx context.Context, _ *UserContext) error {
		select {
		case <-time.After(d):
		case <-ctx.Done():
		}
		return nil
	}
}

func classOf(name string, fn TaskFunc) *Class {
	return &Class{Name: name, Tasks: []Task{{Name: "t", Fn: fn}}, WaitTime: Constant(time.Millisecond)}
}

func counts(pairs ...any) []protocol.ClassCount {
	var out []protocol.ClassCount
	for i := 0; i < len(pairs); i += 2 {
		out = append(out, protocol.ClassCount{Class: pairs[i].(string), Count: int64(pairs[i+1].(int))})
	}
	return out
}

func TestRunnerApplyCounts(t *testing.T) {
	t.Parallel()
	r := NewRunner([]*Class{classOf("B", sleepTask(time.Millisecond)), classOf("A", sleepTask(time.Millisecond)),
		classOf("C", sleepTask(time.Millisecond))}, nil)
	defer r.Close()
	steps := []struct {
		apply []protocol.ClassCount
		want  []protocol.ClassCount
	}{
		{nil, counts("A", 0, "B", 0, "C", 0)},
		{counts("A", 3, "B", 1), counts("A", 3, "B", 1, "C", 0)},
		{counts("A", 5, "Nope", 4), counts("A", 5, "B", 1, "C", 0)},
		{counts("A", 2, "C", 2), counts("A", 2, "B", 1, "C", 2)},
		{counts("A", 0, "B", 0, "C", 0), counts("A", 0, "B", 0, "C", 0)},
		{counts("C", 4, "B", -1), counts("A", 0, "B", 0, "C", 4)},
	}
	for i, s := range steps {
		r.Apply(s.apply)
		if got := r.Counts(); !slices.Equal(got, s.want) {
			t.Errorf("step %d: counts = %v, want %v", i, got, s.want)
		}
		var sum int64
		for _, c := range s.want {
			sum += c.Count
		}
		if got := r.UserCount(); got != sum {
			t.Errorf("step %d: user count = %d, want %d", i, got, sum)
		}
	}
	r.StopAll(context.Background(), 0)
	if got := r.UserCount(); got != 0 {
		t.Errorf("user count after StopAll = %d", got)
	}
}

func TestRunnerStopsNewestFirst(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	alive := map[int64]bool{}
	c := &Class{Name: "A", Tasks: []Task{{Fn: sleepTask(time.Millisecond)}},
		OnStart: func(_ context.Context, u *UserContext) error {
			mu.Lock()
			alive[u.ID] = true
			mu.Unlock()
			return nil
		},
		OnStop: func(_ context.Context, u *UserContext) error {
			mu.Lock()
			delete(alive, u.ID)
			mu.Unlock()
			return nil
		}}
	r := NewRunner([]*Class{c}, nil)
	defer r.Close()
	r.Apply(counts("A", 5))
	waitFor(t, "5 users started", func() bool { mu.Lock(); defer mu.Unlock(); return len(alive) == 5 })
	r.Apply(counts("A", 2))
	waitFor(t, "3 users stopped", func() bool { mu.Lock(); defer mu.Unlock(); return len(alive) == 2 })
	mu.Lock()
	defer mu.Unlock()
	if !alive[1] || !alive[2] {
		t.Errorf("alive users = %v, want the oldest (1, 2)", alive)
	}
}

func TestStopAllSemantics(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		task        time.Duration // how long the task runs (ignores ctx when graceful is checked)
		wait        time.Duration
		stopTimeout time.Duration
		wantDone    bool          // task completed its work
		maxStop     time.Duration // StopAll must return within
	}{
		{"no timeout interrupts task", time.Hour, 0, 0, false, 2 * time.Second},
		{"timeout lets task finish", 100 * time.Millisecond, 0, 3 * time.Second, true, 2 * time.Second},
		{"timeout expires then interrupts", time.Hour, 0, 100 * time.Millisecond, false, 2 * time.Second},
		{"waiting user stops at once", time.Millisecond, time.Hour, 10 * time.Second, true, 2 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var started, done, stopped atomic.Int32
			c := &Class{Name: "A", WaitTime: Constant(tc.wait), Tasks: []Task{{Fn: func(ctx context.Context, _ *UserContext) error {
				started.Add(1)
				select {
				case <-time.After(tc.task):
					done.Add(1)
				case <-ctx.Done():
				}
				return nil
			}}}, OnStop: func(context.Context, *UserContext) error { stopped.Add(1); return nil }}
			r := NewRunner([]*Class{c}, nil)
			defer r.Close()
			r.Apply(counts("A", 1))
			if tc.wait > 0 {
				waitFor(t, "task done", func() bool { return done.Load() == 1 })
			} else {
				waitFor(t, "task started", func() bool { return started.Load() == 1 })
			}
			start := time.Now()
			r.StopAll(context.Background(), tc.stopTimeout)
			if el := time.Since(start); el > tc.maxStop {
				t.Errorf("StopAll took %v", el)
			}
			if got := done.Load() >= 1; got != tc.wantDone {
				t.Errorf("task done = %v, want %v", got, tc.wantDone)
			}
			if got := stopped.Load(); got != 1 {
				t.Errorf("on_stop ran %d times, want 1", got)
			}
			if got := r.UserCount(); got != 0 {
				t.Errorf("user count = %d", got)
			}
		})
	}
}

func TestApplyWithStopTimeout(t *testing.T) {
	t.Parallel()
	var done atomic.Int32
	release := make(chan struct{})
	c := &Class{Name: "A", Tasks: []Task{{Fn: func(ctx context.Context, _ *UserContext) error {
		select {
		case <-release:
			done.Add(1)
		case <-ctx.Done():
		}
		return nil
	}}}}
	r := NewRunner([]*Class{c}, nil, WithStopTimeout(5*time.Second))
	defer r.Close()
	r.Apply(counts("A", 1))
	time.Sleep(20 * time.Millisecond)
	r.Apply(counts("A", 0))
	if got := r.UserCount(); got != 0 {
		t.Fatalf("user count = %d", got)
	}
	close(release) // the stopping user may finish its task
	waitFor(t, "task finished gracefully", func() bool { return done.Load() == 1 })
}

func TestExceptions(t *testing.T) {
	t.Parallel()
	type exc struct{ msg, tb string }
	tests := []struct {
		name      string
		fn        TaskFunc
		wantMsg   string
		wantTB    string
		wantUsers int64
	}{
		{"error", func(context.Context, *UserContext) error { return errors.New("boom") }, "boom", "task t: returned error", 1},
		{"panic", func(context.Context, *UserContext) error { panicHelper(); return nil }, "kaboom", "scenario.panicHelper", 1},
		{"nil deref", func(_ context.Context, u *UserContext) error { var p *Class; _ = p.Name; return nil },
			"runtime error: invalid memory address", "scenario.TestExceptions", 1},
		{"stop user", func(context.Context, *UserContext) error { return ErrStopUser }, "", "", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var mu sync.Mutex
			var got []exc
			var runs atomic.Int32
			fn := func(ctx context.Context, u *UserContext) error { runs.Add(1); return tc.fn(ctx, u) }
			r := NewRunner([]*Class{classOf("A", fn)}, nil, WithExceptionHandler(func(msg, tb string) {
				mu.Lock()
				got = append(got, exc{msg, tb})
				mu.Unlock()
			}))
			defer r.Close()
			r.Apply(counts("A", 1))
			if tc.wantUsers == 0 {
				waitFor(t, "user to stop itself", func() bool { return r.UserCount() == 0 })
				if got := r.Counts()[0].Count; got != 0 {
					t.Errorf("count = %d", got)
				}
				return
			}
			waitFor(t, "task to run again after the exception", func() bool { return runs.Load() >= 3 })
			mu.Lock()
			defer mu.Unlock()
			if !strings.Contains(got[0].msg, tc.wantMsg) || !strings.Contains(got[0].tb, tc.wantTB) {
				t.Errorf("exception = %q / %q, want %q / %q", got[0].msg, got[0].tb, tc.wantMsg, tc.wantTB)
			}
			t.Logf("traceback:\n%s", got[0].tb)
			if got[0].tb != got[1].tb {
				t.Errorf("traceback differs between occurrences:\n%s\n---\n%s", got[0].tb, got[1].tb)
			}
			if strings.Contains(got[0].tb, "goroutine ") {
				t.Errorf("traceback has goroutine id: %s", got[0].tb)
			}
		})
	}
}

func panicHelper() { panic("kaboom") }

func TestOnStartFailureEndsUser(t *testing.T) {
	t.Parallel()
	var stops, excs atomic.Int32
	c := &Class{Name: "A", Tasks: []Task{{Fn: sleepTask(time.Millisecond)}},
		OnStart: func(context.Context, *UserContext) error { return errors.New("login failed") },
		OnStop:  func(context.Context, *UserContext) error { stops.Add(1); return nil }}
	r := NewRunner([]*Class{c}, nil, WithExceptionHandler(func(string, string) { excs.Add(1) }))
	defer r.Close()
	r.Apply(counts("A", 2))
	waitFor(t, "users to end", func() bool { return r.UserCount() == 0 })
	r.StopAll(context.Background(), 0)
	if stops.Load() != 0 || excs.Load() != 2 {
		t.Errorf("on_stop runs = %d (want 0), exceptions = %d (want 2)", stops.Load(), excs.Load())
	}
}

func TestUpdateClass(t *testing.T) {
	t.Parallel()
	var a, b atomic.Int32
	c := &Class{Name: "A", Tasks: []Task{
		{Name: "ta", Fn: func(context.Context, *UserContext) error { a.Add(1); return nil }},
		{Name: "tb", Fn: func(context.Context, *UserContext) error { b.Add(1); return nil }},
	}, WaitTime: Constant(time.Millisecond)}
	r := NewRunner([]*Class{c}, nil)
	defer r.Close()
	ignored := r.UpdateClass("A", map[string]any{
		"user_class_name": "A", "weight": int64(7), "fixed_count": uint64(2), "host": "http://127.0.0.1:1",
		"tasks": []any{"tb"}, "wait_time": 0.001, "abstract": true, "on_start": "x",
	})
	if got, want := ignored, []string{"abstract", "on_start"}; !slices.Equal(got, want) {
		t.Errorf("ignored = %v, want %v", got, want)
	}
	cfg := r.classes["A"].cfg.Load()
	if cfg.weight != 7 || cfg.fixedCount != 2 || cfg.host != "http://127.0.0.1:1" {
		t.Errorf("cfg = %+v", cfg)
	}
	r.Apply(counts("A", 1))
	waitFor(t, "tb runs", func() bool { return b.Load() >= 5 })
	if a.Load() != 0 {
		t.Errorf("removed task ran %d times", a.Load())
	}
	if got := r.UpdateClass("Nope", map[string]any{"weight": 1}); !slices.Equal(got, []string{"weight"}) {
		t.Errorf("unknown class ignored = %v", got)
	}
	if got := r.UpdateClass("A", map[string]any{"weight": "x", "wait_time": map[string]any{"between": []any{1.0, 2.0}}}); !slices.Equal(got, []string{"weight"}) {
		t.Errorf("bad weight ignored = %v", got)
	}
}

var registerRuns atomic.Int32 // unique names under -count

func TestRegister(t *testing.T) {
	// Not parallel with other registry users; the registry is global.
	c := &Class{Name: fmt.Sprintf("RegisteredUser%d", registerRuns.Add(1)), Tasks: []Task{{Fn: sleepTask(0)}}}
	Register(c)
	if got := Registered(); !slices.Contains(got, c) || c.Weight != 1 {
		t.Errorf("Registered() = %v, weight %d", got, c.Weight)
	}
	for _, bad := range []*Class{c, {Name: "1x", Tasks: c.Tasks}, {Name: "NoTasks"}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Register(%q) did not panic", bad.Name)
				}
			}()
			Register(bad)
		}()
	}
}

func TestCloseIsIdempotentAndStopsEverything(t *testing.T) {
	t.Parallel()
	r := NewRunner([]*Class{classOf("A", sleepTask(time.Hour))}, nil, WithStopTimeout(time.Hour))
	r.Apply(counts("A", 50))
	r.Apply(counts("A", 10)) // 40 stopping gracefully with a pending timer
	r.Close()
	r.Close()
	r.Apply(counts("A", 5))
	if got := r.UserCount(); got != 0 {
		t.Errorf("user count after Close = %d", got)
	}
}
