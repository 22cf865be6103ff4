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
