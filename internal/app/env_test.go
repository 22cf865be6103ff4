package app

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
)

// TestStandaloneTrustEnv: the process environment reaches the users: with
// http.trust_env, HTTP_PROXY sends the requests to the proxy (in absolute
// form); without it they go to the target (a closed port here) and the
// proxy sees nothing, as with Locust's HttpUser.
func TestStandaloneTrustEnv(t *testing.T) {
	t.Parallel()
	var proxied atomic.Int64
	target := "http://127.0.0.1:" + freeTestPort(t)
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.RequestURI == target+"/" {
			proxied.Add(1)
		}
	}))
	defer proxy.Close()
	env := []string{"HTTP_PROXY=" + proxy.URL}
	for _, trust := range []bool{true, false} {
		y := "host: " + target + "\nhttp: {trust_env: " + map[bool]string{true: "true", false: "false"}[trust] +
			"}\nusers:\n  - class: U\n    wait_time: {constant: 0.05}\n    tasks: [{request: {path: /}}]\n"
		f := filepath.Join(t.TempDir(), "s.yaml")
		if err := os.WriteFile(f, []byte(y), 0o644); err != nil {
			t.Fatal(err)
		}
		before := proxied.Load()
		var out, errb bytes.Buffer
		code := run([]string{"--headless", "-f", f, "-u", "1", "-r", "10", "-t", "1s", "--web-port", freeTestPort(t), "--only-summary"},
			env, &out, &errb)
		got := proxied.Load() - before
		switch {
		case trust && (code != 0 || got == 0):
			t.Errorf("trust_env: exit %d, %d requests through the proxy; want 0 and some\n%s", code, got, errb.String())
		case !trust && got != 0:
			t.Errorf("without trust_env: %d requests through the proxy, want none", got)
		}
	}
}
