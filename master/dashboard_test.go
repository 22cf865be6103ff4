package master

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/glocust/glocust/protocol"
	"github.com/glocust/glocust/stats"
)

// TestSeriesBounded: whatever the number of samples, a series keeps at
// most its capacity of points, covers every sample once, in time order,
// and its points' means and maxima are those of the samples they merged.
func TestSeriesBounded(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ cap, samples int }{{2, 1}, {2, 7}, {4, 4}, {4, 5}, {16, 1000}, {240, 3600}, {4096, 3600}} {
		s := newSeries(tc.cap, []bool{false, true})
		rng := rand.New(rand.NewPCG(uint64(tc.cap), uint64(tc.samples)))
		start := time.Unix(1_800_000_000, 0)
		var sum, peak float64
		vals := make([]float64, tc.samples)
		for i := range tc.samples {
			v := float64(rng.IntN(1000))
			vals[i] = v
			sum += v
			peak = max(peak, v)
			s.add(start.Add(time.Duration(i)*2*time.Second), []float64{v, v})
		}
		if s.len() > tc.cap {
			t.Errorf("cap %d, %d samples: %d points", tc.cap, tc.samples, s.len())
		}
		covered, gotSum, gotPeak := 0, 0.0, 0.0
		for i := range s.len() {
			if i > 0 && s.t[i] <= s.t[i-1] {
				t.Fatalf("cap %d: times out of order at %d", tc.cap, i)
			}
			// Point i holds samples covered..covered+n-1: its mean and
			// maximum are theirs.
			var mean, mx float64
			for _, v := range vals[covered : covered+s.n[i]] {
				mean += v / float64(s.n[i])
				mx = max(mx, v)
			}
			if math.Abs(float64(s.cols[0][i])-mean) > 1e-3*max(1, mean) || float64(s.cols[1][i]) != mx {
				t.Fatalf("cap %d, point %d of %d samples: mean %v max %v, want %v %v", tc.cap, i, s.n[i], s.cols[0][i], s.cols[1][i], mean, mx)
			}
			covered += s.n[i]
			gotSum += float64(s.cols[0][i]) * float64(s.n[i])
			gotPeak = max(gotPeak, float64(s.cols[1][i]))
			if s.n[i] > s.stride {
				t.Fatalf("cap %d: a point of %d samples at stride %d", tc.cap, s.n[i], s.stride)
			}
		}
		if covered != tc.samples || gotPeak != peak || math.Abs(gotSum-sum) > 1e-3*sum {
			t.Errorf("cap %d, %d samples: covered %d, sum %v peak %v, want %v %v", tc.cap, tc.samples, covered, gotSum, gotPeak, sum, peak)
		}
		if last := start.Add(time.Duration(tc.samples-1) * 2 * time.Second).UnixMilli(); s.t[s.len()-1] != last {
			t.Errorf("cap %d: last point at %d, want the last sample's %d", tc.cap, s.t[s.len()-1], last)
		}
	}
}

// TestSeriesUnknown: an unknown value (NaN, a percentile without
// requests) takes the other value of a merge.
func TestSeriesUnknown(t *testing.T) {
	t.Parallel()
	s := newSeries(2, []bool{false})
	now := time.Unix(1_800_000_000, 0)
	s.add(now, []float64{math.NaN()})
	s.add(now.Add(time.Second), []float64{4})
	s.add(now.Add(2*time.Second), []float64{math.NaN()})
	if s.len() != 2 || s.cols[0][0] != 4 || !math.IsNaN(float64(s.cols[0][1])) {
		t.Fatalf("points %v", s.cols[0])
	}
}

// sseEvent is one Server-Sent Event.
type sseEvent struct {
	name string
	data map[string]any
}

// readEvent reads the next event (comments and retry lines skipped).
func readEvent(br *bufio.Reader) (sseEvent, error) {
	var ev sseEvent
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return ev, err
		}
		line = strings.TrimRight(line, "\n")
		switch {
		case line == "" && ev.name != "":
			return ev, nil
		case strings.HasPrefix(line, "event: "):
			ev.name = line[len("event: "):]
		case strings.HasPrefix(line, "data: "):
			if err := json.Unmarshal([]byte(line[len("data: "):]), &ev.data); err != nil {
				return ev, fmt.Errorf("event %s: %v", ev.name, err)
			}
		}
	}
}

// nextEvent reads events until match accepts one, for at most 5 s.
func nextEvent(br *bufio.Reader, match func(sseEvent) bool) (sseEvent, error) {
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		ev, err := readEvent(br)
		if err != nil {
			return ev, err
		}
		if match(ev) {
			return ev, nil
		}
	}
	return sseEvent{}, errors.New("no matching event in 5 s")
}

func openEvents(t *testing.T, base string) (*bufio.Reader, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", base+"/ui/events", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" || resp.Header.Get("X-Accel-Buffering") != "no" {
		t.Fatalf("ui/events: %s %v", resp.Status, resp.Header)
	}
	return bufio.NewReader(resp.Body), func() { cancel(); resp.Body.Close() }
}

// TestDashboardStream: a page gets an init, then updates with the rows,
// the names and a history point while a test runs; a request name's
// history is served; the run shows in the past runs with its report once
// it stopped; closing the web server ends the stream.
func TestDashboardStream(t *testing.T) {
	t.Parallel()
	lm := startLiveWith(t, transportKinds[0], Config{Classes: []UserClass{{Name: "A", Weight: 1}}, Host: "http://h",
		QuitWait: 200 * time.Millisecond}, WebConfig{Locustfile: "s.yaml", UpdateInterval: 20 * time.Millisecond})
	base := lm.srv.URL
	br, done := openEvents(t, base)
	defer done()
	ev, err := readEvent(br)
	if err != nil || ev.name != "init" || ev.data["hist"] == nil || ev.data["state"] != "ready" {
		t.Fatalf("first event %q %v: %v", ev.name, ev.data, err)
	}

	w := lm.worker(t, "host_w1")
	w.send(&protocol.ClientReady{Version: "2.47.0"})
	w.expect(protocol.TypeAck)
	resp, err := http.PostForm(base+"/swarm", url.Values{"user_count": {"2"}, "spawn_rate": {"10"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	w.expect(protocol.TypeSpawn)
	w.send(statsReport(10))
	names := map[string]float64{}
	ev, err = nextEvent(br, func(ev sseEvent) bool {
		for _, n := range asList(ev.data["names"]) {
			l := asList(n)
			names[l[2].(string)] = l[0].(float64)
		}
		rows := asList(ev.data["rows"])
		return ev.name == "update" && len(rows) == 1 && ev.data["point"] != nil && asList(rows[0])[1] == 10.0
	})
	if err != nil {
		t.Fatalf("no update with the report's row: %v", err)
	}
	id, ok := names["/x"]
	if !ok {
		t.Fatalf("the name /x was not sent: %v", names)
	}
	if errs := asList(ev.data["errors"]); ev.data["errors"] != nil && (len(errs) != 1 || asList(errs[0])[2] != "boom") {
		t.Fatalf("errors %v", ev.data["errors"])
	}
	hist := getJSON(t, fmt.Sprintf("%s/ui/endpoint?id=%v", base, id))
	if cols := asList(hist["cols"]); len(cols) != 2+len(stats.PercentilesToChart) || len(asList(hist["t"])) == 0 {
		t.Fatalf("/ui/endpoint: %v", hist)
	}
	if code, _, _ := get(t, base+"/ui/endpoint?id=999"); code != http.StatusNotFound {
		t.Fatalf("/ui/endpoint of an unknown name: %d", code)
	}

	stopped := make(chan error, 1)
	go func() {
		resp, err := http.Post(base+"/stop", "", nil)
		if err == nil {
			resp.Body.Close()
		}
		stopped <- err
	}()
	w.expect(protocol.TypeStop)
	rep := statsReport(0)
	rep.UserClassesCount = []protocol.ClassCount{{Class: "A", Count: 0}}
	w.send(rep)
	w.send(&protocol.ClientStopped{})
	w.send(&protocol.ClientReady{Version: "2.47.0"})
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
	ev, err = nextEvent(br, func(ev sseEvent) bool {
		runs := asList(ev.data["runs"])
		return len(runs) == 1 && asList(runs[0])[2] != 0.0 && asList(runs[0])[7] == 1.0
	})
	if err != nil {
		t.Fatalf("no past run with its report: %v", err)
	}
	code, h, body := get(t, base+"/ui/runs/1/report")
	if code != 200 || !strings.Contains(body, "<html") || h.Get("Vary") != "Accept-Encoding" {
		t.Fatalf("ui/runs/1/report: %d %v", code, h)
	}
	if code, _, _ := get(t, base+"/ui/runs/2/report"); code != http.StatusNotFound {
		t.Fatalf("report of no run: %d", code)
	}
	if cost := getJSON(t, base+"/ui/cost"); cost["updates"].(float64) < 2 || cost["pages"] != 1.0 {
		t.Fatalf("ui/cost %v", cost)
	}

	lm.web.Close()
	for {
		if _, err := readEvent(br); err != nil {
			if !errors.Is(err, io.EOF) && !strings.Contains(err.Error(), "EOF") {
				t.Fatalf("after Close: %v", err)
			}
			break
		}
	}
}

func asList(v any) []any { l, _ := v.([]any); return l }

// TestDashboardInitWaitsForSample: a page that connects before the
// sampler's first sample gets no init without the state (it waits, or
// leaves if its request ends first); after the first sample its init has
// the state and the sample's fields.
func TestDashboardInitWaitsForSample(t *testing.T) {
	t.Parallel()
	lm := startLive(t, transportKinds[0], false)
	d := makeDashboard(lm.m, &WebConfig{})
	srv := httptest.NewServer(http.HandlerFunc(d.events))
	defer srv.Close()

	ctx, cancel := context.WithCancel(context.Background())
	cancel() // a page that left before any sample
	rec := httptest.NewRecorder()
	d.events(rec, httptest.NewRequestWithContext(ctx, "GET", "/ui/events", nil))
	if rec.Body.Len() != 0 || len(d.pages) != 0 {
		t.Fatalf("before the first sample: sent %q, %d pages registered", rec.Body.String(), len(d.pages))
	}

	d.sample()
	br, done := openEvents(t, srv.URL)
	defer done()
	ev, err := readEvent(br)
	if err != nil || ev.name != "init" || ev.data["state"] != "ready" {
		t.Fatalf("first event %q %v: %v", ev.name, ev.data, err)
	}
}

// TestDashboardResync: a page that fell uiQueue updates behind is sent an
// init instead of the updates it missed.
func TestDashboardResync(t *testing.T) {
	t.Parallel()
	lm := startLive(t, transportKinds[0], false)
	d := makeDashboard(lm.m, &WebConfig{})
	p := &page{ch: make(chan []byte, uiQueue), resync: make(chan struct{}, 1)}
	d.pages[p] = struct{}{}
	for range uiQueue {
		d.sample()
	}
	if len(p.ch) != uiQueue || len(p.resync) != 0 {
		t.Fatalf("after %d samples: %d queued, resync %d", uiQueue, len(p.ch), len(p.resync))
	}
	d.sample()
	if len(p.ch) != 0 || len(p.resync) != 1 || d.cost.Dropped != 1 {
		t.Fatalf("behind: %d queued, resync %d, dropped %d", len(p.ch), len(p.resync), d.cost.Dropped)
	}
}

// TestDashboardPage: the page is served at the base path with its
// settings and a Content-Security-Policy; the base path without its
// slash redirects there relatively; the files are revalidated by ETag; a
// headless master serves none of it.
func TestDashboardPage(t *testing.T) {
	t.Parallel()
	users := 7
	lm := startLiveWith(t, transportKinds[0], Config{Classes: []UserClass{{Name: "A", Weight: 1}}, Host: "http://h"},
		WebConfig{BasePath: "/lt", Locustfile: "s.yaml", NumUsers: &users, RunTime: "1m0s"})
	base := lm.srv.URL + "/lt"
	code, h, body := get(t, base+"/")
	if code != 200 || !strings.Contains(h.Get("Content-Security-Policy"), "script-src 'self'") {
		t.Fatalf("page: %d %v", code, h)
	}
	i := strings.Index(body, `<script id="boot" type="application/json">`)
	j := strings.Index(body[i:], "</script>")
	var boot map[string]any
	if i < 0 || j < 0 || json.Unmarshal([]byte(body[i+len(`<script id="boot" type="application/json">`):i+j]), &boot) != nil {
		t.Fatalf("no boot JSON in the page:\n%s", body)
	}
	if boot["num_users"] != 7.0 || boot["run_time"] != "1m0s" || boot["host"] != "http://h" || boot["locustfile"] != "s.yaml" {
		t.Fatalf("boot %v", boot)
	}
	if strings.Contains(body, "{{") {
		t.Fatal("a placeholder is left in the page")
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.Get(base)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "lt/" {
		t.Fatalf("base path without slash: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	code, h, _ = get(t, base+"/ui/app.js")
	if code != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/javascript") || h.Get("ETag") == "" {
		t.Fatalf("app.js: %d %v", code, h)
	}
	req, _ := http.NewRequest("GET", base+"/ui/app.js", nil)
	req.Header.Set("If-None-Match", h.Get("ETag"))
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotModified {
		t.Fatalf("app.js with its ETag: %d", resp.StatusCode)
	}
	for _, p := range []string{"/ui/index.html", "/ui/nothing.js", "/ui/../web.go"} {
		if code, _, _ := get(t, base+p); code != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", p, code)
		}
	}

	hl := startLive(t, transportKinds[0], true)
	for _, p := range []string{"/", "/ui/events", "/ui/app.js"} {
		if code, _, _ := get(t, hl.srv.URL+p); code != http.StatusNotFound {
			t.Errorf("headless %s: %d, want 404", p, code)
		}
	}
}

// TestWorkerDetails: the Workers tab's heartbeat age counts the ticks
// since the last heartbeat, a missing worker says for how long, and the
// spawn target is the last spawn message's users.
func TestWorkerDetails(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	h.recv("w1", &protocol.ClientReady{Version: "2.47.0"})
	h.recv("w1", hb("ready"))
	detail := func() WorkerDetail {
		ws := (&View{c: h.c}).WorkerDetails()
		if len(ws) != 1 {
			t.Fatalf("%d workers", len(ws))
		}
		return ws[0]
	}
	h.advance(2 * time.Second)
	if d := detail(); d.HeartbeatAge != 2*time.Second || d.MissingFor != 0 || d.HasTarget {
		t.Fatalf("after 2 s: %+v", d)
	}
	h.advance(8 * time.Second)
	if d := detail(); d.State != protocol.StateMissing || d.HeartbeatAge != 10*time.Second || d.MissingFor != 5*time.Second {
		t.Fatalf("after 10 s without heartbeat: %+v", d)
	}
	h.recv("w1", hb("ready"))
	if err := h.c.start(4, 100); err != nil {
		t.Fatal(err)
	}
	h.advance(100 * time.Millisecond)
	if d := detail(); d.HeartbeatAge != 0 || !d.HasTarget || d.Target != 4 {
		t.Fatalf("after a heartbeat and a spawn of 4: %+v", d)
	}
}
