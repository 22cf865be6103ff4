package testenv

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func TestTarget(t *testing.T) {
	t.Parallel()
	tg := NewTarget(t)
	client := &http.Client{}
	do := func(method, path, body string) *http.Response {
		t.Helper()
		req, err := http.NewRequest(method, tg.URL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}
	read := func(r *http.Response) string {
		t.Helper()
		b, err := io.ReadAll(r.Body)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}

	if r := do("GET", "/", ""); r.StatusCode != 200 || read(r) != "ok" {
		t.Errorf("GET / = %d", r.StatusCode)
	}
	if r := do("GET", "/item?id=3", ""); r.StatusCode != 200 {
		t.Errorf("GET /item = %d", r.StatusCode)
	}
	r := do("POST", "/login", "user=a")
	if r.StatusCode != 200 || len(r.Cookies()) != 1 || r.Cookies()[0].Name != "session" {
		t.Errorf("POST /login = %d, cookies %v", r.StatusCode, r.Cookies())
	}
	if r := do("GET", "/login", ""); r.StatusCode != 405 {
		t.Errorf("GET /login = %d, want 405", r.StatusCode)
	}
	if r := do("GET", "/fail", ""); r.StatusCode != 500 {
		t.Errorf("GET /fail = %d", r.StatusCode)
	}
	start := time.Now()
	if r := do("GET", "/slow?ms=100", ""); r.StatusCode != 200 || time.Since(start) < 100*time.Millisecond {
		t.Errorf("GET /slow = %d after %v", r.StatusCode, time.Since(start))
	}
	if r := do("GET", "/slow?ms=x", ""); r.StatusCode != 400 {
		t.Errorf("GET /slow?ms=x = %d, want 400", r.StatusCode)
	}
	if r := do("PUT", "/echo", "hello"); r.StatusCode != 200 || read(r) != "hello" || r.Header.Get("X-Method") != "PUT" {
		t.Errorf("PUT /echo = %d", r.StatusCode)
	}
	if r := do("GET", "/nope", ""); r.StatusCode != 404 {
		t.Errorf("GET /nope = %d", r.StatusCode)
	}

	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 25 {
				resp, err := client.Get(tg.URL + "/item?x=1")
				if err != nil {
					t.Error(err)
					return
				}
				_, err = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()

	want := map[string]int64{
		"GET /": 1, "GET /item": 201, "POST /login": 1, "GET /login": 1, "GET /fail": 1,
		"GET /slow": 2, "PUT /echo": 1, "GET /nope": 1,
	}
	got := tg.Counts()
	for k, v := range want {
		if got[k] != v {
			t.Errorf("Counts()[%q] = %d, want %d", k, got[k], v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("Counts() = %v, want keys of %v", got, want)
	}
	if err := tg.Close(); err != nil {
		t.Fatal(err)
	}
	if err := tg.Close(); err != nil { // idempotent
		t.Fatal(err)
	}
}

func TestTargetCloseInterruptsSlow(t *testing.T) {
	t.Parallel()
	tg := NewTarget(t)
	type result struct {
		body string
		err  error
	}
	done := make(chan result, 1)
	go func() {
		resp, err := http.Get(tg.URL + "/slow?ms=60000")
		if err != nil {
			done <- result{err: err}
			return
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		done <- result{string(b), err}
	}()
	deadline := time.Now().Add(10 * time.Second)
	for tg.Count("GET /slow") == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the slow request did not arrive within 10 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	start := time.Now()
	if err := tg.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Close took %v", d)
	}
	select {
	case r := <-done:
		if r.err == nil && r.body == "slow" {
			t.Error("the slow request completed: Close did not interrupt it")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the slow request was still running 10 s after Close")
	}
}

func TestProcessExitCodeAndOutput(t *testing.T) {
	t.Parallel()
	p := Start(t, Command{Path: "/bin/sh", Args: []string{"-c", "echo out; echo err >&2; exit 3"}})
	code, err := p.Wait(10 * time.Second)
	if err != nil || code != 3 {
		t.Fatalf("Wait = %d, %v; want 3", code, err)
	}
	if out := p.MustOutput(t); !strings.Contains(out, "out") || !strings.Contains(out, "err") {
		t.Errorf("Output = %q", out)
	}
	if filepath.Dir(p.LogPath) == "" {
		t.Error("no log path")
	}
}

func TestProcessSeparateStdout(t *testing.T) {
	t.Parallel()
	p := Start(t, Command{Path: "/bin/sh", Args: []string{"-c", "echo out; echo err >&2"}, SeparateStdout: true})
	if _, err := p.Wait(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	out, err := p.Stdout()
	if err != nil || string(out) != "out\n" {
		t.Errorf("Stdout = %q, %v; want \"out\\n\"", out, err)
	}
	if log := p.MustOutput(t); log != "err\n" {
		t.Errorf("Output = %q, want stderr only", log)
	}
	q := Start(t, Command{Path: "/bin/true"})
	if _, err := q.Stdout(); err == nil {
		t.Error("Stdout without SeparateStdout: no error")
	}
}

func TestProcessEnvAndDir(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := Start(t, Command{Path: "/bin/sh", Args: []string{"-c", `echo "$GLOCUST_TESTENV_X $(pwd)"`}, Env: []string{"GLOCUST_TESTENV_X=42"}, Dir: dir})
	if _, err := p.Wait(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	if got, want := strings.TrimSpace(p.MustOutput(t)), "42 "+dir; got != want {
		t.Errorf("output %q, want %q", got, want)
	}
}

func TestProcessSignalAndTimeout(t *testing.T) {
	t.Parallel()
	p := Start(t, Command{Path: "/bin/sh", Args: []string{"-c", `trap 'echo got TERM; exit 7' TERM; echo ready; while :; do sleep 0.05; done`}})
	if err := p.WaitOutput("ready", 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Wait(50 * time.Millisecond); !errors.Is(err, ErrTimeout) {
		t.Fatalf("Wait on a running process = %v, want ErrTimeout", err)
	}
	if err := p.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	code, err := p.Wait(10 * time.Second)
	if err != nil || code != 7 {
		t.Fatalf("Wait = %d, %v; want 7", code, err)
	}
	if out := p.MustOutput(t); !strings.Contains(out, "got TERM") {
		t.Errorf("output %q", out)
	}
	if err := p.Signal(syscall.SIGTERM); !errors.Is(err, os.ErrProcessDone) {
		t.Errorf("Signal after exit = %v", err)
	}
}

func TestProcessKillKillsGroup(t *testing.T) {
	t.Parallel()
	p := Start(t, Command{Path: "/bin/sh", Args: []string{"-c", `sleep 60 & echo child $!; wait`}})
	if err := p.WaitOutput("child", 10*time.Second); err != nil {
		t.Fatal(err)
	}
	var child int
	if _, err := fmt.Sscanf(p.MustOutput(t), "child %d", &child); err != nil {
		t.Fatal(err)
	}
	if err := p.Kill(); err != nil {
		t.Fatal(err)
	}
	if err := p.Kill(); err != nil { // already dead: not an error
		t.Fatal(err)
	}
	if code, err := p.Wait(10 * time.Second); err != nil || code != -1 {
		t.Fatalf("Wait after Kill = %d, %v", code, err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for syscall.Kill(child, 0) == nil {
		if time.Now().After(deadline) {
			t.Fatalf("child %d survived Kill", child)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestFreePortAndWaitHTTP(t *testing.T) {
	t.Parallel()
	if p := FreePort(t); p <= 0 || p > 65535 {
		t.Fatalf("FreePort = %d", p)
	}
	tg := NewTarget(t)
	if err := WaitHTTP(tg.URL+"/", 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := WaitHTTP(fmt.Sprintf("http://127.0.0.1:%d/", FreePort(t)), 200*time.Millisecond); err == nil {
		t.Fatal("WaitHTTP on a closed port succeeded")
	}
}

func TestReadCSV(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "s.csv")
	write := func(s string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("Type,Name,Request Count\nGET,/item,10\n,Aggregated,10\n")
	rows, err := ReadCSV(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[0]["Name"] != "/item" || rows[1]["Request Count"] != "10" || rows[1]["Type"] != "" {
		t.Errorf("rows = %v", rows)
	}
	write("a,b\n1\n")
	if _, err := ReadCSV(path); err == nil {
		t.Error("short row accepted")
	}
	if _, err := ReadCSV(filepath.Join(t.TempDir(), "missing.csv")); err == nil {
		t.Error("missing file accepted")
	}
}

func TestRepoRoot(t *testing.T) {
	t.Parallel()
	root := RepoRoot(t)
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatal(err)
	}
}
