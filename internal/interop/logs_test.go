package interop

import (
	"encoding/json"
	"net/url"
	"strings"
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
	waitWorkers(t, web, "two workers", 20*time.Second, nWorkers(2))
	pid, gid := pythonWorkerID(t, pw), glocustWorkerID(t, gw)

	logs := waitLogs(t, web, "both workers' lines on /logs", 25*time.Second, func(l logsDoc) bool {
		// Locust's worker logs "Starting Locust <version>"; glocust's its node id.
		return hasLine(l.Workers[pid], "Starting Locust") && hasLine(l.Workers[gid], "starting worker node_id="+gid)
	})
	if !hasLine(logs.Master, "/INFO/glocust.master: Starting glocust") {
		t.Errorf("the master's own lines are missing from /logs: %q", logs.Master)
	}
	stopMaster(t, m, 20*time.Second)
	mustExit(t, pw, 20*time.Second, 0)
	mustExit(t, gw, 20*time.Second, 0)
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
	waitWorkers(t, web, "two workers", 20*time.Second, nWorkers(2))
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
		t.Fatalf("the master did not send it to both workers: %v\n%s", err, m.MustOutput(t))
	}
	if err := gw.WaitOutput(`updated user class class=WebUser`, 10*time.Second); err != nil {
		t.Fatalf("the glocust worker did not apply it: %v\n%s", err, gw.MustOutput(t))
	}
	// Only WebUser, 4 users: both workers run it after the update.
	swarmForm(t, web, url.Values{"user_count": {"4"}, "spawn_rate": {"10"}, "user_classes": {"WebUser"}})
	waitWorkers(t, web, "4 WebUsers running", 20*time.Second, func(ws []workerInfo) bool {
		_, u := runningUsers(ws)
		return u == 4
	})
	stopMaster(t, m, 20*time.Second)
	mustExit(t, pw, 20*time.Second, 0)
	mustExit(t, gw, 20*time.Second, 0)
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
