package scenario

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// tlsServer starts an HTTPS server on 127.0.0.1 with cfg. It answers the
// client certificate's common name (or "ok") and counts resumed
// handshakes.
func tlsServer(t *testing.T, cfg *tls.Config) (srv *httptest.Server, resumed, handshakes *atomic.Int32) {
	t.Helper()
	resumed, handshakes = new(atomic.Int32), new(atomic.Int32)
	srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS.DidResume {
			resumed.Add(1)
		}
		if len(r.TLS.PeerCertificates) > 0 {
			io.WriteString(w, "client "+r.TLS.PeerCertificates[0].Subject.CommonName)
			return
		}
		io.WriteString(w, "ok")
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // handshake failures are what the tests provoke
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateActive {
			handshakes.Add(1)
		}
	}
	srv.TLS = cfg
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv, resumed, handshakes
}

// requestOnce sends one GET / with cfg from a fresh user and returns what
// was recorded.
func requestOnce(t *testing.T, host string, cfg HTTPConfig) rec {
	t.Helper()
	recs := requestN(t, host, cfg, 1, nil)
	return recs[0]
}

// requestN sends n GET / from one user with cfg (in env) and returns what
// was recorded.
func requestN(t *testing.T, host string, cfg HTTPConfig, n int, env []string) []rec {
	t.Helper()
	st := newFakeStats()
	r := NewRunner(nil, st, WithEnvironment(env))
	defer r.Close()
	u := testUserWith(t, r, host, newProfile(cfg, r.env), 1)
	req := &Request{URL: "/", Name: "x", Timeout: 10 * time.Second}
	for range n {
		u.HTTP.Do(context.Background(), req)
		u.HTTP.endTask()
	}
	recs := st.all()
	if len(recs) != n {
		t.Fatalf("%d records, want %d: %+v", len(recs), n, recs)
	}
	return recs
}

// checkRec fails unless r succeeded (wantErr empty) or failed with wantErr.
func checkRec(t *testing.T, what string, r rec, wantErr string) {
	t.Helper()
	switch {
	case wantErr == "" && r.fail:
		t.Errorf("%s: failed with %q, want success", what, r.err)
	case wantErr != "" && !r.fail:
		t.Errorf("%s: succeeded, want failure %q", what, wantErr)
	case wantErr != "" && r.err != wantErr:
		t.Errorf("%s: failure\n%q, want\n%q", what, r.err, wantErr)
	}
}

// TestTLSVerification: certificates are verified by default, and each way
// verification fails is a readable failure that names the setting to
// change; the settings that make them pass do.
func TestTLSVerification(t *testing.T) {
	t.Parallel()
	root := issue(t, certSpec{cn: "Test Root", ca: true}, nil)
	inter := issue(t, certSpec{cn: "Test Intermediate", ca: true}, root)
	otherRoot := issue(t, certSpec{cn: "Other Root", ca: true}, nil)
	self := loopbackCert(t, "self", nil)
	leaf := loopbackCert(t, "leaf", root)
	chained := loopbackCert(t, "chained", inter)
	expired := issue(t, certSpec{cn: "expired", dns: []string{"localhost"}, ips: []net.IP{net.IPv4(127, 0, 0, 1)},
		notBefore: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), notAfter: time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC)}, root)
	named := issue(t, certSpec{cn: "named", dns: []string{"right.test"}}, root)
	trustRoot := TLSConfig{RootCAs: pool(root)}
	const trust = "set tls.ca_file or tls.insecure"
	tests := []struct {
		name      string
		server    tls.Certificate
		serverMax uint16
		cfg       TLSConfig
		wantErr   string
	}{
		{"self-signed, verified by default", self.tlsCert(), 0, TLSConfig{},
			"TLS: certificate signed by unknown authority (self-signed; " + trust + ")"},
		{"self-signed, insecure", self.tlsCert(), 0, TLSConfig{Insecure: true}, ""},
		{"self-signed, its own CA", self.tlsCert(), 0, TLSConfig{RootCAs: pool(self)}, ""},
		{"signed by the trusted root", leaf.tlsCert(), 0, trustRoot, ""},
		{"expired", expired.tlsCert(), 0, trustRoot,
			`TLS: certificate "expired" has expired (valid until 2021-01-01T00:00:00Z)`},
		{"expired, insecure", expired.tlsCert(), 0, TLSConfig{Insecure: true}, ""},
		{"wrong server name", named.tlsCert(), 0, TLSConfig{RootCAs: pool(root), ServerName: "wrong.test"},
			"TLS: certificate is valid for right.test, not wrong.test (set tls.server_name, or use a host name the certificate is valid for)"},
		{"server name override", named.tlsCert(), 0, TLSConfig{RootCAs: pool(root), ServerName: "right.test"}, ""},
		{"address not in the certificate", named.tlsCert(), 0, trustRoot,
			"TLS: cannot validate certificate for 127.0.0.1 because it doesn't contain any IP SANs (set tls.server_name, or use a host name the certificate is valid for)"},
		{"intermediate not sent", chained.tlsCert(), 0, trustRoot,
			`TLS: certificate signed by unknown authority "Test Intermediate" (the server sent no intermediate certificate: if that is an intermediate CA, the server must send it; else ` + trust + ")"},
		{"intermediate sent", chained.tlsCert(inter), 0, trustRoot, ""},
		{"root not trusted", chained.tlsCert(inter), 0, TLSConfig{RootCAs: pool(otherRoot)},
			`TLS: certificate signed by unknown authority "Test Root" (` + trust + ")"},
		{"min_version above the server's", leaf.tlsCert(), tls.VersionTLS12, TLSConfig{RootCAs: pool(root), MinVersion: tls.VersionTLS13},
			"TLS: the server refused the handshake (protocol version not supported; see tls.min_version)"},
		{"min_version the server has", leaf.tlsCert(), tls.VersionTLS12, TLSConfig{RootCAs: pool(root), MinVersion: tls.VersionTLS12}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv, _, _ := tlsServer(t, &tls.Config{Certificates: []tls.Certificate{tc.server}, MaxVersion: tc.serverMax})
			checkRec(t, tc.name, requestOnce(t, srv.URL, HTTPConfig{TLS: tc.cfg}), tc.wantErr)
		})
	}
}

// TestTLSToPlainHTTP: an https:// URL on a plain HTTP port says so.
func TestTLSToPlainHTTP(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") }))
	defer srv.Close()
	host := "https://" + strings.TrimPrefix(srv.URL, "http://")
	checkRec(t, "https to http", requestOnce(t, host, HTTPConfig{}),
		"TLS: the server did not answer with TLS (if it speaks plain HTTP, use http://)")
}

// TestTLSClientCertificate: a server that requires a client certificate
// fails readably without one (TLS 1.3 and 1.2), refuses one from another
// CA, and accepts the configured one, which it sees.
func TestTLSClientCertificate(t *testing.T) {
	t.Parallel()
	root := issue(t, certSpec{cn: "Test Root", ca: true}, nil)
	clientCA := issue(t, certSpec{cn: "Client CA", ca: true}, nil)
	// A CA with the same name but another key: Go's client offers only a
	// certificate whose issuer the server names as acceptable.
	otherCA := issue(t, certSpec{cn: "Client CA", ca: true}, nil)
	server := loopbackCert(t, "server", root)
	client := issue(t, certSpec{cn: "glocust-user", client: true}, clientCA)
	stranger := issue(t, certSpec{cn: "stranger", client: true}, otherCA)
	const needCert = "set tls.cert_file and tls.key_file"
	for _, version := range []uint16{tls.VersionTLS13, tls.VersionTLS12} {
		srv, _, _ := tlsServer(t, &tls.Config{Certificates: []tls.Certificate{server.tlsCert()}, MaxVersion: version,
			ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pool(clientCA)})
		noCert := "TLS: the server requires a client certificate (" + needCert + ")"
		if version == tls.VersionTLS12 {
			noCert = "TLS: the server refused the handshake (handshake failure); it may require a client certificate (" + needCert + ")"
		}
		v := tls.VersionName(version)
		checkRec(t, v+" without a certificate", requestOnce(t, srv.URL, HTTPConfig{TLS: TLSConfig{RootCAs: pool(root)}}), noCert)
		r := requestOnce(t, srv.URL, HTTPConfig{TLS: TLSConfig{RootCAs: pool(root), Certificates: []tls.Certificate{stranger.tlsCert()}}})
		if !r.fail || !strings.HasPrefix(r.err, "TLS: the server rejected the client certificate (") {
			t.Errorf("%s with a certificate from another CA: %+v", v, r)
		}
		r = requestOnce(t, srv.URL, HTTPConfig{TLS: TLSConfig{RootCAs: pool(root), Certificates: []tls.Certificate{client.tlsCert()}}})
		checkRec(t, v+" with the certificate", r, "")
		if want := int64(len("client glocust-user")); r.length != want {
			t.Errorf("%s: the server did not see the client certificate (body length %d, want %d)", v, r.length, want)
		}
	}
}

// TestTLSSessionResumption: with a new connection per request, a user
// with session_resumption resumes its session on every reconnection, and
// one without does full handshakes, as Locust's clients do.
func TestTLSSessionResumption(t *testing.T) {
	t.Parallel()
	root := issue(t, certSpec{cn: "Test Root", ca: true}, nil)
	server := loopbackCert(t, "server", root)
	for _, version := range []uint16{tls.VersionTLS13, tls.VersionTLS12} {
		for _, resume := range []bool{true, false} {
			srv, resumed, handshakes := tlsServer(t, &tls.Config{Certificates: []tls.Certificate{server.tlsCert()}, MaxVersion: version})
			cfg := HTTPConfig{ConnectionClose: true, TLS: TLSConfig{RootCAs: pool(root), SessionResumption: resume}}
			const n = 5
			for i, r := range requestN(t, srv.URL, cfg, n, nil) {
				checkRec(t, fmt.Sprintf("request %d", i), r, "")
			}
			want := int32(0)
			if resume {
				want = n - 1
			}
			if got := handshakes.Load(); got != n {
				t.Errorf("%s, resumption %v: %d connections, want %d (one per request)", tls.VersionName(version), resume, got, n)
			}
			if got := resumed.Load(); got != want {
				t.Errorf("%s, resumption %v: %d requests on resumed sessions, want %d", tls.VersionName(version), resume, got, want)
			}
		}
	}
}

// TestTLSFromYAML: the YAML keys reach the handshake: ca_file (relative
// to the scenario file) and a client certificate in two files, with a
// class that overrides the top level's http block key by key.
func TestTLSFromYAML(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	root := issue(t, certSpec{cn: "Test Root", ca: true}, nil)
	clientCA := issue(t, certSpec{cn: "Client CA", ca: true}, nil)
	server := loopbackCert(t, "server", root)
	client := issue(t, certSpec{cn: "yaml-user", client: true}, clientCA)
	if err := os.Mkdir(filepath.Join(dir, "certs"), 0o700); err != nil {
		t.Fatal(err)
	}
	writeFile(t, dir, "certs/ca.pem", root.certPEM())
	writeFile(t, dir, "certs/client.pem", client.certPEM())
	writeFile(t, dir, "certs/client.key", client.keyPEM(t))
	srv, _, _ := tlsServer(t, &tls.Config{Certificates: []tls.Certificate{server.tlsCert()},
		ClientAuth: tls.VerifyClientCertIfGiven, ClientCAs: pool(clientCA)})
	sc, err := Parse(filepath.Join(dir, "s.yaml"), []byte(`http:
  tls: {ca_file: certs/ca.pem}
users:
  - class: Anonymous
    tasks: [{request: {path: /, name: anon}}]
  - class: Mutual
    http:
      tls: {cert_file: certs/client.pem, key_file: certs/client.key}
    tasks: [{request: {path: /, name: mutual}}]
  - class: Untrusting
    http:
      tls: {ca_file: ""}
    tasks: [{request: {path: /, name: untrusting}}]
`))
	if err != nil {
		t.Fatal(err)
	}
	st := newFakeStats()
	r := NewRunner(nil, st)
	defer r.Close()
	for i, c := range sc.Classes {
		u := testUserWith(t, r, srv.URL, newProfile(c.HTTP, nil), int64(i))
		if err := c.Tasks[0].Fn(context.Background(), u); err != nil {
			t.Fatal(err)
		}
	}
	recs := st.all()
	if len(recs) != 3 {
		t.Fatalf("records: %+v", recs)
	}
	checkRec(t, "anonymous", recs[0], "")
	checkRec(t, "mutual", recs[1], "")
	if recs[1].length != int64(len("client yaml-user")) {
		t.Errorf("the server did not see the client certificate: %+v", recs[1])
	}
	if !recs[2].fail || !strings.HasPrefix(recs[2].err, "TLS: certificate signed by unknown authority") {
		t.Errorf("ca_file \"\" (system roots): %+v", recs[2])
	}
}
