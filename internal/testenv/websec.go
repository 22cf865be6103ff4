package testenv

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// ServerTLS is a server certificate for 127.0.0.1 and localhost, issued by
// a CA made for the test, in PEM files under the test's temporary directory.
type ServerTLS struct {
	CertFile string         // the server certificate
	KeyFile  string         // its private key
	CAFile   string         // the CA's certificate
	Pool     *x509.CertPool // holds the CA: clients that trust it accept the server
}

// NewServerTLS makes a CA and a server certificate it signs (ECDSA P-256,
// valid from an hour ago for a day).
func NewServerTLS(t testing.TB) *ServerTLS {
	t.Helper()
	caKey, caDER := certificate(t, &x509.Certificate{Subject: pkix.Name{CommonName: "glocust test CA"},
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}, nil, nil)
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	key, der := certificate(t, &x509.Certificate{Subject: pkix.Name{CommonName: "127.0.0.1"},
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}, ca, caKey)
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	s := &ServerTLS{CertFile: filepath.Join(dir, "tls.crt"), KeyFile: filepath.Join(dir, "tls.key"),
		CAFile: filepath.Join(dir, "ca.crt"), Pool: x509.NewCertPool()}
	s.Pool.AddCert(ca)
	for name, block := range map[string]*pem.Block{s.CertFile: {Type: "CERTIFICATE", Bytes: der},
		s.KeyFile: {Type: "PRIVATE KEY", Bytes: keyDER}, s.CAFile: {Type: "CERTIFICATE", Bytes: caDER}} {
		if err := os.WriteFile(name, pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// certificate signs tmpl with a new key, by parent and its key (nil:
// self-signed), and returns the new key and the certificate's DER.
func certificate(t testing.TB, tmpl, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) (*ecdsa.PrivateKey, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		t.Fatal(err)
	}
	tmpl.SerialNumber, tmpl.NotBefore, tmpl.NotAfter = serial, time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour)
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	return key, der
}

// WriteHtpasswd writes an htpasswd file with one user and a bcrypt hash of
// pass (at bcrypt's lowest cost, so tests stay fast), after a comment line,
// and returns its path.
func WriteHtpasswd(t testing.TB, user, pass string) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(pass), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "htpasswd")
	if err := os.WriteFile(f, []byte("# glocust users\n"+user+":"+string(h)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

// Send sends a request with client and returns the response, its body
// already read and closed, and the body. A non-empty body is sent as a
// form; headers are "Key: value" strings.
func Send(t testing.TB, client *http.Client, method, url, body string, headers ...string) (*http.Response, string) {
	t.Helper()
	r, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ": ")
		r.Header.Set(k, v)
	}
	resp, err := client.Do(r)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the body: %v", method, url, err)
	}
	return resp, string(b)
}
