package report

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/glocust/glocust/stats"
)

// statsCSVColumns is the header of P_stats.csv (StatsCSV.requests_csv_columns).
func statsCSVColumns() []string {
	cols := []string{"Type", "Name", "Request Count", "Failure Count", "Median Response Time",
		"Average Response Time", "Min Response Time", "Max Response Time", "Average Content Size",
		"Requests/s", "Failures/s"}
	return append(cols, readablePercentiles()...)
}

func readablePercentiles() []string {
	out := make([]string, len(stats.PercentilesToReport))
	for i, p := range stats.PercentilesToReport {
		out[i] = readablePercentile(p)
	}
	return out
}

// historyCSVColumns is the header of P_stats_history.csv.
func historyCSVColumns() []string {
	cols := append([]string{"Timestamp", "User Count", "Type", "Name", "Requests/s", "Failures/s"},
		readablePercentiles()...)
	return append(cols, "Total Request Count", "Total Failure Count", "Total Median Response Time",
		"Total Average Response Time", "Total Min Response Time", "Total Max Response Time",
		"Total Average Content Size")
}

var (
	failuresCSVColumns   = []string{"Method", "Name", "Error", "Occurrences", "First Seen", "Last Seen"}
	exceptionsCSVColumns = []string{"Count", "Message", "Traceback", "Nodes"}
)

// percentileFields is StatsCSV._percentile_fields: N/A without requests,
// else the cumulative percentiles, or with current the ones of the last
// ~10 s (0 when unknown).
func percentileFields(s *stats.Summary, current bool, now time.Time) []string {
	out := make([]string, len(stats.PercentilesToReport))
	for i, p := range stats.PercentilesToReport {
		switch {
		case s.NumRequests == 0:
			out[i] = "N/A"
		case current:
			v, _ := s.CurrentPercentile(p, now)
			out[i] = intStr(v)
		default:
			out[i] = intStr(s.Percentile(p))
		}
	}
	return out
}

func statsRows(c *csvWriter, a *stats.Aggregate) {
	for _, s := range append(a.Entries(), a.Total()) {
		row := []string{s.Method, s.Name, intStr(s.NumRequests), intStr(s.NumFailures), medianValue(s),
			pyRepr(s.Avg()), minValue(s), maxValue(s), avgContentLengthValue(s),
			pyRepr(s.TotalRPS()), pyRepr(s.TotalFailPerSec())}
		c.row(append(row, percentileFields(s, false, time.Time{})...)...)
	}
}

// utcStamp is Locust's format_utc_timestamp (seconds truncated).
func utcStamp(sec float64) string {
	return time.Unix(pyTrunc(sec), 0).UTC().Format("2006-01-02T15:04:05Z")
}

func failureRows(c *csvWriter, a *stats.Aggregate) {
	for _, e := range a.Errors() {
		first, last := "", ""
		if e.FirstSeen != 0 {
			first = utcStamp(e.FirstSeen)
		}
		if e.LastSeen != 0 {
			last = utcStamp(e.LastSeen)
		}
		c.row(e.Method, e.Name, e.Error, intStr(e.Occurrences), first, last)
	}
}

func exceptionRows(c *csvWriter, ex *Exceptions) {
	for _, e := range ex.List() {
		c.row(intStr(int64(e.Count)), e.Msg, e.Traceback, strings.Join(e.Nodes, ", "))
	}
}

func historyRows(c *csvWriter, a *stats.Aggregate, now time.Time, userCount int64, full bool) {
	var entries []*stats.Summary
	if full {
		entries = a.Entries()
	}
	ts := intStr(now.Unix())
	for _, s := range append(entries, a.Total()) {
		row := []string{ts, intStr(userCount), s.Method, s.Name,
			fmt.Sprintf("%2f", s.CurrentRPS(now)), fmt.Sprintf("%2f", s.CurrentFailPerSec(now))}
		row = append(row, percentileFields(s, full, now)...)
		row = append(row, intStr(s.NumRequests), intStr(s.NumFailures), medianValue(s), pyRepr(s.Avg()),
			minValue(s), maxValue(s), avgContentLengthValue(s))
		c.row(row...)
	}
}

func write(w io.Writer, c *csvWriter) error {
	if _, err := io.WriteString(w, c.String()); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return nil
}

// StatsCSV writes the content of Locust's P_stats.csv (and
// /stats/requests/csv): entries sorted by (name, method), then Aggregated.
func StatsCSV(w io.Writer, a *stats.Aggregate) error {
	var c csvWriter
	c.row(statsCSVColumns()...)
	statsRows(&c, a)
	return write(w, &c)
}

// FailuresCSV writes the content of P_failures.csv (and
// /stats/failures/csv): errors sorted by key.
func FailuresCSV(w io.Writer, a *stats.Aggregate) error {
	var c csvWriter
	c.row(failuresCSVColumns...)
	failureRows(&c, a)
	return write(w, &c)
}

// ExceptionsCSV writes the content of P_exceptions.csv (and
// /exceptions/csv), groups in first-seen order, nodes sorted.
func ExceptionsCSV(w io.Writer, ex *Exceptions) error {
	var c csvWriter
	c.row(exceptionsCSVColumns...)
	exceptionRows(&c, ex)
	return write(w, &c)
}

// HistoryCSVHeader writes the header of P_stats_history.csv; HistoryCSVRows
// writes one sample of it (the Aggregated row, preceded with full by one
// row per entry with current percentiles).
func HistoryCSVHeader(w io.Writer) error {
	var c csvWriter
	c.row(historyCSVColumns()...)
	return write(w, &c)
}

// HistoryCSVRows: see HistoryCSVHeader.
func HistoryCSVRows(w io.Writer, a *stats.Aggregate, now time.Time, userCount int64, full bool) error {
	var c csvWriter
	historyRows(&c, a, now, userCount, full)
	return write(w, &c)
}
