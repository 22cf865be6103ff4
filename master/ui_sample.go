package master

import (
	"slices"
	"strconv"
	"time"

	"github.com/glocust/glocust/protocol"
	"github.com/glocust/glocust/stats"
)

// The web UI's sample: what the dashboard reads from the master's state
// once per update interval, on the master's loop (inside Do). Everything
// else (history, encoding, the pages) works on the copy, off the loop.

// uiPercentiles are the percentiles the dashboard's chart history keeps
// for the Aggregated row: Locust's PERCENTILES_TO_CHART (stats.PercentilesToChart,
// which a Go program may change before it starts the master) and 50, 90,
// 95 and 99, so the page can chart any of them.
func uiPercentiles() []float64 {
	ps := append([]float64{0.5, 0.9, 0.95, 0.99}, stats.PercentilesToChart...)
	slices.Sort(ps)
	return slices.Compact(ps)
}

// uiRowColumns names the values of a row of the statistics table, in the
// order the dashboard sends them (the page finds them by these names).
func uiRowColumns(uncorrected bool) []string {
	cols := []string{"num_requests", "num_failures", "median_response_time"}
	for _, p := range stats.PercentilesToStatistics {
		cols = append(cols, pctKey("response_time_percentile_", p))
	}
	cols = append(cols, "avg_response_time", "min_response_time", "max_response_time", "avg_content_length",
		"current_rps", "current_fail_per_sec")
	if uncorrected {
		for _, p := range uncorrectedPercentiles {
			cols = append(cols, pctKey("uncorrected_percentile_", p))
		}
	}
	return cols
}

// uncorrectedPercentiles are the percentiles shown beside the corrected
// ones with --latency-correction.
var uncorrectedPercentiles = []float64{0.5, 0.95, 0.99}

func pctKey(prefix string, p float64) string {
	return prefix + strconv.FormatFloat(p, 'f', -1, 64)
}

// uiRow is one row of the statistics table: its values in uiRowColumns
// order, and its current (last 10 s) percentiles at stats.PercentilesToChart
// for the endpoint's own chart (NaN: unknown).
type uiRow struct {
	method, name string
	vals         []float64
	cur          []float64
}

// uiSample is one reading of the master's state.
type uiSample struct {
	now         time.Time
	state       string
	users       int64
	target      int
	rate        float64
	workerCount int
	host        string
	start, end  time.Time
	total       uiRow
	rows        []uiRow
	totalPct    []float64 // the Aggregated row's current percentiles at uiPercentiles (NaN: unknown)
	errSig      [2]int64  // number of error kinds and their occurrences: errors changed when it did
	errors      []protocol.StatsError
	exceptions  int
	workers     []WorkerDetail
	shape       string
	shapeRuns   bool // a load shape drives the test (the page offers no Edit, as Locust)
	thresholds  []uiThreshold
	classCounts map[string]int64
}

// uiThreshold is one threshold's verdict now.
type uiThreshold struct {
	expr, measured string
	pass           bool
}

// readRow fills a row of s's values. Without full only the values that
// cost no sorting are read (the percentiles are NaN): no page shows the
// table then, and the rates still feed the name's history.
func readRow(s *stats.Summary, now time.Time, ncols int, full bool, scratch []int64) uiRow {
	return readRowInto(s, now, make([]float64, ncols+len(stats.PercentilesToChart)), full, scratch)
}

// readRowInto is readRow with the row's memory given: buf holds its
// values and its current percentiles (len: columns + chart percentiles).
func readRowInto(s *stats.Summary, now time.Time, buf []float64, full bool, scratch []int64) uiRow {
	ncols := len(buf) - len(stats.PercentilesToChart)
	r := uiRow{method: s.Method, name: s.Name, vals: buf[:0:ncols], cur: buf[ncols:]}
	minRT := 0.0
	if s.HasMin {
		minRT = float64(properRound(s.MinResponseTime))
	}
	median := nan
	if full {
		median = s.Median()
	}
	r.vals = append(r.vals, float64(s.NumRequests), float64(s.NumFailures), median)
	for _, p := range stats.PercentilesToStatistics {
		v := nan
		if full {
			v = float64(s.Percentile(p))
		}
		r.vals = append(r.vals, v)
	}
	r.vals = append(r.vals, s.Avg(), minRT, float64(properRound(s.MaxResponseTime)), s.AvgContentLength(),
		s.CurrentRPS(now), s.CurrentFailPerSec(now))
	if !full || !s.CurrentPercentiles(stats.PercentilesToChart, now, scratch) {
		for i := range r.cur {
			r.cur[i] = nan
		}
		return r
	}
	for i := range r.cur {
		r.cur[i] = float64(scratch[i])
	}
	return r
}

// currentPercentiles is s's current percentile at each of ps (NaN when
// unknown).
func currentPercentiles(s *stats.Summary, ps []float64, now time.Time) []float64 {
	ms := make([]int64, len(ps))
	out := make([]float64, len(ps))
	ok := s.CurrentPercentiles(ps, now, ms)
	for i := range ps {
		out[i] = nan
		if ok {
			out[i] = float64(ms[i])
		}
	}
	return out
}

// readSample reads the state for the dashboard. It runs inside Do.
// errSig is the errors' signature of the previous sample: the errors are
// copied only when they changed. full reads every value of every row
// (a page is connected); otherwise the rows' percentiles are left out,
// the Aggregated row's are read.
func readSample(v *View, ncols int, errSig [2]int64, full bool) *uiSample {
	now := v.Now()
	agg := v.Stats()
	s := &uiSample{now: now, state: v.State(), users: v.UserCount(), target: v.TargetUserCount(),
		rate: v.SpawnRate(), workerCount: v.WorkerCount(), host: v.Host(), start: v.StartTime(), end: v.EndTime(),
		exceptions: v.Exceptions().Len(), workers: v.WorkerDetails(), classCounts: v.ClassCounts()}
	entries := agg.Entries()
	s.rows = make([]uiRow, len(entries))
	scratch := make([]int64, len(stats.PercentilesToChart))
	width := ncols + len(stats.PercentilesToChart)
	buf := make([]float64, len(entries)*width) // one allocation for every row
	for i, e := range entries {
		s.rows[i] = readRowInto(e, now, buf[i*width:(i+1)*width:(i+1)*width], full, scratch)
	}
	s.total = readRow(agg.Total(), now, ncols, true, scratch)
	s.totalPct = currentPercentiles(agg.Total(), uiPercentiles(), now)
	errs := agg.ErrorsByArrival()
	s.errSig[0] = int64(len(errs))
	for _, e := range errs {
		s.errSig[1] += e.Occurrences
	}
	if s.errSig != errSig {
		s.errors = errs
	}
	if info, ok := v.Shape(); ok {
		s.shape, s.shapeRuns = info.Summary(), info.Running
	}
	for _, r := range v.Thresholds() {
		s.thresholds = append(s.thresholds, uiThreshold{expr: r.Expr, measured: r.Measured(), pass: r.Pass})
	}
	return s
}
