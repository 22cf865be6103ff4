package master

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/glocust/glocust/protocol"
	"github.com/glocust/glocust/protocol/zmq"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type liveMaster struct {
	m    *Master
	web  *Web
	r    liveRouter
	srv  *httptest.Server
	done chan error
}

func startLive(t *testing.T, tk transportKind, headless bool) *liveMaster {
	t.Helper()
	return startLiveWith(t, tk, Config{Classes: []UserClass{{Name: "A", Weight: 1}}, Tasks: map[string][]TaskInfo{"A": {{Name: "t", Weight: 1}}},
		Host: "http://h", QuitWait: 200 * time.Millisecond}, WebConfig{Headless: headless, Locustfile: "s.yaml"})
}

// startLiveWith runs a master with cfg over a router of kind tk and serves
// its web API (with /metrics) from an httptest server. Once the master
// quit, the strict router's violations fail the test.
func startLiveWith(t *testing.T, tk transportKind, cfg Config, wcfg WebConfig) *liveMaster {
	t.Helper()
	r := tk.new()
	m := New(r, cfg)
	lm := &liveMaster{m: m, r: r, done: make(chan error, 1)}
	go func() { lm.done <- m.Run(context.Background()) }()
	wcfg.Metrics = NewMetricsHandler(m, "test")
	web := NewWeb(m, wcfg)
	lm.web = web
	lm.srv = httptest.NewServer(web)
	t.Cleanup(func() {
		lm.srv.Close()
		web.Close()
		m.Quit()
		<-lm.done
		r.Close()
		if sr, ok := r.(*strictRouter); ok {
			if err := sr.verify(); err != nil {
				t.Errorf("%s transport: %v", tk.name, err)
			}
		}
	})
	return lm
}

// fakeWorker speaks the protocol over the test's router.
type fakeWorker struct {
	t  *testing.T
	id string
	tr zmq.Transport
}

func (lm *liveMaster) worker(t *testing.T, id string) *fakeWorker {
	tr, err := lm.r.Dial(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return &fakeWorker{t: t, id: id, tr: tr}
}

func (w *fakeWorker) send(p protocol.Payload) {
	w.t.Helper()
	b, _ := protocol.Encode(w.id, p)
	if err := w.tr.Send(context.Background(), zmq.Frame{Payload: b}); err != nil {
		w.t.Fatal(err)
	}
}

func (w *fakeWorker) expect(typ string) protocol.Payload {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for {
		f, err := w.tr.Recv(ctx)
		if err != nil {
			w.t.Fatalf("waiting for %s: %v", typ, err)
		}
		env, err := protocol.Decode(f.Payload, protocol.FromMaster)
		if err != nil {
			w.t.Fatal(err)
		}
		if env.Type() == typ {
			return env.Payload
		}
	}
}

func get(t *testing.T, url string) (int, http.Header, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

func getJSON(t *testing.T, url string) map[string]any {
	t.Helper()
	code, _, body := get(t, url)
	if code != 200 {
		t.Fatalf("GET %s: %d %s", url, code, body)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("GET %s: %v: %s", url, err, body)
	}
	return m
}

func statsReport(n int64) *protocol.Stats {
	e := protocol.StatsEntry{Name: "/x", Method: "GET", NumRequests: n, NumFailures: 1, TotalResponseTime: float64(10 * n),
		MaxResponseTime: 20, MinResponseTime: 5, HasTimings: true, StartTime: 1, LastRequestTimestamp: float64(time.Now().Unix()),
		ResponseTimes: []protocol.Bucket{{Key: 10, Count: n}}, NumReqsPerSec: []protocol.Bucket{{Key: time.Now().Unix() - 5, Count: n}}}
	tot := e
	tot.Name, tot.Method = "Aggregated", ""
	return &protocol.Stats{Stats: []protocol.StatsEntry{e}, Total: tot,
		Errors:           []protocol.StatsError{{Key: "k", Name: "/x", Method: "GET", Error: "boom", Occurrences: 1}},
		UserClassesCount: []protocol.ClassCount{{Class: "A", Count: 2}}, UserCount: 2}
}

func TestWebAPI(t *testing.T) {
	t.Parallel()
	eachTransport(t, func(t *testing.T, tk transportKind) {
		t.Parallel()
		lm := startLive(t, tk, false)
		base := lm.srv.URL

		// /swarm succeeds with 0 workers.
		resp, err := http.PostForm(base+"/swarm", url.Values{"user_count": {"2"}, "spawn_rate": {"1"}, "host": {"http://h2"}})
		if err != nil {
			t.Fatal(err)
		}
		var sw map[string]any
		json.NewDecoder(resp.Body).Decode(&sw)
		resp.Body.Close()
		if sw["success"] != true || sw["message"] != "Swarming started" || sw["host"] != "http://h2" {
			t.Fatalf("/swarm: %v", sw)
		}
		if resp.Header.Get("Access-Control-Allow-Origin") != "*" {
			t.Fatal("no CORS header")
		}
		resp, _ = http.PostForm(base+"/swarm", url.Values{"user_count": {"x"}, "spawn_rate": {"1"}})
		json.NewDecoder(resp.Body).Decode(&sw)
		resp.Body.Close()
		if sw["success"] != false {
			t.Fatalf("bad /swarm accepted: %v", sw)
		}

		w := lm.worker(t, "host_w1")
		w.send(&protocol.ClientReady{Version: "2.47.0"})
		w.expect(protocol.TypeAck)
		w.send(hb("ready"))
		w.send(statsReport(10))
		w.send(&protocol.Exception{Msg: "oops", Traceback: "tb"})
		waitFor(t, func() bool { return getJSON(t, base+"/worker-count")["worker_count"] == 1.0 })
		// The worker's messages are handled in order; wait until its report and
		// exception are in.
		waitFor(t, func() bool {
			d := getJSON(t, base+"/stats/requests")
			rows, _ := d["stats"].([]any)
			ex := getJSON(t, base+"/exceptions")["exceptions"]
			exs, _ := ex.([]any)
			return len(rows) == 2 && len(exs) == 1
		})

		doc := getJSON(t, base+"/stats/requests")
		for _, k := range []string{"stats", "errors", "current_rps", "current_fail_per_sec", "total_rps", "total_fail_per_sec",
			"fail_ratio", "current_response_time_percentiles", "workers", "worker_count", "state", "user_count"} {
			if _, ok := doc[k]; !ok {
				t.Errorf("/stats/requests lacks %q", k)
			}
		}
		rows := doc["stats"].([]any)
		if len(rows) != 2 || rows[1].(map[string]any)["name"] != "Aggregated" {
			t.Fatalf("stats rows %v", rows)
		}
		row := rows[0].(map[string]any)
		for _, k := range []string{"method", "name", "num_requests", "num_failures", "min_response_time", "max_response_time",
			"current_rps", "current_fail_per_sec", "avg_response_time", "median_response_time", "total_rps", "total_fail_per_sec",
			"response_time_percentile_0.95", "response_time_percentile_0.99", "avg_content_length"} {
			if _, ok := row[k]; !ok {
				t.Errorf("stats entry lacks %q", k)
			}
		}
		if row["num_requests"] != 10.0 {
			t.Fatalf("num_requests %v", row["num_requests"])
		}
		wk := doc["workers"].([]any)[0].(map[string]any)
		for _, k := range []string{"id", "state", "user_count", "cpu_usage", "memory_usage"} {
			if _, ok := wk[k]; !ok {
				t.Errorf("worker lacks %q", k)
			}
		}
		if pc := doc["current_response_time_percentiles"].(map[string]any); len(pc) != 2 {
			t.Fatalf("percentiles %v", pc)
		}
		if ex := getJSON(t, base+"/exceptions")["exceptions"].([]any); len(ex) != 1 {
			t.Fatalf("/exceptions %v", ex)
		}
		tasks := getJSON(t, base+"/tasks")
		if _, ok := tasks["per_class"].(map[string]any)["A"]; !ok {
			t.Fatalf("/tasks %v", tasks)
		}
		for _, p := range []string{"/stats/requests/csv", "/stats/failures/csv", "/exceptions/csv"} {
			code, h, _ := get(t, base+p)
			if code != 200 || h.Get("Content-Type") != "text/csv" || !strings.Contains(h.Get("Content-Disposition"), "s.yaml") {
				t.Fatalf("%s: %d %v", p, code, h)
			}
		}
		if code, _, _ := get(t, base+"/stats/requests_full_history/csv"); code != 404 {
			t.Fatalf("full history without --csv-full-history: %d", code)
		}
		if code, _, _ := get(t, base+"/stats/report"); code != 200 {
			t.Fatal("/stats/report")
		}
		if code, _, body := get(t, base+"/"); code != 200 || !strings.Contains(body, "glocust") {
			t.Fatal("index")
		}
		// /stats/reset: POST (2.47) and GET (older clients).
		for _, method := range []string{"POST", "GET"} {
			req, _ := http.NewRequest(method, base+"/stats/reset", nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if string(b) != "ok" {
				t.Fatalf("%s /stats/reset: %q", method, b)
			}
		}
		if n := getJSON(t, base+"/stats/requests")["stats"].([]any)[0].(map[string]any)["num_requests"]; n != 0.0 {
			t.Fatalf("after reset num_requests %v", n)
		}
		// /stop blocks until the worker reports 0 users.
		stopped := make(chan string, 1)
		go func() {
			resp, err := http.Post(base+"/stop", "", nil)
			if err != nil {
				stopped <- err.Error()
				return
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			stopped <- string(b)
		}()
		select {
		case <-stopped:
			t.Fatal("/stop returned while the worker still had users")
		case <-time.After(300 * time.Millisecond):
		}
		rep := statsReport(0)
		rep.UserClassesCount = []protocol.ClassCount{{Class: "A", Count: 0}}
		w.send(rep)
		select {
		case s := <-stopped:
			if !strings.Contains(s, "Test stopped") {
				t.Fatalf("/stop: %s", s)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("/stop did not return")
		}
	})
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for i := 0; i < 200; i++ {
		if cond() {
			return
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatal("condition not met in 5 s")
}

var metricLine = regexp.MustCompile(`(?m)^([a-z_]+(?:\{[^}]*\})?) ([0-9.e+-]+)$`)

func scrape(t *testing.T, url string) map[string]float64 {
	t.Helper()
	code, _, body := get(t, url)
	if code != 200 {
		t.Fatalf("/metrics: %d", code)
	}
	out := map[string]float64{}
	for _, m := range metricLine.FindAllStringSubmatch(body, -1) {
		v, _ := strconv.ParseFloat(m[2], 64)
		out[m[1]] = v
	}
	return out
}

func TestMetricsMove(t *testing.T) {
	t.Parallel()
	eachTransport(t, func(t *testing.T, tk transportKind) {
		t.Parallel()
		lm := startLive(t, tk, true)
		base := lm.srv.URL
		if code, _, _ := get(t, base+"/stats/requests"); code != 404 {
			t.Fatalf("headless serves /stats/requests: %d", code)
		}
		if h := getJSON(t, base+"/healthz"); h["status"] != "ok" {
			t.Fatalf("/healthz %v", h)
		}
		before := scrape(t, base+"/metrics")
		w := lm.worker(t, "host_w1")
		w.send(&protocol.ClientReady{Version: "2.47.0"})
		w.expect(protocol.TypeAck)
		w.send(hb("ready"))
		w.expect(protocol.TypeHeartbeat)
		if err := lm.m.Start(2, 100); err != nil {
			t.Fatal(err)
		}
		sp := w.expect(protocol.TypeSpawn).(*protocol.Spawn)
		w.send(&protocol.SpawningComplete{UserClassesCount: sp.UserClassesCount, UserCount: 2})
		w.send(hb("running"))
		w.send(statsReport(10))
		w.send(&protocol.Exception{Msg: "oops", Traceback: "tb"})
		w.send(statsReport(5))
		rogue := lm.worker(t, "rogue")
		rogue.tr.Send(context.Background(), zmq.Frame{Payload: []byte{0xc1, 0x00}})
		b, _ := protocol.Encode("h_real", hb("running"))
		rogue.tr.Send(context.Background(), zmq.Frame{Payload: b})
		waitFor(t, func() bool {
			m := scrape(t, base+"/metrics")
			return m[`glocust_requests_total{method="GET",name="/x"}`] == 15 && m[`glocust_master_events_total{event="rogue_frames"}`] > 0
		})
		after := scrape(t, base+"/metrics")
		moved := []string{
			`glocust_requests_total{method="GET",name="/x"}`,
			`glocust_request_failures_total{method="GET",name="/x"}`,
			`glocust_request_duration_seconds_count`,
			`glocust_request_duration_seconds_sum`,
			`glocust_request_duration_seconds_bucket{le="0.01"}`,
			`glocust_users`,
			`glocust_target_users`,
			`glocust_workers{state="running"}`,
			`glocust_master_state{state="running"}`,
			`glocust_exceptions`,
			`glocust_current_rps`,
			`glocust_master_events_total{event="bad_frames"}`,
			`glocust_master_events_total{event="rogue_frames"}`,
			`glocust_master_events_total{event="spawns_sent"}`,
			`glocust_master_events_total{event="heartbeats_replied"}`,
		}
		for _, k := range moved {
			if after[k] == before[k] {
				t.Errorf("%s did not move (%v)", k, after[k])
			}
		}
		if after[`glocust_master_info{locust_version="2.47.0",version="test"}`] != 1 {
			t.Error("glocust_master_info missing")
		}
		for _, k := range []string{"go_goroutines", "process_open_fds", "process_resident_memory_bytes"} {
			if after[k] <= 0 {
				t.Errorf("%s = %v, want the Go and process collectors' value", k, after[k])
			}
		}
		if after[`glocust_master_state{state="ready"}`] != 0 || before[`glocust_master_state{state="ready"}`] != 1 {
			t.Error("state gauge did not switch from ready")
		}
	})
}
