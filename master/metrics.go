package master

import (
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/glocust/glocust/protocol"
)

// latencyBounds are the /metrics histogram bucket bounds in seconds. The
// merged Locust buckets (rounded milliseconds) are folded into them.
var latencyBounds = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}

var (
	descRequests = prometheus.NewDesc("glocust_requests_total",
		"Requests merged from the workers' reports, per name and method (resets with the stats).", []string{"name", "method"}, nil)
	descFailures = prometheus.NewDesc("glocust_request_failures_total",
		"Failed requests, per name and method (resets with the stats).", []string{"name", "method"}, nil)
	descGeneratorFailures = prometheus.NewDesc("glocust_generator_failures_total",
		"Failed requests that the load generator caused, not the target: their error text starts with \"generator: \" "+
			"(a worker ran out of local ports, file descriptors, or CPU time for a connect). They are also in "+
			"glocust_request_failures_total. Labelled by the error text after the prefix (resets with the stats).",
		[]string{"error"}, nil)
	descLatency = prometheus.NewDesc("glocust_request_duration_seconds",
		"Response times of all requests, from the merged Locust response-time buckets.", nil, nil)
	descUsers = prometheus.NewDesc("glocust_users",
		"Users the workers report running.", nil, nil)
	descClassUsers = prometheus.NewDesc("glocust_class_users",
		"Users the workers report running, per user class (every configured class, and any other a worker reports).", []string{"class"}, nil)
	descTarget = prometheus.NewDesc("glocust_target_users",
		"User count of the current or last swarm (of a test taken over from a previous master: the users its workers ran).", nil, nil)
	descWorkers = prometheus.NewDesc("glocust_workers",
		"Workers known to the master, by state.", []string{"state"}, nil)
	descState = prometheus.NewDesc("glocust_master_state",
		"1 for the master's current state.", []string{"state"}, nil)
	descInfo = prometheus.NewDesc("glocust_master_info",
		"Constant 1 with the master's version labels.", []string{"version", "locust_version"}, nil)
	descRPS = prometheus.NewDesc("glocust_current_rps",
		"Locust's current requests per second (aggregated).", nil, nil)
	descExceptions = prometheus.NewDesc("glocust_exceptions",
		"Distinct user exceptions (grouped by traceback) in the current test.", nil, nil)
	descShapeRunning = prometheus.NewDesc("glocust_shape_running",
		"1 while a test follows the load shape (only with a shape).", []string{"shape"}, nil)
	descShapeTarget = prometheus.NewDesc("glocust_shape_target_users",
		"The load shape's current target user count (only with a shape).", []string{"shape"}, nil)
	descShapeStage = prometheus.NewDesc("glocust_shape_stage",
		"The load shape's current stage number, 1-based (0 before the first tick or when the shape does not number them), labelled with its name.", []string{"shape", "stage"}, nil)
	descShapeNext = prometheus.NewDesc("glocust_shape_next_change_seconds",
		"Seconds until the load shape's next planned change (only while one is known).", []string{"shape"}, nil)
	descThresholdPass = prometheus.NewDesc("glocust_threshold_pass",
		"1 while a threshold holds on the merged stats, 0 when it fails (or stopped the test).", []string{"threshold", "scope", "source"}, nil)
	descThresholdValue = prometheus.NewDesc("glocust_threshold_value",
		"The value a threshold measures on the merged stats (ms, ratio or per second), while there is one.", []string{"threshold", "scope", "source"}, nil)
	descEvents = prometheus.NewDesc("glocust_master_events_total",
		"Master events since start: bad_frames, rogue_frames, spawns_sent, heartbeats_replied, taken_back, missing, duplicate_reports, seq_gaps.", []string{"event"}, nil)
)

type collector struct {
	m       *Master
	version string
}

// NewMetricsHandler returns a /metrics handler over m; version labels
// glocust_master_info. Besides the master's series it serves the Go
// runtime's (go_goroutines, go_memstats_...) and the process's
// (process_resident_memory_bytes, process_open_fds, ...), as a Prometheus
// client usually does.
func NewMetricsHandler(m *Master, version string) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(&collector{m: m, version: version}, collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descRequests, descFailures, descGeneratorFailures, descLatency, descUsers, descClassUsers, descTarget,
		descWorkers, descState, descInfo, descRPS, descExceptions, descEvents,
		descShapeRunning, descShapeTarget, descShapeStage, descShapeNext, descThresholdPass, descThresholdValue} {
		ch <- d
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	var ms []prometheus.Metric
	c.m.Do(func(v *View) { ms = snapshotMetrics(v, c.version) })
	for _, m := range ms {
		ch <- m
	}
}

func snapshotMetrics(v *View, version string) []prometheus.Metric {
	var out []prometheus.Metric
	add := func(d *prometheus.Desc, t prometheus.ValueType, val float64, labels ...string) {
		out = append(out, prometheus.MustNewConstMetric(d, t, val, labels...))
	}
	agg := v.Stats()
	for _, e := range agg.Entries() {
		add(descRequests, prometheus.CounterValue, float64(e.NumRequests), e.Name, e.Method)
		add(descFailures, prometheus.CounterValue, float64(e.NumFailures), e.Name, e.Method)
	}
	gen := map[string]int64{}
	for _, e := range agg.Errors() {
		if what, ok := strings.CutPrefix(e.Error, protocol.GeneratorErrorPrefix); ok {
			gen[what] += e.Occurrences
		}
	}
	for _, what := range slices.Sorted(maps.Keys(gen)) {
		add(descGeneratorFailures, prometheus.CounterValue, float64(gen[what]), what)
	}
	tot := agg.Total()
	buckets := make(map[float64]uint64, len(latencyBounds))
	var count uint64
	for _, kc := range tot.ResponseTimes.Sorted() {
		ms, n := kc.Key, kc.Count
		sec := float64(ms) / 1000
		for _, b := range latencyBounds {
			if sec <= b {
				buckets[b] += uint64(n)
			}
		}
		count += uint64(n)
	}
	out = append(out, prometheus.MustNewConstHistogram(descLatency, count, tot.TotalResponseTime/1000, buckets))
	add(descUsers, prometheus.GaugeValue, float64(v.UserCount()))
	byClass := v.ClassCounts()
	for _, cls := range v.Classes() {
		byClass[cls] += 0 // listed at 0 too
	}
	for _, cls := range slices.Sorted(maps.Keys(byClass)) {
		add(descClassUsers, prometheus.GaugeValue, float64(byClass[cls]), cls)
	}
	add(descTarget, prometheus.GaugeValue, float64(v.TargetUserCount()))
	byState := v.WorkersByState()
	for _, st := range []string{protocol.StateReady, protocol.StateSpawning, protocol.StateRunning, protocol.StateMissing} {
		add(descWorkers, prometheus.GaugeValue, float64(byState[st]), st)
	}
	for _, st := range []string{StateReady, StateSpawning, StateRunning, StateStopping, StateStopped} {
		val := 0.0
		if v.State() == st {
			val = 1
		}
		add(descState, prometheus.GaugeValue, val, st)
	}
	add(descInfo, prometheus.GaugeValue, 1, version, v.c.cfg.LocustVersion)
	add(descRPS, prometheus.GaugeValue, tot.CurrentRPS(time.Now()))
	add(descExceptions, prometheus.GaugeValue, float64(len(v.Exceptions().List())))
	if sh, ok := v.Shape(); ok {
		running := 0.0
		if sh.Running {
			running = 1
		}
		add(descShapeRunning, prometheus.GaugeValue, running, sh.Name)
		add(descShapeTarget, prometheus.GaugeValue, float64(sh.Target.Users), sh.Name)
		add(descShapeStage, prometheus.GaugeValue, float64(sh.Target.StageIndex), sh.Name, sh.Target.Stage)
		if in, ok := sh.NextChangeIn(); ok {
			add(descShapeNext, prometheus.GaugeValue, in.Seconds(), sh.Name)
		}
	}
	seen := map[[3]string]bool{}
	for _, r := range v.Thresholds() {
		key := [3]string{r.Expr, r.Scope(), r.Source}
		if seen[key] {
			continue // the same threshold twice (on one line): one series
		}
		seen[key] = true
		pass := 0.0
		if r.Pass {
			pass = 1
		}
		add(descThresholdPass, prometheus.GaugeValue, pass, r.Expr, r.Scope(), r.Source)
		if r.HasData {
			add(descThresholdValue, prometheus.GaugeValue, r.Value, r.Expr, r.Scope(), r.Source)
		}
	}
	k := v.Counters()
	for name, n := range map[string]int64{"bad_frames": k.BadFrames, "rogue_frames": k.RogueFrames,
		"spawns_sent": k.SpawnsSent, "heartbeats_replied": k.HeartbeatsReplied, "taken_back": k.TakenBack,
		"missing": k.Missing, "duplicate_reports": k.DuplicateReports, "seq_gaps": k.SeqGaps} {
		add(descEvents, prometheus.CounterValue, float64(n), name)
	}
	return out
}
