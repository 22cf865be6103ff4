// Package shape is glocust's load shapes: Locust's LoadTestShape, run by the
// master. A Shape is a named tick function: once a second the master asks
// it for the target (users, spawn rate, optionally the user classes) given
// the time since the test started, the users the workers run and the merged
// stats, and dispatches a target that changed, as Locust 2.47's
// Runner.shape_worker does; a shape that answers "ended" stops the test.
//
// Shapes come from the YAML scenario (stages, and the built-in step and
// spike forms, all made of Stage values) or from Go code (Register, the
// counterpart of scenario.Register for user classes).
//
// Locust's rules that the master applies around a shape (master.Config.Shape,
// docs in README "Load shapes"): -u, -r and -t are ignored, with a warning,
// unless the shape uses the common options (UseCommonOptions); the end of
// the shape quits a headless run and stops, without quitting, one started
// from the web API; a tick is not taken while a ramp is under way (Locust's
// start blocks until the ramp is done).
//
// # Concurrency
//
// A Shape's Tick runs on the master's loop goroutine only, one call at a
// time; the *stats.Aggregate in Status belongs to that goroutine and is
// valid during the call only. The Shapes this package builds are
// immutable. Register, Registered and Lookup are safe for concurrent use.
package shape
