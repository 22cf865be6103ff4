package master

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
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
	descLatency = prometheus.NewDesc("glocust_request_duration_seconds",
		"Response times of all requests, from the merged Locust response-time buckets.", nil, nil)
	descUsers = prometheus.NewDesc("glocust_users",
		"Users the workers report running.", nil, nil)
	descTarget = prometheus.NewDesc("glocust_target_users",
		"User count of the current or last swarm.", nil, nil)
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
	descEvents = prometheus.NewDesc("glocust_master_events_total",
		"Master events since start: bad_frames, rogue_frames, spawns_sent, heartbeats_replied, taken_back, missing, duplicate_reports, seq_gaps.", []string{"event"}, nil)
)

type collector struct {
	m       *Master
	version string
}

// NewMetricsHandler returns a /metrics handler over m; version labels
// glocust_master_info.
func NewMetricsHandler(m *Master, version string) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(&collector{m: m, version: version})
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descRequests, descFailures, descLatency, descUsers, descTarget,
		descWorkers, descState, descInfo, descRPS, descExceptions, descEvents} {
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
	k := v.Counters()
	for name, n := range map[string]int64{"bad_frames": k.BadFrames, "rogue_frames": k.RogueFrames,
		"spawns_sent": k.SpawnsSent, "heartbeats_replied": k.HeartbeatsReplied, "taken_back": k.TakenBack,
		"missing": k.Missing, "duplicate_reports": k.DuplicateReports, "seq_gaps": k.SeqGaps} {
		add(descEvents, prometheus.CounterValue, float64(n), name)
	}
	return out
}
