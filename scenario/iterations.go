package scenario

import "context"

// WithIterations bounds every user to n tasks (n > 0; 0: no bound): a
// user runs on_start, n tasks, then stops on its own and runs on_stop,
// without the wait after its last task. Tasks are counted as
// ${user.iteration} counts them, those inside task groups included; a
// user that reaches n inside groups leaves them as at a stop (each
// group's on_stop runs, innermost first), so a group without an
// interrupt or iterations ends too. A class without tasks stops its users
// at once. Runner.Wait waits for them.
func WithIterations(n int) RunnerOption {
	return func(r *Runner) { r.iterations = int64(max(n, 0)) }
}

// iterationsDone reports whether the user ran the tasks WithIterations
// allows.
func (r *Runner) iterationsDone(uc *UserContext) bool {
	return r.iterations > 0 && uc.vars.iter >= r.iterations
}

// Wait returns when no user of the runner is running (each stopped on
// its own or was stopped), or with ctx's error when ctx is done first.
func (r *Runner) Wait(ctx context.Context) error {
	r.mu.Lock()
	idle := r.idle
	r.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
