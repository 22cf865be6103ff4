package main

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	colmetrics "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	metricspb "go.opentelemetry.io/proto/otlp/metrics/v1"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	"github.com/glocust/glocust/internal/testenv"
)

// receiver is an OTLP metrics receiver of the test's, over gRPC or
// HTTP/protobuf, that keeps every request it decoded (the OpenTelemetry
// protobuf definitions, as a collector decodes them).
type receiver struct {
	colmetrics.UnimplementedMetricsServiceServer
	endpoint string // for OTEL_EXPORTER_OTLP_ENDPOINT

	mu   sync.Mutex
	got  []*colmetrics.ExportMetricsServiceRequest
	errs []error
	stop func()
}

func (r *receiver) Export(_ context.Context, req *colmetrics.ExportMetricsServiceRequest) (*colmetrics.ExportMetricsServiceResponse, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, req)
	return &colmetrics.ExportMetricsServiceResponse{}, nil
}

// ServeHTTP is the OTLP/HTTP endpoint: POST /v1/metrics, a protobuf body.
func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	var m colmetrics.ExportMetricsServiceRequest
	if err == nil && (req.URL.Path != "/v1/metrics" || req.Header.Get("Content-Type") != "application/x-protobuf") {
		err = errors.New("not an OTLP/HTTP protobuf request: " + req.Method + " " + req.URL.Path + " " + req.Header.Get("Content-Type"))
	}
	if err == nil {
		err = proto.Unmarshal(body, &m)
	}
	if err != nil {
		r.mu.Lock()
		r.errs = append(r.errs, err)
		r.mu.Unlock()
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	_, _ = r.Export(req.Context(), &m)
	out, _ := proto.Marshal(&colmetrics.ExportMetricsServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(out)
}

// startReceiver serves protocol ("grpc" or "http/protobuf") on 127.0.0.1
// until the test ends.
func startReceiver(t *testing.T, protocol string) *receiver {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &receiver{endpoint: "http://" + ln.Addr().String()}
	if protocol == "grpc" {
		srv := grpc.NewServer()
		colmetrics.RegisterMetricsServiceServer(srv, r)
		go func() { _ = srv.Serve(ln) }()
		r.stop = srv.Stop
	} else {
		srv := &http.Server{Handler: r, ReadHeaderTimeout: 5 * time.Second}
		go func() { _ = srv.Serve(ln) }()
		r.stop = func() { _ = srv.Close() }
	}
	t.Cleanup(r.stop)
	return r
}

func (r *receiver) requests() ([]*colmetrics.ExportMetricsServiceRequest, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*colmetrics.ExportMetricsServiceRequest(nil), r.got...), errors.Join(r.errs...)
}

func attrs(kvs []*commonpb.KeyValue) map[string]string {
	out := map[string]string{}
	for _, kv := range kvs {
		out[kv.GetKey()] = kv.GetValue().GetStringValue()
	}
	return out
}

// metric finds the named metric in a request's only resource and scope.
func metric(req *colmetrics.ExportMetricsServiceRequest, name string) *metricspb.Metric {
	for _, rm := range req.GetResourceMetrics() {
		for _, sm := range rm.GetScopeMetrics() {
			for _, m := range sm.GetMetrics() {
				if m.GetName() == name {
					return m
				}
			}
		}
	}
	return nil
}

// TestBinaryOTel: a master process with two worker processes, --otel and
// the standard variables pointing at a receiver of the test's (gRPC,
// Locust's default protocol, and HTTP/protobuf), exports the run's
// metrics: the master's last export, made once the run ended, has a
// latency histogram per name and method whose counts are the requests of
// the name's row in Locust's requests CSV, requests and failures per
// name, and a resource with the service name, the profile and the run id
// the master logged; its exports during the run have the users per class
// and the two workers running. The workers (LOCUST_ENABLE_OPENTELEMETRY)
// export their own load under their node ids, and no request metrics.
func TestBinaryOTel(t *testing.T) {
	t.Parallel()
	for _, protocol := range []string{"grpc", "http/protobuf"} {
		t.Run(protocol, func(t *testing.T) {
			t.Parallel()
			r := startReceiver(t, protocol)
			csv := filepath.Join(t.TempDir(), "r")
			c := startCluster(t, []string{"--headless", "-u", "4", "-r", "10", "-t", "3s", "--otel", "--profile", "nightly",
				"--exit-code-on-error", "0", "--csv", csv},
				[]string{"OTEL_EXPORTER_OTLP_ENDPOINT=" + r.endpoint, "OTEL_EXPORTER_OTLP_PROTOCOL=" + protocol,
					"OTEL_METRIC_EXPORT_INTERVAL=500", "OTEL_SERVICE_NAME=checkout-load", "OTEL_RESOURCE_ATTRIBUTES=team=perf,profile=overridden"},
				[]string{"LOCUST_ENABLE_OPENTELEMETRY=true", "OTEL_EXPORTER_OTLP_ENDPOINT=" + r.endpoint, "OTEL_EXPORTER_OTLP_PROTOCOL=" + protocol,
					"OTEL_METRIC_EXPORT_INTERVAL=500"})
			for _, p := range append([]*testenv.Process{c.master}, c.workers...) {
				if code, err := p.Wait(60 * time.Second); err != nil || code != 0 {
					t.Fatalf("%s (pid %d): exit %d, %v", p.Name, p.PID(), code, err)
				}
			}
			out := c.master.MustOutput(t)
			run := regexp.MustCompile(`Run (\S+) started \(profile nightly\)`).FindStringSubmatch(out)
			if run == nil || !regexp.MustCompile(`OpenTelemetry enabled \(otlp/`).MatchString(out) {
				t.Fatalf("no run line or no OpenTelemetry in the start line:\n%s", out)
			}
			all, err := r.requests()
			var reqs []*colmetrics.ExportMetricsServiceRequest // the master's
			workers := map[string]bool{}                       // node ids of the workers' exports
			for _, req := range all {
				id := attrs(req.GetResourceMetrics()[0].GetResource().GetAttributes())["service.instance.id"]
				switch {
				case id == "":
					reqs = append(reqs, req)
				case metric(req, "glocust.worker.cpu.usage") != nil && metric(req, "glocust.worker.users") != nil &&
					metric(req, "locust.client.duration") == nil:
					workers[id] = true
				}
			}
			if err != nil || len(reqs) < 2 || len(workers) != 2 {
				t.Fatalf("%d exports received, %d from the master, workers %v; errors %v", len(all), len(reqs), workers, err)
			}
			last := reqs[len(reqs)-1]
			res := attrs(last.GetResourceMetrics()[0].GetResource().GetAttributes())
			for k, want := range map[string]string{"service.name": "checkout-load", "profile": "nightly", "glocust.run.id": run[1],
				"filename": "scenario.yaml", "team": "perf"} {
				if res[k] != want {
					t.Errorf("resource %s = %q, want %q (all: %v)", k, res[k], want, res)
				}
			}
			rows, err := testenv.ReadCSV(csv + "_stats.csv")
			if err != nil {
				t.Fatal(err)
			}
			hist := map[string]*metricspb.HistogramDataPoint{}
			for _, dp := range metric(last, "locust.client.duration").GetHistogram().GetDataPoints() {
				a := attrs(dp.GetAttributes())
				hist[a["method"]+" "+a["name"]] = dp
				if n := len(dp.GetBucketCounts()); n != len(dp.GetExplicitBounds())+1 || n < 10 {
					t.Errorf("%v: %d buckets for %d bounds", a, n, len(dp.GetExplicitBounds()))
				}
			}
			counts := func(name string) map[string]int64 {
				out := map[string]int64{}
				for _, dp := range metric(last, name).GetSum().GetDataPoints() {
					a := attrs(dp.GetAttributes())
					out[a["method"]+" "+a["name"]] = dp.GetAsInt()
				}
				return out
			}
			requests, failures := counts("glocust.requests"), counts("glocust.request.failures")
			names := 0
			for _, row := range rows {
				if row["Name"] == "Aggregated" {
					continue
				}
				names++
				key := row["Type"] + " " + row["Name"]
				n, _ := strconv.ParseInt(row["Request Count"], 10, 64)
				f, _ := strconv.ParseInt(row["Failure Count"], 10, 64)
				if h := hist[key]; h == nil || int64(h.GetCount()) != n || n == 0 {
					t.Errorf("%s: histogram %v, CSV Request Count %d", key, h, n)
				}
				if requests[key] != n || failures[key] != f {
					t.Errorf("%s: requests %d failures %d, CSV %d and %d", key, requests[key], failures[key], n, f)
				}
			}
			if names != 4 || len(hist) != 4 {
				t.Errorf("%d names in the CSV, %d histograms; want 4", names, len(hist))
			}
			if failures["GET fail"] == 0 || failures["GET home"] != 0 {
				t.Errorf("failures %v", failures)
			}
			var sawUsers, sawWorkers bool
			for _, req := range reqs {
				for _, dp := range metric(req, "locust.users.count").GetGauge().GetDataPoints() {
					sawUsers = sawUsers || attrs(dp.GetAttributes())["user_class"] == "U" && dp.GetAsInt() == 4
				}
				for _, dp := range metric(req, "glocust.workers").GetGauge().GetDataPoints() {
					sawWorkers = sawWorkers || attrs(dp.GetAttributes())["state"] == "running" && dp.GetAsInt() == 2
				}
			}
			if !sawUsers || !sawWorkers {
				t.Errorf("no export during the run with 4 users of U (%v) or 2 running workers (%v)", sawUsers, sawWorkers)
			}
		})
	}
}

// TestBinaryOTelNone: with OTEL_METRICS_EXPORTER=none, --otel sends
// nothing (and says so), though a receiver listens where the variables
// point.
func TestBinaryOTelNone(t *testing.T) {
	t.Parallel()
	r := startReceiver(t, "grpc")
	target := testenv.NewTarget(t)
	scenario := filepath.Join(t.TempDir(), "scenario.yaml")
	if err := os.WriteFile(scenario, []byte("host: "+target.URL+"\n"+opsScenario), 0o644); err != nil {
		t.Fatal(err)
	}
	p := testenv.Start(t, testenv.Command{Path: testenv.BuildGlocust(t), Args: []string{"-f", scenario, "--headless", "-u", "2", "-r", "10",
		"-t", "2s", "--otel", "--exit-code-on-error", "0", "--web-host", "127.0.0.1", "--web-port", strconv.Itoa(testenv.FreePort(t))},
		Env: []string{"OTEL_METRICS_EXPORTER=none", "OTEL_EXPORTER_OTLP_ENDPOINT=" + r.endpoint, "OTEL_METRIC_EXPORT_INTERVAL=200"}})
	if code, err := p.Wait(60 * time.Second); err != nil || code != 0 {
		t.Fatalf("exit %d, %v", code, err)
	}
	if reqs, err := r.requests(); len(reqs) != 0 || err != nil {
		t.Errorf("%d exports received (%v), want none", len(reqs), err)
	}
	if err := p.WaitOutput("No OpenTelemetry metrics exporter configured (OTEL_METRICS_EXPORTER), opentelemetry not enabled", 0); err != nil {
		t.Error(err)
	}
	if target.Count("GET /") == 0 {
		t.Error("the run sent no request")
	}
}
