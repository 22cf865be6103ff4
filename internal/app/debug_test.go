package app

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/glocust/glocust/internal/config"
)

// debugTarget is a shop with a login: POST /login answers a token (or no
// token in the body when the user is "nobody"), GET /me wants it, GET
// /news is gzipped. It counts what it gets per method and path.
type debugTarget struct {
	*httptest.Server
	mu   sync.Mutex
	hits map[string]int
	auth []string // the Authorization headers /me got
}

func newDebugTarget(t *testing.T) *debugTarget {
	t.Helper()
	d := &debugTarget{hits: map[string]int{}}
	d.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		d.mu.Lock()
		d.hits[r.Method+" "+r.URL.Path]++
		if r.URL.Path == "/me" {
			d.auth = append(d.auth, r.Header.Get("Authorization"))
		}
		d.mu.Unlock()
		switch r.URL.Path {
		case "/login":
			w.Header().Set("Content-Type", "application/json")
			if bytes.Contains(body, []byte(`"nobody"`)) {
				io.WriteString(w, `{"data":{}}`)
				return
			}
			io.WriteString(w, `{"data":{"token":"tok-4711"}}`)
		case "/me":
			if r.Header.Get("Authorization") != "Bearer tok-4711" {
				http.Error(w, "who are you?", http.StatusUnauthorized)
				return
			}
			io.WriteString(w, `{"name":"alice"}`)
		case "/bin":
			w.Write([]byte{0x89, 'P', 'N', 'G', 0, 1, 2, 3})
		case "/old":
			http.Redirect(w, r, "/news", http.StatusFound)
		case "/news":
			w.Header().Set("Content-Encoding", "gzip")
			zw := gzip.NewWriter(w)
			io.WriteString(zw, "fresh news: glocust debugs")
			zw.Close()
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(d.Close)
	return d
}

func (d *debugTarget) counts() map[string]int {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := map[string]int{}
	for k, v := range d.hits {
		out[k] = v
	}
	return out
}

const debugScenario = `vars:
  who: alice
users:
  - class: Shopper
    wait_time: {constant: 30}
    on_start:
      - request:
          method: POST
          path: /login
          json: {user: "${who}"}
          extract: {token: {json: data.token}}
    tasks:
      - name: me
        steps:
          - request:
              path: /me
              headers: {Authorization: "Bearer ${token}"}
              expect_status: [200]
          - request: {path: /news, expect_body_contains: fresh}
`

func writeDebugScenario(t *testing.T, text string) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "scenario.yaml")
	if err := os.WriteFile(f, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

func runDebug(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = Main(append([]string{"debug"}, args...), nil, &out, &errb)
	return code, out.String(), errb.String()
}

func mustContain(t *testing.T, out string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Fatalf("output lacks %q:\n%s", w, out)
		}
	}
}

// TestDebugRun runs a login, a request with the token and a gzipped one
// for 2 users and 3 iterations: on_start once and the task 3 times per
// user, without the 30 s wait_time, each printed with what was sent and
// received.
func TestDebugRun(t *testing.T) {
	t.Parallel()
	d := newDebugTarget(t)
	f := writeDebugScenario(t, debugScenario)
	code, out, errOut := runDebug("-f", f, "-H", d.URL, "--users", "2", "--iterations", "3")
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	want := map[string]int{"POST /login": 2, "GET /me": 6, "GET /news": 6}
	if got := d.counts(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("the target got %v, want %v", got, want)
	}
	for _, a := range d.auth {
		if a != "Bearer tok-4711" {
			t.Fatalf("/me got Authorization %q", a)
		}
	}
	host := strings.TrimPrefix(d.URL, "http://")
	mustContain(t, out,
		"glocust debug: 2 users of Shopper, 3 iterations each",
		"=== user 1 (Shopper) started\n    var who = \"alice\" (vars default)\n",
		"--- user 2 (Shopper) on_start\n",
		">>> user 1 (Shopper) on_start: POST /login\n    POST "+d.URL+"/login\n    > POST /login HTTP/1.1\n    > Host: "+host+"\n",
		"    >\n    > {\"user\":\"alice\"}\n",
		"    < HTTP/1.1 200 OK\n",
		"    < {\"data\":{\"token\":\"tok-4711\"}}\n",
		"(checks passed: status < 400; extracts token (json path data.token))\n    set token = \"tok-4711\" (extract json path data.token)\n",
		"--- user 2 (Shopper) task 3 of 3: me\n",
		">>> user 2 (Shopper) me: GET /me\n",
		"    > Authorization: Bearer tok-4711\n",
		"    < {\"name\":\"alice\"}\n    OK 200 OK in ",
		"(checks passed: expect_status 200)",
		// the gzipped body, shown decoded
		"    < Content-Encoding: gzip\n",
		" decoded from Content-Encoding gzip, ",
		"    < fresh news: glocust debugs\n",
		"(checks passed: status < 400, expect_body_contains)",
		"=== user 2 (Shopper) stopped\n",
		"glocust debug: 2 users, 14 requests, 0 failed, 0 exceptions; exit code 0\n",
	)
	if n := strings.Count(out, "\n>>> "); n != 14 {
		t.Fatalf("%d requests printed, want 14:\n%s", n, out)
	}
	if n := strings.Count(out, " OK 200 OK in "); n != 14 {
		t.Fatalf("%d requests OK, want 14:\n%s", n, out)
	}
}

// TestDebugFailedExtraction: the login answers no token; the extraction
// fails naming its path, the next request is not sent for want of the
// token, and the exit code is 1.
func TestDebugFailedExtraction(t *testing.T) {
	t.Parallel()
	d := newDebugTarget(t)
	f := writeDebugScenario(t, debugScenario)
	code, out, errOut := runDebug("-f", f, "-H", d.URL, "--var", "who=nobody", "--body-limit", "8")
	if code != 1 {
		t.Fatalf("exit %d, want 1\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	want := map[string]int{"POST /login": 1, "GET /news": 1}
	if got := d.counts(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("the target got %v, want %v", got, want)
	}
	mustContain(t, out,
		"    var who = \"nobody\" (--var or master)\n",
		// --body-limit 8 cuts the bodies
		"    > {\"user\":\n    > [... 9 more bytes, 17 in all; --body-limit 8]\n",
		"    FAILED 200 OK in ",
		`: extract token (json path data.token): json path data.token: $.data has no member "token"`,
		">>> user 1 (Shopper) me: GET /me\n    GET /me\n    (nothing sent)\n    FAILED before sending in ",
		`template ${token}: variable "token" is not set (it is extracted by POST /login, which has not succeeded for this user yet)`,
		"glocust debug: 1 user, 3 requests, 2 failed, 0 exceptions; exit code 1\n",
	)
	if strings.Contains(out, "set token") {
		t.Fatalf("a failed extraction set the token:\n%s", out)
	}
}

// TestDebugExceptionsRedirectsBinary: a user that gets no data row is an
// exception, and runs when the other user gives the row back (its class
// is below target: scenario's releaseRow), so each request is sent twice;
// a redirect shows both hops; a binary body is summarised.
func TestDebugExceptionsRedirectsBinary(t *testing.T) {
	t.Parallel()
	d := newDebugTarget(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "acc.csv"), []byte("user\nalice\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(dir, "s.yaml")
	if err := os.WriteFile(f, []byte(`data: {acc: {file: acc.csv}}
users:
  - class: R
    data: acc
    tasks:
      - name: r
        steps:
          - request: {path: /old}
          - request: {path: /bin}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runDebug("-f", f, "-H", d.URL, "-u", "2")
	if code != 1 {
		t.Fatalf("exit %d, want 1\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	want := map[string]int{"GET /old": 2, "GET /news": 2, "GET /bin": 2}
	if got := d.counts(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("the target got %v, want %v", got, want)
	}
	mustContain(t, out,
		"    var user = \"alice\" (data row acc)\n",
		"!!! EXCEPTION: data acc (unique): all 1 rows of this worker's share (slot 0 of 1) are held by running users",
		" (R) r: GET /old\n    GET "+d.URL+"/old\n    > GET /old HTTP/1.1\n", // user 1 or 2: either may get the row
		"    < HTTP/1.1 302 Found\n",
		"    < Location: /news\n",
		"    redirect 302 followed to "+d.URL+"/news\n    > GET /news HTTP/1.1\n",
		"    < fresh news: glocust debugs\n",
		"    < [8 bytes of binary data]\n",
		"glocust debug: 2 users, 4 requests, 0 failed, 1 exception; exit code 1\n",
	)
}

// TestDebugFlags: bad flags are argparse's errors naming the flag (exit
// code 2); -h prints the help.
func TestDebugFlags(t *testing.T) {
	t.Parallel()
	d := newDebugTarget(t)
	f := writeDebugScenario(t, debugScenario)
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--users", "many"}, 2, "glocust debug: error: argument -u/--users: invalid int value: 'many'"},
		{[]string{"-u", "0"}, 2, "argument -u/--users: must be between 1 and 1000, not 0"},
		{[]string{"--iterations=-1"}, 2, "argument -i/--iterations: must be between 1 and 1073741824, not -1"},
		{[]string{"--body-limit", "x"}, 2, "argument --body-limit: invalid int value: 'x'"},
		{[]string{"--itertions", "2"}, 2, "unrecognized arguments: --itertions (did you mean '--iterations'?)"},
		{[]string{"-f"}, 2, "argument -f/--locustfile: expected one argument"},
		{[]string{"--host", "--wait"}, 2, "argument -H/--host: expected one argument"},
		{[]string{"--wait=yes"}, 2, "argument --wait: ignored explicit argument 'yes'"},
		{[]string{"--var", "novalue"}, 2, "argument --var: expected NAME=VALUE, not 'novalue'"},
		{[]string{"-f", f, "--var", "size=1"}, 1, "--var size: the scenario declares no variable size (declared: who)"},
		{[]string{"-f", f, "--class", "Nobody"}, 1, `unknown user class "Nobody"`},
		{[]string{"-f", filepath.Join(t.TempDir(), "none.yaml")}, 1, "none.yaml"},
		{[]string{"-h"}, 0, "usage: glocust debug [-h]"},
	} {
		code, out, errOut := runDebug(c.args...)
		if code != c.code || !strings.Contains(out+errOut, c.want) {
			t.Errorf("%q: exit %d (want %d), output lacks %q:\n%s%s", c.args, code, c.code, c.want, out, errOut)
		}
	}
	if got := d.counts(); len(got) != 0 {
		t.Fatalf("the target got %v", got)
	}
}

// FuzzDebugFlags: any arguments parse or give an argparse-style usage
// error (exit code 2) naming what was wrong; nothing panics.
func FuzzDebugFlags(f *testing.F) {
	for _, seed := range []string{
		"-f s.yaml -H http://127.0.0.1:1 -u 2 -i 3",
		"--users=5 --iterations=-1",
		"-u -1", "-fs.yaml --wait", "--wait=1", "--var", "--var a=b --var =c",
		"--body-limit 0 Shopper --class Web", "--itertions 2", "-x", "--", "-", "-H",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, line string) {
		args := strings.Fields(line)
		fl, err := parseDebugFlags(args)
		if err != nil {
			if errors.Is(err, errDebugHelp) {
				return
			}
			var ce *config.Error
			if !errors.As(err, &ce) || ce.Code != 2 || ce.Msg == "" {
				t.Fatalf("%q: error %v", args, err)
			}
			return
		}
		if fl.users < 1 || fl.users > maxDebugUsers || fl.iterations < 1 || fl.bodyLimit < 0 {
			t.Fatalf("%q: accepted %+v", args, fl)
		}
		for _, v := range fl.vars {
			if name, _, ok := strings.Cut(v, "="); !ok || name == "" {
				t.Fatalf("%q: accepted --var %q", args, v)
			}
		}
	})
}

// TestDebugClassChoice: every class by default, one user each; --class
// (or a positional name, given twice here) picks.
func TestDebugClassChoice(t *testing.T) {
	t.Parallel()
	d := newDebugTarget(t)
	f := writeDebugScenario(t, `vars: {p: x, q: y}
users:
  - {class: A, tasks: [{request: {path: /a, expect_status: [404]}}]}
  - {class: B, tasks: [{request: {path: "/${p}", expect_status: [404]}}]}
`)
	code, out, errOut := runDebug("-f", f, "-H", d.URL)
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	mustContain(t, out, "glocust debug: 1 user of each of A, B, 1 iteration each", "glocust debug: 2 users, 2 requests, 0 failed")
	code, out, errOut = runDebug("-f", f, "-H", d.URL, "B", "--class", "B", "-i", "2", "--var", "p=b", "q=z", "B")
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	mustContain(t, out, "glocust debug: 1 user of B, 2 iterations each", "glocust debug: 1 user, 2 requests, 0 failed")
	mustContain(t, out, `    var p = "b" (--var or master)`+"\n", `    var q = "z" (--var or master)`+"\n")
	if got, want := fmt.Sprint(d.counts()), "map[GET /a:1 GET /b:2 GET /x:1]"; got != want {
		t.Fatalf("the target got %s, want %s", got, want)
	}
}
