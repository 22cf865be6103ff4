package scenario

import "context"

// WithIterations bounds every user to n tasks (n > 0; 0: no bound): a
// user runs on_start, n tasks, then stops on its own and runs on_stop,
// without the wait after its last task. A class without tasks stops its
// users at once. Runner.Wait waits for them.
func WithIterations(n int) RunnerOption {
	return func(r *Runner) { r.iterations = int64(max(n, 0)) }
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
