package interop

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/glocust/glocust/internal/testenv"
)

// exceptionRow is one entry of a master's GET /exceptions.
type exceptionRow struct {
	Count     int    `json:"count"`
	Msg       string `json:"msg"`
	Traceback string `json:"traceback"`
	Nodes     string `json:"nodes"`
}

// TestUnknownClass: a glocust worker whose scenario lacks one of the
// master's user classes (AdminUser; the locustfile and its YAML twin
// drifted apart) tells the master, a real Locust master or a glocust one:
// its /exceptions lists one exception from that worker, naming the class
// and the classes the worker has, although every spawn message of the
// ramp named it, and its /logs has the worker's error line. The worker's
// other classes run.
func TestUnknownClass(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{"locust", "glocust"} {
		t.Run(kind+" master", func(t *testing.T) {
			t.Parallel()
			c := newCluster(t)
			webPort, web := webUI(t)
			args := []string{"--web-host", "127.0.0.1", "--web-port", webPort, "--exit-code-on-error", "0"}
			m := c.master(args...)
			if kind == "glocust" {
				m = c.glocustMaster(args...)
			}
			waitWeb(t, web, m)
			w := testenv.Start(t, testenv.Command{Path: c.glocust, Dir: c.dir, Args: []string{"--worker",
				"-f", scenarioWithout(t, c.dir, "AdminUser"), "--master-host", "127.0.0.1", "--master-port", strconv.Itoa(c.port)}})
			waitWorkers(t, web, "worker ready", 20*time.Second, nWorkers(1))
			swarm(t, web, 8, 4) // a ramp of several spawn messages, each naming AdminUser
			if err := m.WaitOutput("total users)", 30*time.Second); err != nil {
				t.Fatalf("the ramp did not end: %v", err)
			}
			waitTarget(t, c.target, "GET /", 5, 20*time.Second)
			// After a stop and the worker's client_ready, whatever it sent
			// during the run has reached the master.
			stopSwarm(t, web)
			waitWorkers(t, web, "the worker ready again", 20*time.Second, func(ws []workerInfo) bool {
				return len(ws) == 1 && ws[0].State == "ready" && ws[0].UserCount == 0
			})
			var body struct {
				Exceptions []exceptionRow `json:"exceptions"`
			}
			if err := getJSONInto(web+"/exceptions", &body); err != nil {
				t.Fatal(err)
			}
			id := glocustWorkerID(t, w)
			if len(body.Exceptions) != 1 {
				t.Fatalf("/exceptions: %+v, want one row for AdminUser", body.Exceptions)
			}
			e := body.Exceptions[0]
			if e.Count != 1 || e.Nodes != id || !strings.Contains(e.Msg, `"AdminUser"`) ||
				!strings.Contains(e.Msg, "has ApiUser, WebUser") {
				t.Errorf("/exceptions row %+v; want count 1 from %s, naming AdminUser and ApiUser, WebUser", e, id)
			}
			// The worker's error line also reaches the master's /logs (the
			// worker sends its lines every 10 s).
			waitLogs(t, web, "the worker's error on the master's /logs", 25*time.Second, func(l logsDoc) bool {
				return hasLine(l.Workers[id], `/ERROR/glocust.worker: Unknown user class "AdminUser"`)
			})
			stopMaster(t, m, 20*time.Second)
			mustExit(t, w, 20*time.Second, 0)
		})
	}
}

// scenarioWithout writes testdata/scenario.yaml without its last class,
// which must be class, into dir and returns the file's path.
func scenarioWithout(t *testing.T, dir, class string) string {
	t.Helper()
	b, err := os.ReadFile(testdata(t, "scenario.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	i := strings.LastIndex(string(b), "  - class: ")
	if i < 0 || !strings.HasPrefix(string(b[i:]), "  - class: "+class+"\n") {
		t.Fatalf("the last class of scenario.yaml is not %s", class)
	}
	path := filepath.Join(dir, "without-"+class+".yaml")
	if err := os.WriteFile(path, b[:i], 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}
