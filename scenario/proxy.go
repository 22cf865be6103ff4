package scenario

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// proxyURL is a parsed forward proxy.
type proxyURL struct {
	addr    string // host:port to connect to
	host    string // host name or address, for resolving
	port    string
	display string // the URL without its password, for messages
	auth    string // "Basic ..." for Proxy-Authorization, or ""
}

// parseProxyURL parses a proxy URL as requests does: a missing scheme
// means http:// (prepend_scheme_if_needed), the port defaults to 80, and
// user information becomes Basic Proxy-Authorization (get_auth_from_url,
// sent only with a user name). HTTPS and SOCKS proxies are not supported.
func parseProxyURL(s string) (*proxyURL, error) {
	raw := s
	if !strings.Contains(s, "://") {
		raw = "http://" + s
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("invalid proxy URL %q", s)
	}
	if !strings.EqualFold(u.Scheme, "http") {
		return nil, fmt.Errorf("unsupported proxy scheme %q in %q (want http://host:port)", u.Scheme, s)
	}
	if u.Hostname() == "" {
		return nil, fmt.Errorf("no host in proxy URL %q", s)
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		return nil, fmt.Errorf("proxy URL %q has a path or query (want http://host:port)", s)
	}
	port := u.Port()
	if port == "" {
		port = "80"
	} else if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return nil, fmt.Errorf("invalid port in proxy URL %q", s)
	}
	p := &proxyURL{host: u.Hostname(), port: port, addr: net.JoinHostPort(u.Hostname(), port)}
	d := url.URL{Scheme: "http", Host: u.Host}
	if u.User != nil {
		if name := u.User.Username(); name != "" {
			pw, _ := u.User.Password()
			p.auth = "Basic " + base64.StdEncoding.EncodeToString([]byte(name+":"+pw))
			d.User = url.User(name)
		}
	}
	p.display = d.String()
	return p, nil
}

// envProxies are the proxy settings of an environment, read as Python's
// urllib.request.getproxies_environment does (which requests uses): every
// variable <scheme>_proxy, its name compared case-insensitively, with the
// all-lowercase spellings read last so that they win (an empty lowercase
// one removes the uppercase one); under CGI (REQUEST_METHOD set) an
// uppercase HTTP_PROXY is ignored.
func envProxies(env []string) map[string]string {
	proxies := map[string]string{}
	cgi := false
	for _, kv := range env {
		if strings.HasPrefix(kv, "REQUEST_METHOD=") {
			cgi = true
		}
	}
	for _, kv := range env {
		name, value, _ := strings.Cut(kv, "=")
		lower := strings.ToLower(name)
		if value != "" && strings.HasSuffix(lower, "_proxy") {
			proxies[lower[:len(lower)-6]] = value
		}
	}
	if cgi {
		delete(proxies, "http")
	}
	for _, kv := range env {
		name, value, _ := strings.Cut(kv, "=")
		if !strings.HasSuffix(name, "_proxy") {
			continue
		}
		scheme := strings.ToLower(name[:len(name)-6])
		if value != "" {
			proxies[scheme] = value
		} else {
			delete(proxies, scheme)
		}
	}
	return proxies
}

// envNoProxy is requests' own read of no_proxy in should_bypass_proxies:
// no_proxy if set and not empty, else NO_PROXY.
func envNoProxy(env []string) string {
	var lower, upper string
	for _, kv := range env {
		name, value, _ := strings.Cut(kv, "=")
		switch name {
		case "no_proxy":
			lower = value
		case "NO_PROXY":
			upper = value
		}
	}
	if lower != "" {
		return lower
	}
	return upper
}

// proxyRules decide which proxy a URL goes through.
type proxyRules struct {
	http, https *proxyURL // the scenario's; nil: none
	envHTTP     *proxyURL // the environment's (TrustEnv); nil: none
	envHTTPS    *proxyURL
	// noProxy is the bypass list: the scenario's, or with TrustEnv and
	// none in the scenario the environment's (requests passes its
	// proxies' "no_proxy" the same way).
	noProxy string
	// noProxyEnv is the value urllib's proxy_bypass_environment reads in
	// the second half of requests' check: getproxies_environment's "no".
	noProxyEnv string
}

// newProxyRules builds the rules of cfg in the environment env.
func newProxyRules(cfg *HTTPConfig, env []string) (*proxyRules, error) {
	r := &proxyRules{noProxy: cfg.Proxy.NoProxy, noProxyEnv: cfg.Proxy.NoProxy}
	var err error
	if r.http, err = optProxy(cfg.Proxy.HTTP, "http.proxy.http"); err != nil {
		return nil, err
	}
	if r.https, err = optProxy(cfg.Proxy.HTTPS, "http.proxy.https"); err != nil {
		return nil, err
	}
	if !cfg.TrustEnv {
		return r, nil
	}
	ep := envProxies(env)
	if r.envHTTP, err = optProxy(firstNonEmpty(ep["http"], ep["all"]), "HTTP_PROXY (or ALL_PROXY)"); err != nil {
		return nil, err
	}
	if r.envHTTPS, err = optProxy(firstNonEmpty(ep["https"], ep["all"]), "HTTPS_PROXY (or ALL_PROXY)"); err != nil {
		return nil, err
	}
	if cfg.Proxy.NoProxy == "" {
		r.noProxy = envNoProxy(env)
		r.noProxyEnv = ep["no"]
	}
	return r, nil
}

func optProxy(s, what string) (*proxyURL, error) {
	if s == "" {
		return nil, nil
	}
	p, err := parseProxyURL(s)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return p, nil
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// forURL returns the proxy for a URL of scheme (http or https) to hostname,
// with port the URL's explicit port ("" if none), or nil to connect
// directly. The scenario's proxy wins over the environment's; the bypass
// list applies to both (requests applies it only to the environment's).
func (r *proxyRules) forURL(scheme, hostname, port string) *proxyURL {
	hostname = strings.ToLower(hostname)
	p, env := r.http, r.envHTTP
	if scheme == "https" {
		p, env = r.https, r.envHTTPS
	}
	if p == nil {
		p = env
	}
	if p == nil || bypassProxy(hostname, port, r.noProxy, r.noProxyEnv) {
		return nil
	}
	return p
}

// bypassProxy is requests' should_bypass_proxies for a URL with hostname
// (lower case, without brackets) and explicit port ("" if none), given
// noProxy (requests' no_proxy) and noProxyEnv (what urllib's
// proxy_bypass_environment reads). Checked against requests 2.34 and
// Python 3.11, the versions the pinned Locust runs on.
func bypassProxy(hostname, port, noProxy, noProxyEnv string) bool {
	if noProxy != "" {
		hosts := strings.Split(strings.ReplaceAll(noProxy, " ", ""), ",")
		if ip, err := netip.ParseAddr(hostname); err == nil && ip.Is4() {
			for _, h := range hosts {
				if h == "" {
					continue
				}
				if pfx, ok := ipv4CIDR(h); ok {
					if pfx.Contains(ip) {
						return true
					}
				} else if hostname == h {
					return true
				}
			}
		} else {
			withPort := hostname
			if port != "" && port != "0" {
				withPort += ":" + port
			}
			for _, h := range hosts {
				if h == "" {
					continue
				}
				h = strings.TrimLeft(h, ".")
				if hostname == h || withPort == h {
					return true
				}
				if strings.HasSuffix(hostname, "."+h) || strings.HasSuffix(withPort, "."+h) {
					return true
				}
			}
		}
	}
	return bypassEnvironment(hostname, noProxyEnv)
}

// bypassEnvironment is urllib's proxy_bypass_environment(hostname): "*"
// bypasses everything, otherwise a case-insensitive host or suffix match.
func bypassEnvironment(hostname, noProxy string) bool {
	if noProxy == "" {
		return false
	}
	if noProxy == "*" {
		return true
	}
	host := strings.ToLower(hostname)
	hostOnly := host
	// urllib strips a trailing ":digits" as a port, even from an IPv6
	// address; the full host is compared too, so this only adds matches.
	if i := strings.LastIndexByte(host, ':'); i >= 0 && isDigits(host[i+1:]) && i+1 < len(host) {
		hostOnly = host[:i]
	}
	for _, name := range strings.Split(noProxy, ",") {
		if name = strings.TrimSpace(name); name == "" {
			continue
		}
		name = strings.ToLower(strings.TrimLeft(name, "."))
		if hostOnly == name || host == name {
			return true
		}
		if strings.HasSuffix(hostOnly, "."+name) || strings.HasSuffix(host, "."+name) {
			return true
		}
	}
	return false
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// ipv4CIDR is requests' is_valid_cidr: "a.b.c.d/n" with 1 <= n <= 32.
func ipv4CIDR(s string) (netip.Prefix, bool) {
	addr, bits, ok := strings.Cut(s, "/")
	if !ok || strings.Contains(bits, "/") {
		return netip.Prefix{}, false
	}
	n, err := strconv.Atoi(bits)
	if err != nil || n < 1 || n > 32 {
		return netip.Prefix{}, false
	}
	ip, err := netip.ParseAddr(addr)
	if err != nil || !ip.Is4() {
		return netip.Prefix{}, false
	}
	return netip.PrefixFrom(ip, n).Masked(), true
}

// ProxyError is a failure at the proxy: connecting to it, or its answer
// to CONNECT.
type ProxyError struct {
	Proxy string // the proxy URL, without password
	Msg   string
	Err   error // the underlying error, if any
}

func (e *ProxyError) Error() string {
	s := "proxy " + e.Proxy + ": " + e.Msg
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *ProxyError) Unwrap() error { return e.Err }

// connectTunnel asks the proxy on c for a tunnel to addr (host:port) and
// reads its answer; any 2xx status opens the tunnel. The answer is read a
// byte at a time up to its blank line, so nothing the target sends after
// it is consumed.
func connectTunnel(c net.Conn, p *proxyURL, addr string, deadline time.Time) error {
	req := "CONNECT " + addr + " HTTP/1.1\r\nHost: " + addr + "\r\n"
	if p.auth != "" {
		req += "Proxy-Authorization: " + p.auth + "\r\n"
	}
	req += "\r\n"
	if err := c.SetDeadline(deadline); err != nil {
		return err
	}
	if _, err := c.Write([]byte(req)); err != nil {
		return &ProxyError{Proxy: p.display, Msg: "CONNECT " + addr, Err: err}
	}
	head, err := readProxyHead(c)
	if err != nil {
		return &ProxyError{Proxy: p.display, Msg: "CONNECT " + addr, Err: err}
	}
	line, _, _ := strings.Cut(head, "\r\n")
	status, _, ok := parseStatusLine([]byte(line))
	if !ok {
		return &ProxyError{Proxy: p.display, Msg: "CONNECT " + addr + ": invalid answer " + strconv.Quote(line)}
	}
	if status < 200 || status > 299 {
		_, reason, _ := strings.Cut(line, " ")
		return &ProxyError{Proxy: p.display, Msg: "CONNECT " + addr + ": " + reason}
	}
	return nil
}

var errProxyHead = errors.New("answer header too large")

// readProxyHead reads a response header (up to its blank line).
func readProxyHead(c net.Conn) (string, error) {
	var b []byte
	one := make([]byte, 1)
	for len(b) < maxLineBytes {
		if _, err := c.Read(one); err != nil {
			return "", err
		}
		b = append(b, one[0])
		if n := len(b); n >= 4 && string(b[n-4:]) == "\r\n\r\n" {
			return string(b), nil
		}
	}
	return "", errProxyHead
}
