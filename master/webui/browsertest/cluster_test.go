package browsertest

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/glocust/glocust/internal/testenv"
)

// The glocust side of the browser test: the binary, a target, a master with
// two workers, and a reverse proxy in front of the master's web port.

var built struct {
	once sync.Once
	path string
	err  error
}

// glocustBinary builds ./cmd/glocust of this repository once.
func glocustBinary(t *testing.T) string {
	t.Helper()
	built.once.Do(func() {
		dir, err := os.MkdirTemp("", "glocust-ui-test-")
		if err != nil {
			built.err = err
			return
		}
		built.path = filepath.Join(dir, "glocust")
		cmd := exec.Command("go", "build", "-o", built.path, "./cmd/glocust")
		cmd.Dir = filepath.Join("..", "..", "..")
		if out, err := cmd.CombinedOutput(); err != nil {
			built.err = fmt.Errorf("go build ./cmd/glocust: %v\n%s", err, out)
		}
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.path
}

// workerScenario is what the workers run: a page, a slower item (the
// target answers /slow after ms milliseconds), and a request that fails
// (the target answers /fail with 500).
const workerScenario = `
users:
  - class: WebUser
    wait_time: {constant: 0.05}
    tasks:
      - weight: 3
        request: {method: GET, path: /, name: home}
      - request: {method: GET, path: "/slow?ms=20", name: item}
      - request: {method: GET, path: /fail, name: fail}
`

// masterScenario adds a class the workers do not have, with one user: each
// worker that is sent it reports an exception (an unknown user class), so
// the Exceptions tab has one to show, and the users run are one fewer than
// the target.
const masterScenario = workerScenario + `
  - class: Ghost
    fixed_count: 1
    tasks:
      - request: {method: GET, path: /}
`

// cluster is a running master with its workers.
type cluster struct {
	target  *testenv.Target
	master  *testenv.Process
	web     string // the master's own web address, with its base path
	page    string // the dashboard's address through the proxy
	proxy   *httptest.Server
	workers []*testenv.Process
	// user and password log in (--web-login).
	user, password string
}

// clusterOptions vary a cluster: the proxy's prefix for the master's base
// path, more arguments for the master, the user that logs in with
// --web-login, and the scenario of the master and the workers (""
// masterScenario and workerScenario).
type clusterOptions struct {
	prefix         string
	masterArgs     []string
	user, password string
	scenario       string
}

// basePath is the master's --web-base-path.
const basePath = "/glocust"

// startCluster starts the target, the master, n workers and the proxy, and
// waits until the master counts the n workers.
func startCluster(t *testing.T, n int, o clusterOptions) *cluster {
	t.Helper()
	bin := glocustBinary(t)
	dir := t.TempDir()
	files := map[string]string{"master.yaml": masterScenario, "worker.yaml": workerScenario}
	if o.scenario != "" {
		files = map[string]string{"master.yaml": o.scenario, "worker.yaml": o.scenario}
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	c := &cluster{target: testenv.NewTarget(t), user: o.user, password: o.password}
	webPort, zmqPort := testenv.FreePort(t), testenv.FreePort(t)
	c.master = testenv.Start(t, testenv.Command{Path: bin, Dir: dir, Args: append([]string{"--master", "-f", "master.yaml",
		"-H", c.target.URL, "--web-host", "127.0.0.1", "--web-port", strconv.Itoa(webPort), "--web-base-path", basePath,
		"--master-bind-host", "127.0.0.1", "--master-bind-port", strconv.Itoa(zmqPort)}, o.masterArgs...)})
	c.web = fmt.Sprintf("http://127.0.0.1:%d%s", webPort, basePath)
	if err := testenv.WaitHTTP(c.web+"/healthz", 20*time.Second); err != nil {
		t.Fatal(err)
	}
	for range n {
		c.workers = append(c.workers, testenv.Start(t, testenv.Command{Path: bin, Dir: dir, Args: []string{"--worker",
			"-f", "worker.yaml", "--master-host", "127.0.0.1", "--master-port", strconv.Itoa(zmqPort)}}))
	}
	if err := Until(20*time.Second, func() (bool, error) {
		body, err := c.get("/worker-count")
		return strings.Contains(body, fmt.Sprintf(`"worker_count":%d`, n)), err
	}); err != nil {
		t.Fatalf("waiting for %d workers: %v", n, err)
	}
	c.proxy = newPrefixProxy(t, webPort, o.prefix)
	c.page = c.proxy.URL + o.prefix + "/"
	return c
}

// get fetches a path of the master's web port directly (with the basic
// auth of user, if any).
func (c *cluster) get(path string) (string, error) {
	req, err := http.NewRequest("GET", c.web+path, nil)
	if err != nil {
		return "", err
	}
	if c.user != "" {
		req.SetBasicAuth(c.user, c.password)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return string(b), fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return string(b), err
}

// newPrefixProxy serves the master's base path under prefix, as a reverse
// proxy in front of a master does: the page must use addresses relative
// to itself to work there.
func newPrefixProxy(t *testing.T, port int, prefix string) *httptest.Server {
	up, _ := url.Parse(fmt.Sprintf("http://127.0.0.1:%d", port))
	rp := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(up)
		r.Out.URL.Path = basePath + strings.TrimPrefix(r.In.URL.Path, prefix)
		r.Out.URL.RawPath = ""
		r.SetXForwarded()
	}, ErrorLog: log.New(io.Discard, "", 0)} // a page's stream ends when the page goes
	srv := httptest.NewServer(rp)
	t.Cleanup(srv.Close)
	return srv
}
