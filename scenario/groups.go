package scenario

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// TaskGroup is a nested set of tasks, Locust's TaskSet (SequentialTaskSet
// when Sequential). A Task with a Group instead of a Fn is a task group:
// when the user picks it, it runs OnStart, then keeps picking among the
// group's Tasks (by weight, or in order when Sequential) with WaitTime
// between them, until a task returns ErrInterrupt or Iterations tasks
// (rounds) ran; then OnStop runs and the parent (the class's task list or
// the enclosing group) picks its next task at once, as after Locust's
// interrupt(reschedule=True). Groups nest to any depth (up to
// MaxGroupDepth levels).
//
// A user stopped inside a group (with or without grace) leaves it as it
// leaves the class's loop: the OnStop of every group it is in runs,
// innermost first, then the class's OnStop, as Locust runs on_stop on
// StopUser and GreenletExit. An error in OnStart is a user exception and
// the group is not entered: the parent waits, then picks again (OnStop
// does not run); ErrInterrupt from OnStart leaves at once without OnStop.
// ErrStopUser from any of the group's functions stops the user.
type TaskGroup struct {
	// Tasks are the group's tasks: functions, nested groups, and tasks
	// returning ErrInterrupt (Interrupt). At least one is required.
	Tasks []Task
	// Sequential runs the tasks in their order, a task of weight N N
	// times in a row, starting over after the last (Locust's
	// SequentialTaskSet); otherwise tasks are picked at random in
	// proportion to their weights. Every entry into the group starts at
	// its first task.
	Sequential bool
	// WaitTime is the pause after each of the group's tasks; nil means the
	// user class's wait time (not the enclosing group's), as a TaskSet
	// without wait_time uses its User's. A group's own ConstantPacing
	// counts from the group's entry.
	WaitTime WaitTime
	// OnStart runs when the user enters the group, OnStop when it leaves
	// it (interrupted, done, or stopped).
	OnStart, OnStop TaskFunc
	// Iterations > 0 makes the user leave the group after that many of its
	// tasks ran (that many rounds of all tasks when Sequential), after the
	// last one's wait, as if an interrupting task came next. 0: the group
	// runs until a task interrupts it (or the user stops).
	Iterations int

	// The runner's copy's tasks and hook names (newTaskPicker).
	picker              *taskPicker
	startName, stopName string
}

// MaxGroupDepth is how deep task groups may nest.
const MaxGroupDepth = 32

// ErrInterrupt, returned by a task of a task group (or wrapped), leaves the
// group, like calling interrupt() in a Locust TaskSet: the group's OnStop
// runs and its parent picks its next task at once. Returned anywhere else
// (a class's own task, on_start, on_stop) it is reported as a user
// exception.
var ErrInterrupt = errors.New("scenario: interrupt the task group")

// Interrupt is a task function that leaves its task group (YAML's
// interrupt: true).
func Interrupt(context.Context, *UserContext) error { return ErrInterrupt }

// validateTasks checks the tasks of a class or group and fills defaults.
func validateTasks(tasks []Task, where string, depth int) error {
	for i := range tasks {
		t := &tasks[i]
		if t.Weight < 0 {
			return fmt.Errorf("%s: task %d (%q) has a negative weight", where, i, t.Name)
		}
		if t.Weight == 0 {
			t.Weight = 1
		}
		if t.Name == "" {
			t.Name = fmt.Sprintf("task%d", i)
		}
		switch {
		case t.Fn != nil && t.Group != nil:
			return fmt.Errorf("%s: task %d (%q) has both a function and a group", where, i, t.Name)
		case t.Fn != nil:
		case t.Group == nil:
			return fmt.Errorf("%s: task %d (%q) has no function", where, i, t.Name)
		case depth >= MaxGroupDepth:
			return fmt.Errorf("%s: task %d (%q): task groups nest deeper than %d levels", where, i, t.Name, MaxGroupDepth)
		default:
			g := t.Group
			in := fmt.Sprintf("%s: group %q", where, t.Name)
			if len(g.Tasks) == 0 {
				return fmt.Errorf("%s has no tasks", in)
			}
			if g.Iterations < 0 {
				return fmt.Errorf("%s has negative iterations", in)
			}
			if err := validateTasks(g.Tasks, in, depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}

// cloneTasks copies tasks and their groups, so that validating and
// filtering the copy leaves the caller's class alone. Deeper than
// MaxGroupDepth it stops copying (validateTasks rejects such a class).
func cloneTasks(tasks []Task, depth int) []Task {
	if tasks == nil {
		return nil
	}
	out := make([]Task, len(tasks))
	copy(out, tasks)
	for i := range out {
		if g := out[i].Group; g != nil && depth <= MaxGroupDepth {
			cp := *g
			cp.Tasks = cloneTasks(g.Tasks, depth+1)
			out[i].Group = &cp
		}
	}
	return out
}

// filterTasks keeps the tasks that pass the tag filter. A group's tags
// apply to every task in it (as Locust's @tag on a TaskSet); a group is
// kept, with the tasks of it that pass, when one of them passes.
func filterTasks(tasks []Task, inherited, include, exclude []string) []Task {
	var kept []Task
	for _, t := range tasks {
		tags := t.Tags
		if len(inherited) > 0 {
			tags = append(append([]string(nil), inherited...), t.Tags...)
		}
		if g := t.Group; g != nil {
			inner := filterTasks(g.Tasks, tags, include, exclude)
			if len(inner) == 0 {
				continue
			}
			cp := *g
			cp.Tasks = inner
			t.Group = &cp
		} else if !tagsPass(tags, include, exclude) {
			continue
		}
		kept = append(kept, t)
	}
	return kept
}

// seqNext returns the position of a sequential picker's next task (*pos,
// from 0 again after the last) and advances *pos.
func (p *taskPicker) seqNext(pos *int) int {
	n := *pos
	if n >= p.total { // also after the tasks changed (update_user_class)
		n = 0
	}
	*pos = n + 1
	return n
}

// groupExit is how a user left a task group.
type groupExit int

const (
	groupLeft    groupExit = iota // interrupted or done: the parent picks at once
	groupFailed                   // on_start failed: the parent waits, then picks
	groupStopped                  // the user stops
)

// runGroup runs task group g until the user leaves it.
func (r *Runner) runGroup(u *user, g *TaskGroup) groupExit {
	uc := &u.uc
	if g.OnStart != nil {
		err := uc.runFn(u.ctx, g.startName, g.OnStart)
		u.http.endTask()
		switch {
		case errors.Is(err, ErrStopUser):
			r.removeSelf(u)
			return groupStopped
		case u.ctx.Err() != nil:
			return groupStopped
		case errors.Is(err, ErrInterrupt):
			return groupLeft
		case err != nil:
			return groupFailed
		}
	}
	if g.WaitTime != nil {
		// A group's own constant_pacing counts from the group's entry; the
		// user's resumes when it leaves.
		lastRun, lastWait := uc.cpLastRun, uc.cpLastWait
		uc.cpLastRun, uc.cpLastWait = uc.now(), 0
		defer func() { uc.cpLastRun, uc.cpLastWait = lastRun, lastWait }()
	}
	exit := r.groupLoop(u, g)
	if g.OnStop != nil {
		ctx := u.ctx
		if exit == groupStopped {
			// As the class's on_stop: it runs after an interruption too,
			// only Close cancels it, and its requests are not scheduled.
			ctx = r.ctx
			uc.lag = 0
			unbind := u.http.bind(r.ctx)
			defer unbind()
		}
		err := uc.runFn(ctx, g.stopName, g.OnStop)
		u.http.endTask()
		switch {
		case exit == groupStopped:
		case errors.Is(err, ErrStopUser):
			r.removeSelf(u)
			exit = groupStopped
		case u.ctx.Err() != nil:
			exit = groupStopped
		}
		if errors.Is(err, ErrInterrupt) {
			r.misplacedInterrupt(uc, g.stopName)
		}
	}
	return exit
}

// groupLoop picks and runs the tasks of g until the user leaves it.
func (r *Runner) groupLoop(u *user, g *TaskGroup) groupExit {
	uc := &u.uc
	p := g.picker
	if p == nil || p.total == 0 {
		r.reportException("No tasks defined in a task group", fmt.Sprintf("user class %s: a task group has no tasks\n", uc.Class))
		return groupFailed
	}
	limit := g.Iterations
	if p.seq {
		limit *= p.total
	}
	pos, ran := 0, 0
	for {
		select {
		case <-u.soft:
			return groupStopped
		default:
		}
		if u.ctx.Err() != nil {
			return groupStopped
		}
		if limit > 0 && ran == limit {
			return groupLeft
		}
		ran++
		var n int
		if p.seq {
			n = p.seqNext(&pos)
		} else {
			n = uc.Rand.IntN(p.total)
		}
		t := p.pick(n)
		if r.correct {
			uc.beginTask()
		}
		if t.Group != nil {
			switch r.runGroup(u, t.Group) {
			case groupStopped:
				return groupStopped
			case groupLeft:
				continue
			}
		} else {
			uc.vars.iter++
			err := uc.runFn(u.ctx, t.Name, t.Fn)
			u.http.endTask()
			if errors.Is(err, ErrStopUser) {
				r.removeSelf(u)
				return groupStopped
			}
			if u.ctx.Err() != nil {
				return groupStopped
			}
			if errors.Is(err, ErrInterrupt) {
				return groupLeft
			}
			if r.iterationsDone(uc) {
				r.removeSelf(u) // WithIterations: the groups' on_stop run as at a stop
				return groupStopped
			}
		}
		w := g.WaitTime
		if w == nil {
			w = u.class.cfg.Load().wait
		}
		var wait time.Duration
		if w != nil {
			wait = r.waitTime(uc, w)
		}
		if !u.sleep(wait) {
			return groupStopped
		}
	}
}

// misplacedInterrupt reports ErrInterrupt returned outside a task group.
func (r *Runner) misplacedInterrupt(uc *UserContext, where string) {
	r.reportException(ErrInterrupt.Error()+" outside a task group",
		fmt.Sprintf("user class %s, %s: returned ErrInterrupt, which only a task of a task group may return\n", uc.Class, where))
}
