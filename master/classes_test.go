package master

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/glocust/glocust/protocol"
)

// startPicker is startLive with two classes and --class-picker.
func startPicker(t *testing.T, tk transportKind) *liveMaster {
	t.Helper()
	return startLiveWith(t, tk, Config{Classes: []UserClass{{Name: "A", Weight: 1}, {Name: "B", Weight: 1}}, Host: "http://h",
		QuitWait: 200 * time.Millisecond}, WebConfig{ClassPicker: true})
}

// TestClassPicker: with --class-picker, POST /swarm's user_classes select
// the classes the workers are given; unknown names alone are refused.
func TestClassPicker(t *testing.T) {
	t.Parallel()
	eachTransport(t, func(t *testing.T, tk transportKind) {
		t.Parallel()
		lm := startPicker(t, tk)
		w := lm.worker(t, "w1")
		w.send(&protocol.ClientReady{Version: "2.47.0"})
		w.expect("ack")

		post := func(form url.Values) map[string]any {
			t.Helper()
			resp, err := http.PostForm(lm.srv.URL+"/swarm", form)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var out map[string]any
			json.NewDecoder(resp.Body).Decode(&out)
			return out
		}
		if out := post(url.Values{"user_count": {"4"}, "spawn_rate": {"100"}, "user_classes": {"Nope"}}); out["success"] != false {
			t.Fatalf("unknown class accepted: %v", out)
		}
		out := post(url.Values{"user_count": {"4"}, "spawn_rate": {"100"}, "user_classes": {"B", "Nope"}})
		if out["success"] != true || len(out["user_classes"].([]any)) != 1 || out["user_classes"].([]any)[0] != "B" {
			t.Fatalf("/swarm: %v", out)
		}
		sp := w.expect("spawn").(*protocol.Spawn)
		for sp.Timestamp > 0 && totalUsers(sp.UserClassesCount) < 4 {
			sp = w.expect("spawn").(*protocol.Spawn)
		}
		for _, cc := range sp.UserClassesCount {
			if cc.Class == "A" && cc.Count != 0 || cc.Class == "B" && cc.Count != 4 {
				t.Fatalf("spawn %v: want only B's 4 users", sp.UserClassesCount)
			}
		}
	})
}

func totalUsers(cc []protocol.ClassCount) (n int64) {
	for _, c := range cc {
		n += c.Count
	}
	return n
}

// TestUpdateUserClass: POST /user sends the settings to every worker as
// update_user_class and changes the class's weight for the next dispatch;
// an unknown class or a bad weight is a 400.
func TestUpdateUserClass(t *testing.T) {
	t.Parallel()
	eachTransport(t, func(t *testing.T, tk transportKind) {
		t.Parallel()
		lm := startPicker(t, tk)
		w := lm.worker(t, "w1")
		w.send(&protocol.ClientReady{Version: "2.47.0"})
		w.expect("ack")
		post := func(body string) (int, string) {
			resp, err := http.Post(lm.srv.URL+"/user", "application/json", strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, string(b)
		}
		if code, body := post(`{"user_class_name": "A", "weight": 3, "host": "http://x", "tasks": ["t1"], "wait": 0.5}`); code != 201 || strings.TrimSpace(body) != "{}" {
			t.Fatalf("POST /user: %d %q", code, body)
		}
		u := w.expect("update_user_class").(*protocol.UpdateUserClass)
		if got := u.Data.Keys; len(got) != 5 || got[0] != "user_class_name" || got[4] != "wait" {
			t.Fatalf("update_user_class keys %v (want the JSON object's, in order)", got)
		}
		if v, _ := u.Data.Get("weight"); v != int64(3) {
			t.Fatalf("weight %v (%T)", v, v)
		}
		if v, _ := u.Data.Get("wait"); v != 0.5 {
			t.Fatalf("wait %v (%T)", v, v)
		}
		var weight int
		lm.m.Do(func(v *View) { weight = v.c.cfg.Classes[0].Weight })
		if weight != 3 {
			t.Fatalf("class A weight %d after POST /user, want 3", weight)
		}
		for _, bad := range []string{`{"user_class_name": "Z"}`, `{"weight": 1}`, `{"user_class_name": "A", "weight": -1}`, `[1]`, `{`} {
			if code, _ := post(bad); code != 400 {
				t.Errorf("POST /user %s: %d, want 400", bad, code)
			}
		}
	})
}
