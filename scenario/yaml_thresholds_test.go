package scenario

import (
	"testing"
	"time"

	"github.com/glocust/glocust/threshold"
)

func TestParseThresholds(t *testing.T) {
	t.Parallel()
	sc, err := Parse("scenario.yaml", []byte(shapeUsers+`thresholds:
  - p95 < 500
  - "fail_ratio < 1%"
  - {check: "avg <= 200ms", name: home, method: get}
  - check: p99.9 < 2s
    name: /api
    abort_on_fail: true
    grace: 30s
  - {check: "rps >= 10", abort_on_fail: true}
`))
	if err != nil {
		t.Fatal(err)
	}
	want := []threshold.Threshold{
		{Expr: "p95 < 500", Kind: threshold.Percentile, P: 0.95, Op: threshold.LT, Limit: 500, Source: "scenario.yaml:7"},
		{Expr: "fail_ratio < 1%", Kind: threshold.FailRatio, Op: threshold.LT, Limit: 0.01, Source: "scenario.yaml:8"},
		{Expr: "avg <= 200ms", Kind: threshold.Avg, Op: threshold.LE, Limit: 200, Name: "home", Method: "GET", Source: "scenario.yaml:9"},
		{Expr: "p99.9 < 2s", Kind: threshold.Percentile, P: 0.999, Op: threshold.LT, Limit: 2000, Name: "/api",
			AbortOnFail: true, Grace: 30 * time.Second, Source: "scenario.yaml:10"},
		{Expr: "rps >= 10", Kind: threshold.RPS, Op: threshold.GE, Limit: 10, AbortOnFail: true, Source: "scenario.yaml:14"},
	}
	if len(sc.Thresholds) != len(want) {
		t.Fatalf("thresholds %+v", sc.Thresholds)
	}
	for i := range want {
		if sc.Thresholds[i] != want[i] {
			t.Errorf("threshold %d: %+v, want %+v", i, sc.Thresholds[i], want[i])
		}
	}
}

// TestParseThresholdErrors: every thresholds key's bad values are errors
// naming the file, the line and the key.
func TestParseThresholdErrors(t *testing.T) {
	t.Parallel()
	checkErrors(t, []errCase{
		{"not a list", "thresholds: {p95: 5}\n", "scenario.yaml:6: thresholds: expected a list"},
		{"bad expr", "thresholds:\n  - p95 500\n", `scenario.yaml:7: thresholds[0]: "p95 500": want "metric op limit"`},
		{"bad metric", "thresholds:\n  - p95 < 5\n  - latency < 5\n", `scenario.yaml:8: thresholds[1]: unknown metric "latency"`},
		{"bad limit", "thresholds:\n  - fail_ratio < 200%\n", `scenario.yaml:7: thresholds[0]: limit "200%": a failure ratio is at most 1`},
		{"null", "thresholds:\n  -\n", "scenario.yaml:7: thresholds[0]: expected a string"},
		{"list item", "thresholds:\n  - [p95 < 5]\n", "scenario.yaml:7: thresholds[0]: expected a mapping"},
		{"no check", "thresholds:\n  - {name: home}\n", `scenario.yaml:7: thresholds[0].check: required (e.g. check: "p95 < 500")`},
		{"check type", "thresholds:\n  - {check: [a]}\n", "scenario.yaml:7: thresholds[0].check: expected a string"},
		{"check expr", "thresholds:\n  - check: p95 <\n", `scenario.yaml:7: thresholds[0].check: limit "": want a number >= 0`},
		{"unknown key", "thresholds:\n  - {check: p95 < 5, abort: true}\n",
			`scenario.yaml:7: thresholds[0]: unknown key "abort" (want check, name, method, abort_on_fail, grace)`},
		{"empty name", "thresholds:\n  - {check: p95 < 5, name: \"\"}\n", "scenario.yaml:7: thresholds[0].name: must not be empty"},
		{"bad method", "thresholds:\n  - {check: p95 < 5, name: x, method: \"G T\"}\n", `scenario.yaml:7: thresholds[0].method: invalid method "G T"`},
		{"method alone", "thresholds:\n  - {check: p95 < 5, method: GET}\n", "scenario.yaml:7: thresholds[0].method: needs a name"},
		{"abort type", "thresholds:\n  - {check: p95 < 5, abort_on_fail: 1}\n", "scenario.yaml:7: thresholds[0].abort_on_fail: expected true or false"},
		{"grace alone", "thresholds:\n  - check: p95 < 5\n    grace: 10s\n", "scenario.yaml:8: thresholds[0].grace: only applies with abort_on_fail: true"},
		{"bad grace", "thresholds:\n  - {check: p95 < 5, abort_on_fail: true, grace: soon}\n", `scenario.yaml:7: thresholds[0].grace: invalid duration "soon"`},
		{"negative grace", "thresholds:\n  - {check: p95 < 5, abort_on_fail: true, grace: -1}\n", "scenario.yaml:7: thresholds[0].grace: invalid duration -1"},
	})
}
