package scenario

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/glocust/glocust/protocol"
)

// rowRecorder is a Go class whose users record their row, vars and
// placement at on_start and release them at on_stop.
type rowRecorder struct {
	mu      sync.Mutex
	held    map[int64]int // user id -> row index
	values  map[int64]string
	maxHeld int
	shared  bool // a row was held by two users at once
	iters   map[int64]int64
}

func newRowRecorder() *rowRecorder {
	return &rowRecorder{held: map[int64]int{}, values: map[int64]string{}, iters: map[int64]int64{}}
}

func (rr *rowRecorder) class(name string, d *DataSet, vars map[string]string) *Class {
	return &Class{Name: name, Data: d, Vars: vars, WaitTime: Constant(time.Millisecond),
		OnStart: func(_ context.Context, u *UserContext) error {
			rr.mu.Lock()
			defer rr.mu.Unlock()
			for _, row := range rr.held {
				if row == u.Row().Index() {
					rr.shared = true
				}
			}
			rr.held[u.ID] = u.Row().Index()
			rr.maxHeld = max(rr.maxHeld, len(rr.held))
			v, _ := u.Var("greeting")
			who, _ := u.Row().Get("v")
			rr.values[u.ID] = v + " " + who
			return nil
		},
		OnStop: func(_ context.Context, u *UserContext) error {
			rr.mu.Lock()
			defer rr.mu.Unlock()
			delete(rr.held, u.ID)
			return nil
		},
		Tasks: []Task{{Name: "t", Fn: func(_ context.Context, u *UserContext) error {
			rr.mu.Lock()
			defer rr.mu.Unlock()
			rr.iters[u.ID] = u.Iteration()
			return nil
		}}},
	}
}

func (rr *rowRecorder) snapshot() (held map[int64]int, values map[int64]string) {
	rr.mu.Lock()
	defer rr.mu.Unlock()
	held, values = map[int64]int{}, map[int64]string{}
	for k, v := range rr.held {
		held[k] = v
	}
	for k, v := range rr.values {
		values[k] = v
	}
	return held, values
}

// TestRunnerUniqueRows runs users of two classes sharing unique data: no
// row is held by two users at once, a user that finds no free row does not
// start (an exception says why), and rows come back when users stop.
func TestRunnerUniqueRows(t *testing.T) {
	t.Parallel()
	d := numbered(t, 4, DataUnique)
	rr := newRowRecorder()
	var exMu sync.Mutex
	var exceptions []string
	r := NewRunner([]*Class{rr.class("A", d, nil), rr.class("B", d, nil)}, nil,
		WithExceptionHandler(func(msg, _ string) { exMu.Lock(); exceptions = append(exceptions, msg); exMu.Unlock() }))
	defer r.Close()
	r.Apply(counts("A", 2, "B", 3))
	waitFor(t, "4 users holding rows and one refused", func() bool {
		held, _ := rr.snapshot()
		exMu.Lock()
		defer exMu.Unlock()
		return len(held) == 4 && len(exceptions) == 1 && r.UserCount() == 4
	})
	held, _ := rr.snapshot()
	rows := slices.Sorted(func(yield func(int) bool) {
		for _, v := range held {
			if !yield(v) {
				return
			}
		}
	})
	if !slices.Equal(rows, []int{0, 1, 2, 3}) {
		t.Errorf("rows held = %v, want each of 0..3 once", rows)
	}
	if want := "data d (unique): all 4 rows of this worker's share (slot 0 of 1) are held by running users"; !strings.HasPrefix(exceptions[0], want) {
		t.Errorf("exception = %q, want %q...", exceptions[0], want)
	}
	// Stop A's users: their rows go to B's new ones.
	r.Apply(counts("A", 0, "B", 4))
	waitFor(t, "B's 4 users holding every row", func() bool {
		held, _ := rr.snapshot()
		return len(held) == 4 && r.UserCount() == 4
	})
	if rr.maxHeld > 4 || rr.shared {
		t.Errorf("%d rows held at once, of 4; a row held by two users: %v", rr.maxHeld, rr.shared)
	}
}

func TestRunnerVars(t *testing.T) {
	t.Parallel()
	d := numbered(t, 3, DataCycle)
	rr := newRowRecorder()
	r := NewRunner([]*Class{rr.class("A", d, map[string]string{"greeting": "hi"})}, nil,
		WithVars(map[string]string{"greeting": "hello"}))
	defer r.Close()
	r.Apply(counts("A", 1))
	waitFor(t, "the first user", func() bool { _, v := rr.snapshot(); return len(v) == 1 })
	r.SetMasterOptions(protocol.NewMap("greeting", "hey", "other", int64(1)))
	r.Apply(counts("A", 2))
	r.SetMasterOptions(protocol.NewMap("greeting", int64(5)))
	r.Apply(counts("A", 3))
	waitFor(t, "three users", func() bool { _, v := rr.snapshot(); return len(v) == 3 })
	_, values := rr.snapshot()
	// Users take their rows on their own goroutines: in any order.
	var rows []string
	for id, w := range map[int64]string{1: "hello", 2: "hey", 3: "5"} {
		greeting, row, _ := strings.Cut(values[id], " ")
		if greeting != w {
			t.Errorf("user %d: greeting %q, want %q (all: %v)", id, greeting, w, values)
		}
		rows = append(rows, row)
	}
	if slices.Sort(rows); !slices.Equal(rows, []string{"a", "b", "c"}) {
		t.Errorf("rows %q, want a, b and c", rows)
	}
	waitFor(t, "a user's third task", func() bool {
		rr.mu.Lock()
		defer rr.mu.Unlock()
		return rr.iters[1] >= 3
	})
}

func TestOptionString(t *testing.T) {
	t.Parallel()
	m := protocol.NewMap("s", "x", "i", int64(-3), "u", uint64(4), "f", 2.0, "g", 0.5, "t", true, "n", nil, "l", []protocol.Value{"a"})
	for key, want := range map[string]string{"s": "x", "i": "-3", "u": "4", "f": "2.0", "g": "0.5", "t": "True"} {
		if got, ok := optionString(m, key); !ok || got != want {
			t.Errorf("%s = %q, %v; want %q", key, got, ok, want)
		}
	}
	for _, key := range []string{"n", "l", "missing"} {
		if got, ok := optionString(m, key); ok {
			t.Errorf("%s = %q, want none", key, got)
		}
	}
}

// TestRunnerPlacementTopsUp checks that users that found no share start
// once the runner gets one, with rows of that share.
func TestRunnerPlacementTopsUp(t *testing.T) {
	t.Parallel()
	d := numbered(t, 6, DataUnique)
	rr := newRowRecorder()
	var exMu sync.Mutex
	exceptions := 0
	r := NewRunner([]*Class{rr.class("A", d, nil)}, nil, WithPlacement(Placement{Index: 2, Slot: 2, Count: 2}),
		WithExceptionHandler(func(string, string) { exMu.Lock(); exceptions++; exMu.Unlock() }))
	defer r.Close()
	r.Apply(counts("A", 3))
	waitFor(t, "3 users without a row", func() bool { exMu.Lock(); defer exMu.Unlock(); return exceptions == 3 })
	if n := r.UserCount(); n != 0 {
		t.Fatalf("%d users run without a share", n)
	}
	r.SetPlacement(2, 1, 2)
	waitFor(t, "3 users with rows of share 1", func() bool { held, _ := rr.snapshot(); return len(held) == 3 })
	held, _ := rr.snapshot()
	for id, row := range held {
		if row%2 != 1 {
			t.Errorf("user %d holds row %d, not of share 1", id, row)
		}
	}
	r.SetPlacement(2, 1, 2) // unchanged: nothing more starts
	if n := r.UserCount(); n != 3 {
		t.Errorf("%d users, want 3", n)
	}
}

// TestRunnerRowsWaitForStoppingUsers: when one class's users are stopped
// and another's started on the same unique data (a rebalance), the new
// users that find every row still held by stopping users wait for those
// rows instead of failing: no exception, and they start when the rows
// come back.
func TestRunnerRowsWaitForStoppingUsers(t *testing.T) {
	t.Parallel()
	d := numbered(t, 2, DataUnique)
	rr := newRowRecorder()
	release := make(chan struct{})
	var inTask sync.WaitGroup
	inTask.Add(2)
	holder := &Class{Name: "A", Data: d, Tasks: []Task{{Name: "hold", Fn: func(ctx context.Context, u *UserContext) error {
		if u.Iteration() == 1 {
			inTask.Done()
		}
		select {
		case <-release:
		case <-ctx.Done():
		}
		return nil
	}}}}
	var exMu sync.Mutex
	var exceptions []string
	r := NewRunner([]*Class{holder, rr.class("B", d, nil)}, nil,
		WithExceptionHandler(func(msg, _ string) { exMu.Lock(); exceptions = append(exceptions, msg); exMu.Unlock() }))
	defer r.Close()
	r.SetStopTimeout(time.Minute) // A's users finish their task when stopped
	r.Apply(counts("A", 2))
	inTask.Wait()

	r.Apply(counts("A", 0, "B", 2))
	waitFor(t, "B's users to find no free row", func() bool { return r.UserCount() == 0 })
	exMu.Lock()
	if len(exceptions) != 0 {
		t.Errorf("exceptions while the rows were held by stopping users: %q", exceptions)
	}
	exMu.Unlock()

	close(release)
	waitFor(t, "B's 2 users holding both rows", func() bool {
		held, _ := rr.snapshot()
		return len(held) == 2 && r.UserCount() == 2
	})
	held, _ := rr.snapshot()
	rows := slices.Sorted(func(yield func(int) bool) {
		for _, v := range held {
			if !yield(v) {
				return
			}
		}
	})
	if !slices.Equal(rows, []int{0, 1}) || rr.shared {
		t.Errorf("rows held = %v (shared: %v), want 0 and 1 once each", rows, rr.shared)
	}
	exMu.Lock()
	defer exMu.Unlock()
	if len(exceptions) != 0 {
		t.Errorf("exceptions: %q", exceptions)
	}
}
