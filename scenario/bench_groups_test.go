package scenario

import (
	"context"
	"testing"
)

// BenchmarkGroupLoop is BenchmarkUserLoop's no-op task inside a task
// group the user never leaves ("group"), and beside a second no-op task in
// a sequential class ("sequential").
func BenchmarkGroupLoop(b *testing.B) {
	noop := func(context.Context, *UserContext) error { return nil }
	b.Run("group", func(b *testing.B) {
		benchLoop(b, "", func(t Task) *Class {
			return &Class{Name: "B", Tasks: []Task{{Name: "g", Group: &TaskGroup{Tasks: []Task{t}}}}}
		})
	})
	b.Run("sequential", func(b *testing.B) {
		benchLoop(b, "", func(t Task) *Class {
			return &Class{Name: "B", Sequential: true, Tasks: []Task{t, {Name: "n", Fn: noop}}}
		})
	})
}
