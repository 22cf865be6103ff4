package webguard

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// guarded is a Login handler over a handler that counts what reaches it.
type guarded struct {
	h       http.Handler
	clock   *fakeClock
	reached atomic.Int64
}

func newGuarded(t *testing.T, cfg LoginConfig) *guarded {
	t.Helper()
	u, err := ParseUsers("users", []byte("alice:"+hash(t, "s3cret")+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	g := &guarded{clock: &fakeClock{t: time.Unix(1_800_000_000, 0)}}
	cfg.Users, cfg.Now = u, g.clock.now
	g.h = Login(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.reached.Add(1)
		w.Write([]byte("reached " + r.URL.Path))
	}), cfg)
	return g
}

// req builds a request from client 192.0.2.1 with headers given as
// "Key: value" strings.
func req(method, target string, body string, headers ...string) *http.Request {
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	r.RemoteAddr = "192.0.2.1:40000"
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ": ")
		r.Header.Set(k, v)
	}
	if body != "" {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	return r
}

func (g *guarded) do(r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	g.h.ServeHTTP(w, r)
	return w
}

func basic(user, pass string) string {
	r := httptest.NewRequest("GET", "/", nil)
	r.SetBasicAuth(user, pass)
	return "Authorization: " + r.Header.Get("Authorization")
}

const (
	browserPage  = "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
	browserFetch = "Sec-Fetch-Mode: cors"
)

// TestLoginScripts: HTTP basic auth. No or wrong credentials get 401 with
// a Basic challenge and never reach the API; the right ones do.
func TestLoginScripts(t *testing.T) {
	t.Parallel()
	g := newGuarded(t, LoginConfig{})
	for _, c := range []struct {
		name    string
		r       *http.Request
		status  int
		reached bool
	}{
		{"none", req("POST", "/swarm", "user_count=5&spawn_rate=1"), 401, false},
		{"wrong password", req("POST", "/swarm", "user_count=5&spawn_rate=1", basic("alice", "guess")), 401, false},
		{"unknown user", req("POST", "/swarm", "user_count=5&spawn_rate=1", basic("mallory", "s3cret")), 401, false},
		{"malformed", req("POST", "/swarm", "", "Authorization: Basic !!!"), 401, false},
		{"right", req("POST", "/swarm", "user_count=5&spawn_rate=1", basic("alice", "s3cret")), 200, true},
		{"right again (remembered)", req("GET", "/stats/requests", "", basic("alice", "s3cret")), 200, true},
	} {
		before := g.reached.Load()
		w := g.do(c.r)
		if w.Code != c.status || (g.reached.Load() > before) != c.reached {
			t.Errorf("%s: status %d, reached %v; want %d, %v", c.name, w.Code, g.reached.Load() > before, c.status, c.reached)
		}
		if c.status == 401 && !strings.HasPrefix(w.Header().Get("WWW-Authenticate"), `Basic realm="glocust"`) {
			t.Errorf("%s: WWW-Authenticate %q", c.name, w.Header().Get("WWW-Authenticate"))
		}
	}
}

// TestLoginBrowser: a page load without a session goes to the login page;
// the form sets a session cookie that then works; a page's fetch gets 401
// without a Basic challenge; tampered and expired cookies fail; logout
// clears the cookie.
func TestLoginBrowser(t *testing.T) {
	t.Parallel()
	for _, secure := range []bool{false, true} {
		g := newGuarded(t, LoginConfig{BasePath: "/locust/", Secure: secure})
		w := g.do(req("GET", "/locust/stats/report?download=1", "", browserPage))
		if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/locust/login?next=%2Flocust%2Fstats%2Freport%3Fdownload%3D1" {
			t.Fatalf("page load: %d to %q", w.Code, w.Header().Get("Location"))
		}
		w = g.do(req("GET", "/locust/stats/requests", "", browserFetch, "Accept: */*"))
		if w.Code != 401 || w.Header().Get("WWW-Authenticate") != "" {
			t.Fatalf("fetch: %d, WWW-Authenticate %q; want 401 without a challenge", w.Code, w.Header().Get("WWW-Authenticate"))
		}
		w = g.do(req("GET", "/locust/login?next=/locust/x", ""))
		if body := w.Body.String(); w.Code != 200 || !strings.Contains(body, `action="/locust/login"`) ||
			!strings.Contains(body, `name="next" value="/locust/x"`) || !strings.Contains(body, `<label for="password">`) {
			t.Fatalf("login page: %d\n%s", w.Code, body)
		}
		form := url.Values{"username": {"alice"}, "password": {"nope"}, "next": {"/locust/x"}}
		w = g.do(req("POST", "/locust/login", form.Encode(), "Sec-Fetch-Site: same-origin"))
		if w.Code != 401 || len(w.Result().Cookies()) != 0 || !strings.Contains(w.Body.String(), "Wrong user name or password.") {
			t.Fatalf("wrong password: %d, cookies %v", w.Code, w.Result().Cookies())
		}
		form.Set("password", "s3cret")
		w = g.do(req("POST", "/locust/login", form.Encode()))
		cs := w.Result().Cookies()
		if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/locust/x" || len(cs) != 1 {
			t.Fatalf("login: %d to %q, cookies %v", w.Code, w.Header().Get("Location"), cs)
		}
		c := cs[0]
		if c.Name != CookieName || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Secure != secure || c.Path != "/locust" ||
			c.MaxAge != int(DefaultSessionTTL/time.Second) {
			t.Fatalf("cookie %+v (secure %v)", c, secure)
		}
		if g.reached.Load() != 0 {
			t.Fatal("the API was reached before the login")
		}
		cookie := "Cookie: " + CookieName + "=" + c.Value
		if w = g.do(req("POST", "/locust/swarm", "user_count=1", cookie)); w.Code != 200 || g.reached.Load() != 1 {
			t.Fatalf("with the cookie: %d", w.Code)
		}
		user, rest, _ := strings.Cut(c.Value, ".")
		for name, v := range map[string]string{
			"other user":  "Ym9i." + rest, // "bob"
			"other MAC":   user + "." + rest[:len(rest)-2] + "AA",
			"no MAC":      user + "." + strings.Split(rest, ".")[0],
			"garbage":     "x",
			"other guard": "", // a cookie from another process, below
		} {
			if name == "other guard" {
				v, _ = newSessions(time.Hour).issue("alice", g.clock.now())
			}
			if w = g.do(req("GET", "/locust/stats/requests", "", "Cookie: "+CookieName+"="+v)); w.Code != 401 {
				t.Errorf("%s cookie: %d", name, w.Code)
			}
		}
		g.clock.add(DefaultSessionTTL)
		if w = g.do(req("GET", "/locust/stats/requests", "", cookie)); w.Code != 401 {
			t.Errorf("expired cookie: %d", w.Code)
		}
		w = g.do(req("POST", "/locust/logout", "", cookie))
		if cs = w.Result().Cookies(); w.Code != http.StatusSeeOther || len(cs) != 1 || cs[0].MaxAge >= 0 {
			t.Errorf("logout: %d, cookies %+v", w.Code, cs)
		}
		if w = g.do(req("GET", "/locust/logout", "", cookie)); w.Code != http.StatusMethodNotAllowed {
			t.Errorf("GET logout: %d", w.Code)
		}
	}
}

// TestLoginOpenPaths: the probes are open, /metrics unless ProtectMetrics;
// paths outside the base path are not the probes.
func TestLoginOpenPaths(t *testing.T) {
	t.Parallel()
	for _, protect := range []bool{false, true} {
		g := newGuarded(t, LoginConfig{BasePath: "/lt", ProtectMetrics: protect})
		for path, open := range map[string]bool{
			"/lt/healthz": true, "/lt/readyz": true, "/lt/metrics": !protect,
			"/healthz": false, "/lt/healthz/": false, "/lt/": false, "/lt/swarm": false, "/lt/metricsx": false,
		} {
			w := g.do(req("GET", path, ""))
			if got := w.Code == 200; got != open {
				t.Errorf("ProtectMetrics %v: %s answered %d, want open %v", protect, path, w.Code, open)
			}
		}
	}
}

// TestLoginRateLimit: after FailureBurst failures a client gets 429, even
// with the right password, while other clients do not; one more attempt
// comes back after FailureRefill.
func TestLoginRateLimit(t *testing.T) {
	t.Parallel()
	g := newGuarded(t, LoginConfig{})
	for i := range FailureBurst {
		if w := g.do(req("GET", "/stats/requests", "", basic("alice", "guess"+strconv.Itoa(i)))); w.Code != 401 {
			t.Fatalf("failure %d: %d", i+1, w.Code)
		}
	}
	right := basic("alice", "s3cret")
	w := g.do(req("GET", "/stats/requests", "", right))
	if w.Code != 429 || w.Header().Get("Retry-After") != strconv.Itoa(int(FailureRefill/time.Second)) || g.reached.Load() != 0 {
		t.Fatalf("limited: %d, Retry-After %q", w.Code, w.Header().Get("Retry-After"))
	}
	form := url.Values{"username": {"alice"}, "password": {"s3cret"}}.Encode()
	if w = g.do(req("POST", "/login", form)); w.Code != 429 || len(w.Result().Cookies()) != 0 {
		t.Fatalf("limited login form: %d", w.Code)
	}
	other := req("GET", "/stats/requests", "", right)
	other.RemoteAddr = "[2001:db8::1]:5000"
	if w = g.do(other); w.Code != 200 {
		t.Fatalf("another client: %d", w.Code)
	}
	g.clock.add(FailureRefill)
	if w = g.do(req("GET", "/stats/requests", "", right)); w.Code != 200 {
		t.Fatalf("after %v: %d", FailureRefill, w.Code)
	}
}

// TestVerifierRefund: a successful check gives its attempt back, so
// failures before it do not count against the client afterwards.
func TestVerifierRefund(t *testing.T) {
	t.Parallel()
	u, err := ParseUsers("users", []byte("alice:"+hash(t, "pw")+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	v, now := newVerifier(u), time.Unix(0, 0)
	for range FailureBurst - 1 {
		if out, _ := v.verify(t.Context(), "c", "alice", "no", now); out != refused {
			t.Fatalf("wrong password: %v", out)
		}
	}
	for i := range 3 {
		clear(v.good) // check the password each time, not the remembered credentials
		if out, _ := v.verify(t.Context(), "c", "alice", "pw", now); out != accepted {
			t.Fatalf("right password, attempt %d: %v", i+1, out)
		}
	}
}

// TestLimiterBounded: the table holds at most its size; further clients
// share one bucket, and clients whose bucket refilled make room.
func TestLimiterBounded(t *testing.T) {
	t.Parallel()
	l := newLimiter(1, time.Minute, 3)
	now := time.Unix(0, 0)
	for i := range 5 {
		l.take("c"+strconv.Itoa(i), now)
	}
	if len(l.clients) != 3 {
		t.Fatalf("%d clients in the table", len(l.clients))
	}
	if ok, _ := l.take("c4", now); ok {
		t.Fatal("c4 (overflow, after c3 used it) was not limited")
	}
	if ok, _ := l.take("c0", now.Add(30*time.Second)); ok {
		t.Fatal("c0 refilled early")
	}
	now = now.Add(time.Minute)
	if ok, _ := l.take("c9", now); !ok || l.clients["c9"] == nil {
		t.Fatal("c9 found no room once the others refilled")
	}
}

func TestClientKey(t *testing.T) {
	t.Parallel()
	for addr, want := range map[string]string{
		"192.0.2.1:1": "192.0.2.1", "[::ffff:192.0.2.1]:1": "192.0.2.1",
		"[2001:db8:1:2:3:4:5:6]:1": "2001:db8:1:2::/64", "[fe80::1%eth0]:1": "fe80::/64", "pipe": "pipe",
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = addr
		if got := clientKey(r); got != want {
			t.Errorf("clientKey(%s) = %s, want %s", addr, got, want)
		}
	}
}

// TestSafeNext: a login goes back to a page of this server under the base
// path, never to another site.
func TestSafeNext(t *testing.T) {
	t.Parallel()
	for base, cases := range map[string]map[string]string{
		"": {"/": "/", "/stats/report?x=1": "/stats/report?x=1", "": "/", "//evil.example/": "/",
			"https://evil.example/": "/", "/\\evil.example": "/", "/\t/evil.example": "/", "javascript:alert(1)": "/",
			"///evil.example/": "/"}, // a browser reads it as //evil.example/
		"/lt": {"/lt/": "/lt/", "/lt/x": "/lt/x", "/other": "/lt/", "/lt": "/lt/", "/ltx": "/lt/"},
	} {
		g := &guard{base: base}
		for next, want := range cases {
			if got := g.safeNext(next); got != want {
				t.Errorf("base %q: safeNext(%q) = %q, want %q", base, next, got, want)
			}
		}
	}
}
