package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/glocust/glocust/internal/testenv"
)

// opsScenario requests four names of the target: two fast, one failing
// and one that takes slowMs.
const (
	slowMs      = 120
	opsScenario = `users:
  - class: U
    wait_time: {constant: 0.02}
    tasks:
      - request: {path: /, name: home}
      - request: {path: /item, name: item}
      - request: {path: /fail, name: fail}
      - request: {path: "/slow?ms=120", name: slow}
`
)

// cluster is a glocust master process and two glocust worker processes on
// 127.0.0.1, running opsScenario against a target of the test.
type cluster struct {
	target  *testenv.Target
	master  *testenv.Process
	workers []*testenv.Process
	web     string // the master's web API, http://127.0.0.1:port
}

// startCluster starts the master with args after its own (the addresses,
// --expect-workers 2, the scenario) and env, then the two workers with
// workerEnv, from the test's goroutine.
func startCluster(t *testing.T, args, env, workerEnv []string) *cluster {
	t.Helper()
	bin := testenv.BuildGlocust(t)
	c := &cluster{target: testenv.NewTarget(t)}
	scenario := filepath.Join(t.TempDir(), "scenario.yaml")
	if err := os.WriteFile(scenario, []byte("host: "+c.target.URL+"\n"+opsScenario), 0o644); err != nil {
		t.Fatal(err)
	}
	zmqPort, webPort := strconv.Itoa(testenv.FreePort(t)), strconv.Itoa(testenv.FreePort(t))
	c.web = "http://127.0.0.1:" + webPort
	c.master = testenv.Start(t, testenv.Command{Path: bin, Env: env, Args: append([]string{"--master", "-f", scenario,
		"--master-bind-host", "127.0.0.1", "--master-bind-port", zmqPort, "--web-host", "127.0.0.1", "--web-port", webPort,
		"--expect-workers", "2"}, args...)})
	for range 2 {
		c.workers = append(c.workers, testenv.Start(t, testenv.Command{Path: bin, Env: workerEnv,
			Args: []string{"--worker", "-f", scenario, "--master-host", "127.0.0.1", "--master-port", zmqPort}}))
	}
	return c
}

// stop sends SIGTERM to the master and waits for it to exit with
// masterCode and for the workers to exit 0 (they get the master's quit).
func (c *cluster) stop(masterCode int) error {
	if err := c.master.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	want := masterCode
	for _, p := range append([]*testenv.Process{c.master}, c.workers...) {
		if code, err := p.Wait(30 * time.Second); err != nil || code != want {
			return fmt.Errorf("%s (pid %d): exit %d (want %d), %v", p.Name, p.PID(), code, want, err)
		}
		want = 0
	}
	return nil
}

// get returns the body of GET path on the master's web API.
func (c *cluster) get(path string) ([]byte, error) {
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	resp, err := client.Get(c.web + path)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return b, err
}
