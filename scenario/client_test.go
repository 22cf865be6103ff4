package scenario

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// testUser builds a user without a goroutine, for driving its client,
// with the runner's default HTTP profile (that of the classes without an
// HTTP configuration).
func testUser(t testing.TB, r *Runner, host string) *UserContext {
	t.Helper()
	return testUserWith(t, r, host, r.defaultProf, 0)
}

// testUserWith builds user number id with the HTTP profile prof.
func testUserWith(t testing.TB, r *Runner, host string, prof *httpProfile, id int64) *UserContext {
	t.Helper()
	u := &user{class: &classRun{name: "T", prof: prof}}
	u.uc = UserContext{Class: "T", ID: id, Host: host, HTTP: &u.http, r: r}
	u.http.u, u.http.prof = &u.uc, prof
	t.Cleanup(u.http.close)
	return &u.uc
}

type seen struct {
	method, path, query, ctype, body, cookie, accept, ua string
}

func echoServer(t *testing.T) (*httptest.Server, func() []seen) {
	t.Helper()
	var mu sync.Mutex
	var reqs []seen
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		reqs = append(reqs, seen{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Get("Content-Type"), string(b),
			r.Header.Get("Cookie"), r.Header.Get("Accept"), r.Header.Get("User-Agent")})
		mu.Unlock()
		switch r.URL.Path {
		case "/login":
			http.SetCookie(w, &http.Cookie{Name: "sid", Value: r.URL.Query().Get("u"), Path: "/"})
			http.SetCookie(w, &http.Cookie{Name: "scoped", Value: "1", Path: "/app"})
		case "/logout":
			http.SetCookie(w, &http.Cookie{Name: "sid", Value: "", Path: "/", MaxAge: -1})
		case "/status":
			var code int
			fmt.Sscan(r.URL.Query().Get("c"), &code)
			w.WriteHeader(code)
		case "/redirect":
			http.Redirect(w, r, "/final?x=1", http.StatusFound)
		case "/slow":
			time.Sleep(300 * time.Millisecond)
		case "/close":
			w.Header().Set("Connection", "close")
		}
		io.WriteString(w, "hello "+r.URL.Path)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, func() []seen { mu.Lock(); defer mu.Unlock(); return slices.Clone(reqs) }
}

func TestHTTPRequests(t *testing.T) {
	t.Parallel()
	srv, reqs := echoServer(t)
	sc, err := Parse("s.yaml", []byte(`users:
  - class: A
    tasks:
      - request: {method: POST, path: /j, json: {user: a, n: [1, 2]}, headers: {X-Trace: t1, Accept: text/html}}
      - request: {method: PUT, path: /f, form: {b: "2", a: x y}}
      - request: {path: "/q?z=1", query: {b: "2", a: "x y"}}
      - request: {path: "/status?c=500"}
      - request: {path: "/status?c=200", expect_status: [201, 202], name: want201}
      - request: {path: /x, expect_body_contains: nope}
      - request: {path: /redirect, name: redir}
      - request: {path: /redirect, allow_redirects: false, name: noredir}
      - request: {path: /slow, timeout: 0.05}
`))
	if err != nil {
		t.Fatal(err)
	}
	st := newFakeStats()
	r := NewRunner(nil, st)
	defer r.Close()
	u := testUser(t, r, srv.URL)
	ctx := context.Background()
	for _, tk := range sc.Classes[0].Tasks {
		if err := tk.Fn(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	got := reqs()
	want := []seen{
		{"POST", "/j", "", "application/json", `{"n":[1,2],"user":"a"}`, "", "text/html", UserAgent},
		{"PUT", "/f", "", "application/x-www-form-urlencoded", "a=x+y&b=2", "", "*/*", UserAgent},
		{"GET", "/q", "z=1&a=x+y&b=2", "", "", "", "*/*", UserAgent},
	}
	for i, w := range want {
		if got[i] != w {
			t.Errorf("request %d = %+v, want %+v", i, got[i], w)
		}
	}
	recs := st.all()
	wantRecs := []rec{
		{method: "POST", name: "/j", length: int64(len("hello /j"))},
		{method: "PUT", name: "/f", length: int64(len("hello /f"))},
		{method: "GET", name: "/q?z=1&a=x+y&b=2", length: int64(len("hello /q"))},
		{method: "GET", name: "/status?c=500", length: int64(len("hello /status")), fail: true, err: "HTTP 500 Internal Server Error"},
		{method: "GET", name: "want201", length: int64(len("hello /status")), fail: true, err: "HTTP 200 OK (expected 201 or 202)"},
		{method: "GET", name: "/x", length: int64(len("hello /x")), fail: true, err: `response body does not contain "nope"`},
		{method: "GET", name: "redir", length: int64(len("hello /final"))},
		{method: "GET", name: "noredir", length: -1},
		{method: "GET", name: "/slow", fail: true, err: "request timed out", length: -1},
	}
	if len(recs) != len(wantRecs) {
		t.Fatalf("records = %+v", recs)
	}
	for i, w := range wantRecs {
		g := recs[i]
		if w.length == -1 {
			g.length, w.length = 0, 0
		}
		g.rt = 0
		if g != w {
			t.Errorf("record %d = %+v, want %+v", i, g, w)
		}
		if recs[i].rt <= 0 {
			t.Errorf("record %d: response time %v", i, recs[i].rt)
		}
	}
	if slices.ContainsFunc(got, func(s seen) bool { return s.path == "/final" && s.query == "x=1" }) == false {
		t.Errorf("redirect target not requested: %+v", got)
	}
}

func TestHTTPCookiesPerUser(t *testing.T) {
	t.Parallel()
	srv, reqs := echoServer(t)
	r := NewRunner(nil, nil)
	defer r.Close()
	ctx := context.Background()
	ua, ub := testUser(t, r, srv.URL), testUser(t, r, srv.URL)
	ua.HTTP.Get(ctx, "/login?u=alice", "")
	ub.HTTP.Get(ctx, "/login?u=bob", "")
	ua.HTTP.Get(ctx, "/home", "")
	ub.HTTP.Get(ctx, "/app/page", "")
	ua.HTTP.Get(ctx, "/logout", "")
	ua.HTTP.Get(ctx, "/after", "")
	got := reqs()
	cookieOf := func(path string) string {
		for _, s := range got {
			if s.path == path {
				return s.cookie
			}
		}
		return "<missing>"
	}
	tests := []struct{ path, want string }{
		{"/home", "sid=alice"},
		{"/app/page", "sid=bob; scoped=1"},
		{"/after", ""},
	}
	for _, tc := range tests {
		if got := cookieOf(tc.path); got != tc.want {
			t.Errorf("%s: Cookie = %q, want %q", tc.path, got, tc.want)
		}
	}
}

func TestHTTPKeepAliveAndReconnect(t *testing.T) {
	t.Parallel()
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/close" {
			w.Header().Set("Connection", "close")
		}
		io.WriteString(w, "ok")
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	st := newFakeStats()
	r := NewRunner(nil, st)
	defer r.Close()
	u := testUser(t, r, srv.URL)
	ctx := context.Background()
	req := &Request{URL: "/a"}
	for range 5 {
		u.HTTP.Do(ctx, req)
	}
	if got := conns.Load(); got != 1 {
		t.Errorf("connections after 5 keep-alive requests = %d, want 1", got)
	}
	u.HTTP.Get(ctx, "/close", "")
	u.HTTP.Do(ctx, req)
	// The server closes idle connections: the next request must redial
	// transparently.
	srv.CloseClientConnections()
	time.Sleep(20 * time.Millisecond)
	u.HTTP.Do(ctx, req)
	for _, rc := range st.all() {
		if rc.fail {
			t.Errorf("failure: %+v", rc)
		}
	}
	if got := st.lookups[entryKey{"GET", "/a"}]; got != 1 {
		t.Errorf("entry looked up %d times, want once", got)
	}
}

func TestHTTPConnectionRefused(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	st := newFakeStats()
	r := NewRunner(nil, st)
	defer r.Close()
	u := testUser(t, r, "http://"+addr)
	resp := u.HTTP.Get(context.Background(), "/", "root")
	if resp.OK() {
		t.Fatal("request to a closed port succeeded")
	}
	recs := st.all()
	if len(recs) != 1 || recs[0].err != "dial: connection refused" {
		t.Errorf("records = %+v", recs)
	}
	u2 := testUser(t, r, "")
	if resp := u2.HTTP.Get(context.Background(), "/x", ""); resp.OK() || !strings.Contains(resp.Err.Error(), "no host") {
		t.Errorf("no host: %v", resp.Err)
	}
}

func TestHardStopInterruptsRequest(t *testing.T) {
	t.Parallel()
	block := make(chan struct{})
	var inFlight atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inFlight.Add(1)
		select {
		case <-block:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(block)
	st := newFakeStats()
	var stopped atomic.Int32
	c := &Class{Name: "A", Tasks: []Task{{Fn: func(ctx context.Context, u *UserContext) error {
		u.HTTP.Get(ctx, "/block", "")
		return nil
	}}}, OnStop: func(context.Context, *UserContext) error { stopped.Add(1); return nil }}
	r := NewRunner([]*Class{c}, st, WithHost(srv.URL))
	defer r.Close()
	r.Apply(counts("A", 3))
	waitFor(t, "requests in flight", func() bool { return inFlight.Load() == 3 })
	start := time.Now()
	r.StopAll(context.Background(), 0)
	if el := time.Since(start); el > time.Second {
		t.Errorf("StopAll took %v", el)
	}
	if got := len(st.all()); got != 0 {
		t.Errorf("interrupted requests recorded: %d", got)
	}
	if got := stopped.Load(); got != 3 {
		t.Errorf("on_stop ran %d times", got)
	}
}

func TestScenarioEndToEnd(t *testing.T) {
	t.Parallel()
	srv, _ := echoServer(t)
	sc, err := Parse("e2e.yaml", []byte(`users:
  - class: Shopper
    wait_time: {constant: 0.001}
    on_start: [{request: {path: "/login?u=x", name: login}}]
    tasks:
      - {weight: 3, request: {path: /, name: home}}
      - name: checkout
        steps: [{request: {path: /cart}}, {request: {method: POST, path: /pay, json: {a: 1}}}]
`))
	if err != nil {
		t.Fatal(err)
	}
	st := newFakeStats()
	r := NewRunner(sc.Classes, st, WithHost(sc.Host))
	r.SetHost(srv.URL)
	r.Apply(counts("Shopper", 4))
	waitFor(t, "requests", func() bool { return len(st.all()) > 200 })
	r.StopAll(context.Background(), 0)
	r.Close()
	n := map[string]int{}
	for _, rc := range st.all() {
		if rc.fail {
			t.Fatalf("failure %+v", rc)
		}
		n[rc.name]++
	}
	if n["login"] != 4 || n["home"] == 0 || n["/cart"] == 0 || n["/pay"] == 0 {
		t.Errorf("counts %v", n)
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	for k, v := range st.lookups {
		if v > 4 { // at most once per user, even when users race on first use
			t.Errorf("entry %v looked up %d times", k, v)
		}
	}
}
