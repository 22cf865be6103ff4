package master

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/glocust/glocust/protocol"
	"github.com/glocust/glocust/shape"
)

func postSwarm(t *testing.T, base string, form url.Values) map[string]any {
	t.Helper()
	resp, err := http.PostForm(base+"/swarm", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestShapeWebAPI: POST /swarm runs the master's shape (Locust's message),
// GET /shape and /metrics show its stage, target and next change while it
// runs, and its end stops the test (no quit without --headless).
func TestShapeWebAPI(t *testing.T) {
	t.Parallel()
	sh, err := shape.Stages("TwoStages", true, []shape.Stage{
		{Name: "warm", End: 1500 * time.Millisecond, Users: shape.FromOptions},
		{Name: "hold", End: 3 * time.Second, Users: 1, SpawnRate: 10},
	})
	if err != nil {
		t.Fatal(err)
	}
	lm := startLiveWith(t, transportKinds[0], Config{Classes: []UserClass{{Name: "A", Weight: 1}}, Shape: sh,
		QuitWait: 200 * time.Millisecond}, WebConfig{Locustfile: "s.yaml"})
	base := lm.srv.URL
	if d := getJSON(t, base+"/shape"); d["running"] != false || d["started"] != false || d["name"] != "TwoStages" {
		t.Fatalf("/shape before a start: %v", d)
	}
	w := lm.worker(t, "shape_w1")
	w.send(&protocol.ClientReady{Version: "2.47.0"})
	w.expect(protocol.TypeAck)

	sw := postSwarm(t, base, url.Values{"user_count": {"3"}, "spawn_rate": {"10"}, "run_time": {"1h"}})
	if sw["success"] != true || sw["message"] != "Swarming started using shape class 'TwoStages'" {
		t.Fatalf("/swarm with a shape: %v", sw)
	}
	// The first stage takes -u from the form (use_common_options).
	sp := w.expect(protocol.TypeSpawn).(*protocol.Spawn)
	if len(sp.UserClassesCount) != 1 || sp.UserClassesCount[0].Count != 3 {
		t.Fatalf("first spawn %+v, want the form's 3 users", sp.UserClassesCount)
	}
	w.send(&protocol.SpawningComplete{UserClassesCount: sp.UserClassesCount})
	d := getJSON(t, base+"/shape")
	if d["running"] != true || d["stage"] != "warm" || d["stage_index"] != 1.0 || d["stages"] != 2.0 ||
		d["target"].(map[string]any)["users"] != 3.0 || d["next_change"] != 1.5 {
		t.Fatalf("/shape in the first stage: %v", d)
	}
	if in, ok := d["next_change_in"].(float64); !ok || in <= 0 || in > 1.5 {
		t.Fatalf("next_change_in %v", d["next_change_in"])
	}
	if again := postSwarm(t, base, url.Values{"user_count": {"50"}, "spawn_rate": {"1"}}); again["success"] != true {
		t.Fatalf("a second /swarm during the shape: %v", again)
	}
	m := scrape(t, base+"/metrics")
	if m[`glocust_shape_running{shape="TwoStages"}`] != 1 || m[`glocust_shape_target_users{shape="TwoStages"}`] != 3 ||
		m[`glocust_shape_stage{shape="TwoStages",stage="warm"}`] != 1 {
		t.Fatalf("shape metrics: %v", m)
	}
	w.send(hb(protocol.StateRunning)) // heartbeats keep it from going missing (4 s)
	sp = w.expect(protocol.TypeSpawn).(*protocol.Spawn)
	if sp.UserClassesCount[0].Count != 1 {
		t.Fatalf("second stage spawn %+v (a second /swarm must not edit a running shape)", sp.UserClassesCount)
	}
	w.send(&protocol.SpawningComplete{UserClassesCount: sp.UserClassesCount})
	w.send(hb(protocol.StateRunning))
	w.expect(protocol.TypeStop) // the end of the shape stops the test
	d = getJSON(t, base+"/shape")
	changes, _ := d["changes"].([]any)
	if d["running"] != false || len(changes) != 2 || d["next_change_in"] != nil {
		t.Fatalf("/shape after the end: %v", d)
	}
	select {
	case <-lm.m.ShapeEnded():
	default:
		t.Error("ShapeEnded not signalled")
	}
	select {
	case <-lm.m.Done():
		t.Fatal("the master quit at the end of a shape started from the web API")
	default:
	}
}

// TestShapeClassPicker: with --class-picker the form chooses: shape_class
// naming the shape runs it, none (Locust's "Default") runs -u/-r, another
// name is refused.
func TestShapeClassPicker(t *testing.T) {
	t.Parallel()
	sh, _ := shape.Stages("Picked", false, []shape.Stage{{End: time.Hour, Users: 2, SpawnRate: 10}})
	lm := startLiveWith(t, transportKinds[0], Config{Classes: []UserClass{{Name: "A", Weight: 1}}, Shape: sh,
		QuitWait: 200 * time.Millisecond}, WebConfig{Locustfile: "s.yaml", ClassPicker: true})
	base := lm.srv.URL
	w := lm.worker(t, "pick_w1")
	w.send(&protocol.ClientReady{Version: "2.47.0"})
	w.expect(protocol.TypeAck)
	if sw := postSwarm(t, base, url.Values{"user_count": {"5"}, "spawn_rate": {"10"}, "shape_class": {"Other"}}); sw["success"] != false {
		t.Fatalf("unknown shape class accepted: %v", sw)
	}
	if sw := postSwarm(t, base, url.Values{"user_count": {"5"}, "spawn_rate": {"10"}}); sw["message"] != "Swarming started" {
		t.Fatalf("no shape_class: %v", sw)
	}
	if sp := w.expect(protocol.TypeSpawn).(*protocol.Spawn); sp.UserClassesCount[0].Count != 5 {
		t.Fatalf("plain start %+v", sp.UserClassesCount)
	}
	if sw := postSwarm(t, base, url.Values{"shape_class": {"Picked"}}); sw["message"] != "Swarming started using shape class 'Picked'" {
		t.Fatalf("shape_class=Picked: %v", sw)
	}
	if sp := w.expect(protocol.TypeSpawn).(*protocol.Spawn); sp.UserClassesCount[0].Count != 2 {
		t.Fatalf("shape start %+v", sp.UserClassesCount)
	}
}

// TestShapeEndpointWithoutShape: /shape is 404 without a shape, also in
// headless mode, where it is served with /metrics.
func TestShapeEndpointWithoutShape(t *testing.T) {
	t.Parallel()
	lm := startLive(t, transportKinds[0], true)
	if code, _, _ := get(t, lm.srv.URL+"/shape"); code != http.StatusNotFound {
		t.Fatalf("/shape without a shape: %d", code)
	}
}
