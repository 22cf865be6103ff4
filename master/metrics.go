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
	"github.com/glocust/glocust/stats"
)

// latencyBoundsMs are the upper bounds (ms) of the /metrics latency
// histograms' buckets. The merged Locust buckets (response times rounded to
// keys, docs/protocol.md section 5.3) are folded into them; every bound is
// such a key, so a key falls in exactly one bucket. From 10 ms to 10 s
// neighbouring bounds are at most 1.5 times apart, so histogram_quantile's
// interpolation within a bucket keeps p50, p95 and p99 within that factor
// (usually far closer) where web requests take their time; 29 buckets keep
// a series per endpoint affordable.
var latencyBoundsMs = []int64{1, 2, 5, 10, 15, 20, 30, 40, 50, 75, 100, 150, 200, 250, 300, 400, 500, 750,
	1000, 1500, 2000, 3000, 4000, 5000, 7500, 10000, 15000, 30000, 60000}

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
	descEndpointLatency = prometheus.NewDesc("glocust_endpoint_request_duration_seconds",
		"Response times per name and method, from the merged Locust response-time buckets "+
			"(as many names as --max-request-names keeps; further names are in its overflow entry). "+
			"Its count is the requests with a response time (resets with the stats).", []string{"name", "method"}, nil)
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
	descRunInfo = prometheus.NewDesc("glocust_run_info",
		"Constant 1 labelled with the current (or last) run's id and --profile (none before the first run).", []string{"run_id", "profile"}, nil)
	descRunStart = prometheus.NewDesc("glocust_run_start_time_seconds",
		"When the current (or last) run started, in seconds since the epoch.", nil, nil)
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
	descWorkerCPU = prometheus.NewDesc("glocust_worker_cpu_usage_ratio",
		"A worker's CPU use in its last heartbeat (Locust's current_cpu_usage / 100): of its cores for a glocust worker, of one core for a Locust worker.", []string{"worker"}, nil)
	descWorkerRSS = prometheus.NewDesc("glocust_worker_memory_rss_bytes",
		"A worker's resident memory in its last heartbeat (Locust's current_memory_usage).", []string{"worker"}, nil)
	descWorkerThrottled = prometheus.NewDesc("glocust_worker_cpu_throttled_ratio",
		"The fraction of CFS periods in which a glocust worker's cgroup was CPU-throttled, over its last heartbeat interval.", []string{"worker"}, nil)
	descWorkerThrottledSeconds = prometheus.NewDesc("glocust_worker_cpu_throttled_seconds_total",
		"The time a glocust worker's cgroup was CPU-throttled, in total (the kernel's counter).", []string{"worker"}, nil)
	descWorkerWorkingSet = prometheus.NewDesc("glocust_worker_memory_working_set_bytes",
		"A glocust worker's cgroup memory minus its inactive file cache (what the kubelet evicts on).", []string{"worker"}, nil)
	descWorkerMemoryLimit = prometheus.NewDesc("glocust_worker_memory_limit_bytes",
		"A glocust worker's cgroup memory limit (only when it has one).", []string{"worker"}, nil)
	descWorkersOverloaded = prometheus.NewDesc("glocust_workers_overloaded",
		"Workers whose last heartbeat passes a threshold: cpu (above 90%), throttled (in a tenth of the periods or more), memory (90% of the limit).", []string{"reason"}, nil)
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
	for _, d := range []*prometheus.Desc{descRequests, descFailures, descGeneratorFailures, descLatency, descEndpointLatency, descUsers, descClassUsers, descTarget,
		descWorkers, descState, descInfo, descRPS, descExceptions, descEvents,
		descShapeRunning, descShapeTarget, descShapeStage, descShapeNext, descThresholdPass, descThresholdValue,
		descWorkerCPU, descWorkerRSS, descWorkerThrottled, descWorkerThrottledSeconds, descWorkerWorkingSet, descWorkerMemoryLimit,
		descWorkersOverloaded, descRunInfo, descRunStart} {
		ch <- d
	}
}

// Collect reads the master's state on its loop (Do) and builds the
// histograms after: the loop only folds each entry's buckets into arrays.
func (c *collector) Collect(ch chan<- prometheus.Metric) {
	var s *metricsSnapshot
	c.m.Do(func(v *View) { s = takeSnapshot(v, c.version) })
	for _, m := range s.metrics() {
		ch <- m
	}
}

// snapshotMetrics is the collector's output for v.
func snapshotMetrics(v *View, version string) []prometheus.Metric {
	return takeSnapshot(v, version).metrics()
}

// metricsSnapshot is what the collector takes from the loop: the finished
// metrics, and the latency histograms still as folded arrays.
type metricsSnapshot struct {
	out       []prometheus.Metric
	total     latencyFold
	endpoints []latencyFold
}

// latencyFold is one latency histogram: the count of the response times
// in each bucket of latencyBoundsMs (not cumulative; the last slot is
// above the last bound), their number and their sum in seconds.
type latencyFold struct {
	name, method string
	counts       []uint64
	count        uint64
	sum          float64
}

// foldLatency folds s's response-time buckets into counts
// (len(latencyBoundsMs)+1 slots). It does not allocate.
func foldLatency(s *stats.Summary, counts []uint64) latencyFold {
	f := latencyFold{name: s.Name, method: s.Method, counts: counts, sum: s.TotalResponseTime / 1000}
	s.ResponseTimes.Each(func(key, n int64) {
		i, _ := slices.BinarySearch(latencyBoundsMs, key)
		f.counts[i] += uint64(n)
		f.count += uint64(n)
	})
	return f
}

// histogram is f as a Prometheus histogram of desc.
func (f *latencyFold) histogram(desc *prometheus.Desc, labels ...string) prometheus.Metric {
	buckets := make(map[float64]uint64, len(latencyBoundsMs))
	var cum uint64
	for i, b := range latencyBoundsMs {
		cum += f.counts[i]
		buckets[float64(b)/1000] = cum
	}
	return prometheus.MustNewConstHistogram(desc, f.count, f.sum, buckets, labels...)
}

func (s *metricsSnapshot) metrics() []prometheus.Metric {
	out := append(s.out, s.total.histogram(descLatency))
	for i := range s.endpoints {
		e := &s.endpoints[i]
		out = append(out, e.histogram(descEndpointLatency, e.name, e.method))
	}
	return out
}

// takeSnapshot runs on the master's loop.
func takeSnapshot(v *View, version string) *metricsSnapshot {
	var out []prometheus.Metric
	add := func(d *prometheus.Desc, t prometheus.ValueType, val float64, labels ...string) {
		out = append(out, prometheus.MustNewConstMetric(d, t, val, labels...))
	}
	agg := v.Stats()
	entries := agg.Entries()
	slots := len(latencyBoundsMs) + 1
	counts := make([]uint64, (len(entries)+1)*slots)
	snap := &metricsSnapshot{endpoints: make([]latencyFold, len(entries))}
	for i, e := range entries {
		add(descRequests, prometheus.CounterValue, float64(e.NumRequests), e.Name, e.Method)
		add(descFailures, prometheus.CounterValue, float64(e.NumFailures), e.Name, e.Method)
		snap.endpoints[i] = foldLatency(e, counts[i*slots:(i+1)*slots:(i+1)*slots])
	}
	snap.total = foldLatency(agg.Total(), counts[len(entries)*slots:])
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
	over := map[string]int{"cpu": 0, "throttled": 0, "memory": 0}
	for _, h := range v.Health() {
		add(descWorkerCPU, prometheus.GaugeValue, h.CPUUsage/100, h.ID)
		add(descWorkerRSS, prometheus.GaugeValue, float64(h.Memory), h.ID)
		if h.HasCgroup {
			add(descWorkerThrottled, prometheus.GaugeValue, h.CPUThrottled, h.ID)
			add(descWorkerThrottledSeconds, prometheus.CounterValue, h.CPUThrottledSeconds, h.ID)
			add(descWorkerWorkingSet, prometheus.GaugeValue, float64(h.MemoryWorkingSet), h.ID)
			if h.MemoryLimit > 0 {
				add(descWorkerMemoryLimit, prometheus.GaugeValue, float64(h.MemoryLimit), h.ID)
			}
		}
		for _, r := range h.Overloaded {
			over[r]++
		}
	}
	for _, r := range []string{"cpu", "throttled", "memory"} {
		add(descWorkersOverloaded, prometheus.GaugeValue, float64(over[r]), r)
	}
	for _, st := range []string{StateReady, StateSpawning, StateRunning, StateStopping, StateStopped} {
		val := 0.0
		if v.State() == st {
			val = 1
		}
		add(descState, prometheus.GaugeValue, val, st)
	}
	add(descInfo, prometheus.GaugeValue, 1, version, v.c.cfg.LocustVersion)
	if run := v.Run(); run.ID != "" {
		add(descRunInfo, prometheus.GaugeValue, 1, run.ID, run.Profile)
		add(descRunStart, prometheus.GaugeValue, float64(run.Start.UnixNano())/1e9)
	}
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
	snap.out = out
	return snap
}
