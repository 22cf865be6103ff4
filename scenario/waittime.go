package scenario

import (
	"fmt"
	"time"
)

// WaitTime returns how long user u pauses after a task, like a Locust
// wait_time function called with the user instance. It runs on the user's
// own goroutine, so it may keep per-user state in u (ConstantPacing does).
type WaitTime func(u *UserContext) time.Duration

// Between waits a uniformly random duration in [min, max), like Locust's
// between(min_wait, max_wait). It draws from the user's own RNG.
func Between(minWait, maxWait time.Duration) WaitTime {
	if maxWait < minWait {
		minWait, maxWait = maxWait, minWait
	}
	span := maxWait - minWait
	return func(u *UserContext) time.Duration {
		if span == 0 {
			return minWait
		}
		return minWait + time.Duration(u.Rand.Float64()*float64(span))
	}
}

// Constant always waits d, like Locust's constant(wait_time).
func Constant(d time.Duration) WaitTime {
	return func(*UserContext) time.Duration { return d }
}

// ConstantPacing waits so that consecutive task starts are d apart, like
// Locust's constant_pacing: the wait is d minus the time the task ran (from
// the end of the previous wait), and 0 when the task took longer than d.
// With WithLatencyCorrection the user follows a fixed schedule instead (one
// task start every d, late starts caught up at once) and records latencies
// from each task's intended start.
func ConstantPacing(d time.Duration) WaitTime {
	return func(u *UserContext) time.Duration {
		if u.r != nil && u.r.correct {
			return u.scheduledWait(d)
		}
		now := u.now()
		runTime := now.Sub(u.cpLastRun) - u.cpLastWait
		wait := max(d-runTime, 0)
		u.cpLastWait = wait
		u.cpLastRun = now
		return wait
	}
}

// ConstantThroughput paces a user to perSec task runs per second, like
// Locust's constant_throughput (the inverse of ConstantPacing). It panics
// if perSec is not positive, as Locust raises ValueError.
func ConstantThroughput(perSec float64) WaitTime {
	if !(perSec > 0) {
		panic(fmt.Sprintf("scenario: ConstantThroughput requires a positive rate, got %v", perSec))
	}
	return ConstantPacing(time.Duration(float64(time.Second) / perSec))
}
