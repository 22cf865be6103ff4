package scenario

import (
	"maps"
	"net/url"
	"strings"
	"testing"
)

// TestBypassProxy checks the NO_PROXY matching against what requests'
// should_bypass_proxies(url, no_proxy=...) answers for the same inputs;
// the want column was produced by requests 2.34.2 on Python 3.11.7 (the
// pinned Locust's), with no *_proxy variable in the environment.
func TestBypassProxy(t *testing.T) {
	t.Parallel()
	tests := []struct {
		url, noProxy string
		want         bool
	}{
		{"http://example.com/", "example.com", true},
		{"http://example.com/", ".example.com", true},
		{"http://sub.example.com/", "example.com", true},
		{"http://sub.example.com/", ".example.com", true},
		{"http://notexample.com/", "example.com", false},
		{"http://example.com:8080/", "example.com:8080", true},
		{"http://example.com:8080/", "example.com:9090", false},
		{"http://example.com/", "example.com:80", false},
		{"http://sub.example.com:8080/", "example.com:8080", true},
		{"http://EXAMPLE.com/", "example.com", true},
		{"http://example.com/", "EXAMPLE.COM", true},
		{"http://example.com/", "*", true},
		{"http://example.com/", "*.example.com", false},
		{"http://example.com/", "a.com, example.com", true},
		{"http://example.com/", " example.com ,b", true},
		{"http://127.0.0.1/", "127.0.0.1", true},
		{"http://127.0.0.1:8080/", "127.0.0.1", true},
		{"http://127.0.0.1:8080/", "127.0.0.1:8080", false},
		{"http://127.0.0.2/", "127.0.0.0/8", true},
		{"http://10.1.2.3/", "127.0.0.0/8", false},
		{"http://10.1.2.3/", "10.0.0.0/33", false},
		{"http://192.168.1.5/", "192.168.1.0/24", true},
		{"http://127.0.0.1/", "0.0.1", true},
		{"http://127.0.0.1/", ".0.0.1", true},
		{"http://[::1]:8080/", "::1", true},
		{"http://[::1]:8080/", "[::1]", false},
		{"http://[::1]/", "::1", true},
		{"http://localhost/", "localhost", true},
		{"http://localhost/", "", false},
		{"http://localhost/", ",", false},
		{"http://a.b.c/", "b.c", true},
		{"http://ab.c/", "b.c", false},
		{"http://example.com./", "example.com", false},
		{"http://example.com/", ".", false},
		{"http://example.com/", "com", true},
		{"http://svc.default.svc.cluster.local:8080/", ".svc.cluster.local", true},
	}
	for _, tc := range tests {
		u, err := url.Parse(tc.url)
		if err != nil {
			t.Fatal(err)
		}
		rules := &proxyRules{http: &proxyURL{addr: "proxy:3128"}, noProxy: tc.noProxy, noProxyEnv: tc.noProxy}
		if got := rules.forURL("http", u.Hostname(), u.Port()) == nil; got != tc.want {
			t.Errorf("%s with no_proxy %q: bypassed = %v, want %v", tc.url, tc.noProxy, got, tc.want)
		}
	}
}

// TestEnvProxies checks the environment's proxies against
// urllib.request.getproxies_environment() of Python 3.11.7 for the same
// environments (in the same order).
func TestEnvProxies(t *testing.T) {
	t.Parallel()
	tests := []struct {
		env  []string
		want map[string]string
	}{
		{[]string{"HTTP_PROXY=http://a:1"}, map[string]string{"http": "http://a:1"}},
		{[]string{"HTTP_PROXY=http://a:1", "http_proxy=http://b:2"}, map[string]string{"http": "http://b:2"}},
		{[]string{"http_proxy=http://b:2", "HTTP_PROXY=http://a:1"}, map[string]string{"http": "http://b:2"}},
		{[]string{"HTTP_PROXY=http://a:1", "http_proxy="}, map[string]string{}},
		{[]string{"ALL_PROXY=http://c:3"}, map[string]string{"all": "http://c:3"}},
		{[]string{"ALL_PROXY=http://c:3", "HTTPS_PROXY=http://d:4"}, map[string]string{"all": "http://c:3", "https": "http://d:4"}},
		{[]string{"REQUEST_METHOD=GET", "HTTP_PROXY=http://a:1"}, map[string]string{}},
		{[]string{"REQUEST_METHOD=GET", "http_proxy=http://a:1"}, map[string]string{"http": "http://a:1"}},
		{[]string{"Https_Proxy=http://x:5"}, map[string]string{"https": "http://x:5"}},
		{[]string{"HTTPS_proxy=http://y:6", "https_PROXY=http://z:7"}, map[string]string{"https": "http://y:6"}},
		{[]string{"NO_PROXY=a.com", "no_proxy="}, map[string]string{}},
		{[]string{"no_proxy=b.com", "NO_PROXY=a.com"}, map[string]string{"no": "b.com"}},
	}
	for _, tc := range tests {
		got := envProxies(tc.env)
		delete(got, "request_method")
		if !maps.Equal(got, tc.want) {
			t.Errorf("envProxies(%q) = %v, want %v", tc.env, got, tc.want)
		}
	}
	// requests' own no_proxy read: no_proxy unless empty, else NO_PROXY.
	if got := envNoProxy([]string{"NO_PROXY=a.com", "no_proxy="}); got != "a.com" {
		t.Errorf("envNoProxy = %q, want a.com", got)
	}
}

// TestProxyRulesFromEnvironment checks which proxy a URL gets with
// TrustEnv: the environment's per scheme, ALL_PROXY as the fallback,
// NO_PROXY (or the scenario's no_proxy) bypassing them, and the
// scenario's proxy winning over the environment's.
func TestProxyRulesFromEnvironment(t *testing.T) {
	t.Parallel()
	env := []string{"HTTP_PROXY=http://envhttp:1", "ALL_PROXY=envall:2", "NO_PROXY=.internal,10.0.0.0/8"}
	tests := []struct {
		name            string
		cfg             HTTPConfig
		scheme, host    string
		want            string // the proxy's address, "" for direct
		wantErrContains string
	}{
		{"env off", HTTPConfig{}, "http", "example.com", "", ""},
		{"env http", HTTPConfig{TrustEnv: true}, "http", "example.com", "envhttp:1", ""},
		{"env all for https", HTTPConfig{TrustEnv: true}, "https", "example.com", "envall:2", ""},
		{"env no_proxy suffix", HTTPConfig{TrustEnv: true}, "https", "api.internal", "", ""},
		{"env no_proxy cidr", HTTPConfig{TrustEnv: true}, "http", "10.1.2.3", "", ""},
		{"scenario wins", HTTPConfig{TrustEnv: true, Proxy: ProxyConfig{HTTPS: "mine:3"}}, "https", "example.com", "mine:3", ""},
		{"scenario no_proxy replaces env's", HTTPConfig{TrustEnv: true, Proxy: ProxyConfig{NoProxy: "example.com"}},
			"http", "api.internal", "envhttp:1", ""},
		{"scenario no_proxy", HTTPConfig{Proxy: ProxyConfig{HTTP: "mine:3", NoProxy: "example.com"}}, "http", "example.com", "", ""},
		{"scenario proxy, env off", HTTPConfig{Proxy: ProxyConfig{HTTP: "mine:3"}}, "http", "api.internal", "mine:3", ""},
	}
	for _, tc := range tests {
		rules, err := newProxyRules(&tc.cfg, env)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		got := ""
		if p := rules.forURL(tc.scheme, tc.host, ""); p != nil {
			got = p.addr
		}
		if got != tc.want {
			t.Errorf("%s: proxy for %s://%s = %q, want %q", tc.name, tc.scheme, tc.host, got, tc.want)
		}
	}
	if _, err := newProxyRules(&HTTPConfig{TrustEnv: true}, []string{"HTTPS_PROXY=socks5://x:1"}); err == nil ||
		err.Error() != `HTTPS_PROXY (or ALL_PROXY): unsupported proxy scheme "socks5" in "socks5://x:1" (want http://host:port)` {
		t.Errorf("bad HTTPS_PROXY: %v", err)
	}
}

func TestParseProxyURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, addr, display, auth, err string
	}{
		{in: "http://proxy:3128", addr: "proxy:3128", display: "http://proxy:3128"},
		{in: "proxy:3128", addr: "proxy:3128", display: "http://proxy:3128"},
		{in: "http://proxy", addr: "proxy:80", display: "http://proxy"},
		{in: "http://[::1]:3128/", addr: "[::1]:3128", display: "http://[::1]:3128"},
		{in: "http://u%40x:p%3Aw@proxy:1", addr: "proxy:1", display: "http://u%40x@proxy:1", auth: "Basic dUB4OnA6dw=="},
		{in: "http://:pw@proxy:1", addr: "proxy:1", display: "http://proxy:1"},
		{in: "https://proxy:1", err: `unsupported proxy scheme "https" in "https://proxy:1" (want http://host:port)`},
		{in: "socks5h://proxy:1", err: `unsupported proxy scheme "socks5h"`},
		{in: "http://proxy:99999", err: `invalid port in proxy URL "http://proxy:99999"`},
		{in: "http://proxy:1/path", err: `has a path or query`},
		{in: "http://:1", err: `no host in proxy URL "http://:1"`},
	}
	for _, tc := range tests {
		p, err := parseProxyURL(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("parseProxyURL(%q) error = %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("parseProxyURL(%q): %v", tc.in, err)
			continue
		}
		if p.addr != tc.addr || p.display != tc.display || p.auth != tc.auth {
			t.Errorf("parseProxyURL(%q) = %+v, want addr %q display %q auth %q", tc.in, *p, tc.addr, tc.display, tc.auth)
		}
	}
}
