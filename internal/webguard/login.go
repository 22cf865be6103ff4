package webguard

import (
	"cmp"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// The paths Login adds under the base path, and its cookie.
const (
	LoginPath  = "/login"
	LogoutPath = "/logout"
	CookieName = "glocust_session"
)

// LoginConfig configures Login.
type LoginConfig struct {
	// Users may log in.
	Users *Users
	// BasePath is --web-base-path ("" or "/prefix").
	BasePath string
	// ProtectMetrics requires the login for /metrics too.
	ProtectMetrics bool
	// Secure marks the session cookie Secure (the port serves TLS).
	Secure bool
	// SessionTTL is how long a browser's login lasts (0:
	// DefaultSessionTTL).
	SessionTTL time.Duration
	// Logger gets failed logins (nil: none are logged).
	Logger *slog.Logger
	// Now is the clock (nil: time.Now).
	Now func() time.Time
}

type guard struct {
	next  http.Handler
	cfg   LoginConfig
	base  string
	open  map[string]bool
	sess  *sessions
	check *verifier
	log   *slog.Logger
}

// Login returns a handler that serves next only to a logged-in client:
// one with a valid session cookie (a browser, after the login page) or with
// HTTP basic auth (a script). The probes {base}/healthz and {base}/readyz,
// and {base}/metrics unless cfg.ProtectMetrics, are always served. Login
// serves the login page at {base}/login (GET: the form; POST: check and set
// the cookie, then redirect to the form's next page) and {base}/logout
// (POST: clear the cookie).
//
// Without credentials, a browser's page load is redirected to the login
// page; anything else gets 401, with a Basic challenge unless a browser's
// script sent it (Sec-Fetch-Mode other than navigate), so that a page's
// fetch makes no password dialog appear. Wrong credentials get 401 and
// never reach next; after FailureBurst failures a client gets 429.
func Login(next http.Handler, cfg LoginConfig) http.Handler {
	base := strings.TrimRight(cfg.BasePath, "/")
	g := &guard{next: next, cfg: cfg, base: base,
		open:  map[string]bool{base + "/healthz": true, base + "/readyz": true},
		sess:  newSessions(cmp.Or(cfg.SessionTTL, DefaultSessionTTL)),
		check: newVerifier(cfg.Users),
		log:   cmp.Or(cfg.Logger, slog.New(slog.DiscardHandler)),
	}
	if !cfg.ProtectMetrics {
		g.open[base+"/metrics"] = true
	}
	if g.cfg.Now == nil {
		g.cfg.Now = time.Now
	}
	return g
}

func (g *guard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch p := r.URL.Path; {
	case p == g.base+LoginPath:
		g.loginPage(w, r)
	case p == g.base+LogoutPath:
		g.logout(w, r)
	case g.open[p] || g.authorized(w, r):
		g.next.ServeHTTP(w, r)
	}
}

// authorized reports whether r comes from a logged-in client; if not, it
// has answered r.
func (g *guard) authorized(w http.ResponseWriter, r *http.Request) bool {
	now := g.cfg.Now()
	if c, err := r.Cookie(CookieName); err == nil {
		if _, ok := g.sess.user(c.Value, now); ok {
			return true
		}
	}
	user, pass, ok := r.BasicAuth()
	if !ok {
		g.challenge(w, r)
		return false
	}
	switch out, wait := g.check.verify(r.Context(), clientKey(r), user, pass, now); out {
	case accepted:
		return true
	case limited:
		tooMany(w, wait)
	default:
		g.failed(r, user, "basic auth")
		w.Header().Set("WWW-Authenticate", `Basic realm="glocust", charset="UTF-8"`)
		noStore(w)
		http.Error(w, "Unauthorized: wrong user name or password", http.StatusUnauthorized)
	}
	return false
}

// challenge answers a request without credentials.
func (g *guard) challenge(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	mode := r.Header.Get("Sec-Fetch-Mode")
	if mode == "navigate" || mode == "" && strings.Contains(r.Header.Get("Accept"), "text/html") {
		to := g.base + LoginPath
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			to += "?next=" + url.QueryEscape(r.URL.RequestURI())
		}
		http.Redirect(w, r, to, http.StatusSeeOther)
		return
	}
	if mode == "" {
		w.Header().Set("WWW-Authenticate", `Basic realm="glocust", charset="UTF-8"`)
	}
	http.Error(w, "Unauthorized: log in at "+g.base+LoginPath+" or use HTTP basic auth", http.StatusUnauthorized)
}

func (g *guard) failed(r *http.Request, user, via string) {
	g.log.Warn("web login failed", "user", user, "client", clientKey(r), "via", via)
}

func tooMany(w http.ResponseWriter, wait time.Duration) {
	noStore(w)
	w.Header().Set("Retry-After", strconv.Itoa(retrySeconds(wait)))
	http.Error(w, "Too many failed logins from this address; retry later", http.StatusTooManyRequests)
}

func retrySeconds(wait time.Duration) int { return max(1, int((wait+time.Second-1)/time.Second)) }

func noStore(w http.ResponseWriter) { w.Header().Set("Cache-Control", "no-store") }

// loginPage serves the login form (GET) and checks it (POST).
func (g *guard) loginPage(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		g.form(w, http.StatusOK, r.URL.Query().Get("next"), "")
	case http.MethodPost:
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		user, pass, next := r.PostFormValue("username"), r.PostFormValue("password"), r.PostFormValue("next")
		now := g.cfg.Now()
		switch out, wait := g.check.verify(r.Context(), clientKey(r), user, pass, now); out {
		case accepted:
			v, exp := g.sess.issue(user, now)
			http.SetCookie(w, g.cookie(v, exp, int(exp.Sub(now).Round(time.Second)/time.Second)))
			noStore(w)
			http.Redirect(w, r, g.safeNext(next), http.StatusSeeOther)
		case limited:
			w.Header().Set("Retry-After", strconv.Itoa(retrySeconds(wait)))
			g.form(w, http.StatusTooManyRequests, next, "Too many failed logins from your address. Try again in "+
				strconv.Itoa(retrySeconds(wait))+" s.")
		default:
			g.failed(r, user, "login page")
			g.form(w, http.StatusUnauthorized, next, "Wrong user name or password.")
		}
	default:
		w.Header().Set("Allow", "GET, HEAD, POST")
		http.Error(w, "Method Not Allowed", http.StatusMethodNotAllowed)
	}
}

// logout clears the session cookie (POST only: a link elsewhere cannot
// log a user out).
func (g *guard) logout(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		http.Error(w, "Method Not Allowed", http.StatusMethodNotAllowed)
		return
	}
	http.SetCookie(w, g.cookie("", time.Unix(0, 0), -1))
	noStore(w)
	http.Redirect(w, r, g.base+LoginPath, http.StatusSeeOther)
}

func (g *guard) cookie(v string, exp time.Time, maxAge int) *http.Cookie {
	return &http.Cookie{Name: CookieName, Value: v, Path: cmp.Or(g.base, "/"), Expires: exp, MaxAge: maxAge,
		HttpOnly: true, Secure: g.cfg.Secure, SameSite: http.SameSiteStrictMode}
}

// safeNext is where a login goes: next if it is a path of this server under
// the base path, else the base path's index (never another site).
func (g *guard) safeNext(next string) string {
	home := g.base + "/"
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.Opaque != "" || strings.HasPrefix(next, "//") ||
		!strings.HasPrefix(next, home) || strings.IndexFunc(next, func(c rune) bool { return c < 0x20 || c == 0x7f || c == '\\' }) >= 0 {
		return home
	}
	return next
}
