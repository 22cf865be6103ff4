package master

import (
	"encoding/json"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/glocust/glocust/protocol"
)

// TestGeneratorHealth: heartbeats above 90% CPU, throttled in a tenth of
// the periods or more, or at 90% of the memory limit are each warned
// about once per worker; while a test runs they are recorded per worker
// (worst value and heartbeats), Locust's end-of-test line is logged on
// stop, a new test starts a new record, and View.Health shows the last
// heartbeat of every worker, Locust's and glocust's.
func TestGeneratorHealth(t *testing.T) {
	t.Parallel()
	lg := &syncLog{}
	h := newHarness(t, func(c *Config) { c.Logger = slog.New(slog.NewTextHandler(lg, nil)) })
	h.recv("h_a", &protocol.ClientReady{Version: "2.47.0"})
	h.recv("h_b", &protocol.ClientReady{Version: "2.47.0"})
	beat := func(id string, cpu float64, health *protocol.WorkerHealth) {
		m := &protocol.Heartbeat{State: protocol.StateRunning, CurrentCPUUsage: cpu, CurrentMemoryUsage: 7 << 20}
		if health != nil {
			m.Health, m.HasHealth, m.Seq, m.HasSeq = *health, true, 0, true
		}
		h.recv(id, m)
	}
	limit := int64(1000 << 20)
	throttled := &protocol.WorkerHealth{CPUThrottled: 0.5, CPUThrottledSeconds: 3, MemoryWorkingSet: 100 << 20, MemoryLimit: limit}
	nearLimit := &protocol.WorkerHealth{CPUThrottled: 0.05, MemoryWorkingSet: 950 << 20, MemoryLimit: limit}
	healthy := &protocol.WorkerHealth{CPUThrottled: 0.09, MemoryWorkingSet: limit * 89 / 100, MemoryLimit: limit}

	beat("h_a", 95, nil) // before any test: warned, not recorded
	var none []Overload
	if o := (&View{c: h.c}).Overloads(); len(o) != 0 {
		t.Fatalf("overloads before a test: %+v", o)
	}
	if err := h.c.start(2, 10); err != nil {
		t.Fatal(err)
	}
	h.advance(0)
	beat("h_a", 97, nil)
	beat("h_a", 20, nil)
	beat("h_b", 50, throttled)
	beat("h_b", 50, healthy)
	beat("h_b", 30, throttled)
	beat("h_b", 30, nearLimit)
	v := &View{c: h.c}
	got := v.Overloads()
	want := []Overload{
		{ID: "h_a", Index: 0, MaxCPUUsage: 97, HighCPUHeartbeats: 1},
		{ID: "h_b", Index: 1, MaxCPUThrottled: 0.5, ThrottledHeartbeats: 2, MaxMemoryRatio: 0.95, HighMemHeartbeats: 1, MemoryLimit: limit},
	}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("overloads\n got %+v\nwant %+v", got, want)
	}
	if s := got[1].Summary(); s != "h_b (index 1): CPU-throttled by its cgroup in 2 heartbeats (max 50% of the periods); memory at 95% of its 1000 MiB limit" {
		t.Errorf("summary %q", s)
	}
	hs := v.Health()
	if len(hs) != 2 || hs[0].HasCgroup || hs[0].CPUUsage != 20 || len(hs[0].Overloaded) != 0 ||
		!hs[1].HasCgroup || hs[1].MemoryWorkingSet != nearLimit.MemoryWorkingSet || strings.Join(hs[1].Overloaded, ",") != "memory" {
		t.Errorf("health %+v", hs)
	}
	fams := gather(t, h.c)
	value := func(name, label string) (float64, bool) {
		for _, m := range fams[name].GetMetric() {
			if m.GetLabel()[0].GetValue() == label {
				return m.GetGauge().GetValue() + m.GetCounter().GetValue(), true
			}
		}
		return 0, false
	}
	for _, c := range []struct {
		name, label string
		want        float64
		present     bool
	}{
		{"glocust_worker_cpu_usage_ratio", "h_a", 0.2, true},
		{"glocust_worker_memory_rss_bytes", "h_b", 7 << 20, true},
		{"glocust_worker_cpu_throttled_ratio", "h_b", 0.05, true},
		{"glocust_worker_cpu_throttled_ratio", "h_a", 0, false}, // a Locust worker: no cgroup figures
		{"glocust_worker_cpu_throttled_seconds_total", "h_b", 0, true},
		{"glocust_worker_memory_working_set_bytes", "h_b", 950 << 20, true},
		{"glocust_worker_memory_limit_bytes", "h_b", 1000 << 20, true},
		{"glocust_workers_overloaded", "memory", 1, true},
		{"glocust_workers_overloaded", "cpu", 0, true},
	} {
		if got, ok := value(c.name, c.label); ok != c.present || got != c.want {
			t.Errorf("%s{%s} = %g (present %v), want %g (%v)", c.name, c.label, got, ok, c.want, c.present)
		}
	}
	out := lg.String()
	for w, n := range map[string]int{
		"Worker h_a (index 0) exceeded cpu threshold (will only log this once per worker)": 1,
		"Worker h_b (index 1) is CPU-throttled by its cgroup in 50% of the last second":    1,
		"Worker h_b (index 1) uses 95% of its memory limit (1000 MiB)":                     1,
		"CPU usage threshold was exceeded on workers during the test!":                     0,
		"Workers were CPU-throttled or near their memory limit during the test":            0,
	} {
		if c := strings.Count(out, w); c != n {
			t.Errorf("%q logged %d times, want %d:\n%s", w, c, n, out)
		}
	}
	h.c.stop(h.now, true)
	out = lg.String()
	for _, w := range []string{"CPU usage threshold was exceeded on workers during the test!",
		"Workers were CPU-throttled or near their memory limit during the test"} {
		if strings.Count(out, w) != 1 {
			t.Errorf("%q not logged once at the stop:\n%s", w, out)
		}
	}
	for _, id := range []string{"h_a", "h_b"} {
		h.recv(id, &protocol.ClientStopped{})
		h.recv(id, &protocol.ClientReady{Version: "2.47.0"})
	}
	if err := h.c.start(2, 10); err != nil {
		t.Fatal(err)
	}
	if o := (&View{c: h.c}).Overloads(); len(o) != len(none) {
		t.Fatalf("a new test kept the last one's overloads: %+v", o)
	}
}

// TestWorkerHealthEndpoint: GET /worker-health (served headless too)
// lists each worker's last heartbeat figures, glocust's cgroup keys
// included, while /stats/requests keeps Locust's worker fields only.
func TestWorkerHealthEndpoint(t *testing.T) {
	t.Parallel()
	lm := startLive(t, transportKinds[0], false)
	w := lm.worker(t, "h_a")
	w.send(&protocol.ClientReady{Version: "2.47.0"})
	w.expect("ack")
	w.send(&protocol.Heartbeat{State: protocol.StateReady, CurrentCPUUsage: 12, CurrentMemoryUsage: 1 << 20, HasSeq: true,
		HasHealth: true, Health: protocol.WorkerHealth{CPUThrottled: 0.25, CPUThrottledSeconds: 1.5, MemoryWorkingSet: 3 << 20, MemoryLimit: 4 << 20}})
	w.expect("heartbeat")
	doc := getJSON(t, lm.srv.URL+"/worker-health")
	ws, _ := doc["workers"].([]any)
	if len(ws) != 1 {
		t.Fatalf("/worker-health: %v", doc)
	}
	got, _ := json.Marshal(ws[0])
	want := `{"cgroup":true,"cpu_throttled":0.25,"cpu_throttled_seconds":1.5,"cpu_usage":12,"id":"h_a","index":0,` +
		`"memory_limit":4194304,"memory_usage":1048576,"memory_working_set":3145728,"overloaded":["throttled"],"state":"ready"}`
	if string(got) != want {
		t.Errorf("/worker-health worker\n got %s\nwant %s", got, want)
	}
	if o, ok := doc["overloaded"].([]any); !ok || len(o) != 0 {
		t.Errorf("overloaded outside a test: %v", doc["overloaded"])
	}
	req := getJSON(t, lm.srv.URL+"/stats/requests")
	rw, _ := req["workers"].([]any)
	if len(rw) != 1 {
		t.Fatalf("/stats/requests workers: %v", req["workers"])
	}
	keys := slices.Sorted(maps.Keys(rw[0].(map[string]any)))
	if strings.Join(keys, ",") != "cpu_usage,id,memory_usage,state,user_count" {
		t.Errorf("/stats/requests worker keys %v, want Locust's", keys)
	}
}
