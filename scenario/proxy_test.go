package scenario

import (
	"crypto/tls"
	"encoding/base64"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// testProxy is a forward proxy: CONNECT tunnels, and plain HTTP requests
// in absolute form forwarded to their target. It records every request
// line with its Proxy-Authorization and counts client connections.
type testProxy struct {
	srv         *httptest.Server
	requireAuth string // if set, other credentials get 407
	conns       atomic.Int32
	tr          *http.Transport

	mu     sync.Mutex
	lines  []string // "CONNECT host:port" or "GET http://host/path", then " auth=<Proxy-Authorization>"
	open   []net.Conn
	closed bool
	wg     sync.WaitGroup // tunnels
}

func startProxy(t *testing.T, requireAuth string) *testProxy {
	t.Helper()
	p := &testProxy{requireAuth: requireAuth, tr: &http.Transport{Proxy: nil}}
	p.srv = httptest.NewUnstartedServer(p)
	p.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	p.srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			p.conns.Add(1)
		}
	}
	p.srv.Start()
	t.Cleanup(p.close)
	return p
}

func (p *testProxy) addr() string { return strings.TrimPrefix(p.srv.URL, "http://") }

func (p *testProxy) seen() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.lines)
}

// track keeps the tunnel's connections for close; false if closed.
func (p *testProxy) track(cs ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.open = append(p.open, cs...)
	return true
}

func (p *testProxy) close() {
	p.srv.Close()
	p.mu.Lock()
	p.closed = true
	for _, c := range p.open {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
	p.tr.CloseIdleConnections()
}

func (p *testProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	auth := r.Header.Get("Proxy-Authorization")
	p.mu.Lock()
	p.lines = append(p.lines, r.Method+" "+r.RequestURI+" auth="+auth)
	p.mu.Unlock()
	if p.requireAuth != "" && auth != p.requireAuth {
		w.Header().Set("Proxy-Authenticate", `Basic realm="test"`)
		w.WriteHeader(http.StatusProxyAuthRequired)
		return
	}
	if r.Method == http.MethodConnect {
		p.tunnel(w, r.Host)
		return
	}
	out := r.Clone(r.Context())
	out.RequestURI = ""
	out.Header.Del("Proxy-Authorization")
	resp, err := p.tr.RoundTrip(out)
	if err != nil {
		w.WriteHeader(http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	w.WriteHeader(resp.StatusCode)
	io.Copy(w, resp.Body)
}

func (p *testProxy) tunnel(w http.ResponseWriter, addr string) {
	dst, err := net.Dial("tcp", addr)
	if err != nil {
		w.WriteHeader(http.StatusBadGateway)
		return
	}
	conn, brw, err := w.(http.Hijacker).Hijack()
	if err != nil {
		dst.Close()
		return
	}
	p.wg.Add(1)
	defer p.wg.Done()
	defer conn.Close()
	defer dst.Close()
	if !p.track(conn, dst) {
		return
	}
	io.WriteString(conn, "HTTP/1.1 200 Connection established\r\n\r\n")
	done := make(chan struct{})
	go func() {
		defer close(done)
		io.Copy(dst, brw)
		dst.(*net.TCPConn).CloseWrite()
	}()
	io.Copy(conn, dst)
	conn.Close()
	<-done
}

// countingServer counts the requests a target receives.
func countingServer(t *testing.T, tlsCert *tls.Certificate) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var n atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		io.WriteString(w, "ok")
	}))
	if tlsCert != nil {
		srv.TLS = &tls.Config{Certificates: []tls.Certificate{*tlsCert}}
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	return srv, &n
}

func basicAuth(user, pw string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pw))
}

// TestProxy: plain HTTP goes to the proxy in absolute form over one
// keep-alive connection, HTTPS through one CONNECT tunnel (the proxy never
// sees the requests in it), both with the URL's credentials; no_proxy and
// the environment's proxies (trust_env) are honoured; a proxy's refusal and
// a proxy that is down are readable failures.
func TestProxy(t *testing.T) {
	t.Parallel()
	self := loopbackCert(t, "target", nil).tlsCert()
	plain, plainN := countingServer(t, nil)
	secure, secureN := countingServer(t, &self)
	px := startProxy(t, basicAuth("user", "p@ss"))
	pxURL := "http://user:p%40ss@" + px.addr()
	auth := " auth=" + basicAuth("user", "p@ss")
	plainAddr := strings.TrimPrefix(plain.URL, "http://")
	secureAddr := strings.TrimPrefix(secure.URL, "https://")
	insecure := TLSConfig{Insecure: true}

	// Plain HTTP: absolute form, credentials, one connection for 3 requests.
	for _, r := range requestN(t, plain.URL, HTTPConfig{Proxy: ProxyConfig{HTTP: pxURL}}, 3, nil) {
		checkRec(t, "http through the proxy", r, "")
	}
	want := slices.Repeat([]string{"GET http://" + plainAddr + "/" + auth}, 3)
	if got := px.seen(); !slices.Equal(got, want) {
		t.Errorf("proxy saw %q, want %q", got, want)
	}
	if plainN.Load() != 3 || px.conns.Load() != 1 {
		t.Errorf("target got %d requests (want 3), proxy %d connections (want 1)", plainN.Load(), px.conns.Load())
	}

	// HTTPS: one CONNECT, then TLS with the target through the tunnel.
	for _, r := range requestN(t, secure.URL, HTTPConfig{TLS: insecure, Proxy: ProxyConfig{HTTPS: pxURL}}, 3, nil) {
		checkRec(t, "https through the proxy", r, "")
	}
	want = append(want, "CONNECT "+secureAddr+auth)
	if got := px.seen(); !slices.Equal(got, want) {
		t.Errorf("proxy saw %q, want %q", got, want)
	}
	if secureN.Load() != 3 {
		t.Errorf("target got %d requests through the tunnel, want 3", secureN.Load())
	}

	// no_proxy: straight to the target.
	checkRec(t, "no_proxy", requestOnce(t, secure.URL, HTTPConfig{TLS: insecure, Proxy: ProxyConfig{HTTPS: pxURL, NoProxy: "localhost,127.0.0.0/8"}}), "")
	if got := len(px.seen()); got != len(want) {
		t.Errorf("no_proxy: the proxy saw %d more requests", got-len(want))
	}

	// The environment's proxy, only with trust_env (Locust's HttpUser turns it off).
	env := []string{"HTTPS_PROXY=" + pxURL, "NO_PROXY=example.com"}
	checkRec(t, "environment ignored", requestN(t, secure.URL, HTTPConfig{TLS: insecure}, 1, env)[0], "")
	checkRec(t, "environment", requestN(t, secure.URL, HTTPConfig{TLS: insecure, TrustEnv: true}, 1, env)[0], "")
	want = append(want, "CONNECT "+secureAddr+auth)
	if got := px.seen(); !slices.Equal(got, want) {
		t.Errorf("proxy saw %q, want %q", got, want)
	}

	// Wrong credentials: CONNECT refused; a plain request gets the proxy's 407.
	bad := "http://user:wrong@" + px.addr()
	checkRec(t, "CONNECT refused", requestOnce(t, secure.URL, HTTPConfig{TLS: insecure, Proxy: ProxyConfig{HTTPS: bad}}),
		"proxy http://user@"+px.addr()+": CONNECT "+secureAddr+": 407 Proxy Authentication Required")
	checkRec(t, "plain request refused", requestOnce(t, plain.URL, HTTPConfig{Proxy: ProxyConfig{HTTP: bad}}),
		"HTTP 407 Proxy Authentication Required")

	// A proxy that is down.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := l.Addr().String()
	l.Close()
	checkRec(t, "proxy down", requestOnce(t, secure.URL, HTTPConfig{TLS: insecure, Proxy: ProxyConfig{HTTPS: down}}),
		"proxy http://"+down+": connect: dial: connection refused")
}
