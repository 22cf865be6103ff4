package otelexport

import (
	"maps"
	"slices"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/glocust/glocust/master"
)

// Names of the exported metrics. Locust 2.47's --otel exports the first two
// (from its workers' request events and its master's user count); the
// others are glocust's, as on the master's /metrics.
const (
	MetricDuration = "locust.client.duration"
	MetricUsers    = "locust.users.count"
	MetricRequests = "glocust.requests"
	MetricFailures = "glocust.request.failures"
	MetricTarget   = "glocust.users.target"
	MetricWorkers  = "glocust.workers"
)

// Attribute keys of the data points.
const (
	KeyName      = "name"       // the request's name, as Locust's locust.client.duration
	KeyMethod    = "method"     // its method (glocust: Locust's has none)
	KeyUserClass = "user_class" // as Locust's locust.users.count
	KeyState     = "state"      // a worker's state
)

// boundsSeconds are master.LatencyBoundsMs in seconds.
var boundsSeconds = func() []float64 {
	var out []float64
	for _, ms := range master.LatencyBoundsMs() {
		out = append(out, float64(ms)/1000)
	}
	return out
}()

func metrics(s master.Snapshot) []metricdata.Metrics {
	endpoint := func(e *master.EndpointSnapshot) attribute.Set {
		return attribute.NewSet(attribute.String(KeyName, e.Name), attribute.String(KeyMethod, e.Method))
	}
	var hist []metricdata.HistogramDataPoint[float64]
	var reqs, fails []metricdata.DataPoint[int64]
	for i := range s.Endpoints {
		e := &s.Endpoints[i]
		attrs := endpoint(e)
		p := metricdata.HistogramDataPoint[float64]{Attributes: attrs, StartTime: s.StatsStart, Time: s.Time,
			Count: e.Latency.Count, Bounds: boundsSeconds, BucketCounts: e.Latency.BucketCounts, Sum: e.Latency.SumSeconds}
		if e.Latency.Count > 0 {
			p.Min, p.Max = metricdata.NewExtrema(e.Latency.MinMs/1000), metricdata.NewExtrema(e.Latency.MaxMs/1000)
		}
		hist = append(hist, p)
		reqs = append(reqs, metricdata.DataPoint[int64]{Attributes: attrs, StartTime: s.StatsStart, Time: s.Time, Value: e.Requests})
		fails = append(fails, metricdata.DataPoint[int64]{Attributes: attrs, StartTime: s.StatsStart, Time: s.Time, Value: e.Failures})
	}
	gauge := func(key string, m map[string]int64) []metricdata.DataPoint[int64] {
		var out []metricdata.DataPoint[int64]
		for _, k := range slices.Sorted(maps.Keys(m)) {
			out = append(out, metricdata.DataPoint[int64]{Attributes: attribute.NewSet(attribute.String(key, k)), Time: s.Time, Value: m[k]})
		}
		return out
	}
	workers := map[string]int64{}
	for st, n := range s.Workers {
		workers[st] = int64(n)
	}
	sum := func(dps []metricdata.DataPoint[int64]) metricdata.Sum[int64] {
		return metricdata.Sum[int64]{DataPoints: dps, Temporality: metricdata.CumulativeTemporality, IsMonotonic: true}
	}
	return []metricdata.Metrics{
		{Name: MetricDuration, Description: "Time to last byte for requests, per name and method (merged from the workers' stats)", Unit: "s",
			Data: metricdata.Histogram[float64]{DataPoints: hist, Temporality: metricdata.CumulativeTemporality}},
		{Name: MetricRequests, Description: "Requests per name and method", Unit: "{request}", Data: sum(reqs)},
		{Name: MetricFailures, Description: "Failed requests per name and method", Unit: "{request}", Data: sum(fails)},
		{Name: MetricUsers, Description: "Number of currently running Locust users", Unit: "{user}",
			Data: metricdata.Gauge[int64]{DataPoints: gauge(KeyUserClass, s.ClassUsers)}},
		{Name: MetricTarget, Description: "Target user count of the current test", Unit: "{user}",
			Data: metricdata.Gauge[int64]{DataPoints: []metricdata.DataPoint[int64]{{Time: s.Time, Value: int64(s.TargetUsers)}}}},
		{Name: MetricWorkers, Description: "Workers known to the master, by state", Unit: "{worker}",
			Data: metricdata.Gauge[int64]{DataPoints: gauge(KeyState, workers)}},
	}
}
