package deploy

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/glocust/glocust/internal/config"
)

// TestHeadlessJobLocally is the stand-in for "the pods really run": the
// rendered headless master Job and worker Job, started on loopback with
// exactly their args and env, as many workers as the worker Job's
// parallelism. ConfigMaps are written as files at their mount paths under a
// temp root (paths in args and env are moved under it), the master Service's
// name and the target's host map to 127.0.0.1, and the Service's ports (and
// each worker's probe port) to free ones. The only edit is the one a user's
// overlay would make: a short run in locust.conf. The workers start first, as
// they may in a cluster (they repeat client_ready until the master answers).
// The master Job's command must exit 0 on a passing run, and 3 (the
// thresholds' code) when the overlay's check-fail-ratio is breached: with
// every request failing, and with one in five failing; every worker must
// become ready, end when the master does and exit 0 either way: that is
// what completes the worker Job.
func TestHeadlessJobLocally(t *testing.T) {
	bin := buildImageBinary(t)
	o := overlays(t)["headless"]
	master := o.workload(t, "Job", "master")
	worker := o.workload(t, "Job", "worker")
	if w := o.workloads(); len(w) != 2 {
		t.Fatalf("headless: want the master Job and the worker Job, have %d workloads", len(w))
	}
	nWorkers := 0
	if p, c := worker.obj.Spec.Parallelism, worker.obj.Spec.Completions; p == nil || c == nil || *p != *c || *p < 1 {
		t.Fatalf("worker Job: parallelism %v, completions %v: want equal and positive", p, c)
	} else {
		nWorkers = *p
	}

	for _, tc := range []struct {
		name      string
		failEvery int64 // every failEvery-th request fails (500); 0: none
		want      int
	}{{"passing", 0, 0}, {"failing", 1, 3}, {"breach", 5, 3}} {
		t.Run(tc.name, func(t *testing.T) {
			var served atomic.Int64
			target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if n := served.Add(1); tc.failEvery > 0 && n%tc.failEvery == 0 {
					w.WriteHeader(http.StatusInternalServerError)
				}
			}))
			defer target.Close()
			root := t.TempDir()
			zmq, web := freePort(t), freePort(t)
			hosts := map[string]string{
				"http://target.default.svc.cluster.local:8080": target.URL,
			}
			for _, s := range o.services() {
				hosts[s] = "127.0.0.1"
			}

			mArgs, mEnv := podCommand(t, o, master, root, hosts)
			// The master Service's ports, mapped to free local ones.
			for _, a := range mArgs {
				if strings.HasPrefix(a, "--master-bind-port") || strings.HasPrefix(a, "--web-port") || strings.HasPrefix(a, "-P") {
					t.Fatalf("the Job sets %s itself; the port mapping below assumes defaults", a)
				}
			}
			mEnv = append(mEnv, "LOCUST_MASTER_BIND_PORT="+strconv.Itoa(zmq), "LOCUST_WEB_PORT="+strconv.Itoa(web))
			// The master waits for exactly the worker Job's workers.
			mOpts, err := config.Parse(mArgs, mEnv)
			if err != nil {
				t.Fatal(err)
			}
			if mOpts.ExpectWorkers != nWorkers {
				t.Fatalf("the master expects %d workers, the worker Job runs %d", mOpts.ExpectWorkers, nWorkers)
			}

			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			var workers []*exec.Cmd
			var wOut []*syncBuffer
			var wReady []chan struct{}
			for i := 0; i < nWorkers; i++ {
				args, env := podCommand(t, o, worker, filepath.Join(root, fmt.Sprintf("worker-%d", i)), hosts)
				env = replaceEnv(env, "LOCUST_MASTER_NODE_PORT", strconv.Itoa(zmq))
				probe := freePort(t)
				for j, a := range args {
					if a == "--web-port=8089" {
						args[j] = "--web-port=" + strconv.Itoa(probe)
					}
				}
				w := exec.CommandContext(ctx, bin, args...)
				buf := &syncBuffer{}
				w.Env, w.Dir, w.Stdout, w.Stderr = env, root, buf, buf
				if err := w.Start(); err != nil {
					t.Fatal(err)
				}
				ready := make(chan struct{})
				go waitReady(ctx, fmt.Sprintf("http://127.0.0.1:%d/readyz", probe), ready)
				workers, wOut, wReady = append(workers, w), append(wOut, buf), append(wReady, ready)
			}
			// The master's pod comes up after the workers'.
			time.Sleep(time.Second)
			var mOut syncBuffer
			m := exec.CommandContext(ctx, bin, mArgs...)
			m.Env, m.Dir, m.Stdout, m.Stderr = mEnv, root, &mOut, &mOut
			if err := m.Start(); err != nil {
				t.Fatal(err)
			}
			err = m.Wait()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatalf("master: %v\n%s", err, mOut.String())
			}
			t.Logf("master exited %d; log tail:\n%s", code, tail(mOut.String(), 1500))
			if code != tc.want {
				t.Errorf("%s run: the Job's command exited %d, want %d", tc.name, code, tc.want)
			}
			// The verdict in the log: locust-plugins' line and the summary.
			check := "CHECK FAILED: fail ratio was"
			if tc.want == 0 {
				check = "Thresholds: all 2 passed"
			}
			if !strings.Contains(mOut.String(), check) {
				t.Errorf("%s run: the master's log lacks %q:\n%s", tc.name, check, tail(mOut.String(), 3000))
			}
			// Every worker was acknowledged by the master (readiness probe).
			for i, r := range wReady {
				select {
				case <-r:
				default:
					t.Errorf("worker %d: /readyz never answered 200 during the run", i)
				}
			}
			// Workers quit on the master's quit with exit code 0: each such
			// pod is one of the worker Job's completions, whatever the verdict.
			for i, w := range workers {
				done := make(chan error, 1)
				go func() { done <- w.Wait() }()
				select {
				case err := <-done:
					if err != nil {
						t.Errorf("worker %d: %v, want exit 0 (the worker Job completes only if every worker exits 0)\n%s", i, err, tail(wOut[i].String(), 1500))
					}
				case <-time.After(20 * time.Second):
					_ = w.Process.Signal(syscall.SIGKILL)
					<-done
					t.Errorf("worker %d still running 20 s after the master ended:\n%s", i, tail(wOut[i].String(), 1500))
				}
			}
			// The summary in the log, the reports in the results volume.
			if !strings.Contains(mOut.String(), `"num_requests"`) {
				t.Errorf("no JSON summary (--json) in the master's output:\n%s", tail(mOut.String(), 3000))
			}
			for _, f := range []string{"report.html", "report.json", "glocust_stats.csv", "glocust_failures.csv", "glocust_runs.csv", "summary.json"} {
				if st, err := os.Stat(filepath.Join(root, "results", f)); err != nil || st.Size() == 0 {
					t.Errorf("result %s: missing or empty (%v)", f, err)
				}
			}
			if err := extractFromLog(mOut.String(), filepath.Join(root, "results")); err != nil {
				t.Errorf("results from the master's log: %v", err)
			}
		})
	}
}

// waitReady closes ready once url answers 200 (a readiness probe passing).
func waitReady(ctx context.Context, url string, ready chan<- struct{}) {
	c := &http.Client{Timeout: time.Second}
	for ctx.Err() == nil {
		if resp, err := c.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				close(ready)
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
}

var (
	runTimeRE   = regexp.MustCompile(`(?m)^run-time\s*=.*$`)
	usersRE     = regexp.MustCompile(`(?m)^users\s*=.*$`)
	spawnRateRE = regexp.MustCompile(`(?m)^spawn-rate\s*=.*$`)
)

// podCommand lays out a container's ConfigMap files under root and returns
// its args and env as the pod would see them, with mount paths moved under
// root and host names mapped.
func podCommand(t *testing.T, o *overlay, w workload, root string, hosts map[string]string) ([]string, []string) {
	t.Helper()
	files, err := mountedFiles(o, w.pod, w.c)
	if err != nil {
		t.Fatal(err)
	}
	env, err := podEnv(o, w.c)
	if err != nil {
		t.Fatal(err)
	}
	move := func(s string) string {
		for _, m := range w.c.VolumeMounts {
			if s == m.MountPath || strings.HasPrefix(s, m.MountPath+"/") {
				return root + s
			}
			if k, v, ok := strings.Cut(s, "="); ok && (v == m.MountPath || strings.HasPrefix(v, m.MountPath+"/")) {
				return k + "=" + root + v
			}
		}
		return s
	}
	mapHosts := func(s string) string {
		if h, ok := hosts[s]; ok {
			return h
		}
		for from, to := range hosts {
			s = strings.ReplaceAll(s, from, to)
		}
		return s
	}
	for _, m := range w.c.VolumeMounts {
		if err := os.MkdirAll(root+m.MountPath, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for p, s := range files {
		if filepath.Base(p) == "locust.conf" {
			// The user's edit: a short, small run.
			s = runTimeRE.ReplaceAllString(s, "run-time = 6s")
			s = usersRE.ReplaceAllString(s, "users = 4")
			s = spawnRateRE.ReplaceAllString(s, "spawn-rate = 4")
		}
		if err := os.WriteFile(root+p, []byte(mapHosts(s)), 0o444); err != nil {
			t.Fatal(err)
		}
	}
	var args []string
	for _, a := range w.c.Args {
		args = append(args, move(a))
	}
	for i, e := range env {
		k, v, _ := strings.Cut(e, "=")
		env[i] = k + "=" + mapHosts(move(v))
	}
	return args, env
}

func replaceEnv(env []string, key, value string) []string {
	for i, e := range env {
		if strings.HasPrefix(e, key+"=") {
			env[i] = key + "=" + value
		}
	}
	return env
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

// fetchCommand is README.md's "Fetching the report" command, after
// "kubectl -n glocust logs job/glocust-master".
var fetchCommand = regexp.MustCompile("(?m)^kubectl -n glocust logs job/glocust-master \\| (awk .*tar xzv?)$")

// extractFromLog runs the README's command on log (as kubectl logs would
// print it) and checks that it yields exactly the files in results, byte
// for byte, in one glocust-results-<run id> directory.
func extractFromLog(log, results string) error {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		return err
	}
	m := fetchCommand.FindSubmatch(readme)
	if m == nil {
		return fmt.Errorf("README.md has no line %q", fetchCommand)
	}
	into, err := os.MkdirTemp("", "glocust-fetch-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(into)
	cmd := exec.Command("sh", "-c", string(m[1]))
	cmd.Dir, cmd.Stdin = into, strings.NewReader(log)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s: %v\n%s", m[1], err, out)
	}
	dirs, _ := filepath.Glob(filepath.Join(into, "glocust-results-*"))
	if len(dirs) != 1 {
		return fmt.Errorf("extracted %v, want one glocust-results-<run id> directory", dirs)
	}
	want, _ := os.ReadDir(results)
	got, _ := os.ReadDir(dirs[0])
	if len(got) != len(want) {
		return fmt.Errorf("extracted %d files, the results volume has %d", len(got), len(want))
	}
	for _, e := range want {
		a, err1 := os.ReadFile(filepath.Join(results, e.Name()))
		b, err2 := os.ReadFile(filepath.Join(dirs[0], e.Name()))
		if err1 != nil || err2 != nil || !bytes.Equal(a, b) {
			return fmt.Errorf("%s differs from the results volume's (%v, %v)", e.Name(), err1, err2)
		}
	}
	return nil
}
