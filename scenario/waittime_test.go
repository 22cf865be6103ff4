package scenario

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"
)

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }
func newFakeUser(c *fakeClock) *UserContext {
	return &UserContext{r: &Runner{now: c.now}, cpLastRun: c.now(), Rand: rand.New(rand.NewPCG(1, 2))}
}

func TestConstantPacing(t *testing.T) {
	t.Parallel()
	// Each step: the task runs for `run`, then wait_time is called.
	tests := []struct {
		name  string
		wt    WaitTime
		runs  []time.Duration
		waits []time.Duration
	}{
		{"pacing", ConstantPacing(time.Second),
			[]time.Duration{200 * time.Millisecond, 900 * time.Millisecond, 1500 * time.Millisecond, 0},
			[]time.Duration{800 * time.Millisecond, 100 * time.Millisecond, 0, time.Second}},
		{"throughput", ConstantThroughput(4),
			[]time.Duration{100 * time.Millisecond, 300 * time.Millisecond},
			[]time.Duration{150 * time.Millisecond, 0}},
		{"constant", Constant(3 * time.Second),
			[]time.Duration{time.Hour, 0}, []time.Duration{3 * time.Second, 3 * time.Second}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := &fakeClock{t: time.Unix(1_700_000_000, 0)}
			u := newFakeUser(c)
			for i, run := range tc.runs {
				c.advance(run)
				got := tc.wt(u)
				if want := tc.waits[i]; got != want {
					t.Errorf("step %d: wait = %v, want %v", i, got, want)
				}
				c.advance(got) // the user sleeps
			}
		})
	}
}

func TestBetween(t *testing.T) {
	t.Parallel()
	u := newFakeUser(&fakeClock{})
	w := Between(500*time.Millisecond, 2*time.Second)
	lo, hi := time.Hour, time.Duration(0)
	for range 10000 {
		d := w(u)
		lo, hi = min(lo, d), max(hi, d)
	}
	if lo < 500*time.Millisecond || hi >= 2*time.Second {
		t.Errorf("range [%v, %v] outside [0.5s, 2s)", lo, hi)
	}
	if lo > 510*time.Millisecond || hi < 1990*time.Millisecond {
		t.Errorf("range [%v, %v] does not cover [0.5s, 2s)", lo, hi)
	}
	if got := Between(time.Second, time.Second)(u); got != time.Second {
		t.Errorf("Between(1s,1s) = %v", got)
	}
}

func TestConstantThroughputPanicsOnZero(t *testing.T) {
	t.Parallel()
	defer func() {
		if recover() == nil {
			t.Error("no panic")
		}
	}()
	ConstantThroughput(0)
}

func TestTaskPickerProportions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		weights []int
	}{
		{"single", []int{1}},
		{"5:1", []int{5, 1}},
		{"1:2:3:4", []int{1, 2, 3, 4}},
		{"zero is one", []int{0, 3}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var tasks []Task
			total := 0
			for i, w := range tc.weights {
				tasks = append(tasks, Task{Name: string(rune('a' + i)), Weight: w, Fn: func(context.Context, *UserContext) error { return nil }})
				total += max(w, 1)
			}
			p := newTaskPicker(tasks, false)
			if got, want := p.total, total; got != want {
				t.Fatalf("total = %d, want %d", got, want)
			}
			// Exhaustive: every n in [0,total) maps to exactly weight slots.
			counts := map[string]int{}
			for n := range p.total {
				counts[p.pick(n).Name]++
			}
			for i, w := range tc.weights {
				if got, want := counts[string(rune('a'+i))], max(w, 1); got != want {
					t.Errorf("task %d: %d slots, want %d", i, got, want)
				}
			}
			// Statistical: random picks follow the weights.
			rng := rand.New(rand.NewPCG(3, 4))
			const draws = 100000
			got := map[string]int{}
			for range draws {
				got[p.pick(rng.IntN(p.total)).Name]++
			}
			for i, w := range tc.weights {
				want := float64(draws) * float64(max(w, 1)) / float64(total)
				if d := float64(got[string(rune('a'+i))]) - want; d > 0.03*draws || d < -0.03*draws {
					t.Errorf("task %d: %d picks, want about %.0f", i, got[string(rune('a'+i))], want)
				}
			}
		})
	}
}
