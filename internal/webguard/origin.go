package webguard

import (
	"net/http"
	"strings"
)

// CrossOrigin returns a handler that refuses, with 403, the requests a
// browser sends on behalf of a page of another origin that could change
// state: every method but GET, HEAD and OPTIONS (net/http's
// CrossOriginProtection: Sec-Fetch-Site other than same-origin or none, or,
// from browsers without it, an Origin whose host is not the Host), and also
// GET and HEAD to the stateChangingGET paths under basePath (glocust's /stop
// and /stats/reset still take GET, which Locust 2.47 no longer does). Requests
// without those headers (curl, scripts, CI) pass, as with Locust. Every
// response also forbids framing by other pages (X-Frame-Options: DENY), so
// a page cannot overlay the master's buttons either.
func CrossOrigin(next http.Handler, basePath string, stateChangingGET ...string) http.Handler {
	base := strings.TrimRight(basePath, "/")
	gets := map[string]bool{}
	for _, p := range stateChangingGET {
		gets[base+p] = true
	}
	cop := http.NewCrossOriginProtection()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Frame-Options", "DENY")
		check := r
		if (r.Method == http.MethodGet || r.Method == http.MethodHead) && gets[r.URL.Path] {
			// Checked as the POST it stands for.
			c := *r
			c.Method = http.MethodPost
			check = &c
		}
		if err := cop.Check(check); err != nil {
			http.Error(w, "Forbidden: cross-origin request refused ("+err.Error()+")", http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}
