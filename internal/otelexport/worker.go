package otelexport

import (
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/glocust/glocust/worker"
)

// Names of the metrics a worker exports: its own load, the generator
// health its heartbeats carry (docs/protocol.md section 9).
const (
	MetricWorkerCPU           = "glocust.worker.cpu.usage"
	MetricWorkerRSS           = "glocust.worker.memory.rss"
	MetricWorkerUsers         = "glocust.worker.users"
	MetricWorkerThrottled     = "glocust.worker.cpu.throttled"
	MetricWorkerThrottledTime = "glocust.worker.cpu.throttled.time"
	MetricWorkerWorkingSet    = "glocust.worker.memory.working_set"
	MetricWorkerMemoryLimit   = "glocust.worker.memory.limit"
	// KeyInstance is the resource attribute naming the worker (its node
	// id), the standard service.instance.id.
	KeyInstance = "service.instance.id"
)

// WorkerSource exports a worker's own load (Worker.Load): its CPU, memory
// and users, and its cgroup's throttling and memory against the limit,
// under a resource naming it (service.instance.id: its node id). A worker
// exports no request metrics: its master has every worker's requests
// merged (a glocust master exports them with --otel), and exporting them
// here too would count them twice. started is the start of the cumulative
// throttled time (the process's start).
func WorkerSource(w *worker.Worker, started time.Time) Source {
	return func() ([]attribute.KeyValue, []metricdata.Metrics) {
		l := w.Load()
		now := time.Now()
		g := func(name, desc, unit string, v float64) metricdata.Metrics {
			return metricdata.Metrics{Name: name, Description: desc, Unit: unit,
				Data: metricdata.Gauge[float64]{DataPoints: []metricdata.DataPoint[float64]{{Time: now, Value: v}}}}
		}
		ms := []metricdata.Metrics{
			g(MetricWorkerCPU, "The worker's CPU use over its last heartbeat interval, a share of its cores (GOMAXPROCS)", "1", l.CPUPercent/100),
			g(MetricWorkerRSS, "The worker's resident memory", "By", float64(l.RSS)),
			g(MetricWorkerUsers, "Users the worker runs", "{user}", float64(l.Users)),
		}
		if l.HasCgroup {
			ms = append(ms,
				g(MetricWorkerThrottled, "The fraction of CFS periods of the last heartbeat interval in which the worker's cgroup was CPU-throttled", "1", l.Cgroup.CPUThrottled),
				metricdata.Metrics{Name: MetricWorkerThrottledTime, Description: "The time the worker's cgroup was CPU-throttled, in total", Unit: "s",
					Data: metricdata.Sum[float64]{Temporality: metricdata.CumulativeTemporality, IsMonotonic: true,
						DataPoints: []metricdata.DataPoint[float64]{{StartTime: started, Time: now, Value: l.Cgroup.CPUThrottledSeconds}}}},
				g(MetricWorkerWorkingSet, "The worker's cgroup memory minus its inactive file cache", "By", float64(l.Cgroup.MemoryWorkingSet)))
			if l.Cgroup.MemoryLimit > 0 {
				ms = append(ms, g(MetricWorkerMemoryLimit, "The worker's cgroup memory limit", "By", float64(l.Cgroup.MemoryLimit)))
			}
		}
		return []attribute.KeyValue{attribute.String(KeyInstance, w.NodeID())}, ms
	}
}
