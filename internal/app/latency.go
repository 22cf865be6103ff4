package app

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/glocust/glocust/internal/config"
	"github.com/glocust/glocust/master/report"
	"github.com/glocust/glocust/protocol"
	"github.com/glocust/glocust/scenario"
	"github.com/glocust/glocust/stats"
)

// uncorrected keeps the uncorrected copy of every request when
// --latency-correction is on: the runner records corrected times into the
// worker's registry (what the master sees) and raw ones here, so the two
// can be printed side by side at the end.
type uncorrected struct {
	reg      *stats.Registry
	maxNames int

	mu       sync.Mutex
	agg      *stats.Aggregate
	runStart time.Time // the test the aggregate counts (forRun)
}

// newUncorrected returns nil unless latency correction is on.
func newUncorrected(opts *config.Options, log *slog.Logger) *uncorrected {
	if !opts.LatencyCorrection {
		return nil
	}
	now := time.Now()
	// The cap's warnings are the corrected copy's: the same names fold here.
	quiet := slog.New(slog.DiscardHandler)
	return &uncorrected{
		reg:      stats.NewRegistry(stats.WithLogger(quiet), stats.WithClock(time.Now), stats.WithMaxNames(opts.MaxRequestNames)),
		agg:      stats.NewAggregate(now, stats.AggregateMaxNames(opts.MaxRequestNames)),
		maxNames: opts.MaxRequestNames,
	}
}

// runnerOptions turns correction on in a runner, with the raw copy here.
func (u *uncorrected) runnerOptions() []scenario.RunnerOption {
	if u == nil {
		return nil
	}
	return []scenario.RunnerOption{scenario.WithLatencyCorrection(
		scenario.StatsFunc(func(m, n string) scenario.EntryRecorder { return u.reg.Entry(m, n) }))}
}

// with folds what was recorded since the last call into the running
// aggregate and calls fn with it, under the lock that the dashboard's
// reads (master.WebConfig.Uncorrected) and the final outputs share; fn
// must not keep it.
func (u *uncorrected) with(now time.Time, fn func(*stats.Aggregate)) {
	u.mu.Lock()
	defer u.mu.Unlock()
	r := u.reg.Report(now)
	u.agg.Merge(&protocol.Stats{Stats: r.Entries, Total: r.Total, Errors: r.Errors}, now)
	fn(u.agg)
}

// forRun is with for the test that started at start (the dashboard's
// reads): a test that started after the one counted so far starts the
// aggregate over, as the master's stats start over, so the table's two
// sets of percentiles count the same test. What was recorded since the
// last read counts for the new test: the reads come every update
// interval, so the previous test's last requests were read before.
func (u *uncorrected) forRun(start, now time.Time, fn func(*stats.Aggregate)) {
	u.mu.Lock()
	if !start.Equal(u.runStart) {
		u.agg = stats.NewAggregate(now, stats.AggregateMaxNames(u.maxNames))
		u.runStart = start
	}
	u.mu.Unlock()
	u.with(now, fn)
}

// print writes the uncorrected request table and percentiles in Locust's
// console format, under a heading that says what they are.
func (u *uncorrected) print(w io.Writer, now time.Time) {
	if u == nil {
		return
	}
	u.with(now, func(a *stats.Aggregate) {
		fmt.Fprintln(w, "Latency correction (--latency-correction): the tables above measure each request from its intended start")
		fmt.Fprintln(w, "(coordinated omission corrected). The same requests measured from their actual send (uncorrected, as Locust measures):")
		report.PrintStats(w, a, now, false)
		report.PrintPercentiles(w, a)
	})
}

// writeCSV writes <prefix>_stats_uncorrected.csv in the _stats.csv format.
func (u *uncorrected) writeCSV(prefix string, now time.Time) error {
	if u == nil || prefix == "" {
		return nil
	}
	f, err := os.Create(prefix + "_stats_uncorrected.csv")
	if err != nil {
		return err
	}
	u.with(now, func(a *stats.Aggregate) { err = report.StatsCSV(f, a) })
	if err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
