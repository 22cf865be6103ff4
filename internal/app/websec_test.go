package app

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/glocust/glocust/internal/config"
	"github.com/glocust/glocust/internal/logging"
	"github.com/glocust/glocust/internal/testenv"
)

// webMaster is a standalone master (one in-process worker) with its web
// port on 127.0.0.1, run until the test ends.
type webMaster struct {
	base   string       // http(s)://127.0.0.1:port
	client *http.Client // trusts the master's certificate, follows no redirect
	hits   *atomic.Int64
	log    *lockedBuffer
}

// startWebMaster runs runMaster with args and env on top of a scenario whose
// users request a counting target, and waits until the master is ready.
func startWebMaster(t *testing.T, tlsFiles *testenv.ServerTLS, args, env []string) *webMaster {
	t.Helper()
	wm := &webMaster{hits: &atomic.Int64{}, log: &lockedBuffer{}}
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { wm.hits.Add(1) }))
	t.Cleanup(target.Close)
	port := freeTestPort(t)
	args = append([]string{"-f", writeScenario(t, target.URL, false), "--web-host", "127.0.0.1", "--web-port", port}, args...)
	opts, err := config.Parse(args, env)
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{}
	wm.base = "http://127.0.0.1:" + port
	if tlsFiles != nil {
		tr.TLSClientConfig = &tls.Config{RootCAs: tlsFiles.Pool}
		wm.base = "https://127.0.0.1:" + port
	}
	wm.client = &http.Client{Transport: tr, Timeout: 5 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		log := logging.New(wm.log, 0, "glocust.master")
		done <- runMaster(ctx, opts, env, log, &logging.Ring{}, io.Discard, io.Discard)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		tr.CloseIdleConnections()
	})
	deadline := time.Now().Add(10 * time.Second)
	for wm.state(t) != "ready" {
		if time.Now().After(deadline) {
			t.Fatalf("master not ready within 10 s; log:\n%s", wm.log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	return wm
}

// do sends a request to the master and returns the status, the body and
// the response.
func (wm *webMaster) do(t *testing.T, method, path, body string, headers ...string) (int, string, *http.Response) {
	t.Helper()
	resp, b := testenv.Send(t, wm.client, method, wm.base+path, body, headers...)
	return resp.StatusCode, b, resp
}

// state is the master's state from /healthz, which is open in every
// configuration ("" until it answers).
func (wm *webMaster) state(t *testing.T) string {
	t.Helper()
	resp, err := wm.client.Get(wm.base + "/healthz")
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	var h struct{ State string }
	if resp.StatusCode != 200 || json.NewDecoder(resp.Body).Decode(&h) != nil {
		t.Fatalf("/healthz: %d", resp.StatusCode)
	}
	return h.State
}

// assertIdle checks that nothing was started: the master is still ready
// and no user reached the target.
func (wm *webMaster) assertIdle(t *testing.T, what string) {
	t.Helper()
	time.Sleep(300 * time.Millisecond)
	if s, n := wm.state(t), wm.hits.Load(); s != "ready" || n != 0 {
		t.Fatalf("after %s: state %q, %d requests reached the target; want ready and none", what, s, n)
	}
}

// assertSwarming checks that a /swarm answer started the users.
func (wm *webMaster) assertSwarming(t *testing.T, status int, body string) {
	t.Helper()
	if status != 200 || !strings.Contains(body, `"success":true`) {
		t.Fatalf("/swarm: %d %s", status, body)
	}
	deadline := time.Now().Add(5 * time.Second)
	for wm.hits.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no request reached the target; state %q", wm.state(t))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func basicAuth(user, pass string) string {
	r, _ := http.NewRequest("GET", "/", nil)
	r.SetBasicAuth(user, pass)
	return "Authorization: " + r.Header.Get("Authorization")
}

const swarmForm = "user_count=2&spawn_rate=10"

// TestWebTLS: --tls-cert and --tls-key serve the web port over HTTPS: a
// client that trusts the certificate's CA is served, one that does not
// fails the handshake, and plain HTTP is refused.
func TestWebTLS(t *testing.T) {
	t.Parallel()
	files := testenv.NewServerTLS(t)
	wm := startWebMaster(t, files, []string{"--tls-cert", files.CertFile, "--tls-key", files.KeyFile}, nil)
	if status, body, resp := wm.do(t, "GET", "/stats/requests", ""); status != 200 || resp.TLS == nil || !strings.Contains(body, `"state"`) {
		t.Fatalf("over TLS: %d, TLS %v", status, resp.TLS != nil)
	}
	_, err := (&http.Client{Timeout: 5 * time.Second}).Get(wm.base + "/healthz")
	var unknown x509.UnknownAuthorityError
	if !errors.As(err, &unknown) {
		t.Fatalf("a client without the CA: %v, want an unknown authority", err)
	}
	plain := "http" + strings.TrimPrefix(wm.base, "https")
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Get(plain + "/healthz")
	if err == nil {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Fatalf("plain HTTP to the TLS port was served: %s", b)
		}
	}
	if !strings.Contains(wm.log.String(), "Starting web interface at https://127.0.0.1:") {
		t.Errorf("log:\n%s", wm.log.String())
	}
}

// TestWebLogin: with --web-login-file, the API answers only logged-in
// clients: scripts with basic auth, browsers after the login form; wrong
// credentials start nothing; the probes and /metrics stay open.
func TestWebLogin(t *testing.T) {
	t.Parallel()
	wm := startWebMaster(t, nil, []string{"--web-login-file", testenv.WriteHtpasswd(t, "alice", "s3cret")}, nil)
	for _, path := range []string{"/healthz", "/metrics"} {
		if status, _, _ := wm.do(t, "GET", path, ""); status != 200 {
			t.Errorf("GET %s without login: %d, want 200", path, status)
		}
	}
	if status, _, _ := wm.do(t, "GET", "/readyz", ""); status == 401 || status == 303 {
		t.Errorf("GET /readyz without login: %d, want it open", status)
	}
	if want := "Web login required (1 user from "; !strings.Contains(wm.log.String(), want) {
		t.Errorf("the log does not say %q:\n%s", want, wm.log.String())
	}
	if status, _, resp := wm.do(t, "GET", "/", "", "Accept: text/html"); status != 303 || resp.Header.Get("Location") != "/login?next=%2F" {
		t.Fatalf("a browser without a session: %d to %q", status, resp.Header.Get("Location"))
	}
	for name, auth := range map[string][]string{"no credentials": nil, "a wrong password": {basicAuth("alice", "guess")},
		"an unknown user": {basicAuth("bob", "s3cret")}} {
		if status, body, resp := wm.do(t, "POST", "/swarm", swarmForm, auth...); status != 401 || resp.Header.Get("WWW-Authenticate") == "" {
			t.Fatalf("POST /swarm with %s: %d %s", name, status, body)
		}
		wm.assertIdle(t, "POST /swarm with "+name)
	}
	form := url.Values{"username": {"alice"}, "password": {"guess"}}
	if status, _, resp := wm.do(t, "POST", "/login", form.Encode()); status != 401 || len(resp.Cookies()) != 0 {
		t.Fatalf("login form, wrong password: %d, cookies %v", status, resp.Cookies())
	}
	form.Set("password", "s3cret")
	status, _, resp := wm.do(t, "POST", "/login", form.Encode())
	if status != 303 || len(resp.Cookies()) != 1 {
		t.Fatalf("login form: %d, cookies %v", status, resp.Cookies())
	}
	cookie := "Cookie: " + resp.Cookies()[0].Name + "=" + resp.Cookies()[0].Value
	if status, body, _ := wm.do(t, "GET", "/stats/requests", "", cookie); status != 200 || !strings.Contains(body, `"state": "ready"`) && !strings.Contains(body, `"state":"ready"`) {
		t.Fatalf("with the session cookie: %d %s", status, body)
	}
	status, body, _ := wm.do(t, "POST", "/swarm", swarmForm, basicAuth("alice", "s3cret"))
	wm.assertSwarming(t, status, body)
	if status, body, _ := wm.do(t, "POST", "/stop", "", cookie, "Sec-Fetch-Site: same-origin"); status != 200 {
		t.Fatalf("POST /stop from the master's page: %d %s", status, body)
	}
}

// TestWebLoginMetrics: --web-login-metrics (here from its variable) puts
// /metrics behind the login too.
func TestWebLoginMetrics(t *testing.T) {
	t.Parallel()
	wm := startWebMaster(t, nil, nil, []string{"GLOCUST_WEB_LOGIN_FILE=" + testenv.WriteHtpasswd(t, "alice", "pw"), "GLOCUST_WEB_LOGIN_METRICS=true"})
	if status, _, _ := wm.do(t, "GET", "/metrics", ""); status != 401 {
		t.Fatalf("/metrics without login: %d", status)
	}
	if status, body, _ := wm.do(t, "GET", "/metrics", "", basicAuth("alice", "pw")); status != 200 || !strings.Contains(body, "glocust_") {
		t.Fatalf("/metrics with basic auth: %d", status)
	}
}

// TestWebCrossOrigin: a page of another site cannot make a browser start
// or stop a run; the master's own page and scripts without Origin can.
func TestWebCrossOrigin(t *testing.T) {
	t.Parallel()
	wm := startWebMaster(t, nil, nil, nil)
	for name, headers := range map[string][]string{
		"Sec-Fetch-Site cross-site": {"Sec-Fetch-Site: cross-site", "Origin: https://evil.example"},
		"an Origin of another host": {"Origin: https://evil.example"},
	} {
		if status, _, _ := wm.do(t, "POST", "/swarm", swarmForm, headers...); status != 403 {
			t.Fatalf("POST /swarm with %s: %d, want 403", name, status)
		}
		wm.assertIdle(t, "a cross-origin POST /swarm ("+name+")")
	}
	status, body, _ := wm.do(t, "POST", "/swarm", swarmForm, "Sec-Fetch-Site: same-origin", "Origin: "+wm.base)
	wm.assertSwarming(t, status, body)
	if status, _, _ := wm.do(t, "GET", "/stop", "", "Sec-Fetch-Site: cross-site"); status != 403 || wm.state(t) == "stopped" {
		t.Fatalf("a cross-site GET /stop: %d, state %s", status, wm.state(t))
	}
	if status, body, _ := wm.do(t, "POST", "/stop", ""); status != 200 || wm.state(t) != "stopped" {
		t.Fatalf("POST /stop from a script: %d %s, state %s", status, body, wm.state(t))
	}
}

// TestWebSecurityErrors: bad TLS and login options stop the master before
// it binds anything, with exit code 1 and a message naming the option.
func TestWebSecurityErrors(t *testing.T) {
	t.Parallel()
	files := testenv.NewServerTLS(t)
	other := testenv.NewServerTLS(t)
	bad := testenv.WriteHtpasswd(t, "alice", "x") // alice on line 2
	b, err := os.ReadFile(bad)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, append(b, "bob:$apr1$x$y\n"...), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(t.TempDir(), "missing")
	f := writeScenario(t, "http://127.0.0.1:1", false)
	for _, c := range []struct {
		name string
		args []string
		env  []string
		want string
	}{
		{"cert without key", []string{"--tls-cert", files.CertFile}, nil, "--tls-cert needs --tls-key"},
		{"key without cert", nil, []string{"LOCUST_TLS_KEY=" + files.KeyFile}, "--tls-key needs --tls-cert"},
		{"missing cert", []string{"--tls-cert", missing, "--tls-key", files.KeyFile}, nil, "--tls-cert: open " + missing + ": no such file"},
		{"missing key", []string{"--tls-cert", files.CertFile, "--tls-key", missing}, nil, "--tls-key: open " + missing},
		{"key of another cert", []string{"--tls-cert", files.CertFile, "--tls-key", other.KeyFile}, nil, "private key does not match public key"},
		{"switched", []string{"--tls-cert", files.KeyFile, "--tls-key", files.CertFile}, nil, "--tls-cert " + files.KeyFile + ", --tls-key " + files.CertFile + ": tls:"},
		{"malformed htpasswd", []string{"--web-login-file", bad}, nil, "--web-login-file: " + bad + `:3: user "bob": an MD5 hash`},
		{"missing htpasswd", nil, []string{"GLOCUST_WEB_LOGIN_FILE=" + missing}, "--web-login-file: open " + missing},
		{"login without users", []string{"--web-login"}, nil, "--web-login needs --web-login-file"},
		{"metrics without users", []string{"--web-login-metrics"}, nil, "--web-login-metrics needs --web-login-file"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var out, errb bytes.Buffer
			args := append([]string{"-f", f, "--web-port", freeTestPort(t), "--master-bind-port", freeTestPort(t), "--master"}, c.args...)
			code := run(args, c.env, &out, &errb)
			if code != 1 || !strings.Contains(errb.String(), c.want) {
				t.Fatalf("exit %d, want 1 and %q in:\n%s", code, c.want, errb.String())
			}
		})
	}
}
