package report

import (
	"fmt"
	"io"
	"strings"
)

// PrintChecks writes the thresholds' verdicts as a table (glocust's; Locust
// has none), followed by an empty line; nothing without checks.
//
//	Thresholds (judged on the merged stats; exit code 3 if one fails)
//	Verdict  Threshold           Requests    Measured   Set in
//	PASS     p95 < 500           Aggregated  312 ms     scenario.yaml:14
func PrintChecks(w io.Writer, checks []Check) {
	if len(checks) == 0 {
		return
	}
	head := [5]string{"Verdict", "Threshold", "Requests", "Measured", "Set in"}
	width := [5]int{}
	rows := make([][5]string, 0, len(checks)+1)
	rows = append(rows, head)
	for _, c := range checks {
		rows = append(rows, [5]string{c.Verdict, c.Threshold, c.Scope, c.Measured, c.Source})
	}
	for _, r := range rows {
		for i, cell := range r {
			width[i] = max(width[i], len(cell))
		}
	}
	var b strings.Builder
	b.WriteString("Thresholds (judged on the merged stats; exit code 3 if one fails)\n")
	for _, r := range rows {
		line := fmt.Sprintf("%-*s  %-*s  %-*s  %-*s  %s", width[0], r[0], width[1], r[1], width[2], r[2], width[3], r[3], r[4])
		b.WriteString(strings.TrimRight(line, " ") + "\n")
	}
	b.WriteString("\n")
	io.WriteString(w, b.String())
}
