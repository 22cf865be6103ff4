package otelexport

import (
	"bytes"
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.uber.org/goleak"

	"github.com/glocust/glocust/master"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func env(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

// syncBuffer is the console exporter's writer, read by the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// TestNewExporters: OTEL_METRICS_EXPORTER and the protocol variables pick
// the exporters as Locust's setup_opentelemetry does; none selects
// nothing, and unknown names are warned about and left out.
func TestNewExporters(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		env  []string
		want []string
		logs string
	}{
		{nil, []string{"otlp/grpc"}, ""},
		{[]string{"OTEL_METRICS_EXPORTER", "none"}, nil, "opentelemetry not enabled"},
		{[]string{"OTEL_METRICS_EXPORTER", " OTLP , console,otlp", "OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"}, []string{"otlp/http/protobuf", "console"}, ""},
		{[]string{"OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf", "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", "grpc"}, []string{"otlp/grpc"}, ""},
		{[]string{"OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"}, nil, "Unknown OpenTelemetry otlp exporter protocol 'http/json'"},
		{[]string{"OTEL_METRICS_EXPORTER", "prometheus,zipkin"}, nil, "Unknown metrics exporter 'zipkin'. Ignored"},
		{[]string{"OTEL_TRACES_EXPORTER", "otlp", "OTEL_METRICS_EXPORTER", "console"}, []string{"console"}, "exports metrics only"},
	} {
		var logs syncBuffer
		e, err := New(context.Background(), Config{Getenv: env(c.env...), Logger: slog.New(slog.NewTextHandler(&logs, nil))})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		if e != nil {
			got = e.Exporters()
			if err := e.shutdown(context.Background()); err != nil {
				t.Error(err)
			}
		}
		if !slices.Equal(got, c.want) || !strings.Contains(logs.String(), c.logs) {
			t.Errorf("%v: exporters %v, want %v; log:\n%s", c.env, got, c.want, logs.String())
		}
	}
}

// TestRunExports: Run exports every interval and once more when stopped,
// each time with the snapshot's run in the resource (ours over
// OTEL_RESOURCE_ATTRIBUTES), then shuts the exporter down.
func TestRunExports(t *testing.T) {
	t.Parallel()
	var out syncBuffer
	e, err := New(context.Background(), Config{Getenv: env("OTEL_METRICS_EXPORTER", "console", "OTEL_METRIC_EXPORT_INTERVAL", "20",
		"OTEL_RESOURCE_ATTRIBUTES", "team=perf%20ops,profile=x,broken", "OTEL_SERVICE_NAME", "shop"),
		Version: "v9", Locustfile: "s.yaml", Console: &out})
	if err != nil || e == nil {
		t.Fatal(e, err)
	}
	var mu sync.Mutex
	calls := 0
	snap := func() master.Snapshot {
		mu.Lock()
		defer mu.Unlock()
		calls++
		return master.Snapshot{Run: master.Run{ID: "run-" + string(rune('0'+min(calls, 9))), Profile: "nightly", Start: time.Unix(1, 0)}, Time: time.Unix(2, 0)}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); e.Run(ctx, MasterSource(snap)) }()
	deadline := time.Now().Add(10 * time.Second)
	for strings.Count(out.String(), `"Resource"`) < 2 {
		if time.Now().After(deadline) {
			t.Fatal("no periodic exports")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
	mu.Lock()
	n := calls
	mu.Unlock()
	if got := strings.Count(out.String(), `"Resource"`); got != n {
		t.Errorf("%d exports for %d snapshots (the last one when stopped)", got, n)
	}
	last := out.String()[strings.LastIndex(out.String(), `{"Resource"`):]
	for _, want := range []string{`"service.name","Value":{"Type":"STRING","Value":"shop"}`, `"team","Value":{"Type":"STRING","Value":"perf ops"}`,
		`"profile","Value":{"Type":"STRING","Value":"nightly"}`, `"glocust.run.id","Value":{"Type":"STRING","Value":"run-`,
		`"filename","Value":{"Type":"STRING","Value":"s.yaml"}`, `"service.version","Value":{"Type":"STRING","Value":"v9"}`,
		`"Name":"locust.client.duration"`, `"Name":"glocust.workers"`} {
		if !strings.Contains(last, want) {
			t.Errorf("the last export lacks %s:\n%s", want, last)
		}
	}
}

// TestResourceMetrics: the snapshot's rows become the histogram, sum and
// gauge data points, with the buckets, counts and attributes as given and
// the cumulative start at the stats' start.
func TestResourceMetrics(t *testing.T) {
	t.Parallel()
	bounds := master.LatencyBoundsMs()
	buckets := make([]uint64, len(bounds)+1)
	buckets[3], buckets[len(bounds)] = 5, 1
	start, now := time.Unix(100, 0), time.Unix(160, 0)
	s := master.Snapshot{Time: now, StatsStart: start,
		Endpoints: []master.EndpointSnapshot{{Name: "/a", Method: "GET", Requests: 7, Failures: 2,
			Latency: master.LatencySnapshot{Count: 6, SumSeconds: 90.5, BucketCounts: buckets, MinMs: 8, MaxMs: 90000}}},
		ClassUsers: map[string]int64{"B": 1, "A": 3}, TargetUsers: 5, Workers: map[string]int{"running": 2, "missing": 0}}
	ms := map[string]metricdata.Metrics{}
	for _, m := range Metrics(s) {
		ms[m.Name] = m
	}
	ep := attribute.NewSet(attribute.String("name", "/a"), attribute.String("method", "GET"))
	h := ms[MetricDuration].Data.(metricdata.Histogram[float64])
	p := h.DataPoints[0]
	if h.Temporality != metricdata.CumulativeTemporality || len(h.DataPoints) != 1 || !p.Attributes.Equals(&ep) || p.Count != 6 ||
		p.Sum != 90.5 || !slices.Equal(p.BucketCounts, buckets) || len(p.Bounds) != len(bounds) || p.Bounds[3] != float64(bounds[3])/1000 ||
		!p.StartTime.Equal(start) || !p.Time.Equal(now) {
		t.Errorf("histogram %+v", h)
	}
	if v, ok := p.Min.Value(); !ok || v != 0.008 {
		t.Errorf("min %v", p.Min)
	}
	for name, want := range map[string]int64{MetricRequests: 7, MetricFailures: 2} {
		d := ms[name].Data.(metricdata.Sum[int64])
		if !d.IsMonotonic || len(d.DataPoints) != 1 || d.DataPoints[0].Value != want || !d.DataPoints[0].Attributes.Equals(&ep) {
			t.Errorf("%s %+v", name, d)
		}
	}
	users := ms[MetricUsers].Data.(metricdata.Gauge[int64]).DataPoints
	if len(users) != 2 || users[0].Value != 3 || users[1].Value != 1 {
		t.Errorf("users %+v", users)
	}
	workers := ms[MetricWorkers].Data.(metricdata.Gauge[int64]).DataPoints
	if len(workers) != 2 || workers[1].Value != 2 {
		t.Errorf("workers %+v", workers)
	}
}
