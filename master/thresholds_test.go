package master

import (
	"strings"
	"testing"
	"time"

	"github.com/glocust/glocust/protocol"
	"github.com/glocust/glocust/threshold"
)

// failReport is a worker's report of n requests to "/x" in the second at,
// failures of them failed, each taking ms.
func failReport(at time.Time, n, failures, ms int64) *protocol.Stats {
	sec := at.Unix()
	e := protocol.StatsEntry{Name: "/x", Method: "GET", NumRequests: n, NumFailures: failures, HasTimings: true,
		TotalResponseTime: float64(n * ms), MaxResponseTime: float64(ms), MinResponseTime: float64(ms),
		StartTime: float64(sec), LastRequestTimestamp: float64(sec),
		ResponseTimes: []protocol.Bucket{{Key: ms, Count: n}}, NumReqsPerSec: []protocol.Bucket{{Key: sec, Count: n}}}
	if failures > 0 {
		e.NumFailPerSec = []protocol.Bucket{{Key: sec, Count: failures}}
	}
	tot := e
	tot.Name, tot.Method = "Aggregated", ""
	return &protocol.Stats{Stats: []protocol.StatsEntry{e}, Total: tot,
		UserClassesCount: []protocol.ClassCount{{Class: "A", Count: 1}}, UserCount: 1}
}

func mustThreshold(t *testing.T, expr string) threshold.Threshold {
	t.Helper()
	th, err := threshold.Parse(expr)
	if err != nil {
		t.Fatal(err)
	}
	return th
}

// TestThresholdsOnMergedStats: thresholds judge the master's merged stats.
// Two workers each fail 2 requests a second for 11 s: each alone passes
// failures_per_s < 3, together they fail it; their percentiles come from
// the merged buckets.
func TestThresholdsOnMergedStats(t *testing.T) {
	t.Parallel()
	ths := []threshold.Threshold{mustThreshold(t, "failures_per_s < 3"), mustThreshold(t, "p95 < 500")}
	judge := func(workers ...string) []threshold.Result {
		h := newHarness(t, func(c *Config) { c.Thresholds = ths })
		start := h.now
		for _, id := range workers {
			h.recv(id, &protocol.ClientReady{Version: "2.47.0"})
		}
		for s := int64(0); s <= 10; s++ {
			for i, id := range workers {
				// 20 requests a second, 2 of them failing; the second
				// worker's are slower (400 ms against 10 ms).
				ms := int64(10 + 390*i)
				h.recv(id, failReport(start.Add(time.Duration(s)*time.Second), 20, 2, ms))
			}
		}
		return (&View{c: h.c}).Thresholds()
	}
	for _, alone := range []string{"w1", "w2"} {
		for _, r := range judge(alone) {
			if !r.Pass {
				t.Errorf("worker %s alone: %s fails (%s), want pass", alone, r.Expr, r.Measured())
			}
		}
	}
	rs := judge("w1", "w2")
	// 2 x 11 seconds x 2 failures over the 10 s from the first request to
	// the last: 4.4/s (each worker alone: 2.2/s).
	if rs[0].Pass || rs[0].Value != 4.4 {
		t.Errorf("merged: %s %s = %v, want 4.4/s and FAIL", rs[0].Verdict(), rs[0].Expr, rs[0].Value)
	}
	// Half the requests take 400 ms: the merged p95 is 400, which neither
	// worker's own p95 (10 and 400) averaged (205) nor the fast one shows.
	if !rs[1].Pass || rs[1].Value != 400 {
		t.Errorf("merged p95: %v (%s), want 400 from the merged buckets", rs[1].Value, rs[1].Verdict())
	}
}

// TestAbortOnFail: a threshold with abort_on_fail is not judged during its
// grace; once it fails after it, the test stops (a headless master quits)
// and the threshold fails with the time and value it stopped at, whatever
// the stats say later. A new test starts clean.
func TestAbortOnFail(t *testing.T) {
	t.Parallel()
	th := mustThreshold(t, "fail_ratio < 10%")
	th.AbortOnFail, th.Grace = true, 5*time.Second
	for _, headless := range []bool{true, false} {
		h := newHarness(t, func(c *Config) { c.Thresholds, c.Headless = []threshold.Threshold{th}, headless })
		h.recv("w1", &protocol.ClientReady{Version: "2.47.0"})
		if err := h.c.swarm(1, 1); err != nil {
			t.Fatal(err)
		}
		start := h.now
		stoppedAt := time.Duration(-1)
		for s := 1; s <= 10 && stoppedAt < 0; s++ {
			h.recv("w1", hb(protocol.StateRunning))
			h.recv("w1", failReport(h.now, 10, 5, 10)) // 50% failures from the start
			h.advance(time.Second)
			h.c.judge(h.now)
			if h.c.state == StateStopping || h.c.quitting {
				stoppedAt = h.now.Sub(start)
			}
		}
		if stoppedAt != 5*time.Second {
			t.Fatalf("headless %v: stopped after %v, want 5 s (the grace)", headless, stoppedAt)
		}
		if h.c.quitting != headless {
			t.Errorf("headless %v: quitting %v", headless, h.c.quitting)
		}
		select {
		case <-h.c.abortCh:
		default:
			t.Error("ThresholdAborted not signalled")
		}
		h.c.agg.Reset(h.now) // the stats pass now, the verdict stays
		r := (&View{c: h.c}).Thresholds()[0]
		if r.Pass || !r.Aborted || r.AbortedAfter != 5*time.Second || r.AbortValue != 0.5 ||
			!strings.Contains(r.Measured(), "stopped the run after 5s at 50.00%") {
			t.Errorf("headless %v: result %+v %q", headless, r, r.Measured())
		}
		if headless {
			continue
		}
		h.recv("w1", &protocol.ClientStopped{})
		h.recv("w1", &protocol.ClientReady{Version: "2.47.0"})
		if err := h.c.swarm(1, 1); err != nil {
			t.Fatal(err)
		}
		if r := (&View{c: h.c}).Thresholds()[0]; r.Aborted || !r.Pass {
			t.Errorf("a new test keeps the last one's abort: %+v", r)
		}
	}
}

// TestThresholdsWeb: /thresholds and /metrics show each threshold's
// verdict and value, in headless mode too.
func TestThresholdsWeb(t *testing.T) {
	t.Parallel()
	ok, bad := mustThreshold(t, "p95 < 500"), mustThreshold(t, "fail_ratio < 1%")
	bad.Source = "s.yaml:9"
	missing := mustThreshold(t, "avg < 5")
	missing.Name = "nope"
	lm := startLiveWith(t, transportKinds[0], Config{Classes: []UserClass{{Name: "A", Weight: 1}},
		Thresholds: []threshold.Threshold{ok, bad, missing}, QuitWait: 200 * time.Millisecond},
		WebConfig{Locustfile: "s.yaml", Headless: true})
	base := lm.srv.URL
	w := lm.worker(t, "th_w1")
	w.send(&protocol.ClientReady{Version: "2.47.0"})
	w.expect(protocol.TypeAck)
	w.send(statsReport(10)) // 10 requests, 1 failure, 10 ms
	waitFor(t, func() bool {
		d := getJSON(t, base+"/thresholds")
		list, _ := d["thresholds"].([]any)
		return len(list) == 3 && list[1].(map[string]any)["value"] == 0.1
	})
	d := getJSON(t, base+"/thresholds")
	list := d["thresholds"].([]any)
	first, second, third := list[0].(map[string]any), list[1].(map[string]any), list[2].(map[string]any)
	if d["verdict"] != "fail" || first["verdict"] != "PASS" || first["value"] != 10.0 || second["verdict"] != "FAIL" ||
		second["measured"] != "10.00%" || second["source"] != "s.yaml:9" || third["value"] != nil || third["pass"] != false {
		t.Fatalf("/thresholds: %v", d)
	}
	m := scrape(t, base+"/metrics")
	if m[`glocust_threshold_pass{scope="Aggregated",source="",threshold="p95 < 500"}`] != 1 ||
		m[`glocust_threshold_pass{scope="Aggregated",source="s.yaml:9",threshold="fail_ratio < 1%"}`] != 0 ||
		m[`glocust_threshold_value{scope="Aggregated",source="s.yaml:9",threshold="fail_ratio < 1%"}`] != 0.1 {
		t.Fatalf("threshold metrics: %v", m)
	}
	if _, ok := m[`glocust_threshold_value{scope="nope",source="",threshold="avg < 5"}`]; ok {
		t.Error("a value for a threshold without data")
	}
}
