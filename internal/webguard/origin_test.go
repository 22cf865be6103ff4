package webguard

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestCrossOrigin: state-changing requests a browser sends for a page of
// another site are refused before they reach the API; the same requests
// from the master's own pages, and from scripts (no Origin, no
// Sec-Fetch-Site), pass.
func TestCrossOrigin(t *testing.T) {
	t.Parallel()
	const host = "127.0.0.1:8089"
	for _, base := range []string{"", "/lt"} {
		reached := 0
		h := CrossOrigin(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { reached++ }), base, "/stop", "/stats/reset")
		for _, c := range []struct {
			method, path string
			headers      []string
			refused      bool
		}{
			// What Chromium and Firefox send for a form or fetch of a page of another site.
			{"POST", "/swarm", []string{"Sec-Fetch-Site: cross-site", "Origin: https://evil.example"}, true},
			{"POST", "/swarm", []string{"Sec-Fetch-Site: same-site", "Origin: http://127.0.0.1:9999"}, true},
			{"POST", "/user", []string{"Sec-Fetch-Site: cross-site", "Origin: null"}, true},
			{"POST", "/stop", []string{"Sec-Fetch-Site: cross-site"}, true},
			{"PUT", "/swarm", []string{"Sec-Fetch-Site: cross-site"}, true},
			// A browser without Sec-Fetch-Site: Origin against Host.
			{"POST", "/swarm", []string{"Origin: https://evil.example"}, true},
			{"POST", "/swarm", []string{"Origin: http://" + host}, false},
			// Locust's /stop and /stats/reset still take GET here: an <img> elsewhere must not stop a run.
			{"GET", "/stop", []string{"Sec-Fetch-Site: cross-site"}, true},
			{"HEAD", "/stats/reset", []string{"Sec-Fetch-Site: cross-site"}, true},
			{"GET", "/stop", []string{"Sec-Fetch-Site: none"}, false}, // typed in the address bar
			// The master's own pages.
			{"POST", "/swarm", []string{"Sec-Fetch-Site: same-origin", "Origin: http://" + host}, false},
			{"GET", "/stop", []string{"Sec-Fetch-Site: same-origin"}, false},
			// Reading is not refused: a link from elsewhere opens the dashboard.
			{"GET", "/", []string{"Sec-Fetch-Site: cross-site"}, false},
			{"GET", "/stats/requests", []string{"Sec-Fetch-Site: cross-site"}, false},
			{"OPTIONS", "/swarm", []string{"Sec-Fetch-Site: cross-site"}, false},
			// Scripts: curl and CI send neither header.
			{"POST", "/swarm", nil, false},
			{"GET", "/stop", nil, false},
			{"POST", "/stats/reset", nil, false},
		} {
			r := httptest.NewRequest(c.method, "http://"+host+base+c.path, nil)
			for _, kv := range c.headers {
				k, v, _ := strings.Cut(kv, ": ")
				r.Header.Set(k, v)
			}
			before := reached
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			refused := w.Code == http.StatusForbidden
			if refused != c.refused || (reached > before) == c.refused {
				t.Errorf("base %q: %s %s %v: status %d, reached %v; want refused %v", base, c.method, c.path, c.headers, w.Code, reached > before, c.refused)
			}
			if w.Header().Get("X-Frame-Options") != "DENY" {
				t.Errorf("%s %s: X-Frame-Options %q", c.method, c.path, w.Header().Get("X-Frame-Options"))
			}
		}
	}
}
