package threshold

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/glocust/glocust/stats"
)

// ExitCode is the exit code of a run whose thresholds failed: the code
// locust-plugins' checks set, distinct from --exit-code-on-error's default
// 1 (failed requests) and 2 (usage errors).
const ExitCode = 3

// Kind is what a threshold measures.
type Kind int

// The metrics, with their names in expressions.
const (
	Percentile     Kind = iota + 1 // pN: a response time percentile (ms)
	Median                         // median: Locust's median_response_time (ms)
	Avg                            // avg: the average response time (ms)
	Min                            // min: the minimum response time (ms)
	Max                            // max: the maximum response time (ms)
	FailRatio                      // fail_ratio: failures / requests
	FailuresPerSec                 // failures_per_s: failures per second over the test
	RPS                            // rps: requests per second over the test
)

var kindNames = map[string]Kind{"median": Median, "avg": Avg, "min": Min, "max": Max,
	"fail_ratio": FailRatio, "failures_per_s": FailuresPerSec, "rps": RPS}

// Metrics lists the metric names Parse takes, for messages.
const Metrics = "pN (a percentile: p50, p95, p99.9, p100...), median, avg, min, max, fail_ratio, failures_per_s, rps"

// Op is a comparison.
type Op int

// The comparisons.
const (
	LT Op = iota + 1 // <
	LE               // <=
	GT               // >
	GE               // >=
)

func (o Op) String() string {
	switch o {
	case LT:
		return "<"
	case LE:
		return "<="
	case GT:
		return ">"
	case GE:
		return ">="
	}
	return "?"
}

// Threshold is one pass/fail criterion.
type Threshold struct {
	// Expr is the expression as written, spaces normalised ("p95 < 500").
	Expr string
	// Kind and P (for Percentile, in (0, 1]) are the metric.
	Kind Kind
	P    float64
	// Op and Limit: the threshold passes when the metric Op Limit holds.
	// Limit is in ms for response times, a ratio for fail_ratio, per
	// second for rates.
	Op    Op
	Limit float64
	// Name and Method select the requests: "" Name is all of them (the
	// Aggregated row); "" Method is every method of Name.
	Name, Method string
	// AbortOnFail stops the run once the threshold fails after Grace (from
	// the test's start).
	AbortOnFail bool
	Grace       time.Duration
	// Source says where the threshold was set: "file.yaml:12" or a flag.
	Source string
	// Check is the locust-plugins flag this threshold stands for
	// ("--check-rps", "--check-fail-ratio", "--check-avg-response-time"),
	// "" for others; such checks also log locust-plugins' CHECK lines.
	Check string
}

// Parse reads "metric op limit" (see Metrics for the metrics; op is <,
// <=, > or >=). The limit is a number, with an optional unit: ms or s for
// response times (ms without one), % for fail_ratio (a ratio without),
// /s for rates.
func Parse(expr string) (Threshold, error) {
	i := strings.IndexAny(expr, "<>")
	if i < 0 {
		return Threshold{}, fmt.Errorf("%q: want \"metric op limit\" with op <, <=, > or >= (e.g. \"p95 < 500\")", expr)
	}
	th := Threshold{Op: LT}
	rest := expr[i+1:]
	if expr[i] == '>' {
		th.Op = GT
	}
	if strings.HasPrefix(rest, "=") {
		th.Op++ // LT -> LE, GT -> GE
		rest = rest[1:]
	}
	metric, limit := strings.TrimSpace(expr[:i]), strings.TrimSpace(rest)
	if err := th.setMetric(metric); err != nil {
		return Threshold{}, err
	}
	if err := th.setLimit(limit); err != nil {
		return Threshold{}, err
	}
	th.Expr = metric + " " + th.Op.String() + " " + limit
	return th, nil
}

func (th *Threshold) setMetric(name string) error {
	if k, ok := kindNames[name]; ok {
		th.Kind = k
		return nil
	}
	if num, ok := strings.CutPrefix(name, "p"); ok && num != "" && strings.Trim(num, "0123456789.") == "" {
		p, err := strconv.ParseFloat(hundredths(num), 64)
		if err == nil && p > 0 && p <= 1 {
			th.Kind, th.P = Percentile, p
			return nil
		}
		return fmt.Errorf("percentile %q: want p followed by a number in (0, 100], e.g. p95 or p99.9", name)
	}
	if name == "" {
		return errors.New("no metric before the comparison (want " + Metrics + ")")
	}
	return fmt.Errorf("unknown metric %q (want %s)", name, Metrics)
}

// hundredths divides a decimal number by 100 in its text ("99.9" is
// "0.999"), so that p99.9 is the float 0.999 as Locust writes it, not
// 99.9/100.
func hundredths(num string) string {
	whole, frac, _ := strings.Cut(num, ".")
	whole = strings.TrimLeft(whole, "0")
	for len(whole) < 2 {
		whole = "0" + whole
	}
	return whole[:len(whole)-2] + "." + whole[len(whole)-2:] + frac
}

// responseTime reports whether the metric is a response time (ms).
func (th *Threshold) responseTime() bool { return th.Kind >= Percentile && th.Kind <= Max }

func (th *Threshold) setLimit(s string) error {
	num, scale := s, 1.0
	switch {
	case th.responseTime() && strings.HasSuffix(s, "ms"):
		num = strings.TrimSuffix(s, "ms")
	case th.responseTime() && strings.HasSuffix(s, "s"):
		num, scale = strings.TrimSuffix(s, "s"), 1000
	case th.Kind == FailRatio && strings.HasSuffix(s, "%"):
		num, scale = strings.TrimSuffix(s, "%"), 0.01
	case (th.Kind == RPS || th.Kind == FailuresPerSec) && strings.HasSuffix(s, "/s"):
		num = strings.TrimSuffix(s, "/s")
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
		return fmt.Errorf("limit %q: want a number >= 0%s", s, th.unitHint())
	}
	th.Limit = v * scale
	if th.Kind == FailRatio && th.Limit > 1 {
		return fmt.Errorf("limit %q: a failure ratio is at most 1 (100%%)", s)
	}
	return nil
}

func (th *Threshold) unitHint() string {
	switch {
	case th.responseTime():
		return " of milliseconds (or with ms or s)"
	case th.Kind == FailRatio:
		return " (a ratio such as 0.01, or a percentage such as 1%)"
	}
	return " per second"
}

// Scope names the requests the threshold judges: "Aggregated" (all), the
// name, or "METHOD name".
func (th Threshold) Scope() string {
	switch {
	case th.Name == "":
		return "Aggregated"
	case th.Method == "":
		return th.Name
	}
	return th.Method + " " + th.Name
}

// Holds reports whether v passes the comparison.
func (th Threshold) Holds(v float64) bool {
	switch th.Op {
	case LT:
		return v < th.Limit
	case LE:
		return v <= th.Limit
	case GT:
		return v > th.Limit
	case GE:
		return v >= th.Limit
	}
	return false
}

// of measures the metric on one stats row.
func (th Threshold) of(s *stats.Summary) float64 {
	switch th.Kind {
	case Percentile:
		return float64(s.Percentile(th.P))
	case Median:
		return s.Median()
	case Avg:
		return s.Avg()
	case Min:
		if s.HasMin {
			return s.MinResponseTime
		}
		return 0
	case Max:
		return s.MaxResponseTime
	case FailRatio:
		return s.FailRatio()
	case FailuresPerSec:
		return s.TotalFailPerSec()
	case RPS:
		return s.TotalRPS()
	}
	return math.NaN()
}

// Measure returns the metric on a's rows: the Aggregated row for all
// requests, else the worst of the rows the name (and method) select (the
// largest value for < and <=, the smallest for > and >=). ok is false
// when no row matches.
func (th Threshold) Measure(a *stats.Aggregate) (v float64, ok bool) {
	if th.Name == "" {
		return th.of(a.Total()), true
	}
	for _, s := range a.Entries() {
		if s.Name != th.Name || th.Method != "" && s.Method != th.Method {
			continue
		}
		x := th.of(s)
		switch {
		case !ok:
			v = x
		case th.Op == LT || th.Op == LE:
			v = max(v, x)
		default:
			v = min(v, x)
		}
		ok = true
	}
	return v, ok
}

// Format writes a value of the threshold's metric with its unit.
func (th Threshold) Format(v float64) string {
	switch {
	case th.responseTime() && v == math.Trunc(v) && math.Abs(v) < 1e15:
		return strconv.FormatFloat(v, 'f', 0, 64) + " ms"
	case th.responseTime():
		return strconv.FormatFloat(v, 'f', 1, 64) + " ms"
	case th.Kind == FailRatio:
		return strconv.FormatFloat(v*100, 'f', 2, 64) + "%"
	}
	return strconv.FormatFloat(v, 'f', 2, 64) + "/s"
}

// Result is a threshold's verdict on a run.
type Result struct {
	Threshold
	// Value is the measured metric (when HasData).
	Value float64
	// HasData is false when no request has the threshold's name: it then
	// fails (a name that never appears is likely a typo).
	HasData bool
	// Pass is the verdict: the comparison holds and the threshold did not
	// stop the run.
	Pass bool
	// Aborted: the threshold stopped the run (AbortOnFail), AbortedAfter
	// the test's start, measuring AbortValue.
	Aborted      bool
	AbortedAfter time.Duration
	AbortValue   float64
}

// Evaluate judges ts on a.
func Evaluate(ts []Threshold, a *stats.Aggregate) []Result {
	out := make([]Result, len(ts))
	for i, th := range ts {
		v, ok := th.Measure(a)
		out[i] = Result{Threshold: th, Value: v, HasData: ok, Pass: ok && th.Holds(v)}
	}
	return out
}

// Verdict is "PASS" or "FAIL".
func (r Result) Verdict() string {
	if r.Pass {
		return "PASS"
	}
	return "FAIL"
}

// Measured is the measured value as shown in the summary, or why there is
// none, and when the threshold stopped the run.
func (r Result) Measured() string {
	if !r.HasData {
		return "no requests named " + strconv.Quote(r.Scope())
	}
	s := r.Format(r.Value)
	if r.Aborted {
		s += fmt.Sprintf(" (stopped the run after %s at %s)", r.AbortedAfter.Round(time.Second), r.Format(r.AbortValue))
	}
	return s
}

// Failed reports whether any result failed.
func Failed(rs []Result) bool {
	for _, r := range rs {
		if !r.Pass {
			return true
		}
	}
	return false
}

// CheckRPS, CheckFailRatio and CheckAvgResponseTime are locust-plugins'
// checks as thresholds: total_rps < v fails, fail_ratio > v fails,
// avg_response_time > v fails.
func CheckRPS(v float64) Threshold {
	return Threshold{Expr: "rps >= " + pyFloat(v), Kind: RPS, Op: GE, Limit: v, Source: "--check-rps", Check: "--check-rps"}
}

// CheckFailRatio is --check-fail-ratio (see CheckRPS).
func CheckFailRatio(v float64) Threshold {
	return Threshold{Expr: "fail_ratio <= " + pyFloat(v), Kind: FailRatio, Op: LE, Limit: v, Source: "--check-fail-ratio",
		Check: "--check-fail-ratio"}
}

// CheckAvgResponseTime is --check-avg-response-time (see CheckRPS).
func CheckAvgResponseTime(v float64) Threshold {
	return Threshold{Expr: "avg <= " + pyFloat(v), Kind: Avg, Op: LE, Limit: v, Source: "--check-avg-response-time",
		Check: "--check-avg-response-time"}
}

func pyFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// CheckLine is the line locust-plugins logs for a check's result:
// "CHECK FAILED: fail ratio was 5.00% (threshold 1.00%)" (logged at INFO)
// or "CHECK SUCCESSFUL: ..." (DEBUG). ok is false for other thresholds.
func (r Result) CheckLine() (line string, ok bool) {
	verdict := "CHECK SUCCESSFUL: "
	if !r.Pass {
		verdict = "CHECK FAILED: "
	}
	switch r.Check {
	case "--check-fail-ratio":
		return verdict + fmt.Sprintf("fail ratio was %.2f%% (threshold %.2f%%)", r.Value*100, r.Limit*100), true
	case "--check-rps":
		return verdict + fmt.Sprintf("total rps was %.1f (threshold %.1f)", r.Value, r.Limit), true
	case "--check-avg-response-time":
		return verdict + fmt.Sprintf("avg response time was %.1f (threshold %.1f)", r.Value, r.Limit), true
	}
	return "", false
}

// JudgesFailures reports whether ts hold a threshold on the failures of
// all requests (fail_ratio or failures_per_s of the Aggregated row, or
// --check-fail-ratio). Such a threshold is the run's verdict on failed
// requests: as with locust-plugins' --check-fail-ratio, failures alone no
// longer exit with --exit-code-on-error.
func JudgesFailures(ts []Threshold) bool {
	for _, th := range ts {
		if (th.Kind == FailRatio || th.Kind == FailuresPerSec) && th.Name == "" {
			return true
		}
	}
	return false
}
