// Package report computes Locust's outputs from the master's merged stats
// (a stats.Aggregate): the console tables (print_stats,
// print_percentile_stats, print_error_report and the summary printed at
// quit), the CSV files of --csv and the /stats/*/csv endpoints, the
// --json output, and a self-contained HTML report with charts; beyond
// Locust, the report's Thresholds section and the console's thresholds
// table (PrintChecks), and the load shape's changes marked on the users
// chart (RunInfo.Marks).
//
// Locust 2.47 (locust/stats.py, locust/html.py) is the reference, and
// every output Locust defines byte for byte is checked against golden
// files that Locust's own code writes (testdata/gen_golden.py): Python
// float repr, csv.writer quoting and "\r\n" line ends, console column
// widths (STATS_NAME_WIDTH 80, as when stdout is not a terminal), UTC
// timestamps. Documented differences, all orders Locust leaves to dict or
// set arrival: exception nodes are sorted; --json lists entries sorted by
// (name, method) and bucket keys ascending. The wire decoder does not keep
// whether a response time was a Python int or float; timed entries are
// printed as floats (what Locust and glocust workers send).
//
// # Concurrency
//
// stats.Aggregate is owned by one goroutine (the master's stats loop).
// Every function here that takes an Aggregate (PrintStats, PrintPercentiles,
// PrintErrors, PrintSummary, StatsCSV, FailuresCSV, HistoryCSVRows, JSON,
// HTML, History.Add, CSVFiles.Write) reads it and its Summaries, which
// change on the next Merge or Reset: call them from that goroutine, or
// hold whatever lock serialises access to it. They never modify it.
//
// Exceptions and History are safe for concurrent use: the message loop may
// Add exceptions while an HTTP handler lists them. CSVFiles serialises its
// own methods (Write, Close) with a mutex; Write still reads the Aggregate
// under the rule above. Nothing here starts goroutines; the caller owns
// the once-per-second CSV and history ticks and their stop.
package report
