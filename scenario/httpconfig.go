package scenario

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"strings"
	"time"
)

// HTTPConfig configures the HTTP client of every user of a class: TLS,
// proxies, connections and compression. The zero value is Locust's
// HttpUser: certificates verified against the system roots, no proxy
// (environment variables ignored, as HttpUser sets requests' trust_env to
// False), one keep-alive connection per host and user, compressed
// responses asked for and decoded, the decoded length recorded. In a YAML
// scenario it is the "http" block, at the top (every class) and per class
// (key by key over the top's).
type HTTPConfig struct {
	TLS   TLSConfig
	Proxy ProxyConfig
	// TrustEnv reads the proxy and CA bundle environment variables as
	// Python requests does with Session.trust_env (HTTP_PROXY, HTTPS_PROXY,
	// ALL_PROXY, NO_PROXY and their lowercase forms, REQUESTS_CA_BUNDLE,
	// CURL_CA_BUNDLE), from the environment given to the runner
	// (WithEnvironment). Locust's HttpUser turns it off; so does the zero
	// value.
	TrustEnv bool
	// ConnectionClose sends every request with "Connection: close" and
	// closes the connection after the response: a new connection (and TLS
	// handshake) per request. Request.Close does the same per request.
	ConnectionClose bool
	// ResolveInterval is how often a host name is resolved again while
	// users run; 0 means DefaultResolveInterval and a negative value never
	// resolves again. Users are spread over the addresses a name resolves
	// to (see DefaultResolveInterval).
	ResolveInterval time.Duration
	// AcceptEncoding is the Accept-Encoding header sent with every request
	// that does not set its own: "" means DefaultAcceptEncoding (Locust's
	// clients), NoAcceptEncoding sends none. Whatever was asked for, a
	// response is decoded as its Content-Encoding says (gzip, deflate, br,
	// zstd) before checks and extraction.
	AcceptEncoding string
	// ReceivedContentSize records a response's content size as received,
	// before decoding, and decodes a compressed response only when a check,
	// an extraction or Response.Body reads it. Off (the default), the
	// decoded length is recorded, as Locust's clients record
	// len(response.content), which decodes every compressed response.
	ReceivedContentSize bool
}

// acceptEncoding returns the header value to send; "" sends none.
func (h *HTTPConfig) acceptEncoding() string {
	switch h.AcceptEncoding {
	case "":
		return DefaultAcceptEncoding
	case NoAcceptEncoding:
		return ""
	}
	return h.AcceptEncoding
}

// DefaultResolveInterval is how often a host name is resolved again by
// default. Each user's connection goes to one of the name's addresses,
// spread across users (user i to address i mod n, the addresses sorted,
// from a random start per process), so a DNS round-robin name or a
// Kubernetes headless Service is loaded evenly instead of every user
// sticking to the first address. When a resolution returns another set of
// addresses, each user whose address changed reconnects on its next
// request. 30 s is the cache time of CoreDNS's default configuration (and
// of the JVM's default DNS cache), so a Kubernetes Service that scales is
// seen within about a minute, for one lookup per name every 30 s.
const DefaultResolveInterval = 30 * time.Second

// TLSConfig is the TLS side of HTTPConfig (YAML: http.tls).
type TLSConfig struct {
	// Insecure skips verifying the server's certificate (Locust's
	// FastHttpUser does not verify; HttpUser, like the zero value, does).
	Insecure bool
	// RootCAs, when set, replaces the system roots (requests' verify="ca.pem";
	// YAML: ca_file).
	RootCAs *x509.CertPool
	// Certificates are the client certificates for mutual TLS (YAML:
	// cert_file, key_file).
	Certificates []tls.Certificate
	// ServerName, when set, is sent as SNI and verified instead of the
	// URL's host name. The Host header stays the URL's.
	ServerName string
	// MinVersion is the lowest TLS version accepted (tls.VersionTLS10 to
	// tls.VersionTLS13); 0 means TLS 1.2, the minimum of urllib3 2 (Locust's
	// HttpUser) and of Go.
	MinVersion uint16
	// SessionResumption keeps each user's TLS sessions (one cache per
	// user, as one browser keeps its own) and resumes them when the user
	// connects again: cheaper handshakes with ConnectionClose or when
	// servers close connections. Off by default, as in Locust's clients
	// (Python's ssl module resumes only when handed a session).
	SessionResumption bool
}

// ProxyConfig is the proxy side of HTTPConfig (YAML: http.proxy and
// http.no_proxy). Plain HTTP requests go to the proxy in absolute form
// (GET http://host/path), HTTPS ones through a CONNECT tunnel, then TLS
// with the target. User information in a proxy URL is sent as Basic
// Proxy-Authorization, as requests does.
type ProxyConfig struct {
	// HTTP and HTTPS are the proxies for http:// and https:// URLs
	// ("http://[user:password@]host[:port]"; the scheme may be left out);
	// empty: none, or the environment's with TrustEnv.
	HTTP, HTTPS string
	// NoProxy lists hosts that bypass the proxies, in NO_PROXY's syntax as
	// requests reads it: comma-separated host names or domain suffixes
	// (".example.com" and "example.com" both match sub.example.com),
	// optionally with a port, IPv4 addresses or CIDR blocks, or "*" for
	// every host. Empty: the environment's NO_PROXY with TrustEnv.
	NoProxy string
}

// minTLSVersions are the versions TLSConfig.MinVersion accepts, by their
// YAML spelling.
var minTLSVersions = map[string]uint16{
	"1.0": tls.VersionTLS10, "1.1": tls.VersionTLS11, "1.2": tls.VersionTLS12, "1.3": tls.VersionTLS13,
}

// validate checks the parts of the configuration that do not depend on the
// environment.
func (h *HTTPConfig) validate() error {
	if v := h.TLS.MinVersion; v != 0 && (v < tls.VersionTLS10 || v > tls.VersionTLS13) {
		return fmt.Errorf("http.tls.min_version: unknown TLS version %#04x", v)
	}
	if strings.ContainsAny(h.AcceptEncoding, "\r\n") {
		return fmt.Errorf("http.accept_encoding: a line break in %q", h.AcceptEncoding)
	}
	for _, p := range []struct{ key, url string }{{"http", h.Proxy.HTTP}, {"https", h.Proxy.HTTPS}} {
		if p.url == "" {
			continue
		}
		if _, err := parseProxyURL(p.url); err != nil {
			return fmt.Errorf("http.proxy.%s: %w", p.key, err)
		}
	}
	return nil
}
