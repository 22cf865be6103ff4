package demotarget

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// FuzzShop sends any method, path, Authorization header and body to a
// shop: it never panics, answers every request with a status it counts,
// and every answer but the home page is JSON.
func FuzzShop(f *testing.F) {
	f.Add("POST", "/login", "", `{"username":"shopper1","password":"secret1"}`)
	f.Add("POST", "/login", "", `{"username":"shopper1001","password":"secret1001"}`)
	f.Add("POST", "/login", "", `{"username":"shopper01","password":"secret01"}`)
	f.Add("POST", "/cart", "Bearer x", `{"item_id":"7"}`)
	f.Add("POST", "/cart", "Bearer ", `{"item_id":1.5}`)
	f.Add("GET", "/items/%2F", "", "")
	f.Add("GET", "/search?q=%ff", "Basic abc", "")
	f.Add("POST", "/signup", "", `{"name":" ","email":"@"}`)
	f.Add("POST", "/checkout", "", `[`)
	f.Fuzz(func(t *testing.T, method, target, auth, body string) {
		if !strings.HasPrefix(target, "/") || strings.ContainsAny(method, " \t\r\n") || method == "" {
			return
		}
		if target == "/slow" || strings.HasPrefix(target, "/slow?") {
			return // sleeps
		}
		req, err := http.NewRequest(method, "http://shop"+target, strings.NewReader(body))
		if err != nil {
			return
		}
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		s := New(Config{TokenUses: 1})
		w := httptest.NewRecorder()
		s.ServeHTTP(w, req)
		if req.URL.Path == "/_stats" && method == "GET" {
			return
		}
		st := s.Stats()
		if st.Total() != 1 || st.Endpoints[endpoint(req)][w.Code] != 1 {
			t.Fatalf("%s %s answered %d, counted %v", method, target, w.Code, st.Endpoints)
		}
		if endpoint(req) != "GET /" && !json.Valid(w.Body.Bytes()) {
			t.Fatalf("%s %s answered %d %q, not JSON", method, target, w.Code, w.Body.Bytes())
		}
	})
}

// TestDefaultAccounts logs in with default accounts, past the first 1000
// too, and with names that are none: only shopperN with secretN gets a
// token; with Config.Accounts, only its accounts do.
func TestDefaultAccounts(t *testing.T) {
	login := func(s *Shop, user, password string) int {
		body, err := json.Marshal(map[string]string{"username": user, "password": password})
		if err != nil {
			t.Fatal(err)
		}
		w := httptest.NewRecorder()
		s.ServeHTTP(w, httptest.NewRequest("POST", "/login", strings.NewReader(string(body))))
		return w.Code
	}
	s := New(Config{})
	for _, c := range []struct {
		user, password string
		status         int
	}{
		{"shopper1", "secret1", 200}, {"shopper1000", "secret1000", 200}, {"shopper1001", "secret1001", 200},
		{"shopper123456789012345678", "secret123456789012345678", 200},
		{"shopper1001", "secret1000", 401}, {"shopper0", "secret0", 401}, {"shopper01", "secret01", 401},
		{"shopper-1", "secret-1", 401}, {"shopper+1", "secret+1", 401}, {"shopper", "secret", 401},
		{"shopperx", "secretx", 401}, {"Shopper2", "secret2", 401}, {"shopper2 ", "secret2 ", 401},
		{"shopper1234567890123456789", "secret1234567890123456789", 401},
	} {
		if got := login(s, c.user, c.password); got != c.status {
			t.Errorf("login %q/%q: %d, want %d", c.user, c.password, got, c.status)
		}
	}
	st := s.Stats()
	if a := st.Accounts["shopper1001"]; a.Logins != 1 || a.FailedLogins != 1 {
		t.Errorf("shopper1001: %+v, want 1 login and 1 failed", a)
	}
	if len(st.Accounts) != 4 || len(st.Tokens) != 4 {
		t.Errorf("accounts %v, %d tokens: want the 4 that logged in", st.Accounts, len(st.Tokens))
	}
	for u, p := range DefaultAccounts() {
		if q, ok := DefaultPassword(u); !ok || q != p {
			t.Errorf("DefaultPassword(%q) = %q, %v; DefaultAccounts says %q", u, q, ok, p)
		}
	}
	own := New(Config{Accounts: map[string]string{"alice": "pw"}})
	if login(own, "shopper1", "secret1") != 401 || login(own, "alice", "pw") != 200 {
		t.Errorf("with Config.Accounts: %v", own.Stats().Endpoints)
	}
}
