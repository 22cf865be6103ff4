// Command custom-shape shows glocust's Go API for load shapes: a shape
// written in Go (Locust's LoadTestShape.tick), registered with
// shape.Register, which a glocust master built from this program runs
// instead of -u/-r/-t.
//
// The shape ramps in steps of 10 users every 20 s up to 100, but holds
// whenever the test's 95th percentile is above 500 ms, and ends after
// 5 minutes. Run it as a standalone test of the scenario's classes:
//
//	go run ./examples/custom-shape -f scenario.yaml --headless
//
// or as the master of glocust or Locust workers (--master). A scenario
// may also name it: shape: {go: Backoff}.
package main

import (
	"os"
	"time"

	"github.com/glocust/glocust"
	"github.com/glocust/glocust/shape"
)

// backoff is the shape's tick: a function of the elapsed time, the users
// the workers run and the master's merged stats.
func backoff(st shape.Status) (shape.Target, bool) {
	if st.Elapsed >= 5*time.Minute {
		return shape.Target{}, false // the end: a headless run quits
	}
	users := min(10*(int(st.Elapsed/(20*time.Second))+1), 100)
	stage := "ramp"
	if st.Stats != nil && st.Stats.Total().Percentile(0.95) > 500 && st.Users > 0 {
		users, stage = int(st.Users), "hold (p95 > 500 ms)"
	}
	return shape.Target{Users: users, SpawnRate: 5, Stage: stage}, true
}

func main() {
	shape.Register(&shape.Shape{Name: "Backoff", Tick: backoff})
	os.Exit(glocust.Main(os.Args[1:]))
}
