// Command busyworker is glocust with one more user class, Busy, whose task
// keeps a core busy for 50 ms and records it as a request: a load
// generator saturated by its own work, for the tests of the CPU warning.
package main

import (
	"context"
	"os"
	"time"

	"github.com/glocust/glocust"
	"github.com/glocust/glocust/scenario"
)

func spin(ctx context.Context, u *scenario.UserContext) error {
	start := time.Now()
	for time.Since(start) < 50*time.Millisecond && ctx.Err() == nil {
	}
	u.Record("SPIN", "busy", time.Since(start), 0, nil)
	return nil
}

func main() {
	scenario.Register(&scenario.Class{Name: "Busy", Weight: 1, Tasks: []scenario.Task{{Name: "spin", Fn: spin}}})
	os.Exit(glocust.Main(os.Args[1:]))
}
