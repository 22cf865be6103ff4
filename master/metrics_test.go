package master

import (
	"math"
	"slices"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/glocust/glocust/protocol"
	"github.com/glocust/glocust/stats"
)

// snapshotCollector serves a fixed snapshot, to read it through a registry.
type snapshotCollector []prometheus.Metric

func (s snapshotCollector) Describe(ch chan<- *prometheus.Desc) { prometheus.DescribeByCollect(s, ch) }
func (s snapshotCollector) Collect(ch chan<- prometheus.Metric) {
	for _, m := range s {
		ch <- m
	}
}

// gather returns the collector's families for c's state, by name, through
// a pedantic registry (which checks them for consistency).
func gather(t *testing.T, c *core) map[string]*dto.MetricFamily {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(snapshotCollector(snapshotMetrics(&View{c: c}, "test")))
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*dto.MetricFamily{}
	for _, f := range fams {
		out[f.GetName()] = f
	}
	return out
}

// TestMetricsGeneratorFailures: failures whose error text starts with
// "generator: " are counted apart, by error, summed over names and
// workers; other failures are not.
func TestMetricsGeneratorFailures(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	ports := protocol.GeneratorErrorPrefix + "out of local ports (EADDRNOTAVAIL)"
	report := func(errs ...protocol.StatsError) *protocol.Stats {
		e := protocol.StatsEntry{Name: "/x", Method: "GET", NumRequests: 10, NumFailures: 6}
		tot := e
		tot.Name, tot.Method = "Aggregated", ""
		return &protocol.Stats{Stats: []protocol.StatsEntry{e}, Total: tot, Errors: errs}
	}
	h.c.agg.Merge(report(
		protocol.StatsError{Key: "a", Name: "/x", Method: "GET", Error: ports, Occurrences: 3},
		protocol.StatsError{Key: "b", Name: "/x", Method: "GET", Error: "HTTP 500 Internal Server Error", Occurrences: 2},
		protocol.StatsError{Key: "c", Name: "/y", Method: "GET", Error: ports, Occurrences: 1},
	), h.now)
	h.c.agg.Merge(report( // another worker, the same error
		protocol.StatsError{Key: "a", Name: "/x", Method: "GET", Error: ports, Occurrences: 4},
		protocol.StatsError{Key: "d", Name: "/x", Method: "GET", Error: "x generator: not at the start", Occurrences: 5},
	), h.now)
	got := map[string]float64{}
	for _, m := range gather(t, h.c)["glocust_generator_failures_total"].GetMetric() {
		got[m.GetLabel()[0].GetValue()] = m.GetCounter().GetValue()
	}
	want := map[string]float64{"out of local ports (EADDRNOTAVAIL)": 8}
	if len(got) != len(want) || got["out of local ports (EADDRNOTAVAIL)"] != 8 {
		t.Errorf("glocust_generator_failures_total = %v, want %v", got, want)
	}
}

// TestMetricsEndpointLatency: every entry has its own latency histogram,
// whose buckets hold exactly the response times at or below each bound
// (counted here from the entry's sorted buckets), whose count is its
// timed requests and whose sum its total response time; the histogram of
// all requests is the total's, and sums the entries'.
func TestMetricsEndpointLatency(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	entry := func(name, method string, none int64, times ...int64) protocol.StatsEntry {
		e := protocol.StatsEntry{Name: name, Method: method, NumNoneRequests: none, HasTimings: len(times) > 0}
		for _, ms := range times {
			k := stats.BucketResponseTime(float64(ms))
			e.NumRequests++
			e.TotalResponseTime += float64(ms)
			if i := slices.IndexFunc(e.ResponseTimes, func(b protocol.Bucket) bool { return b.Key == k }); i >= 0 {
				e.ResponseTimes[i].Count++
			} else {
				e.ResponseTimes = append(e.ResponseTimes, protocol.Bucket{Key: k, Count: 1})
			}
		}
		e.NumRequests += none
		return e
	}
	// Keys on bounds, beside them, below the first and above the last.
	reports := [][]protocol.StatsEntry{
		{entry("/a", "GET", 0, 0, 1, 2, 3, 10, 11, 149, 150, 151, 60000, 61000), entry("/b", "POST", 2, 5, 7500, 7600)},
		{entry("/a", "GET", 0, 1, 1, 999, 1000, 1001), entry("/c", "GET", 3)},
	}
	for _, es := range reports {
		tot := protocol.StatsEntry{Name: "Aggregated"}
		for _, e := range es {
			tot.NumRequests += e.NumRequests
			tot.NumNoneRequests += e.NumNoneRequests
			tot.TotalResponseTime += e.TotalResponseTime
			tot.ResponseTimes = append(tot.ResponseTimes, e.ResponseTimes...)
		}
		h.c.agg.Merge(&protocol.Stats{Stats: es, Total: tot}, h.now)
	}
	fams := gather(t, h.c)
	check := func(s *stats.Summary, m *dto.Metric) {
		t.Helper()
		hg := m.GetHistogram()
		if got, want := hg.GetSampleCount(), uint64(s.NumRequests-s.NumNoneRequests); got != want {
			t.Errorf("%s %s: count %d, want %d", s.Method, s.Name, got, want)
		}
		if got, want := hg.GetSampleSum(), s.TotalResponseTime/1000; math.Abs(got-want) > 1e-9 {
			t.Errorf("%s %s: sum %g, want %g", s.Method, s.Name, got, want)
		}
		if len(hg.GetBucket()) != len(latencyBoundsMs) {
			t.Fatalf("%s %s: %d buckets, want %d", s.Method, s.Name, len(hg.GetBucket()), len(latencyBoundsMs))
		}
		for i, b := range hg.GetBucket() {
			var want uint64
			for _, kc := range s.ResponseTimes.Sorted() {
				if kc.Key <= latencyBoundsMs[i] {
					want += uint64(kc.Count)
				}
			}
			if b.GetUpperBound() != float64(latencyBoundsMs[i])/1000 || b.GetCumulativeCount() != want {
				t.Errorf("%s %s: bucket le=%g count %d, want le=%g count %d", s.Method, s.Name,
					b.GetUpperBound(), b.GetCumulativeCount(), float64(latencyBoundsMs[i])/1000, want)
			}
		}
	}
	got := fams["glocust_endpoint_request_duration_seconds"].GetMetric()
	entries := h.c.agg.Entries()
	if len(got) != len(entries) || len(entries) != 3 {
		t.Fatalf("%d endpoint histograms for %d entries, want 3", len(got), len(entries))
	}
	for _, m := range got {
		l := map[string]string{}
		for _, lp := range m.GetLabel() {
			l[lp.GetName()] = lp.GetValue()
		}
		check(h.c.agg.Entry(l["method"], l["name"]), m)
	}
	check(h.c.agg.Total(), fams["glocust_request_duration_seconds"].GetMetric()[0])
}

// TestLatencyBounds: the bounds ascend, each is a key of Locust's rounding
// (so no key straddles two buckets), and from 10 ms to 10 s neighbours are
// at most 1.5 times apart, as the collector's doc comment promises.
func TestLatencyBounds(t *testing.T) {
	t.Parallel()
	for i, b := range latencyBoundsMs {
		if stats.BucketResponseTime(float64(b)) != b {
			t.Errorf("bound %d ms is not a Locust bucket key", b)
		}
		if i == 0 {
			continue
		}
		prev := latencyBoundsMs[i-1]
		if b <= prev {
			t.Errorf("bounds not ascending at %d", b)
		}
		if prev >= 10 && b <= 10000 && float64(b) > 1.5*float64(prev) {
			t.Errorf("bounds %d and %d ms are more than 1.5 times apart", prev, b)
		}
	}
}
