package scenario

import (
	"crypto/tls"
	"crypto/x509"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// The "http" block of a scenario (top level) and of a user class: what
// HTTPConfig holds. A class's block applies key by key over the top
// level's: a class that sets only tls.insecure keeps the top level's proxy
// and tls.ca_file. The client certificate and its key go together: a class
// that sets either replaces both.
var (
	httpKeys = []string{"tls", "proxy", "no_proxy", "trust_env", "connection", "resolve_interval", "accept_encoding", "content_size"}
	tlsKeys  = []string{"insecure", "ca_file", "cert_file", "key_file", "server_name", "min_version", "session_resumption"}
	// connectionValues are the values of the connection key (http block
	// and request).
	connectionValues = []string{"keep-alive", "close"}
	// contentSizes are the values of content_size: false and true of
	// HTTPConfig.ReceivedContentSize.
	contentSizes = []string{"decoded", "received"}
)

// http applies the block n to cfg, which holds what the block inherits.
func (p *parser) http(n *yaml.Node, path string, cfg *HTTPConfig) error {
	return p.fields(n, path, httpKeys, func(key string, v *yaml.Node, path string) (err error) {
		switch key {
		case "tls":
			err = p.tls(v, path, &cfg.TLS)
		case "proxy":
			err = p.proxy(v, path, &cfg.Proxy)
		case "no_proxy":
			cfg.Proxy.NoProxy, err = p.noProxy(v, path)
		case "trust_env":
			cfg.TrustEnv, err = p.boolean(v, path)
		case "connection":
			cfg.ConnectionClose, err = p.connection(v, path)
		case "resolve_interval":
			var d time.Duration
			if d, err = p.duration(v, path); err == nil {
				cfg.ResolveInterval = d
				if d == 0 {
					cfg.ResolveInterval = -1 // never again
				}
			}
		case "accept_encoding":
			cfg.AcceptEncoding, err = p.acceptEncoding(v, path)
		case "content_size":
			var s string
			if s, err = p.str(v, path); err == nil {
				i := slices.Index(contentSizes, s)
				if i < 0 {
					return p.errf(v, path, "unknown value %q (want %s)", s, strings.Join(contentSizes, " or "))
				}
				cfg.ReceivedContentSize = i == 1
			}
		}
		return err
	})
}

func (p *parser) tls(n *yaml.Node, path string, t *TLSConfig) error {
	var certFile, keyFile string
	var certNode, keyNode *yaml.Node
	err := p.fields(n, path, tlsKeys, func(key string, v *yaml.Node, path string) (err error) {
		switch key {
		case "insecure":
			t.Insecure, err = p.boolean(v, path)
		case "ca_file":
			t.RootCAs, err = p.caFile(v, path)
		case "cert_file":
			certFile, err = p.str(v, path)
			certNode = v
		case "key_file":
			keyFile, err = p.str(v, path)
			keyNode = v
		case "server_name":
			t.ServerName, err = p.str(v, path)
			if err == nil && strings.ContainsAny(t.ServerName, " /:\t\r\n") {
				err = p.errf(v, path, "invalid server name %q", t.ServerName)
			}
		case "min_version":
			t.MinVersion, err = p.tlsVersion(v, path)
		case "session_resumption":
			t.SessionResumption, err = p.boolean(v, path)
		}
		return err
	})
	if err != nil {
		return err
	}
	switch {
	case keyNode != nil && certNode == nil:
		return p.errf(keyNode, join(path, "key_file"), "needs tls.cert_file")
	case certNode == nil:
		return nil
	case certFile == "":
		return p.errf(certNode, join(path, "cert_file"), "must not be empty")
	}
	if keyFile == "" {
		keyFile = certFile // a PEM file holding both, as requests' cert="client.pem"
	}
	cert, err := loadKeyPair(p.rel(certFile), p.rel(keyFile))
	if err != nil {
		return p.errf(certNode, join(path, "cert_file"), "cannot load the client certificate and key: %v", err)
	}
	t.Certificates = []tls.Certificate{cert}
	return nil
}

// caFile reads a CA bundle named relative to the scenario file; an empty
// name means the system roots.
func (p *parser) caFile(n *yaml.Node, path string) (*x509.CertPool, error) {
	f, err := p.str(n, path)
	if err != nil || f == "" {
		return nil, err
	}
	pool, err := loadCAFile(p.rel(f))
	if err != nil {
		return nil, p.errf(n, path, "%v", err)
	}
	return pool, nil
}

// rel makes a file name relative to the scenario file's directory.
func (p *parser) rel(f string) string {
	if filepath.IsAbs(f) {
		return f
	}
	return filepath.Join(filepath.Dir(p.file), f)
}

func (p *parser) tlsVersion(n *yaml.Node, path string) (uint16, error) {
	rn := resolve(n)
	if rn != nil && rn.Kind == yaml.ScalarNode {
		if v, ok := minTLSVersions[rn.Value]; ok {
			return v, nil
		}
	}
	val := ""
	if rn != nil {
		val = rn.Value
	}
	return 0, p.errf(n, path, "unknown TLS version %q (want 1.0, 1.1, 1.2 or 1.3)", val)
}

// proxy reads a proxy URL for both schemes, or {http: URL, https: URL}.
func (p *parser) proxy(n *yaml.Node, path string, pc *ProxyConfig) error {
	if rn := resolve(n); rn != nil && rn.Kind == yaml.MappingNode {
		pc.HTTP, pc.HTTPS = "", ""
		return p.fields(rn, path, []string{"http", "https"}, func(key string, v *yaml.Node, path string) error {
			u, err := p.proxyURL(v, path)
			if key == "http" {
				pc.HTTP = u
			} else {
				pc.HTTPS = u
			}
			return err
		})
	}
	u, err := p.proxyURL(n, path)
	pc.HTTP, pc.HTTPS = u, u
	return err
}

func (p *parser) proxyURL(n *yaml.Node, path string) (string, error) {
	s, err := p.str(n, path)
	if err != nil || s == "" {
		return "", err
	}
	if _, err := parseProxyURL(s); err != nil {
		return "", p.errf(n, path, "%v", err)
	}
	return s, nil
}

// noProxy reads NO_PROXY's comma-separated form or a list.
func (p *parser) noProxy(n *yaml.Node, path string) (string, error) {
	if rn := resolve(n); rn != nil && rn.Kind == yaml.SequenceNode {
		hosts, err := p.strList(rn, path)
		if err == nil {
			for i, h := range hosts {
				if strings.Contains(h, ",") {
					return "", p.errf(rn.Content[i], path, "%q: one host per item", h)
				}
			}
		}
		return strings.Join(hosts, ","), err
	}
	return p.str(n, path)
}

// acceptEncoding reads the Accept-Encoding header's value, or none.
func (p *parser) acceptEncoding(n *yaml.Node, path string) (string, error) {
	s, err := p.str(n, path)
	switch {
	case err != nil:
		return "", err
	case strings.TrimSpace(s) == "":
		return "", p.errf(n, path, "must not be empty (none sends no Accept-Encoding)")
	case strings.ContainsAny(s, "\r\n"):
		return "", p.errf(n, path, "a line break in %q", s)
	}
	return s, nil
}

// connection reads keep-alive or close; it reports close.
func (p *parser) connection(n *yaml.Node, path string) (bool, error) {
	s, err := p.str(n, path)
	if err != nil {
		return false, err
	}
	switch s {
	case "keep-alive":
		return false, nil
	case "close":
		return true, nil
	}
	return false, p.errf(n, path, "unknown value %q (want %s)", s, strings.Join(connectionValues, " or "))
}

// loadKeyPair reads a certificate and its key from PEM files.
func loadKeyPair(certFile, keyFile string) (tls.Certificate, error) {
	certPEM, err := readPEMFile(certFile)
	if err != nil {
		return tls.Certificate{}, err
	}
	keyPEM, err := readPEMFile(keyFile)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.X509KeyPair(certPEM, keyPEM)
}
