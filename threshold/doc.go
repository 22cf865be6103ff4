// Package threshold is glocust's pass/fail criteria: thresholds on the
// master's merged stats (k6's thresholds, locust-plugins' --check-rps,
// --check-fail-ratio and --check-avg-response-time), whose verdict is the
// exit code.
//
// A Threshold compares one metric of all requests (Locust's Aggregated row)
// or of the requests of one name (and method) with a limit: a response
// time percentile (p50, p95, p99.9, p100...), the median, average, minimum
// or maximum response time (ms), the failure ratio, failures per second or
// requests per second over the test (Locust's fail_ratio, total_fail_per_sec
// and total_rps). Parse reads the expression form ("p95 < 500",
// "fail_ratio <= 1%", "rps >= 100"); Measure and Evaluate read a
// stats.Aggregate. They are evaluated on the master's merged stats, never on
// one worker's: percentiles come from the merged response-time buckets, rates
// from the merged counts over the test's time.
//
// A threshold with AbortOnFail stops the run as soon as it fails once its
// Grace has passed since the test started (k6's abortOnFail and
// delayAbortEval); the master does that check once a second.
//
// # Concurrency
//
// Threshold and Result are values. Measure and Evaluate read a
// stats.Aggregate, so they run on the goroutine that owns it (the master's
// loop, inside master.Master.Do).
package threshold
