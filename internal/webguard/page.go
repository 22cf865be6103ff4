package webguard

import (
	_ "embed"
	"html/template"
	"net/http"
)

//go:embed login.html
var loginHTML string

var loginTemplate = template.Must(template.New("login").Parse(loginHTML))

// form writes the login page with status, the page to go to after the
// login, and an error message ("" for none).
func (g *guard) form(w http.ResponseWriter, status int, next, msg string) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	noStore(w)
	w.WriteHeader(status)
	_ = loginTemplate.Execute(w, map[string]string{"Action": g.base + LoginPath, "Next": next, "Error": msg})
}
