package master

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/glocust/glocust/protocol"
)

// snapshotCollector serves a fixed snapshot, to read it through a registry.
type snapshotCollector []prometheus.Metric

func (s snapshotCollector) Describe(ch chan<- *prometheus.Desc) { prometheus.DescribeByCollect(s, ch) }
func (s snapshotCollector) Collect(ch chan<- prometheus.Metric) {
	for _, m := range s {
		ch <- m
	}
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
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(snapshotCollector(snapshotMetrics(&View{c: h.c}, "test")))
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range fams {
		if f.GetName() != "glocust_generator_failures_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			got[m.GetLabel()[0].GetValue()] = m.GetCounter().GetValue()
		}
	}
	want := map[string]float64{"out of local ports (EADDRNOTAVAIL)": 8}
	if len(got) != len(want) || got["out of local ports (EADDRNOTAVAIL)"] != 8 {
		t.Errorf("glocust_generator_failures_total = %v, want %v", got, want)
	}
}
