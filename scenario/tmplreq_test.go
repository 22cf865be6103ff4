package scenario

import (
	"context"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
)

// capture is one request a captureServer received.
type capture struct {
	method, uri, auth, trace, ctype, body string
}

// captureServer answers every request with answer(path) (a JSON body by
// default) and records it.
func captureServer(t *testing.T, answer func(w http.ResponseWriter, r *http.Request)) (string, func() []capture) {
	t.Helper()
	var mu sync.Mutex
	var got []capture
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, capture{r.Method, r.RequestURI, r.Header.Get("Authorization"), r.Header.Get("X-Trace"),
			r.Header.Get("Content-Type"), string(b)})
		mu.Unlock()
		if answer != nil {
			answer(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL, func() []capture { mu.Lock(); defer mu.Unlock(); return slices.Clone(got) }
}

// classUser builds a user of class c (its HTTP configuration, variables
// and data row, a fixed random source) against host.
func classUser(t testing.TB, r *Runner, c *Class, host string) *UserContext {
	t.Helper()
	u := testUserWith(t, r, host, r.profile(c.HTTP), 0)
	u.Rand = rand.New(rand.NewPCG(1, 2))
	scope := c.scope
	if scope == nil {
		scope = scopeForVars(c.Vars, c.Data)
	}
	var row Row
	if c.Data != nil {
		var err error
		if row, err = newDataPool(c.Data, StandalonePlacement).lease(u.Rand); err != nil {
			t.Fatal(err)
		}
	}
	u.vars.init(scope, row, nil)
	return u
}

// runOnce parses the scenario src, runs each task of its first class
// once, in order, as one user against host, and returns what was recorded.
func runOnce(t *testing.T, src, host string) []rec {
	t.Helper()
	sc, err := Parse("s.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	st := newFakeStats()
	r := NewRunner(nil, st)
	defer r.Close()
	c := sc.Classes[0]
	runTasks(t, classUser(t, r, c, host), c)
	return st.all()
}

// runTasks runs every task of c once, in order, as one user.
func runTasks(t *testing.T, u *UserContext, c *Class) {
	t.Helper()
	for _, tk := range c.Tasks {
		if err := tk.Fn(context.Background(), u); err != nil {
			t.Fatal(err)
		}
		u.HTTP.endTask()
	}
}

func TestTemplatedRequests(t *testing.T) {
	t.Parallel()
	host, got := captureServer(t, nil)
	sc, err := Parse("s.yaml", []byte(`vars: {q: "a b&c", tok: "t/1", who: "x\"y"}
users:
  - class: A
    vars: {tok: "t 2"}
    tasks:
      - request: {path: "/items/${tok}/x?s=${q}", headers: {Authorization: "Bearer ${tok}", X-Trace: "${user.id}-${q}"}}
      - request: {path: /search, query: {q: "${q}", n: "1"}}
      - request: {method: POST, path: /j, json: {who: "${who}", n: [1, "${tok}"], lit: "$${x}"}}
      - request: {method: POST, path: /f, form: {q: "${q}"}}
      - request: {method: POST, path: /b, body: "q=${q};$$${tok}"}
`))
	if err != nil {
		t.Fatal(err)
	}
	r := NewRunner(nil, newFakeStats())
	defer r.Close()
	c := sc.Classes[0]
	u := classUser(t, r, c, host)
	u.ID = 7
	runTasks(t, u, c)
	want := []capture{
		{"GET", "/items/t%202/x?s=a%20b&c", "Bearer t 2", "7-a b&c", "", ""},
		{"GET", "/search?n=1&q=a+b%26c", "", "", "", ""},
		{"POST", "/j", "", "", "application/json", `{"lit":"${x}","n":[1,"t 2"],"who":"x\"y"}`},
		{"POST", "/f", "", "", "application/x-www-form-urlencoded", "q=a+b%26c"},
		{"POST", "/b", "", "", "", "q=a b&c;$t 2"},
	}
	if g := got(); !slices.Equal(g, want) {
		t.Errorf("requests:\n got %q\nwant %q", g, want)
	}
	if got, want := c.Tasks[0].Name, "/items/${tok}/x?s=${q}"; got != want {
		t.Errorf("task name = %q, want %q", got, want)
	}
}

func TestTemplateStatsNames(t *testing.T) {
	t.Parallel()
	host, _ := captureServer(t, nil)
	sc, err := Parse("s.yaml", []byte(`vars: {id: "5"}
users:
  - class: A
    tasks:
      - request: {path: "/items/${id}"}
      - request: {path: "/items/${id}", name: "item ${id}"}
      - request: {path: "/x", name: "static"}
`))
	if err != nil {
		t.Fatal(err)
	}
	st := newFakeStats()
	r := NewRunner(nil, st)
	defer r.Close()
	c := sc.Classes[0]
	u := classUser(t, r, c, host)
	runTasks(t, u, c)
	var names []string
	for _, rc := range st.all() {
		names = append(names, rc.name)
	}
	if want := []string{"/items/${id}", "item 5", "static"}; !slices.Equal(names, want) {
		t.Errorf("names = %q, want %q", names, want)
	}
}

func TestTemplateUnsetVariable(t *testing.T) {
	t.Parallel()
	host, got := captureServer(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) })
	recs := runOnce(t, `users:
  - class: A
    tasks:
      - request: {method: POST, path: /login, extract: {token: {json: token}}}
      - request: {path: /me, headers: {Authorization: "Bearer ${token}"}}
`, host)
	if len(recs) != 2 || !recs[1].fail || recs[1].name != "/me" {
		t.Fatalf("records = %+v", recs)
	}
	want := `template ${token}: variable "token" is not set (it is extracted by POST /login, which has not succeeded for this user yet)`
	if recs[1].err != want {
		t.Errorf("error = %q, want %q", recs[1].err, want)
	}
	if n := len(got()); n != 1 {
		t.Errorf("the server got %d requests, want 1 (nothing is sent for a request that cannot be rendered)", n)
	}
}

func TestTemplateHeaderLineBreak(t *testing.T) {
	t.Parallel()
	host, got := captureServer(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"v": "a\r\nX-Evil: 1"}`)
	})
	recs := runOnce(t, `users:
  - class: A
    tasks:
      - request: {path: /a, extract: {v: {json: v}}}
      - request: {path: /b, headers: {X-Trace: "${v}"}}
`, host)
	if len(recs) != 2 || !recs[1].fail || !strings.Contains(recs[1].err, "line break") {
		t.Fatalf("records = %+v", recs)
	}
	if n := len(got()); n != 1 {
		t.Errorf("the server got %d requests, want 1", n)
	}
}

// TestTemplateRedirect follows a redirect from a templated request: the
// next request is rendered with the same values.
func TestTemplateRedirect(t *testing.T) {
	t.Parallel()
	host, got := captureServer(t, func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/from/") {
			w.Header().Set("Location", "../to/"+strings.TrimPrefix(r.URL.Path, "/from/"))
			w.WriteHeader(http.StatusTemporaryRedirect)
		}
	})
	sc, err := Parse("s.yaml", []byte(`vars: {id: "a b", tok: t1}
users:
  - class: A
    tasks:
      - request: {method: POST, path: "/from/${id}", headers: {Authorization: "${tok}"}, body: "id=${id}"}
`))
	if err != nil {
		t.Fatal(err)
	}
	st := newFakeStats()
	r := NewRunner(nil, st)
	defer r.Close()
	c := sc.Classes[0]
	runTasks(t, classUser(t, r, c, host), c)
	want := []capture{
		{"POST", "/from/a%20b", "t1", "", "", "id=a b"},
		{"POST", "/to/a%20b", "t1", "", "", "id=a b"},
	}
	if g := got(); !slices.Equal(g, want) {
		t.Errorf("requests:\n got %q\nwant %q", g, want)
	}
	if recs := st.all(); len(recs) != 1 || recs[0].fail || recs[0].name != "/from/${id}" {
		t.Errorf("records = %+v", recs)
	}
}

func TestExtraction(t *testing.T) {
	t.Parallel()
	host, got := captureServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/login":
			w.Header().Set("X-Session", "s-1")
			http.SetCookie(w, &http.Cookie{Name: "sid", Value: "c-1", Path: "/"})
			w.WriteHeader(201)
			io.WriteString(w, `{"data": {"token": "tok\u00e9\"1"}, "items": [{"id": 10}, {"id": 11}, {"id": 12}], "html": "<a csrf=\"k9\">"}`)
		default:
			io.WriteString(w, `{}`)
		}
	})
	sc, err := Parse("s.yaml", []byte(`users:
  - class: A
    tasks:
      - request:
          method: POST
          path: /login
          expect_status: 201
          extract:
            token: {json: $.data.token}
            first: {json: "items[*].id", pick: first}
            last: {json: "items[*].id", pick: last}
            any: {json: "items[*].id"}
            second: {json: "items[1].id"}
            csrf: {regex: 'csrf=\\"(\w+)'}
            session: {header: x-session}
            sid: {cookie: sid}
            code: {status: true}
      - request: {path: "/items/${first}/${last}/${second}", headers: {Authorization: "${token}", X-Trace: "${csrf} ${session} ${sid} ${code}"}}
      - request: {path: "/any/${any}"}
`))
	if err != nil {
		t.Fatal(err)
	}
	st := newFakeStats()
	r := NewRunner(nil, st)
	defer r.Close()
	c := sc.Classes[0]
	u := classUser(t, r, c, host)
	runTasks(t, u, c)
	for _, rc := range st.all() {
		if rc.fail {
			t.Fatalf("request %s failed: %s", rc.name, rc.err)
		}
	}
	g := got()
	if want := (capture{"GET", "/items/10/12/11", "toké\"1", "k9 s-1 c-1 201", "", ""}); g[1] != want {
		t.Errorf("request = %q, want %q", g[1], want)
	}
	if a := strings.TrimPrefix(g[2].uri, "/any/"); a != "10" && a != "11" && a != "12" {
		t.Errorf("any = %q, want one of the ids", a)
	}
	if v, ok := u.Var("token"); !ok || v != "toké\"1" {
		t.Errorf("Var(token) = %q, %v", v, ok)
	}
}

func TestExtractionFailure(t *testing.T) {
	t.Parallel()
	host, _ := captureServer(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"data": {"other": 1}, "items": []}`)
	})
	sc, err := Parse("s.yaml", []byte(`users:
  - class: A
    vars: {token: old}
    tasks:
      - request: {path: /a, extract: {id: {json: "items[*].id"}}}
      - request: {path: /b, extract: {x: {status: true}, token: {json: data.token}}}
      - request: {path: /c, extract: {h: {header: X-None}}}
      - request: {path: /d, extract: {c: {cookie: none}}}
      - request: {path: /e, extract: {r: {regex: "zz(z)"}}}
`))
	if err != nil {
		t.Fatal(err)
	}
	st := newFakeStats()
	r := NewRunner(nil, st)
	defer r.Close()
	c := sc.Classes[0]
	u := classUser(t, r, c, host)
	runTasks(t, u, c)
	var errs []string
	for _, rc := range st.all() {
		errs = append(errs, rc.err)
	}
	want := []string{
		"extract id (json path items[*].id): json path items[*].id: no match",
		`extract token (json path data.token): json path data.token: $.data has no member "token"`,
		"extract h (header X-None): the response has no X-None header",
		"extract c (cookie none): the response sets no cookie none",
		`extract r (regex "zz(z)"): no match in the response body`,
	}
	if !slices.Equal(errs, want) {
		t.Errorf("errors:\n got %q\nwant %q", errs, want)
	}
	// A failed extraction sets nothing, not even the values found before it.
	if v, _ := u.Var("token"); v != "old" {
		t.Errorf("token = %q, want old", v)
	}
	if _, ok := u.Var("x"); ok {
		t.Error("x is set by a request whose other extraction failed")
	}
}

// TestTemplatedRequestAllocs checks that a templated request allocates
// nothing once the user's buffers have grown.
func TestTemplatedRequestAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops buffers under the race detector")
	}
	host := loopbackServer(t)
	sc, err := Parse("s.yaml", []byte(`vars: {id: "42", tok: abc}
users:
  - class: A
    tasks:
      - request: {path: "/items/${id}", headers: {Authorization: "Bearer ${tok}"}, extract: {n: {status: true}}}
      - request: {method: POST, path: "/j", json: {id: "${id}", u: "${uuid()}", r: "${randint(1, 9)}"}}
`))
	if err != nil {
		t.Fatal(err)
	}
	r := NewRunner(nil, newBenchStats())
	defer r.Close()
	c := sc.Classes[0]
	u := classUser(t, r, c, host)
	ctx := context.Background()
	run := func() {
		for _, tk := range c.Tasks {
			tk.Fn(ctx, u)
			u.HTTP.endTask()
		}
	}
	run()
	if n := testing.AllocsPerRun(200, run); n != 0 {
		t.Errorf("%v allocations per run, want 0", n)
	}
}
