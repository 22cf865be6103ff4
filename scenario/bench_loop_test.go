package scenario

import (
	"context"
	"testing"
)

// BenchmarkUserLoop measures one user's task loop (no wait time), b.N
// tasks per run: "noop" is a task that does nothing (the loop's own cost:
// picking, running and waiting), "request" the YAML scenario's untemplated
// single-request task against a loopback server.
func BenchmarkUserLoop(b *testing.B) {
	b.Run("noop", func(b *testing.B) {
		benchLoop(b, &Class{Name: "B", Tasks: []Task{{Fn: func(context.Context, *UserContext) error { return nil }}}}, "")
	})
	b.Run("request", func(b *testing.B) {
		host := loopbackServer(b)
		sc, err := Parse("bench.yaml", []byte("users:\n  - class: B\n    tasks:\n      - request: {path: /bench, headers: {Accept: text/plain}}\n"))
		if err != nil {
			b.Fatal(err)
		}
		benchLoop(b, sc.Classes[0], host)
	})
}

// benchLoop runs one user of c for b.N tasks: the task stops the user
// after its b.N-th run.
func benchLoop(b *testing.B, c *Class, host string) {
	cp := *c
	fn := c.Tasks[0].Fn
	n := 0
	done := make(chan struct{})
	cp.Tasks = []Task{{Name: "t", Fn: func(ctx context.Context, u *UserContext) error {
		err := fn(ctx, u)
		if n++; n == b.N {
			close(done)
			return ErrStopUser
		}
		return err
	}}}
	r := NewRunner([]*Class{&cp}, newBenchStats(), WithHost(host))
	defer r.Close()
	b.ReportAllocs()
	b.ResetTimer()
	r.Apply(counts("B", 1))
	<-done
	r.StopAll(context.Background(), 0) // the user removed itself: waits for its exit
	b.StopTimer()
	if n != b.N {
		b.Fatalf("ran %d tasks, want %d", n, b.N)
	}
}
