package main

import (
	"crypto/tls"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/glocust/glocust/internal/testenv"
)

// TestBinaryWebSecurity: the built binary, configured from its command line
// or from its environment, serves the web port over TLS behind a login: a
// browser is sent to the login page, a script without credentials gets 401
// and starts nothing, the login form's Secure cookie starts a swarm from the
// master's own page, a page of another site cannot, and SIGTERM ends it.
func TestBinaryWebSecurity(t *testing.T) {
	t.Parallel()
	bin := testenv.BuildGlocust(t)
	files := testenv.NewServerTLS(t)
	users := testenv.WriteHtpasswd(t, "admin", "correct horse")
	for name, cfg := range map[string]struct{ args, env []string }{
		"flags": {args: []string{"--tls-cert", files.CertFile, "--tls-key", files.KeyFile, "--web-login-file", users}},
		"env": {env: []string{"LOCUST_TLS_CERT=" + files.CertFile, "LOCUST_TLS_KEY=" + files.KeyFile,
			"LOCUST_WEB_LOGIN=true", "GLOCUST_WEB_LOGIN_FILE=" + users}},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			target := testenv.NewTarget(t)
			scenario := filepath.Join(t.TempDir(), "scenario.yaml")
			if err := os.WriteFile(scenario, []byte("host: "+target.URL+"\nusers:\n  - class: U\n    wait_time: {constant: 0.1}\n"+
				"    tasks: [{request: {path: /}}]\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			port := strconv.Itoa(testenv.FreePort(t))
			p := testenv.Start(t, testenv.Command{Path: bin, Env: cfg.env,
				Args: append([]string{"-f", scenario, "--web-host", "127.0.0.1", "--web-port", port}, cfg.args...)})
			base := "https://127.0.0.1:" + port
			if err := p.WaitOutput("Starting web interface at "+base, 30*time.Second); err != nil {
				t.Fatal(err)
			}
			tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: files.Pool}}
			defer tr.CloseIdleConnections()
			client := &http.Client{Transport: tr, Timeout: 10 * time.Second,
				CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			send := func(method, path, body string, headers ...string) *http.Response {
				t.Helper()
				resp, _ := testenv.Send(t, client, method, base+path, body, headers...)
				return resp
			}
			if resp := send("GET", "/", "", "Accept: text/html"); resp.StatusCode != 303 || resp.Header.Get("Location") != "/login?next=%2F" {
				t.Fatalf("a browser without a session: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
			}
			const swarm = "user_count=2&spawn_rate=10"
			if resp := send("POST", "/swarm", swarm); resp.StatusCode != 401 {
				t.Fatalf("POST /swarm without credentials: %d", resp.StatusCode)
			}
			resp := send("POST", "/login", url.Values{"username": {"admin"}, "password": {"correct horse"}}.Encode())
			if resp.StatusCode != 303 || len(resp.Cookies()) != 1 || !resp.Cookies()[0].Secure {
				t.Fatalf("login: %d, cookies %+v", resp.StatusCode, resp.Cookies())
			}
			cookie := "Cookie: " + resp.Cookies()[0].Name + "=" + resp.Cookies()[0].Value
			if resp := send("POST", "/swarm", swarm, cookie, "Sec-Fetch-Site: cross-site", "Origin: https://evil.example"); resp.StatusCode != 403 {
				t.Fatalf("a cross-site POST /swarm: %d", resp.StatusCode)
			}
			time.Sleep(300 * time.Millisecond)
			if n := target.Count("GET /"); n != 0 {
				t.Fatalf("%d requests reached the target before the swarm", n)
			}
			if resp := send("POST", "/swarm", swarm, cookie, "Sec-Fetch-Site: same-origin", "Origin: "+base); resp.StatusCode != 200 {
				t.Fatalf("POST /swarm from the master's page: %d", resp.StatusCode)
			}
			deadline := time.Now().Add(10 * time.Second)
			for target.Count("GET /") == 0 {
				if time.Now().After(deadline) {
					t.Fatal("the swarm sent no request")
				}
				time.Sleep(50 * time.Millisecond)
			}
			if err := p.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			if code, err := p.Wait(30 * time.Second); err != nil || code != 0 {
				t.Fatalf("exit %d, %v", code, err)
			}
		})
	}
}
