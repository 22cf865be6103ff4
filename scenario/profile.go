package scenario

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
)

// httpProfile is an HTTPConfig compiled for one runner: the TLS base
// configuration, the proxy rules and the table of resolved host names.
// Every user of a class shares its class's profile; it is read-only once
// built, except for the host table, which is safe for concurrent use.
type httpProfile struct {
	cfg     HTTPConfig
	tlsBase *tls.Config
	proxies *proxyRules
	// err is a configuration error found when the profile was built (in
	// the environment read with TrustEnv): every request fails with it.
	err   error
	hosts hostTable
	// acceptEncoding is the Accept-Encoding header's value; "": none.
	acceptEncoding string
}

// keyExchanges are the key exchanges offered: those of Python's ssl
// module on OpenSSL 3.0 (Locust's HttpUser), without the post-quantum
// hybrid X25519MLKEM768 that Go offers by default. Locust's clients do not
// send it, and it costs the generator CPU on every full handshake (a smoke
// run against nginx on a shared 2-core VM: about 1,700 instead of 2,000
// full handshakes per second on one core).
var keyExchanges = []tls.CurveID{tls.X25519, tls.CurveP256, tls.CurveP384, tls.CurveP521}

// newProfile compiles cfg in the environment env. A configuration error
// does not stop the runner: it becomes the failure of every request of the
// class, so it shows in the stats.
func newProfile(cfg HTTPConfig, env []string) *httpProfile {
	p := &httpProfile{cfg: cfg, acceptEncoding: cfg.acceptEncoding()}
	p.hosts.interval = cfg.ResolveInterval
	if p.hosts.interval == 0 {
		p.hosts.interval = DefaultResolveInterval
	}
	p.tlsBase = &tls.Config{
		MinVersion:         tls.VersionTLS12,
		InsecureSkipVerify: cfg.TLS.Insecure,
		RootCAs:            cfg.TLS.RootCAs,
		Certificates:       cfg.TLS.Certificates,
		CurvePreferences:   keyExchanges,
	}
	if v := cfg.TLS.MinVersion; v != 0 {
		p.tlsBase.MinVersion = v
	}
	if cfg.TrustEnv && p.tlsBase.RootCAs == nil && !cfg.TLS.Insecure {
		pool, err := envCABundle(env)
		if err != nil {
			p.err = err
		}
		p.tlsBase.RootCAs = pool
	}
	var err error
	if p.proxies, err = newProxyRules(&cfg, env); err != nil && p.err == nil {
		p.err = fmt.Errorf("http: %w", err)
	}
	if p.proxies == nil {
		p.proxies = &proxyRules{}
	}
	return p
}

// envCABundle reads the CA bundle named by REQUESTS_CA_BUNDLE or, if that
// is empty, CURL_CA_BUNDLE, as requests does with trust_env; nil if neither
// is set.
func envCABundle(env []string) (*x509.CertPool, error) {
	vars := map[string]string{}
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok {
			vars[k] = v
		}
	}
	name, file := "REQUESTS_CA_BUNDLE", vars["REQUESTS_CA_BUNDLE"]
	if file == "" {
		name, file = "CURL_CA_BUNDLE", vars["CURL_CA_BUNDLE"]
	}
	if file == "" {
		return nil, nil
	}
	pool, err := loadCAFile(file)
	if err != nil {
		return nil, fmt.Errorf("TLS: %s: %w", name, err)
	}
	return pool, nil
}

// maxPEMFile bounds the certificate and key files read.
const maxPEMFile = 16 << 20

// readPEMFile reads a certificate or key file of at most maxPEMFile bytes.
func readPEMFile(file string) ([]byte, error) { return readFileMax(file, maxPEMFile, "") }

// readFileMax reads a regular file (not a device or a pipe, which could
// block or never end) of at most limit bytes; why is added to the error
// of a larger one.
func readFileMax(file string, limit int64, why string) ([]byte, error) {
	if fi, err := os.Stat(file); err == nil && !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", file)
	} else if err == nil && fi.Size() > limit {
		return nil, fmt.Errorf("%s: larger than %d MiB%s", file, limit>>20, why)
	}
	return os.ReadFile(file) // reports a file that is not there
}

// loadCAFile reads a PEM bundle of CA certificates.
func loadCAFile(file string) (*x509.CertPool, error) {
	data, err := readPEMFile(file)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("%s: no PEM certificate found", file)
	}
	return pool, nil
}

// target returns where a request to u goes with this profile.
func (p *httpProfile) target(u *url.URL) target {
	t := target{hostname: u.Hostname(), port: u.Port()}
	secure := strings.EqualFold(u.Scheme, "https")
	port := t.port
	if port == "" {
		port = "80"
		if secure {
			port = "443"
		}
	}
	t.addr = net.JoinHostPort(t.hostname, port)
	scheme := "http"
	if secure {
		scheme = "https"
		t.tls = p.tlsBase.Clone()
		t.tls.ServerName = t.hostname
		if p.cfg.TLS.ServerName != "" {
			t.tls.ServerName = p.cfg.TLS.ServerName
		}
	}
	t.proxy = p.proxies.forURL(scheme, t.hostname, t.port)
	switch {
	case t.proxy == nil && !secure:
		t.key = t.addr
	case t.proxy == nil:
		t.key = "https://" + t.addr
	case !secure:
		// Plain HTTP through a proxy: one connection to the proxy carries
		// the requests to every http:// target, as in urllib3.
		t.key = "proxy " + t.proxy.addr
	default:
		t.key = "https://" + t.addr + " via " + t.proxy.addr
	}
	return t
}
