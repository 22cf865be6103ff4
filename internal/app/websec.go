package app

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/glocust/glocust/internal/config"
	"github.com/glocust/glocust/internal/webguard"
)

// stateChangingGET are the master's endpoints that change state on GET too
// (Locust 2.47 takes only POST there): cross-origin GETs to them are
// refused like POSTs.
var stateChangingGET = []string{"/stop", "/stats/reset"}

// webSecurity protects the master's web port as the options ask: TLS
// (--tls-cert, --tls-key), a login (--web-login, --web-login-file,
// --web-login-metrics), and always the refusal of state-changing requests
// from pages of other sites.
type webSecurity struct {
	tls            *tls.Config     // nil: plain HTTP
	users          *webguard.Users // nil: no login
	protectMetrics bool
}

// newWebSecurity checks the options and reads the files they name, before
// the master binds anything. Errors name the option; an expired certificate
// is only a warning.
func newWebSecurity(o *config.Options, log *slog.Logger) (*webSecurity, error) {
	s := &webSecurity{protectMetrics: o.WebLoginMetrics}
	switch {
	case o.TLSCert != "" && o.TLSKey == "":
		return nil, errors.New("--tls-cert needs --tls-key, the certificate's private key (Locust would silently serve plain HTTP)")
	case o.TLSKey != "" && o.TLSCert == "":
		return nil, errors.New("--tls-key needs --tls-cert, the certificate to serve (Locust would silently serve plain HTTP)")
	case o.TLSCert != "":
		cfg, err := loadTLS(o.TLSCert, o.TLSKey)
		if err != nil {
			return nil, err
		}
		if leaf := cfg.Certificates[0].Leaf; leaf != nil && time.Now().After(leaf.NotAfter) {
			log.Warn(fmt.Sprintf("--tls-cert %s expired on %s: browsers and clients will refuse it", o.TLSCert, leaf.NotAfter.UTC().Format(time.RFC3339)))
		}
		s.tls = cfg
	}
	switch {
	case o.WebLoginFile != "":
		u, err := webguard.LoadUsers(o.WebLoginFile)
		if err != nil {
			return nil, fmt.Errorf("--web-login-file: %w", err)
		}
		s.users = u
	case o.WebLogin:
		return nil, errors.New("--web-login needs --web-login-file (GLOCUST_WEB_LOGIN_FILE): the users who may log in, one user:bcrypt-hash line each, as htpasswd -B writes them")
	case o.WebLoginMetrics:
		return nil, errors.New("--web-login-metrics needs --web-login-file (GLOCUST_WEB_LOGIN_FILE): there is no login without users")
	}
	return s, nil
}

// loadTLS reads the certificate chain and its key.
func loadTLS(certFile, keyFile string) (*tls.Config, error) {
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return nil, fmt.Errorf("--tls-cert: %w", err)
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, fmt.Errorf("--tls-key: %w", err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("--tls-cert %s, --tls-key %s: %w", certFile, keyFile, err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}

// server returns the HTTP server of the web port: h behind the refusal of
// cross-origin state changes and, with users, behind the login. Its own
// errors (TLS handshakes that failed) are logged at debug level.
func (s *webSecurity) server(h http.Handler, basePath string, log *slog.Logger) *http.Server {
	if s.users != nil {
		h = webguard.Login(h, webguard.LoginConfig{Users: s.users, BasePath: basePath,
			ProtectMetrics: s.protectMetrics, Secure: s.tls != nil, Logger: log})
	}
	return &http.Server{Handler: webguard.CrossOrigin(h, basePath, stateChangingGET...),
		ReadHeaderTimeout: 10 * time.Second, TLSConfig: s.tls,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelDebug)}
}

// serve serves srv on ln until it is shut down, over TLS if configured.
func (s *webSecurity) serve(srv *http.Server, ln net.Listener) error {
	if s.tls != nil {
		return srv.ServeTLS(ln, "", "")
	}
	return srv.Serve(ln)
}

// scheme is the URL scheme of the web port.
func (s *webSecurity) scheme() string {
	if s.tls != nil {
		return "https"
	}
	return "http"
}

// describe says what the login protects, for the start-up log ("" without
// a login).
func (s *webSecurity) describe() string {
	if s.users == nil {
		return ""
	}
	open := "/healthz, /readyz and /metrics"
	if s.protectMetrics {
		open = "/healthz and /readyz"
	}
	users := strconv.Itoa(s.users.Len()) + " users"
	if s.users.Len() == 1 {
		users = "1 user"
	}
	return "Web login required (" + users + " from " + s.users.File() + "): everything but " + open
}
