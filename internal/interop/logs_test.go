package interop

import (
	"encoding/json"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMasterLogsEndpoint: a glocust master's GET /logs, as Locust's web UI
// reads it, has the master's own lines and the lines a real Locust worker
// and a glocust worker send in their "logs" messages, under their node ids.
func TestMasterLogsEndpoint(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	webPort, web := webUI(t)
	m := c.glocustMaster("--web-host", "127.0.0.1", "--web-port", webPort)
	waitWeb(t, web, m)
	pw := c.probedPythonWorker()
	gw := c.glocustWorker()
	waitFor(t, "two workers", 20*time.Second, func() bool { return len(masterWorkers(t, web)) == 2 })
	pid, gid := pythonWorkerID(t, pw), glocustWorkerID(t, gw)

	has := func(lines []any, sub string) bool {
		for _, l := range lines {
			if s, _ := l.(string); strings.Contains(s, sub) {
				return true
			}
		}
		return false
	}
	var logs map[string]any
	waitFor(t, "both workers' lines on /logs", 25*time.Second, func() bool {
		var err error
		if logs, err = getJSON(web + "/logs"); err != nil {
			return false
		}
		workers, _ := logs["workers"].(map[string]any)
		p, _ := workers[pid].([]any)
		g, _ := workers[gid].([]any)
		// Locust's worker logs "Starting Locust <version>"; glocust's its node id.
		return has(p, "Starting Locust") && has(g, "starting worker node_id="+gid)
	})
	if master, _ := logs["master"].([]any); !has(master, "/INFO/glocust.master: Starting glocust") {
		t.Errorf("the master's own lines are missing from /logs: %v", logs["master"])
	}
	_ = m.Signal(syscall.SIGTERM)
	mustExit(t, pw, 20*time.Second, 0)
	mustExit(t, gw, 20*time.Second, 0)
	_, _ = m.Wait(20 * time.Second)
}

// TestMasterUpdateUserClass: POST /user on a glocust master is sent to both
// workers as update_user_class; the glocust worker logs that it applied it,
// the real Locust worker takes it without an error (it applies it with
// setattr and logs nothing), and both then run the picked class only.
func TestMasterUpdateUserClass(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	webPort, web := webUI(t)
	m := c.glocustMaster("--web-host", "127.0.0.1", "--web-port", webPort, "--class-picker")
	waitWeb(t, web, m)
	pw := c.probedPythonWorker()
	gw := c.glocustWorker()
	waitFor(t, "two workers", 20*time.Second, func() bool { return len(masterWorkers(t, web)) == 2 })
	resp, err := httpClient.Post(web+"/user", "application/json",
		strings.NewReader(`{"user_class_name": "WebUser", "weight": 2, "fixed_count": 0}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 201 {
		t.Fatalf("POST /user: %s", resp.Status)
	}
	if err := m.WaitOutput("Updated user class WebUser and sent it to 2 workers", 10*time.Second); err != nil {
		t.Fatalf("the master did not send it to both workers: %v\n%s", err, m.Output())
	}
	if err := gw.WaitOutput(`updated user class class=WebUser`, 10*time.Second); err != nil {
		t.Fatalf("the glocust worker did not apply it: %v\n%s", err, gw.Output())
	}
	// Only WebUser, 4 users: both workers run it after the update.
	swarmForm(t, web, url.Values{"user_count": {"4"}, "spawn_rate": {"10"}, "user_classes": {"WebUser"}})
	waitFor(t, "4 WebUsers running", 20*time.Second, func() bool {
		_, u := runningUsers(masterWorkers(t, web))
		return u == 4
	})
	_ = m.Signal(syscall.SIGTERM)
	mustExit(t, pw, 20*time.Second, 0)
	mustExit(t, gw, 20*time.Second, 0)
	_, _ = m.Wait(20 * time.Second)
	checkPythonWorkerLog(t, pw)
	if _, users := pythonWorkerCounts(t, pw); users["ApiUser"] != 0 || users["AdminUser"] != 0 {
		t.Errorf("the Python worker ran unpicked classes: %v", users)
	}
}

func swarmForm(t *testing.T, web string, form url.Values) {
	t.Helper()
	resp, err := httpClient.PostForm(web+"/swarm", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out["success"] != true {
		t.Fatalf("/swarm %v: %v %v", form, out, err)
	}
}
