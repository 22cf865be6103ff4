package interop

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/glocust/glocust/internal/testenv"
)

// TestGoUserExample builds examples/custom-user (glocust with a Go user
// class registered) and runs it as a worker under a real Locust master
// whose locustfile declares the same class.
func TestGoUserExample(t *testing.T) {
	t.Parallel()
	root := testenv.RepoRoot(t)
	bin := filepath.Join(t.TempDir(), "custom-user")
	build := exec.Command("go", "build", "-o", bin, "./examples/custom-user")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build example: %v\n%s", err, out)
	}
	c := newCluster(t)
	// The example logs in and expects a JSON token back.
	var logins, items, checkouts atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		logins.Add(1)
		io.WriteString(w, `{"token":"t0k"}`)
	})
	mux.HandleFunc("GET /items", func(w http.ResponseWriter, r *http.Request) { items.Add(1); io.WriteString(w, "[]") })
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	mux.HandleFunc("POST /cart/checkout", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer t0k" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		checkouts.Add(1)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	csv := filepath.Join(c.dir, "ex")
	m := testenv.Start(t, testenv.Command{Path: c.locust, Dir: c.dir, Args: []string{
		"-f", testdata(t, "example_locustfile.py"), "--master", "--master-bind-host", "127.0.0.1",
		"--master-bind-port", strconv.Itoa(c.port), "-H", srv.URL, "--headless", "--expect-workers", "1",
		"-u", "4", "-r", "4", "-t", "6s", "--csv", csv, "--exit-code-on-error", "0"}})
	w := testenv.Start(t, testenv.Command{Path: bin, Dir: c.dir, Args: []string{"--worker",
		"--master-host", "127.0.0.1", "--master-port", strconv.Itoa(c.port)}})
	mustExit(t, m, 60*time.Second, 0)
	mustExit(t, w, 15*time.Second, 0)
	cleanMasterLog(t, m)
	got := csvCounts(t, csv+"_stats.csv")
	// The example's Go tasks: POST login (on start), GET /items, GET
	// /health, POST /cart/checkout with the token, CACHE get item (recorded
	// by hand, not over HTTP).
	for name, n := range map[string]int64{"login": logins.Load(), "/items": items.Load(), "/cart/checkout": checkouts.Load()} {
		// checkout has weight 1 of 9: in a 6 s run it may not come up at
		// all, so only login and /items must be non-zero.
		if got[name][0] != n || (n == 0 && name != "/cart/checkout") || got[name][1] != 0 {
			t.Errorf("%s: master %v (requests, failures), target %d", name, got[name], n)
		}
	}
	if got["get item"][0] == 0 {
		t.Errorf("no CACHE records: %v", got)
	}
	if out := w.MustOutput(t); strings.Contains(out, "user exception") {
		t.Errorf("the example raised user exceptions:\n%s", out)
	}
}
