package testenv

import (
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// AccountTarget is an HTTP server on 127.0.0.1 with accounts that log in
// and get a token, for tests of scenarios with test data and extracted
// values. Endpoints:
//
//	POST /login      JSON {"user": u, "password": p}: 200 {"token": t}, a new token per login;
//	                 401 for an unknown account or a wrong password
//	GET  /items      200 {"items": [{"id": "<u>-1"}, {"id": "<u>-2"}, {"id": "<u>-3"}]}, the ids of
//	                 the token's account; ?size=N: N ids
//	GET  /items/{id} 200 {"id": id} when id is one of the token's account's, else 404
//
// /items and /items/{id} need "Authorization: Bearer <token>": 401
// without a token the target gave. Anything else is 404. It counts the
// logins per account, the requests per token and endpoint, the sizes
// asked for and every refusal.
type AccountTarget struct {
	// URL is the base URL, e.g. http://127.0.0.1:41234.
	URL string

	accounts map[string]string // user -> password
	srv      *http.Server
	done     chan struct{}

	mu      sync.Mutex
	tokens  map[string]string         // token -> user
	logins  map[string]int            // user -> logins
	byToken map[string]map[string]int // token -> endpoint -> requests
	seen    map[string]time.Time      // token -> its last authorized request
	sizes   map[string]int            // ?size value -> requests
	refused map[string]int            // reason -> requests
}

// NewAccountTarget starts an AccountTarget with accounts (user ->
// password); it is closed at test cleanup.
func NewAccountTarget(t testing.TB, accounts map[string]string) *AccountTarget {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("testenv: account target listen: %v", err)
	}
	a := &AccountTarget{URL: "http://" + ln.Addr().String(), accounts: maps.Clone(accounts), done: make(chan struct{}),
		tokens: map[string]string{}, logins: map[string]int{}, byToken: map[string]map[string]int{}, seen: map[string]time.Time{},
		sizes: map[string]int{}, refused: map[string]int{}}
	a.srv = &http.Server{Handler: a, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		defer close(a.done)
		a.srv.Serve(ln)
	}()
	t.Cleanup(func() {
		a.srv.Close()
		<-a.done
	})
	return a
}

// ServeHTTP implements http.Handler.
func (a *AccountTarget) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	switch {
	case r.URL.Path == "/login" && r.Method == http.MethodPost:
		var in struct{ User, Password string }
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil || a.accounts[in.User] == "" || a.accounts[in.User] != in.Password {
			a.refuse(w, http.StatusUnauthorized, "bad login")
			return
		}
		a.logins[in.User]++
		tok := fmt.Sprintf("tok-%s-%d", in.User, a.logins[in.User])
		a.tokens[tok] = in.User
		writeJSON(w, map[string]string{"token": tok})
	case r.URL.Path == "/items" && r.Method == http.MethodGet:
		tok, user, ok := a.auth(w, r)
		if !ok {
			return
		}
		n := 3
		if s := r.URL.Query().Get("size"); s != "" {
			a.sizes[s]++
			fmt.Sscan(s, &n)
		}
		items := []map[string]string{}
		for i := 1; i <= n && i <= 100; i++ {
			items = append(items, map[string]string{"id": fmt.Sprintf("%s-%d", user, i)})
		}
		a.count(tok, "GET /items")
		writeJSON(w, map[string]any{"items": items})
	case strings.HasPrefix(r.URL.Path, "/items/") && r.Method == http.MethodGet:
		tok, user, ok := a.auth(w, r)
		if !ok {
			return
		}
		id := strings.TrimPrefix(r.URL.Path, "/items/")
		if !strings.HasPrefix(id, user+"-") {
			a.refuse(w, http.StatusNotFound, "another account's item")
			return
		}
		a.count(tok, "GET /items/{id}")
		writeJSON(w, map[string]string{"id": id})
	default:
		a.refuse(w, http.StatusNotFound, "no such endpoint: "+r.Method+" "+r.URL.Path)
	}
}

// auth checks the request's token.
func (a *AccountTarget) auth(w http.ResponseWriter, r *http.Request) (tok, user string, ok bool) {
	tok, _ = strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if user, ok = a.tokens[tok]; !ok {
		a.refuse(w, http.StatusUnauthorized, "no valid token")
	}
	return tok, user, ok
}

func (a *AccountTarget) count(tok, endpoint string) {
	a.seen[tok] = time.Now()
	m := a.byToken[tok]
	if m == nil {
		m = map[string]int{}
		a.byToken[tok] = m
	}
	m[endpoint]++
}

func (a *AccountTarget) refuse(w http.ResponseWriter, code int, reason string) {
	a.refused[reason]++
	http.Error(w, reason, code)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

// Logins returns the number of logins per account.
func (a *AccountTarget) Logins() map[string]int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return maps.Clone(a.logins)
}

// ByToken returns the authorized requests per token and endpoint ("GET
// /items", "GET /items/{id}").
func (a *AccountTarget) ByToken() map[string]map[string]int {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make(map[string]map[string]int, len(a.byToken))
	for k, v := range a.byToken {
		out[k] = maps.Clone(v)
	}
	return out
}

// Endpoints returns the authorized requests per endpoint, over all tokens,
// with the logins as "POST /login".
func (a *AccountTarget) Endpoints() map[string]int {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := map[string]int{}
	for _, n := range a.logins {
		out["POST /login"] += n
	}
	for _, m := range a.byToken {
		for k, n := range m {
			out[k] += n
		}
	}
	return out
}

// Active returns, per account, the tokens that made an authorized request
// since t: the users logged in with that account that are still running.
func (a *AccountTarget) Active(t time.Time) map[string][]string {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := map[string][]string{}
	for tok, at := range a.seen {
		if !at.Before(t) {
			u := a.tokens[tok]
			out[u] = append(out[u], tok)
		}
	}
	return out
}

// Sizes returns the requests per ?size value of GET /items.
func (a *AccountTarget) Sizes() map[string]int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return maps.Clone(a.sizes)
}

// Refused returns the refused requests per reason.
func (a *AccountTarget) Refused() map[string]int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return maps.Clone(a.refused)
}

// Accounts returns n accounts user1..userN with passwords, and the CSV
// file (header user,password) that lists them.
func Accounts(n int) (map[string]string, string) {
	m := make(map[string]string, n)
	var b strings.Builder
	b.WriteString("user,password\n")
	for i := 1; i <= n; i++ {
		u, p := fmt.Sprintf("user%d", i), fmt.Sprintf("pw%d", i*7)
		m[u] = p
		fmt.Fprintf(&b, "%s,%s\n", u, p)
	}
	return m, b.String()
}
