package scenario

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// TestLatencyCorrection runs one user paced at one task every 20 ms against
// a server that stalls its 5th request for 300 ms. Without correction only
// the stalled request is slow. With it, the user catches up on the missed
// starts and every request after the stall is recorded from its intended
// start: the k-th one after the stall is at least 300 - 20k ms late, so at
// least 10 corrected times exceed 100 ms whatever the machine's speed (a
// slow machine only adds lag). The raw copy gets the same requests with
// their uncorrected times.
func TestLatencyCorrection(t *testing.T) {
	t.Parallel()
	const stall, period = 300 * time.Millisecond, 20 * time.Millisecond
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 5 {
			time.Sleep(stall)
		}
	}))
	defer srv.Close()

	run := func(correct bool) (main, raw []rec) {
		ms, rs := newFakeStats(), newFakeStats()
		var done atomic.Int64
		c := &Class{Name: "Paced", Host: srv.URL, WaitTime: ConstantPacing(period), Tasks: []Task{{Name: "get", Fn: func(ctx context.Context, u *UserContext) error {
			if done.Load() >= 40 {
				return ErrStopUser
			}
			u.HTTP.Get(ctx, "/x", "")
			done.Add(1)
			return nil
		}}}}
		opts := []RunnerOption{}
		if correct {
			opts = append(opts, WithLatencyCorrection(rs))
		}
		n.Store(0)
		r := NewRunner([]*Class{c}, ms, opts...)
		defer r.Close()
		r.Apply(counts("Paced", 1))
		waitFor(t, "40 requests and the user's exit", func() bool { return done.Load() >= 40 && r.UserCount() == 0 })
		return ms.all(), rs.all()
	}

	slow := func(rs []rec) (k int) {
		for _, x := range rs {
			if x.rt >= 100*time.Millisecond {
				k++
			}
		}
		return k
	}

	plain, none := run(false)
	if len(plain) != 40 || len(none) != 0 {
		t.Fatalf("uncorrected run: %d records and %d raw, want 40 and 0", len(plain), len(none))
	}
	if slow(plain) < 1 {
		t.Errorf("uncorrected run: no request took >= 100 ms; the stall did not happen")
	}

	main, raw := run(true)
	if len(main) != 40 || len(raw) != 40 {
		t.Fatalf("corrected run: %d corrected and %d raw records, want 40 each", len(main), len(raw))
	}
	if got := slow(main); got < 10 {
		t.Errorf("corrected run: %d requests >= 100 ms, want >= 10 (the catch-up after a 300 ms stall at a 20 ms period)", got)
	}
	var lagSum time.Duration
	for i := range main {
		if main[i].name != raw[i].name || main[i].rt < raw[i].rt {
			t.Fatalf("record %d: corrected %+v vs raw %+v: the corrected time must be the raw one plus a lag", i, main[i], raw[i])
		}
		lagSum += main[i].rt - raw[i].rt
	}
	// The lags after the stall add up to at least 280+260+...+20 = 2,100 ms.
	if want := 2100 * time.Millisecond; lagSum < want {
		t.Errorf("corrected run: total lag %v, want >= %v", lagSum, want)
	}
}

// TestScheduledWaitKeepsTheSchedule checks the schedule itself with an
// injected clock: starts are due every period from the intended start, a
// late task is caught up at once, and the lag is measured from the due time.
func TestScheduledWaitKeepsTheSchedule(t *testing.T) {
	now := time.Unix(1000, 0)
	r := &Runner{correct: true, now: func() time.Time { return now }}
	u := &UserContext{r: r}
	w := ConstantThroughput(10) // 100 ms

	u.beginTask() // first task: on time by definition
	now = now.Add(30 * time.Millisecond)
	if d := w(u); d != 70*time.Millisecond {
		t.Fatalf("wait after a 30 ms task = %v, want 70ms", d)
	}
	now = now.Add(70 * time.Millisecond)
	u.beginTask()
	if u.Lag() != 0 {
		t.Fatalf("lag of an on-time task = %v", u.Lag())
	}
	now = now.Add(350 * time.Millisecond) // a stalled task
	if d := w(u); d != 0 {
		t.Fatalf("wait after a stalled task = %v, want 0", d)
	}
	u.beginTask()
	if u.Lag() != 250*time.Millisecond {
		t.Fatalf("lag after the stall = %v, want 250ms", u.Lag())
	}
	now = now.Add(10 * time.Millisecond)
	w(u)
	u.beginTask() // the next missed start, 10 ms later: still 160 ms behind
	if u.Lag() != 160*time.Millisecond {
		t.Fatalf("lag of the catch-up task = %v, want 160ms", u.Lag())
	}
}

func TestLatencyCorrectionYAML(t *testing.T) {
	t.Parallel()
	const users = "users:\n  - class: A\n    wait_time: {constant_throughput: 5}\n    tasks: [{request: {path: /}}]\n"
	for _, tc := range []struct {
		src  string
		want bool
	}{{users, false}, {"latency_correction: true\n" + users, true}, {"latency_correction: false\n" + users, false}} {
		sc, err := Parse("s.yaml", []byte(tc.src))
		if err != nil {
			t.Fatalf("%q: %v", tc.src, err)
		}
		if sc.LatencyCorrection != tc.want {
			t.Errorf("%q: LatencyCorrection = %v, want %v", tc.src, sc.LatencyCorrection, tc.want)
		}
	}
	_, err := Parse("s.yaml", []byte("latency_correction: sometimes\n"+users))
	if want := "s.yaml:1: latency_correction: expected true or false"; err == nil || err.Error() != want {
		t.Fatalf("bad latency_correction: error = %v, want %q", err, want)
	}
}
