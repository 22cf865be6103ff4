package master

import (
	"fmt"
	"time"

	"github.com/glocust/glocust/master/report"
	"github.com/glocust/glocust/threshold"
)

// The run's thresholds (Config.Thresholds): judged on the merged stats
// whenever asked (View.Thresholds: /thresholds, /metrics, the report and
// the exit code), and once a second while a test runs for those with
// AbortOnFail, which stop it when they fail after their grace period.

// abortState is what a threshold with AbortOnFail did in the current test.
type abortState struct {
	aborted bool
	after   time.Duration // since the test's start
	value   float64
}

// judge stops the test when a threshold with AbortOnFail fails once its
// grace has passed: a headless master quits, another stops the test (as
// at the end of a shape). It runs on the heartbeat tick.
func (c *core) judge(now time.Time) {
	if !c.abortable || c.quitting || c.started.IsZero() || (c.state != StateSpawning && c.state != StateRunning) {
		return
	}
	elapsed := now.Sub(c.started)
	for i, th := range c.cfg.Thresholds {
		if !th.AbortOnFail || elapsed < th.Grace {
			continue
		}
		v, ok := th.Measure(c.agg)
		if !ok || th.Holds(v) {
			continue
		}
		c.aborts[i] = abortState{aborted: true, after: elapsed, value: v}
		c.log.Error(fmt.Sprintf("Threshold %q on %s failed after %s: %s. Stopping the test (abort_on_fail).",
			th.Expr, th.Scope(), elapsed.Round(time.Second), th.Format(v)))
		c.endTest(now, c.abortCh)
		return
	}
}

// resetAborts forgets what the thresholds did in the previous test.
func (c *core) resetAborts() { clear(c.aborts) }

// Thresholds judges the thresholds on the merged stats now. A threshold
// that stopped the test fails, with the value and time it stopped it at.
func (v *View) Thresholds() []threshold.Result {
	c := v.c
	rs := threshold.Evaluate(c.cfg.Thresholds, c.agg)
	for i := range rs {
		if a := c.aborts[i]; a.aborted {
			rs[i].Aborted, rs[i].AbortedAfter, rs[i].AbortValue, rs[i].Pass = true, a.after, a.value, false
		}
	}
	return rs
}

// ThresholdAborted receives a value each time a threshold with AbortOnFail
// stopped a test (a headless master has then quit).
func (m *Master) ThresholdAborted() <-chan struct{} { return m.c.abortCh }

// ResultJSON is one threshold's verdict in /thresholds and --summary-json.
func ResultJSON(r threshold.Result) map[string]any {
	var value, name, method any
	if r.HasData {
		value = r.Value
	}
	if r.Name != "" {
		name = r.Name
	}
	if r.Method != "" {
		method = r.Method
	}
	d := map[string]any{
		"threshold": r.Expr, "scope": r.Scope(), "name": name, "method": method, "op": r.Op.String(), "limit": r.Limit,
		"value": value, "measured": r.Measured(), "pass": r.Pass, "verdict": r.Verdict(), "source": r.Source,
		"abort_on_fail": r.AbortOnFail, "grace": r.Grace.Seconds(), "aborted": r.Aborted,
	}
	if r.Aborted {
		d["aborted_after"] = r.AbortedAfter.Seconds()
	}
	return d
}

// ThresholdsJSON is GET /thresholds: every threshold's verdict now.
func ThresholdsJSON(rs []threshold.Result) map[string]any {
	list := make([]map[string]any, 0, len(rs))
	for _, r := range rs {
		list = append(list, ResultJSON(r))
	}
	verdict := "pass"
	if threshold.Failed(rs) {
		verdict = "fail"
	}
	return map[string]any{"verdict": verdict, "thresholds": list}
}

// ReportChecks are the thresholds' rows of the HTML report and the console.
func ReportChecks(rs []threshold.Result) []report.Check {
	out := make([]report.Check, 0, len(rs))
	for _, r := range rs {
		out = append(out, report.Check{Verdict: r.Verdict(), Threshold: r.Expr, Scope: r.Scope(), Measured: r.Measured(),
			Source: r.Source, Pass: r.Pass})
	}
	return out
}
