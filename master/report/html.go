package report

import (
	"fmt"
	"html/template"
	"io"
	"strings"
	"time"

	"github.com/glocust/glocust/stats"
)

// RunInfo describes the run for the HTML report. Zero values are shown as
// unknown; a zero Start/End falls back to the Aggregated row's start time
// and last request time, as in Locust's report.
type RunInfo struct {
	Locustfile, Host string
	Start, End       time.Time
	UserCount        int64
	State            string
	WorkerCount      int
	UserClasses      []string
	// Marks are the load shape's stage boundaries, drawn on the users
	// chart.
	Marks []Mark
	// Shape names the load shape ("" without one).
	Shape string
	// Checks are the run's thresholds and their verdicts.
	Checks []Check
	// RunID and Profile identify the run (master.Run); "" hides them.
	RunID, Profile string
}

// Check is one threshold's row in the report.
type Check struct {
	Verdict, Threshold, Scope, Measured, Source string
	Pass                                        bool
}

// PercentilesForHTMLReport are the percentiles of the report's response
// time table (Locust's PERCENTILES_FOR_HTML_REPORT).
var PercentilesForHTMLReport = []float64{0.50, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 1.0}

type htmlRow struct {
	Method, Name                string
	Requests, Failures          int64
	FailPct                     string
	Median, Avg, Min, Max, Size string
	RPS, FPS                    string
	Percentiles                 []int64
	Total                       bool
}

type htmlFailure struct {
	Method, Name, Error string
	Occurrences         int64
	FirstSeen, LastSeen string
}

type htmlData struct {
	Info                 RunInfo
	Start, End, Duration string
	Host, Locustfile     string
	Classes              string
	Rows                 []htmlRow
	PercentileHeads      []string
	Failures             []htmlFailure
	Exceptions           []Exception
	RPSChart, RTChart    template.HTML
	UsersChart           template.HTML
	Generated            string
}

// formatDuration is Locust's format_duration: "1 hour and 2 minutes".
func formatDuration(d time.Duration) string {
	sec := int64(d / time.Second)
	parts := []string{}
	for _, u := range []struct {
		v    int64
		name string
	}{{sec / 86400, "day"}, {sec % 86400 / 3600, "hour"}, {sec % 3600 / 60, "minute"}, {sec % 60, "second"}} {
		if u.v > 0 {
			s := fmt.Sprintf("%d %s", u.v, u.name)
			if u.v != 1 {
				s += "s"
			}
			parts = append(parts, s)
		}
	}
	switch len(parts) {
	case 0:
		return "0 seconds"
	case 1:
		return parts[0]
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " and " + parts[len(parts)-1]
}

func floatSeconds(s float64) time.Time {
	sec := int64(s)
	return time.Unix(sec, int64((s-float64(sec))*1e9))
}

func orUnknown(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

// HTML writes a self-contained HTML report of the run (Locust's --html and
// /stats/report): run info, request statistics, response time percentiles,
// failures, exceptions and charts of the history (inline SVG; no scripts,
// no external resources). h and ex may be nil. It reads a, so call it from
// the goroutine that owns a.
func HTML(w io.Writer, a *stats.Aggregate, ex *Exceptions, h *History, info RunInfo) error {
	tot := a.Total()
	start, end := info.Start, info.End
	if start.IsZero() {
		start = floatSeconds(tot.StartTime)
	}
	if end.IsZero() {
		end = start
		if tot.LastRequestTimestamp != 0 {
			end = floatSeconds(tot.LastRequestTimestamp)
		}
	}
	d := htmlData{
		Info:       info,
		Start:      start.UTC().Format("2006-01-02 15:04:05 UTC"),
		End:        end.UTC().Format("2006-01-02 15:04:05 UTC"),
		Duration:   formatDuration(end.Sub(start)),
		Host:       orUnknown(info.Host),
		Locustfile: orUnknown(info.Locustfile),
		Classes:    orUnknown(strings.Join(info.UserClasses, ", ")),
		Exceptions: ex.List(),
		Generated:  time.Now().UTC().Format("2006-01-02 15:04:05 UTC"),
	}
	for _, p := range PercentilesForHTMLReport {
		d.PercentileHeads = append(d.PercentileHeads, readablePercentile(p))
	}
	for _, s := range append(a.Entries(), tot) {
		r := htmlRow{
			Method: s.Method, Name: s.Name, Requests: s.NumRequests, Failures: s.NumFailures,
			FailPct: fmt.Sprintf("%.1f%%", s.FailRatio()*100),
			Median:  fmt.Sprintf("%d", pyTrunc(s.Median())),
			Avg:     fmt.Sprintf("%.2f", s.Avg()),
			Min:     "0", Max: fmt.Sprintf("%.0f", s.MaxResponseTime),
			Size: fmt.Sprintf("%.0f", s.AvgContentLength()),
			RPS:  fmt.Sprintf("%.2f", s.TotalRPS()), FPS: fmt.Sprintf("%.2f", s.TotalFailPerSec()),
			Total: s == tot,
		}
		if s.HasMin {
			r.Min = fmt.Sprintf("%.0f", s.MinResponseTime)
		}
		for _, p := range PercentilesForHTMLReport {
			r.Percentiles = append(r.Percentiles, s.Percentile(p))
		}
		d.Rows = append(d.Rows, r)
	}
	for _, e := range a.Errors() {
		f := htmlFailure{Method: e.Method, Name: e.Name, Error: e.Error, Occurrences: e.Occurrences}
		if e.FirstSeen != 0 {
			f.FirstSeen = utcStamp(e.FirstSeen)
		}
		if e.LastSeen != 0 {
			f.LastSeen = utcStamp(e.LastSeen)
		}
		d.Failures = append(d.Failures, f)
	}
	pts := thin(h.Points())
	times := make([]time.Time, len(pts))
	col := func(f func(Point) float64) []float64 {
		out := make([]float64, len(pts))
		for i, p := range pts {
			out[i] = f(p)
		}
		return out
	}
	for i, p := range pts {
		times[i] = p.Time
	}
	d.RPSChart = svgChart("Total requests per second", "per second", times, []series{
		{"RPS", "#00ca5a", col(func(p Point) float64 { return p.RPS })},
		{"Failures/s", "#ff6d6d", col(func(p Point) float64 { return p.FailPerSec })},
	}, nil)
	d.RTChart = svgChart("Response times (ms)", "ms", times, []series{
		{"50th percentile", "#9966cc", col(func(p Point) float64 { return p.P50 })},
		{"95th percentile", "#ff9f40", col(func(p Point) float64 { return p.P95 })},
	}, nil)
	d.UsersChart = svgChart("Number of users", "users", times, []series{
		{"Users", "#3b82f6", col(func(p Point) float64 { return float64(p.Users) })},
	}, info.Marks)
	if err := reportTemplate.Execute(w, d); err != nil {
		return fmt.Errorf("report: html: %w", err)
	}
	return nil
}

var reportTemplate = template.Must(template.New("report").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Test Report for {{.Locustfile}}</title>
<style>
:root { --fg:#1d2433; --muted:#5b6478; --line:#e3e7ef; --bg:#f6f8fb; --card:#fff; --accent:#00a14b; --bad:#d93b3b; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.45 -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; color:var(--fg); background:var(--bg); }
header { background:#1d2433; color:#fff; padding:18px 32px; }
header h1 { margin:0; font-size:20px; font-weight:600; }
header .sub { color:#aeb6c8; font-size:13px; margin-top:2px; }
main { max-width:1400px; margin:0 auto; padding:20px 32px 40px; }
section { background:var(--card); border:1px solid var(--line); border-radius:8px; padding:16px 20px; margin:0 0 20px; overflow-x:auto; }
h2 { font-size:16px; margin:0 0 12px; }
dl.info { display:grid; grid-template-columns:max-content 1fr max-content 1fr; gap:6px 18px; margin:0; }
dl.info dt { color:var(--muted); }
dl.info dd { margin:0; font-weight:500; word-break:break-all; }
table { border-collapse:collapse; width:100%; font-variant-numeric:tabular-nums; }
th, td { padding:6px 10px; border-bottom:1px solid var(--line); text-align:right; white-space:nowrap; }
th { font-weight:600; color:var(--muted); background:#fafbfd; position:sticky; top:0; }
th.l, td.l { text-align:left; }
td.name { white-space:normal; word-break:break-all; min-width:160px; }
tr.total td { font-weight:600; border-top:2px solid var(--line); }
td.bad { color:var(--bad); }
td.pass { color:var(--accent); font-weight:600; }
td.l.bad { font-weight:600; }
td.err { text-align:left; white-space:pre-wrap; word-break:break-word; }
pre { margin:0; white-space:pre-wrap; word-break:break-word; font:12px/1.4 ui-monospace, Menlo, Consolas, monospace; }
.none { color:var(--muted); }
svg.chart { width:100%; height:auto; display:block; margin:6px 0 14px; }
svg .ct { font-size:14px; font-weight:600; fill:var(--fg); }
svg .lg, svg .ax { font-size:11px; fill:var(--muted); }
svg .empty { font-size:14px; fill:var(--muted); }
svg .grid { stroke:var(--line); stroke-width:1; }
svg .axis { stroke:#b8c0cf; stroke-width:1; }
svg .markline { stroke:#7a5af8; stroke-width:1; stroke-dasharray:4 3; }
svg .marklabel { font-size:10px; fill:#7a5af8; }
footer { color:var(--muted); font-size:12px; text-align:center; }
</style>
</head>
<body>
<header>
<h1>Locust Test Report</h1>
<div class="sub">glocust · {{.Start}} – {{.End}} ({{.Duration}})</div>
</header>
<main>
<section>
<h2>Run</h2>
<dl class="info">
{{- if .Info.RunID}}
<dt>Run ID</dt><dd>{{.Info.RunID}}</dd>
{{- end}}
{{- if .Info.Profile}}
<dt>Profile</dt><dd>{{.Info.Profile}}</dd>
{{- end}}
<dt>Target host</dt><dd>{{.Host}}</dd>
<dt>Locustfile</dt><dd>{{.Locustfile}}</dd>
<dt>Start</dt><dd>{{.Start}}</dd>
<dt>End</dt><dd>{{.End}}</dd>
<dt>Duration</dt><dd>{{.Duration}}</dd>
<dt>Users</dt><dd>{{.Info.UserCount}}</dd>
<dt>User classes</dt><dd>{{.Classes}}</dd>
<dt>Workers</dt><dd>{{.Info.WorkerCount}}</dd>
{{- if .Info.Shape}}
<dt>Load shape</dt><dd>{{.Info.Shape}} ({{len .Info.Marks}} changes, marked on the users chart)</dd>
{{- end}}
{{- if .Info.State}}
<dt>State</dt><dd>{{.Info.State}}</dd>
{{- end}}
</dl>
</section>

{{- if .Info.Checks}}
<section>
<h2>Thresholds</h2>
<table>
<thead><tr><th class="l">Verdict</th><th class="l">Threshold</th><th class="l">Requests</th><th>Measured</th><th class="l">Set in</th></tr></thead>
<tbody>
{{- range .Info.Checks}}
<tr><td class="l {{if .Pass}}pass{{else}}bad{{end}}">{{.Verdict}}</td><td class="l">{{.Threshold}}</td><td class="l name">{{.Scope}}</td><td>{{.Measured}}</td><td class="l">{{.Source}}</td></tr>
{{- end}}
</tbody>
</table>
</section>
{{- end}}

<section>
<h2>Request Statistics</h2>
<table>
<thead><tr><th class="l">Type</th><th class="l">Name</th><th># Requests</th><th># Fails</th><th>Median (ms)</th><th>Average (ms)</th><th>Min (ms)</th><th>Max (ms)</th><th>Average size (bytes)</th><th>RPS</th><th>Failures/s</th></tr></thead>
<tbody>
{{- range .Rows}}
<tr{{if .Total}} class="total"{{end}}><td class="l">{{.Method}}</td><td class="l name">{{.Name}}</td><td>{{.Requests}}</td><td{{if .Failures}} class="bad"{{end}}>{{.Failures}} ({{.FailPct}})</td><td>{{.Median}}</td><td>{{.Avg}}</td><td>{{.Min}}</td><td>{{.Max}}</td><td>{{.Size}}</td><td>{{.RPS}}</td><td>{{.FPS}}</td></tr>
{{- end}}
</tbody>
</table>
</section>

<section>
<h2>Response Time Statistics</h2>
<table>
<thead><tr><th class="l">Type</th><th class="l">Name</th>{{range .PercentileHeads}}<th>{{.}}ile (ms)</th>{{end}}</tr></thead>
<tbody>
{{- range .Rows}}
<tr{{if .Total}} class="total"{{end}}><td class="l">{{.Method}}</td><td class="l name">{{.Name}}</td>{{range .Percentiles}}<td>{{.}}</td>{{end}}</tr>
{{- end}}
</tbody>
</table>
</section>

<section>
<h2>Failures Statistics</h2>
{{- if .Failures}}
<table>
<thead><tr><th class="l">Method</th><th class="l">Name</th><th class="l">Error</th><th># Occurrences</th><th>First seen</th><th>Last seen</th></tr></thead>
<tbody>
{{- range .Failures}}
<tr><td class="l">{{.Method}}</td><td class="l name">{{.Name}}</td><td class="err">{{.Error}}</td><td>{{.Occurrences}}</td><td>{{.FirstSeen}}</td><td>{{.LastSeen}}</td></tr>
{{- end}}
</tbody>
</table>
{{- else}}
<p class="none">No failures.</p>
{{- end}}
</section>

<section>
<h2>Exceptions Statistics</h2>
{{- if .Exceptions}}
<table>
<thead><tr><th>Count</th><th class="l">Message</th><th class="l">Traceback</th><th class="l">Nodes</th></tr></thead>
<tbody>
{{- range .Exceptions}}
<tr><td>{{.Count}}</td><td class="err">{{.Msg}}</td><td class="l"><pre>{{.Traceback}}</pre></td><td class="l">{{range $i, $n := .Nodes}}{{if $i}}, {{end}}{{$n}}{{end}}</td></tr>
{{- end}}
</tbody>
</table>
{{- else}}
<p class="none">No exceptions.</p>
{{- end}}
</section>

<section>
<h2>Charts</h2>
{{.RPSChart}}
{{.RTChart}}
{{.UsersChart}}
</section>
<footer>Generated {{.Generated}} by glocust</footer>
</main>
</body>
</html>
`))
