package report

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/glocust/glocust/stats"
)

// Console widths of Locust's tables when stdout is not a terminal
// (STATS_NAME_WIDTH 80, STATS_TYPE_WIDTH 8); glocust never shrinks them.
const (
	statsNameWidth = 80
	statsTypeWidth = 8
	nameColWidth   = statsNameWidth - statsTypeWidth + 4
)

// PrintStats writes Locust's print_stats table (the periodic console stats
// and, with current false, the final summary's first table), followed by an
// empty line. current selects current_rps/current_fail_per_sec over the
// totals per run second.
func PrintStats(w io.Writer, a *stats.Aggregate, now time.Time, current bool) {
	var b strings.Builder
	fmt.Fprintf(&b, "%-*s %-*s %7s %12s |%7s %7s %7s%7s | %7s %11s\n", statsTypeWidth, "Type", nameColWidth, "Name",
		"# reqs", "# fails", "Avg", "Min", "Max", "Med", "req/s", "failures/s")
	sep := strings.Repeat("-", statsTypeWidth) + "|" + strings.Repeat("-", nameColWidth) + "|" +
		strings.Repeat("-", 7) + "|" + strings.Repeat("-", 13) + "|" + strings.Repeat("-", 7) + "|" +
		strings.Repeat("-", 7) + "|" + strings.Repeat("-", 7) + "|" + strings.Repeat("-", 7) + "|" +
		strings.Repeat("-", 8) + "|" + strings.Repeat("-", 11) + "\n"
	b.WriteString(sep)
	for _, s := range a.Entries() {
		statsLine(&b, s, now, current)
	}
	b.WriteString(sep)
	statsLine(&b, a.Total(), now, current)
	b.WriteString("\n")
	io.WriteString(w, b.String())
}

// statsLine is StatsEntry.to_string.
func statsLine(b *strings.Builder, s *stats.Summary, now time.Time, current bool) {
	var rps, fps float64
	if current {
		rps, fps = s.CurrentRPS(now), s.CurrentFailPerSec(now)
	} else {
		rps, fps = s.TotalRPS(), s.TotalFailPerSec()
	}
	typ := ""
	if s.Method != "" {
		typ = s.Method + " "
	}
	var minRT float64
	if s.HasMin {
		minRT = s.MinResponseTime
	}
	fails := fmt.Sprintf("%d(%.2f%%)", s.NumFailures, s.FailRatio()*100)
	fmt.Fprintf(b, "%-*s %-*s %7d %12s |%7d %7d %7d%7d | %7.2f %11.2f\n", statsTypeWidth, typ, nameColWidth, s.Name,
		s.NumRequests, fails, pyTrunc(s.Avg()), pyTrunc(minRT), pyTrunc(s.MaxResponseTime), pyTrunc(s.Median()),
		rps, fps)
}

// readablePercentile is Locust's get_readable_percentiles for one value:
// "50%", "99.9%".
func readablePercentile(p float64) string {
	x := p * 100
	if x == math.Trunc(x) {
		return strconv.FormatInt(int64(x), 10) + "%"
	}
	return pyRepr(math.RoundToEven(x*1e6)/1e6) + "%"
}

// PrintPercentiles writes Locust's print_percentile_stats table, followed
// by an empty line. Rows without response times are left out.
func PrintPercentiles(w io.Writer, a *stats.Aggregate) {
	var b strings.Builder
	b.WriteString("Response time percentiles (approximated)\n")
	fmt.Fprintf(&b, "%-*s %-*s", statsTypeWidth, "Type", statsNameWidth, "Name")
	for i, p := range stats.PercentilesToReport {
		width := 6
		if i == 0 {
			width = 8
		}
		fmt.Fprintf(&b, " %*s", width, readablePercentile(p))
	}
	b.WriteString(" # reqs\n")
	sep := strings.Repeat("-", statsTypeWidth) + "|" + strings.Repeat("-", statsNameWidth) + "|" +
		strings.Repeat("-", 8) + "|" + strings.Repeat("------|", len(stats.PercentilesToReport))
	sep = sep[:len(sep)-1] + "\n"
	b.WriteString(sep)
	for _, s := range a.Entries() {
		if s.ResponseTimes.Len() > 0 {
			percentileLine(&b, s)
		}
	}
	b.WriteString(sep)
	if t := a.Total(); t.ResponseTimes.Len() > 0 {
		percentileLine(&b, t)
	}
	b.WriteString("\n")
	io.WriteString(w, b.String())
}

// percentileLine is StatsEntry.percentile.
func percentileLine(b *strings.Builder, s *stats.Summary) {
	fmt.Fprintf(b, "%-*s %-*s", statsTypeWidth, s.Method, statsNameWidth, s.Name)
	for i, p := range stats.PercentilesToReport {
		width := 6
		if i == 0 {
			width = 8
		}
		fmt.Fprintf(b, " %*d", width, s.Percentile(p))
	}
	fmt.Fprintf(b, " %6d\n", s.NumRequests)
}

// PrintErrors writes Locust's print_error_report (nothing without errors),
// errors in arrival order.
func PrintErrors(w io.Writer, a *stats.Aggregate) {
	errs := a.ErrorsByArrival()
	if len(errs) == 0 {
		return
	}
	var b strings.Builder
	b.WriteString("Error report\n")
	fmt.Fprintf(&b, "%-18s %-100s\n", "# occurrences", "Error")
	sep := strings.Repeat("-", 18) + "|" + strings.Repeat("-", statsNameWidth+80-19) + "\n"
	b.WriteString(sep)
	for _, e := range errs {
		fmt.Fprintf(&b, "%-18d %-100s\n", e.Occurrences, errorName(e.Method, e.Name, e.Error))
	}
	b.WriteString(sep)
	b.WriteString("\n")
	io.WriteString(w, b.String())
}

// errorName is StatsError.to_name for a string error: "METHOD name: error"
// with a CatchResponseError(...) wrapper removed.
func errorName(method, name, err string) string {
	const wrap = "CatchResponseError("
	if strings.HasPrefix(err, wrap) {
		if len(err) > len(wrap) {
			err = err[len(wrap) : len(err)-1]
		} else {
			err = ""
		}
	}
	return method + " " + name + ": " + err
}

// PrintSummary writes what Locust prints when it quits: the stats table
// with totals per run second, the percentile table and the error report.
func PrintSummary(w io.Writer, a *stats.Aggregate, now time.Time) {
	PrintStats(w, a, now, false)
	PrintPercentiles(w, a)
	PrintErrors(w, a)
}
