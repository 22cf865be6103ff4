package scenario

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// user is one running user: its goroutine's state and stop signals.
type user struct {
	class  *classRun
	ctx    context.Context // hard stop: cancelled to interrupt the user
	cancel context.CancelFunc
	soft   chan struct{} // graceful stop: closed to stop after the current task
	timer  *time.Timer   // wait timer, created on the first non-zero wait
	uc     UserContext
	http   HTTPClient
}

// noTasksWait is the pause of a user whose class has no task left (after
// update_user_class), so the error is not reported in a busy loop.
const noTasksWait = time.Second

// runUser is a user's goroutine: on_start, the task loop, on_stop. vars
// are the runner's var values when the user started (an argument, not a
// field: the user struct stays in its size class).
func (r *Runner) runUser(u *user, vars map[string]string) {
	defer r.userExited(u)
	defer u.cancel()
	uc := &u.uc
	cfg := u.class.cfg.Load()
	if !r.startVars(u, vars) {
		r.removeSelf(u)
		return
	}
	if pool := u.class.pool; pool != nil {
		defer r.releaseRow(pool, uc.vars.row)
	}
	if tr := r.trace; tr != nil {
		tr.userStart(u, vars)
		defer tr.userStop(uc)
	}

	unbind := u.http.bind(u.ctx)
	runStop := true
	if cfg.onStart != nil {
		err := uc.runFn(u.ctx, "on_start", cfg.onStart)
		u.http.endTask()
		if errors.Is(err, ErrInterrupt) {
			r.misplacedInterrupt(uc, "on_start")
		}
		if err != nil && u.ctx.Err() == nil && !errors.Is(err, ErrStopUser) {
			runStop = false // Locust: an exception in on_start ends the user without on_stop
		}
		if err != nil {
			r.removeSelf(u)
		} else {
			r.loop(u)
		}
	} else {
		r.loop(u)
	}
	unbind()
	uc.lag = 0 // on_stop's requests are not scheduled

	if cfg = u.class.cfg.Load(); runStop && cfg.onStop != nil {
		// on_stop runs even after an interruption, as Locust runs it on
		// GreenletExit; only Close cancels it.
		unbind = u.http.bind(r.ctx)
		if err := uc.runFn(r.ctx, "on_stop", cfg.onStop); errors.Is(err, ErrInterrupt) {
			r.misplacedInterrupt(uc, "on_stop")
		}
		unbind()
	}
	u.http.close()
	if u.timer != nil {
		u.timer.Stop()
	}
}

// loop runs tasks until the user is stopped.
func (r *Runner) loop(u *user) {
	uc := &u.uc
	pos := 0 // a sequential class's next task
	for {
		select {
		case <-u.soft:
			return
		default:
		}
		if u.ctx.Err() != nil {
			return
		}
		cfg := u.class.cfg.Load()
		var wait time.Duration
		if cfg.tasks.total == 0 {
			r.reportException(fmt.Sprintf("No tasks defined on %s", uc.Class),
				fmt.Sprintf("user class %s has no tasks\n", uc.Class))
			if r.iterations > 0 {
				r.removeSelf(u)
				return
			}
			wait = noTasksWait
		} else {
			var n int
			if cfg.tasks.seq {
				n = cfg.tasks.seqNext(&pos)
			} else {
				n = uc.Rand.IntN(cfg.tasks.total)
			}
			t := cfg.tasks.pick(n)
			if r.correct {
				uc.beginTask()
			}
			if t.Group != nil {
				switch r.runGroup(u, t.Group) {
				case groupStopped:
					return
				case groupLeft:
					continue // Locust's interrupt(reschedule=True): no wait
				}
			} else {
				uc.vars.iter++
				err := uc.runFn(u.ctx, t.Name, t.Fn)
				u.http.endTask()
				if err != nil {
					if errors.Is(err, ErrStopUser) {
						r.removeSelf(u)
						return
					}
					if errors.Is(err, ErrInterrupt) {
						r.misplacedInterrupt(uc, "task "+t.Name)
					}
				}
				if u.ctx.Err() != nil {
					return
				}
			}
			if r.iterationsDone(uc) {
				r.removeSelf(u) // WithIterations (iterations.go)
				return
			}
		}
		if cfg.wait != nil {
			wait = max(wait, r.waitTime(uc, cfg.wait))
		}
		if !u.sleep(wait) {
			return
		}
	}
}

// startVars takes the user's data row and sets its variables. A user
// that gets no row does not start: the reason is reported as a user
// exception, as an exception in on_start would be.
func (r *Runner) startVars(u *user, vars map[string]string) bool {
	uc := &u.uc
	var row Row
	if pool := u.class.pool; pool != nil {
		var err error
		if row, err = pool.lease(uc.Rand); err != nil {
			r.noRow(u, pool, err)
			return false
		}
	}
	uc.vars.init(u.class.scope, row, vars)
	return true
}

// waitTime calls a wait_time function, reporting a panic as an exception.
func (r *Runner) waitTime(uc *UserContext, w WaitTime) (d time.Duration) {
	defer func() {
		if p := recover(); p != nil {
			r.reportException(fmt.Sprint(p), panicTraceback(uc.Class, "wait_time", p))
			d = noTasksWait
		}
	}()
	return w(uc)
}

// sleep waits d and reports false if the user was stopped meanwhile (a
// waiting user stops at once, with or without grace).
func (u *user) sleep(d time.Duration) bool {
	if d <= 0 {
		return true // no timer; the loop checks the stop signals next
	}
	if u.timer == nil {
		u.timer = time.NewTimer(d)
	} else {
		u.timer.Reset(d)
	}
	select {
	case <-u.timer.C:
		return true
	case <-u.soft:
	case <-u.ctx.Done():
	}
	u.timer.Stop()
	return false
}
