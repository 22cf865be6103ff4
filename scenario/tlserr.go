package scenario

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
)

// tlsError is a failure of the TLS layer of a connection: its handshake,
// or an alert the server sent. hasCert says whether the client had a
// certificate to offer, which decides how a rejected handshake is
// explained.
type tlsError struct {
	err     error
	hasCert bool
}

func (e *tlsError) Error() string { return tlsFailureText(e.err, e.hasCert) }
func (e *tlsError) Unwrap() error { return e.err }

// Advice appended to verification failures, naming the scenario keys.
const (
	adviceTrust = "set tls.ca_file or tls.insecure"
	adviceName  = "set tls.server_name, or use a host name the certificate is valid for"
	adviceCert  = "set tls.cert_file and tls.key_file"
)

// tlsFailureText turns a TLS error into a readable failure text that
// names what failed and which setting changes it, without variable parts
// (times, addresses), so one cause is one row in the stats.
func tlsFailureText(err error, hasCert bool) string {
	var cve *tls.CertificateVerificationError
	var chain []*x509.Certificate
	if errors.As(err, &cve) {
		chain = cve.UnverifiedCertificates
	}
	var ua x509.UnknownAuthorityError
	var he x509.HostnameError
	var ci x509.CertificateInvalidError
	var sr x509.SystemRootsError
	var rh tls.RecordHeaderError
	var op *net.OpError
	switch {
	case errors.As(err, &ua):
		return unknownAuthorityText(chain)
	case errors.As(err, &he):
		return "TLS: " + strings.TrimPrefix(he.Error(), "x509: ") + " (" + adviceName + ")"
	case errors.As(err, &ci):
		return invalidCertText(ci)
	case errors.As(err, &sr):
		return "TLS: no system root certificates to verify the server with (" + adviceTrust + ")"
	case errors.As(err, &rh):
		return "TLS: the server did not answer with TLS (if it speaks plain HTTP, use http://)"
	case errors.As(err, &op) && op.Op == "remote error":
		return alertText(op.Err, hasCert)
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return "TLS: the server closed the connection during the handshake"
	}
	if errors.As(err, &op) || isTimeout(err) {
		return "TLS handshake: " + failureText(err)
	}
	return "TLS: " + strings.TrimPrefix(stripVariable(err.Error()), "tls: ")
}

// unknownAuthorityText explains a chain that does not lead to a trusted
// root: self-signed, an intermediate the server did not send, or a root
// that is not trusted.
func unknownAuthorityText(chain []*x509.Certificate) string {
	const base = "TLS: certificate signed by unknown authority"
	if len(chain) == 0 {
		return base + " (" + adviceTrust + ")"
	}
	last := chain[len(chain)-1]
	switch {
	case len(chain) == 1 && selfSigned(last):
		return base + " (self-signed; " + adviceTrust + ")"
	case len(chain) == 1:
		return base + " " + strconv.Quote(nameOf(last.Issuer.CommonName, last.Issuer.String())) +
			" (the server sent no intermediate certificate: if that is an intermediate CA, the server must send it; else " +
			adviceTrust + ")"
	default:
		return base + " " + strconv.Quote(nameOf(last.Issuer.CommonName, last.Issuer.String())) + " (" + adviceTrust + ")"
	}
}

func selfSigned(c *x509.Certificate) bool {
	return bytes.Equal(c.RawIssuer, c.RawSubject) && c.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature) == nil
}

func nameOf(cn, full string) string {
	if cn != "" {
		return cn
	}
	return full
}

// invalidCertText explains a certificate that is invalid for a reason
// other than its name or issuer; for expiry it gives the certificate's
// validity instead of Go's text, which carries the current time.
func invalidCertText(e x509.CertificateInvalidError) string {
	if e.Reason != x509.Expired || e.Cert == nil {
		return "TLS: " + strings.TrimPrefix(e.Error(), "x509: ")
	}
	subject := strconv.Quote(nameOf(e.Cert.Subject.CommonName, e.Cert.Subject.String()))
	if time.Now().Before(e.Cert.NotBefore) {
		return "TLS: certificate " + subject + " is not valid yet (valid from " + e.Cert.NotBefore.UTC().Format(time.RFC3339) + ")"
	}
	return "TLS: certificate " + subject + " has expired (valid until " + e.Cert.NotAfter.UTC().Format(time.RFC3339) + ")"
}

// alertText explains an alert the server sent.
func alertText(alert error, hasCert bool) string {
	a := strings.TrimPrefix(alert.Error(), "tls: ")
	switch a {
	case "certificate required":
		return "TLS: the server requires a client certificate (" + adviceCert + ")"
	case "bad certificate", "unknown certificate", "unknown certificate authority", "expired certificate",
		"revoked certificate", "unsupported certificate", "access denied", "handshake failure":
		switch {
		case !hasCert:
			// Servers ask for a missing certificate with one of these
			// (TLS 1.2 has no "certificate required").
			return "TLS: the server refused the handshake (" + a + "); it may require a client certificate (" + adviceCert + ")"
		case a != "handshake failure":
			return "TLS: the server rejected the client certificate (" + a + ")"
		}
		return "TLS: the server refused the handshake (" + a + ")"
	case "protocol version not supported":
		return "TLS: the server refused the handshake (" + a + "; see tls.min_version)"
	}
	return "TLS: the server refused the connection (alert: " + a + ")"
}
