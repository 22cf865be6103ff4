package master

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/glocust/glocust/master/report"
	"github.com/glocust/glocust/shape"
)

// The run's load shape (Config.Shape): Locust 2.47's Runner.start_shape and
// shape_worker, without the greenlet. The loop takes a tick whenever one is
// due and no dispatch is under way (Locust's start blocks through the ramp
// and the wait for reports, so its shape worker does not tick then), one
// second after the previous tick began.

// shapeTickInterval is the time between ticks (shape_worker's 1 s sleep,
// less the time the tick took).
const shapeTickInterval = time.Second

// maxShapeChanges bounds the changes kept for the report and /shape.
const maxShapeChanges = 10000

// ShapeChange is a target the shape set, when it set it.
type ShapeChange struct {
	Time      time.Time
	Elapsed   time.Duration
	Users     int
	SpawnRate float64
	Classes   []string
	Stage     string
}

// shapeRun is the state of the shape test (the shape worker's).
type shapeRun struct {
	on      bool          // a shape test runs (Locust: shape_greenlet is alive)
	start   time.Time     // reset_time
	ended   time.Duration // elapsed time at the end, once it ended
	next    time.Time     // the next tick
	common  shape.Common  // -u, -r, -t (or the web form's) for Status.Common
	cur     shape.Target  // the last answer, for displays
	hasLast bool          // last holds shape_last_tick
	last    shape.Target
	changes []ShapeChange
	// endedCh gets a value each time a shape test ends by itself (the shape
	// answered that it ended, or the start failed): Master.ShapeEnded.
	endedCh chan struct{}
}

// startShape is start_shape: the state goes back to ready (Locust's
// STATE_INIT, so the first start clears the stats) and the first tick is
// due at once. A shape test already running is left alone.
func (c *core) startShape(now time.Time, common shape.Common) {
	if c.cfg.Shape == nil || c.quitting {
		return
	}
	if c.shape.on {
		c.log.Info("There is an ongoing shape test running. Editing is disabled")
		return
	}
	c.log.Info("Shape test starting.")
	c.log.Info("Shape worker starting")
	c.setState(StateReady)
	c.adopted = false
	c.shape.on, c.shape.hasLast, c.shape.cur = true, false, shape.Target{}
	c.shape.start, c.shape.next, c.shape.common = now, now, common
	c.shape.changes = nil
}

// shapeDue reports whether a tick is due: a shape test runs, no ramp or
// wait for reports is under way, and a second passed since the last tick.
func (c *core) shapeDue(now time.Time) bool {
	return c.shape.on && !c.dispatching && !c.waitingReports && !now.Before(c.shape.next)
}

// shapeTick is one pass of shape_worker's loop.
func (c *core) shapeTick(now time.Time) {
	c.shape.next = now.Add(shapeTickInterval)
	st := shape.Status{Elapsed: now.Sub(c.shape.start), Users: c.reg.userCount(), Stats: c.agg, Common: c.shape.common}
	t, ok := c.cfg.Shape.Tick(st)
	if !ok {
		c.log.Info("Shape test stopping")
		c.endShape(now)
		return
	}
	c.shape.cur = t
	if c.shape.hasLast && t.Same(c.shape.last) {
		return
	}
	c.log.Info(fmt.Sprintf("Shape test updating to %d users at %.2f spawn rate", t.Users, t.SpawnRate))
	if err := c.startClasses(t.Users, t.SpawnRate, t.Classes); err != nil {
		// Locust's shape greenlet dies with the exception; the test goes on
		// without its shape. glocust stops it as at the shape's end.
		c.log.Error(fmt.Sprintf("Shape test stopped: the shape's target %d users at %v spawn rate (classes %v) failed: %v",
			t.Users, t.SpawnRate, t.Classes, err))
		c.endShape(now)
		return
	}
	c.shape.last, c.shape.hasLast = t, true
	if len(c.shape.changes) == maxShapeChanges {
		c.shape.changes = slices.Delete(c.shape.changes, 0, 1)
	}
	c.shape.changes = append(c.shape.changes, ShapeChange{Time: now, Elapsed: st.Elapsed, Users: t.Users,
		SpawnRate: t.SpawnRate, Classes: slices.Clone(t.Classes), Stage: t.Stage})
}

// endShape ends the shape test as shape_worker does when the tick returns
// None: a headless run quits, any other stops.
func (c *core) endShape(now time.Time) {
	c.shapeOff(now)
	c.endTest(now, c.shape.endedCh)
}

// endTest ends a test the master itself decided to end (the end of its
// shape, a threshold's abort): a headless master quits, another stops the
// test; ended gets a value (without blocking) for the application.
func (c *core) endTest(now time.Time, ended chan<- struct{}) {
	if c.cfg.Headless {
		c.quit(now)
	} else {
		c.stop(now, true)
	}
	select {
	case ended <- struct{}{}:
	default:
	}
}

// shapeOff ends the shape test without stopping the users (stop, quit and a
// plain start call it: Locust kills the shape greenlet there).
func (c *core) shapeOff(now time.Time) {
	if c.shape.on {
		c.shape.on = false
		c.shape.ended = now.Sub(c.shape.start)
	}
}

// ShapeInfo is the load shape's state for the web API, the console and the
// report.
type ShapeInfo struct {
	// Name and UseCommonOptions are the shape's.
	Name             string
	UseCommonOptions bool
	// Running: a shape test runs. Started: one ran since the master started.
	Running, Started bool
	// Elapsed is the shape's time (frozen at its end).
	Elapsed time.Duration
	// Target is the shape's last answer (zero before the first tick).
	Target shape.Target
	// Plan is the shape's stages when known in advance.
	Plan []shape.Stage
	// Changes are the targets set so far, oldest first.
	Changes []ShapeChange
}

// Shape returns the load shape's state; ok is false without a shape.
func (v *View) Shape() (info ShapeInfo, ok bool) {
	c := v.c
	s := c.cfg.Shape
	if s == nil {
		return ShapeInfo{}, false
	}
	info = ShapeInfo{Name: s.Name, UseCommonOptions: s.UseCommonOptions, Running: c.shape.on,
		Started: !c.shape.start.IsZero(), Target: c.shape.cur, Plan: s.Plan, Changes: c.shape.changes}
	switch {
	case c.shape.on:
		info.Elapsed = c.cfg.Now().Sub(c.shape.start)
	case info.Started:
		info.Elapsed = c.shape.ended
	}
	return info, true
}

// StageMarks are the shape's changes as marks for the report's users chart.
func (i ShapeInfo) StageMarks() []report.Mark {
	out := make([]report.Mark, 0, len(i.Changes))
	for _, ch := range i.Changes {
		label := fmt.Sprintf("%d users", ch.Users)
		if ch.Stage != "" {
			label = ch.Stage + ": " + label
		}
		out = append(out, report.Mark{Time: ch.Time, Label: label})
	}
	return out
}

// StartShape starts a test that follows the load shape (Locust's
// start_shape: POST /swarm, a headless or autostart run with a shape
// class); common are -u, -r and -t (or the web form's) for a shape that
// reads them. A shape test already running is not changed, as in Locust.
// It returns false, doing nothing, when the master has no shape.
func (m *Master) StartShape(common shape.Common) bool {
	var ok bool
	m.Do(func(v *View) {
		ok = v.c.cfg.Shape != nil
		v.c.startShape(v.c.cfg.Now(), common)
	})
	return ok
}

// ShapeEnded receives a value each time a shape test ends by itself: the
// shape answered that it ended (or its target could not be started). The
// master has then quit (Config.Headless) or stopped the test.
func (m *Master) ShapeEnded() <-chan struct{} { return m.c.shape.endedCh }

// NextChangeIn is the time until the shape's next change (false when it
// does not know or no shape test runs).
func (i ShapeInfo) NextChangeIn() (time.Duration, bool) {
	if !i.Running || i.Target.NextChange <= 0 {
		return 0, false
	}
	return max(i.Target.NextChange-i.Elapsed, 0), true
}

// Summary is the one-line state of the shape the console prints under its
// table: name, stage, target, next change.
func (i ShapeInfo) Summary() string {
	if !i.Running {
		state := "not started"
		if i.Started {
			state = fmt.Sprintf("ended after %s", roundSeconds(i.Elapsed))
		}
		return fmt.Sprintf("Load shape %s: %s", i.Name, state)
	}
	s := fmt.Sprintf("Load shape %s: %s", i.Name, roundSeconds(i.Elapsed))
	if i.Target.Stage != "" {
		s += ", " + i.Target.Stage
	}
	s += fmt.Sprintf(", target %d users at %.2f/s", i.Target.Users, i.Target.SpawnRate)
	if len(i.Target.Classes) > 0 {
		s += fmt.Sprintf(" (%s)", strings.Join(i.Target.Classes, ", "))
	}
	if in, ok := i.NextChangeIn(); ok {
		s += fmt.Sprintf(", next change in %s (at %s)", roundSeconds(in), roundSeconds(i.Target.NextChange))
	}
	return s
}

// roundSeconds rounds a time for the console: to the second, or to a
// tenth under a minute (stages may end at 1.5 s).
func roundSeconds(d time.Duration) time.Duration {
	if d < time.Minute {
		return d.Round(100 * time.Millisecond)
	}
	return d.Round(time.Second)
}

// ShapeJSON is the document of GET /shape.
func ShapeJSON(i ShapeInfo) map[string]any {
	secs := func(d time.Duration) float64 { return d.Seconds() }
	var next, nextIn any
	if in, ok := i.NextChangeIn(); ok {
		next, nextIn = secs(i.Target.NextChange), secs(in)
	}
	plan := make([]map[string]any, 0, len(i.Plan))
	for _, st := range i.Plan {
		plan = append(plan, map[string]any{"name": st.Name, "end": secs(st.End), "users": st.Users,
			"spawn_rate": st.SpawnRate, "user_classes": st.Classes})
	}
	changes := make([]map[string]any, 0, len(i.Changes))
	for _, ch := range i.Changes {
		changes = append(changes, map[string]any{"time": epochOf(ch.Time), "elapsed": secs(ch.Elapsed),
			"users": ch.Users, "spawn_rate": ch.SpawnRate, "user_classes": ch.Classes, "stage": ch.Stage})
	}
	doc := map[string]any{
		"name": i.Name, "use_common_options": i.UseCommonOptions, "running": i.Running, "started": i.Started,
		"elapsed": secs(i.Elapsed), "stage": i.Target.Stage, "stage_index": i.Target.StageIndex, "stages": i.Target.Stages,
		"target":      map[string]any{"users": i.Target.Users, "spawn_rate": i.Target.SpawnRate, "user_classes": i.Target.Classes},
		"next_change": next, "next_change_in": nextIn, "plan": plan, "changes": changes,
	}
	return doc
}
