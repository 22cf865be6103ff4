package master

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/glocust/glocust/protocol"
)

// TestRunIdentity: a test started from ready or stopped is a new run (id,
// start, logged with the profile); a swarm that edits the running test
// keeps its run; the profile comes from Config and from POST /swarm's
// field (SetProfile); /metrics labels the run.
func TestRunIdentity(t *testing.T) {
	t.Parallel()
	lg := &syncLog{}
	n := 0
	h := newHarness(t, func(c *Config) {
		c.Logger, c.Profile = slog.New(slog.NewTextHandler(lg, nil)), "nightly"
		c.RunID = func(start time.Time) string { n++; return fmt.Sprintf("run%d@%d", n, start.Unix()) }
	})
	v := &View{c: h.c}
	if r := v.Run(); r.ID != "" || r.Profile != "nightly" || !r.Start.IsZero() {
		t.Fatalf("before any test: %+v", r)
	}
	if _, ok := gather(t, h.c)["glocust_run_info"]; ok {
		t.Error("glocust_run_info before any run")
	}
	h.recv("h_a", &protocol.ClientReady{Version: "2.47.0"})
	if err := h.c.swarm(2, 10); err != nil {
		t.Fatal(err)
	}
	first := v.Run()
	if first.ID != "run1@1800000000" || !first.Start.Equal(h.now) {
		t.Fatalf("first run %+v", first)
	}
	h.advance(1500 * time.Millisecond)
	if err := h.c.swarm(4, 10); err != nil { // an edit of the running test
		t.Fatal(err)
	}
	if r := v.Run(); r != first {
		t.Fatalf("an edit changed the run: %+v, was %+v", r, first)
	}
	h.c.stop(h.now, true)
	h.recv("h_a", &protocol.ClientStopped{})
	h.recv("h_a", &protocol.ClientReady{Version: "2.47.0"})
	v.c.run.Profile = "" // as SetProfile("") on the loop
	h.advance(time.Second)
	if err := h.c.swarm(2, 10); err != nil {
		t.Fatal(err)
	}
	second := v.Run()
	if second.ID != "run2@1800000002" || second.Profile != "" {
		t.Fatalf("second run %+v", second)
	}
	fams := gather(t, h.c)
	info := fams["glocust_run_info"].GetMetric()
	if len(info) != 1 || labels(info[0].GetLabel()) != "profile=,run_id=run2@1800000002" {
		t.Errorf("glocust_run_info %v", info)
	}
	if st := fams["glocust_run_start_time_seconds"].GetMetric()[0].GetGauge().GetValue(); st != 1_800_000_002.5 {
		t.Errorf("glocust_run_start_time_seconds %v", st)
	}
	logs := regexp.MustCompile(`msg="(Run [^"]*)"`).FindAllStringSubmatch(lg.String(), -1)
	if len(logs) != 2 || logs[0][1] != "Run run1@1800000000 started (profile nightly)" || logs[1][1] != "Run run2@1800000002 started" {
		t.Errorf("logged %q", logs)
	}
}

// TestNewRunID: ids sort by their start and differ within a second.
func TestNewRunID(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 1, 2, 15, 4, 5, 0, time.FixedZone("CET", 3600))
	a, b := NewRunID(start), NewRunID(start)
	if !regexp.MustCompile(`^20260102-140405-[0-9a-f]{6}$`).MatchString(a) || a == b {
		t.Errorf("NewRunID: %q, %q", a, b)
	}
	if later := NewRunID(start.Add(time.Second)); later <= a && later <= b {
		t.Errorf("%q sorts before %q", later, a)
	}
}

func labels(ls []*dto.LabelPair) string {
	var out []string
	for _, l := range ls {
		out = append(out, l.GetName()+"="+l.GetValue())
	}
	return strings.Join(out, ",")
}

// TestSwarmProfile: POST /swarm's profile field sets the profile of the
// run it starts, as Locust's environment.profile; /healthz shows the run.
func TestSwarmProfile(t *testing.T) {
	t.Parallel()
	lm := startLive(t, transportKinds[0], false)
	w := lm.worker(t, "h_a")
	w.send(&protocol.ClientReady{Version: "2.47.0"})
	w.expect("ack")
	if doc := getJSON(t, lm.srv.URL+"/healthz"); doc["run_id"] != "" || doc["profile"] != "" {
		t.Fatalf("/healthz before a run: %v", doc)
	}
	resp, err := http.PostForm(lm.srv.URL+"/swarm", url.Values{"user_count": {"1"}, "spawn_rate": {"1"}, "profile": {"canary"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	w.expect("spawn")
	doc := getJSON(t, lm.srv.URL+"/healthz")
	var run Run
	lm.m.Do(func(v *View) { run = v.Run() })
	if run.ID == "" || run.Profile != "canary" || doc["run_id"] != run.ID || doc["profile"] != "canary" {
		t.Errorf("run %+v, /healthz %v", run, doc)
	}
}
