package report

import (
	"fmt"
	"html/template"
	"math"
	"strings"
	"time"
)

// series is one line of a chart.
type series struct {
	name   string
	color  string
	values []float64
}

const (
	chartW, chartH                     = 960, 260
	padLeft, padRight, padTop, padBott = 64, 16, 36, 34
	maxChartPoints                     = 720
)

// thin reduces the points to at most maxChartPoints by averaging buckets
// (maxima for P95 and users).
func thin(pts []Point) []Point {
	if len(pts) <= maxChartPoints {
		return pts
	}
	out := make([]Point, 0, maxChartPoints)
	for i := 0; i < maxChartPoints; i++ {
		lo, hi := i*len(pts)/maxChartPoints, (i+1)*len(pts)/maxChartPoints
		var p Point
		for _, q := range pts[lo:hi] {
			p.RPS += q.RPS
			p.FailPerSec += q.FailPerSec
			p.P50 += q.P50
			p.AvgRT += q.AvgRT
			p.P95 = max(p.P95, q.P95)
			p.Users = max(p.Users, q.Users)
		}
		n := float64(hi - lo)
		p.RPS, p.FailPerSec, p.P50, p.AvgRT = p.RPS/n, p.FailPerSec/n, p.P50/n, p.AvgRT/n
		p.Time = pts[hi-1].Time
		out = append(out, p)
	}
	return out
}

// niceCeil returns a round axis maximum >= v and its tick step.
func niceCeil(v float64) (top, step float64) {
	if v <= 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return 1, 0.25
	}
	raw := v / 4
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if step = m * mag; step >= raw {
			break
		}
	}
	return math.Ceil(v/step) * step, step
}

func axisLabel(v float64) string {
	switch {
	case v == math.Trunc(v) && math.Abs(v) < 1e15:
		return fmt.Sprintf("%d", int64(v))
	case math.Abs(v) >= 10:
		return fmt.Sprintf("%.0f", v)
	default:
		return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.2f", v), "0"), ".")
	}
}

// Mark is a labelled moment on a chart: a load shape's stage boundary.
type Mark struct {
	Time  time.Time
	Label string
}

// markSlack is how long before the first point of a chart a mark is
// still drawn, at that point: the history samples once a second, so a
// test's first point comes up to a second after its start.
const markSlack = 2 * time.Second

// maxMarkLabels is the most marks a chart labels; with more it draws only
// their lines (each still names itself on hover).
const maxMarkLabels = 12

// svgChart draws the series over times as an inline SVG line chart, with a
// dashed vertical line at each mark inside the time range.
func svgChart(title, unit string, times []time.Time, ss []series, marks []Mark) template.HTML {
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %d %d" role="img" aria-label="%s">`,
		chartW, chartH, template.HTMLEscapeString(title))
	fmt.Fprintf(&b, `<text x="%d" y="20" class="ct">%s</text>`, padLeft, template.HTMLEscapeString(title))
	lx := chartW - padRight
	for i := len(ss) - 1; i >= 0; i-- {
		s := ss[i]
		w := 14 + 7*len(s.name)
		lx -= w + 12
		fmt.Fprintf(&b, `<rect x="%d" y="11" width="10" height="10" rx="2" fill="%s"/><text x="%d" y="20" class="lg">%s</text>`,
			lx, s.color, lx+14, template.HTMLEscapeString(s.name))
	}
	plotW, plotH := float64(chartW-padLeft-padRight), float64(chartH-padTop-padBott)
	if len(times) == 0 {
		fmt.Fprintf(&b, `<text x="%d" y="%d" class="empty" text-anchor="middle">No data</text></svg>`, chartW/2, chartH/2)
		return template.HTML(b.String())
	}
	var vmax float64
	for _, s := range ss {
		for _, v := range s.values {
			if !math.IsNaN(v) && !math.IsInf(v, 0) {
				vmax = max(vmax, v)
			}
		}
	}
	top, step := niceCeil(vmax)
	y := func(v float64) float64 { return float64(padTop) + plotH*(1-v/top) }
	for v := 0.0; v <= top+step/2; v += step {
		fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" class="grid"/><text x="%d" y="%.1f" class="ax" text-anchor="end">%s</text>`,
			padLeft, chartW-padRight, y(v), y(v), padLeft-6, y(v)+4, axisLabel(v))
	}
	if unit != "" {
		fmt.Fprintf(&b, `<text x="12" y="%d" class="ax" transform="rotate(-90 12 %d)" text-anchor="middle">%s</text>`,
			padTop+int(plotH/2), padTop+int(plotH/2), template.HTMLEscapeString(unit))
	}
	t0, t1 := times[0], times[len(times)-1]
	span := t1.Sub(t0).Seconds()
	x := func(t time.Time) float64 {
		if span <= 0 {
			return float64(padLeft) + plotW/2
		}
		return float64(padLeft) + plotW*t.Sub(t0).Seconds()/span
	}
	ticks := 6
	if span <= 0 {
		ticks = 0
	}
	for i := 0; i <= ticks; i++ {
		t := t0.Add(time.Duration(float64(i) / float64(max(ticks, 1)) * span * float64(time.Second)))
		anchor := "middle"
		if i == 0 {
			anchor = "start"
		} else if i == ticks {
			anchor = "end"
		}
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" class="ax" text-anchor="%s">%s</text>`,
			x(t), chartH-padBott+18, anchor, t.UTC().Format("15:04:05"))
	}
	if ticks == 0 {
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" class="ax" text-anchor="middle">%s</text>`,
			x(t0), chartH-padBott+18, t0.UTC().Format("15:04:05"))
	}
	fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%d" y2="%d" class="axis"/>`,
		padLeft, chartW-padRight, chartH-padBott, chartH-padBott)
	drawMarks(&b, marks, t0, t1, x)
	for _, s := range ss {
		var pts strings.Builder
		for i, v := range s.values {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				v = 0
			}
			fmt.Fprintf(&pts, "%.1f,%.1f ", x(times[i]), y(v))
		}
		if len(s.values) == 1 {
			fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="3" fill="%s"/>`, x(times[0]), y(s.values[0]), s.color)
			continue
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2" stroke-linejoin="round" points="%s"/>`,
			s.color, strings.TrimSpace(pts.String()))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// drawMarks draws the marks between t0 and t1 (inclusive; up to markSlack
// before t0 at t0) with x as the time axis: a dashed line over the plot and, for up to maxMarkLabels
// marks, the label at its top.
func drawMarks(b *strings.Builder, marks []Mark, t0, t1 time.Time, x func(time.Time) float64) {
	var in []Mark
	for _, m := range marks {
		if m.Time.Before(t0) && t0.Sub(m.Time) <= markSlack {
			m.Time = t0 // the test's start, before its first history point
		}
		if !m.Time.Before(t0) && !m.Time.After(t1) {
			in = append(in, m)
		}
	}
	for _, m := range in {
		mx := x(m.Time)
		label := template.HTMLEscapeString(m.Label + " (" + m.Time.UTC().Format("15:04:05") + ")")
		fmt.Fprintf(b, `<g class="mark"><title>%s</title><line x1="%.1f" x2="%.1f" y1="%d" y2="%d" class="markline"/>`,
			label, mx, mx, padTop, chartH-padBott)
		if len(in) <= maxMarkLabels {
			fmt.Fprintf(b, `<text x="%.1f" y="%d" class="marklabel">%s</text>`, mx+3, padTop+10, template.HTMLEscapeString(m.Label))
		}
		b.WriteString(`</g>`)
	}
}
