package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/glocust/glocust/stats"
)

// JSON writes what `locust --json` prints when it quits:
// json.dumps(stats.serialize_stats(), indent=4) and a newline. That is the
// entries with requests or failures (not the total), each as the 14-key
// StatsEntry dict, with the bucket dicts keyed by strings.
//
// Locust lists entries and bucket keys in arrival order, which the
// Aggregate does not keep: glocust lists entries sorted by (name, method)
// and bucket keys ascending. Unlike Locust's serialize_stats, JSON does not
// reset anything.
func JSON(w io.Writer, a *stats.Aggregate) error {
	var b strings.Builder
	var entries []*stats.Summary
	for _, s := range a.Entries() {
		if s.NumRequests != 0 || s.NumFailures != 0 {
			entries = append(entries, s)
		}
	}
	if len(entries) == 0 {
		b.WriteString("[]\n")
	} else {
		b.WriteString("[\n")
		for i, s := range entries {
			jsonEntry(&b, s)
			if i < len(entries)-1 {
				b.WriteString(",")
			}
			b.WriteString("\n")
		}
		b.WriteString("]\n")
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("report: json: %w", err)
	}
	return nil
}

func jsonEntry(b *strings.Builder, s *stats.Summary) {
	const in = "        "
	field := func(k string, last bool, v func()) {
		b.WriteString(in)
		pyJSONString(b, k)
		b.WriteString(": ")
		v()
		if !last {
			b.WriteString(",")
		}
		b.WriteString("\n")
	}
	raw := func(v string) func() { return func() { b.WriteString(v) } }
	str := func(v string) func() { return func() { pyJSONString(b, v) } }
	buckets := func(m *stats.Counts) func() {
		return func() {
			if m.Len() == 0 {
				b.WriteString("{}")
				return
			}
			sorted := m.Sorted()
			b.WriteString("{\n")
			for i, kc := range sorted {
				fmt.Fprintf(b, "%s    \"%d\": %d", in, kc.Key, kc.Count)
				if i < len(sorted)-1 {
					b.WriteString(",")
				}
				b.WriteString("\n")
			}
			b.WriteString(in + "}")
		}
	}
	last := "null"
	if s.LastRequestTimestamp != 0 {
		last = pyJSONFloat(s.LastRequestTimestamp)
	}
	minRT := "null"
	if s.HasMin {
		minRT = pyJSONFloat(s.MinResponseTime)
	}
	b.WriteString("    {\n")
	field("name", false, str(s.Name))
	field("method", false, str(s.Method))
	field("last_request_timestamp", false, raw(last))
	field("start_time", false, raw(pyJSONFloat(s.StartTime)))
	field("num_requests", false, raw(intStr(s.NumRequests)))
	field("num_none_requests", false, raw(intStr(s.NumNoneRequests)))
	field("num_failures", false, raw(intStr(s.NumFailures)))
	field("total_response_time", false, raw(totalRTValue(s)))
	field("max_response_time", false, raw(maxValue(s)))
	field("min_response_time", false, raw(minRT))
	field("total_content_length", false, raw(intStr(s.TotalContentLength)))
	field("response_times", false, buckets(&s.ResponseTimes))
	field("num_reqs_per_sec", false, buckets(&s.NumReqsPerSec))
	field("num_fail_per_sec", true, buckets(&s.NumFailPerSec))
	b.WriteString("    }")
}
