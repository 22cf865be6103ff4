package scenario

import (
	"context"
	"testing"
)

// BenchmarkUserLoop measures one user's task loop (no wait time), b.N
// tasks per run: "noop" is a task that does nothing (the loop's own cost:
// picking, running and waiting), "request" the YAML scenario's untemplated
// single-request task against a loopback server. BenchmarkGroupLoop
// (bench_groups_test.go) is the same inside a task group.
func BenchmarkUserLoop(b *testing.B) {
	b.Run("noop", func(b *testing.B) {
		benchLoop(b, "", func(t Task) *Class { return &Class{Name: "B", Tasks: []Task{t}} })
	})
	b.Run("request", func(b *testing.B) {
		host := loopbackServer(b)
		sc, err := Parse("bench.yaml", []byte("users:\n  - class: B\n    tasks:\n      - request: {path: /bench, headers: {Accept: text/plain}}\n"))
		if err != nil {
			b.Fatal(err)
		}
		req := sc.Classes[0].Tasks[0].Fn
		benchLoop(b, host, func(t Task) *Class {
			count := t.Fn
			return &Class{Name: "B", Tasks: []Task{{Name: "t", Fn: func(ctx context.Context, u *UserContext) error {
				req(ctx, u)
				return count(ctx, u)
			}}}}
		})
	})
}

// benchLoop runs one user of the class build makes around a counting task
// until that task ran b.N times: it then stops the user.
func benchLoop(b *testing.B, host string, build func(Task) *Class) {
	n := 0
	done := make(chan struct{})
	c := build(Task{Name: "t", Fn: func(context.Context, *UserContext) error {
		if n++; n == b.N {
			close(done)
			return ErrStopUser
		}
		return nil
	}})
	r := NewRunner([]*Class{c}, newBenchStats(), WithHost(host))
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
