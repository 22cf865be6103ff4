package scenario

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"regexp"
	"strings"
	"syscall"

	"github.com/valyala/fasthttp"
)

// failureText turns a request error into the text recorded in stats. It
// keeps what a user wants to read and strips variable parts (local ports,
// addresses, buffer dumps) that would split one error into many rows.
func failureText(err error) string {
	var se *StatusError
	if errors.As(err, &se) {
		return se.Error()
	}
	var ce *CheckError
	if errors.As(err, &ce) {
		return ce.Msg // as it is: the values it quotes may look like addresses
	}
	var ge *GeneratorError
	if errors.As(err, &ge) {
		return ge.Error()
	}
	var to *TimeoutError
	if errors.As(err, &to) {
		return to.Error()
	}
	var de *DecodeError
	if errors.As(err, &de) {
		return de.Error() // before io.EOF: a truncated gzip stream is not a closed connection
	}
	var pe *ProxyError
	if errors.As(err, &pe) {
		s := "proxy " + pe.Proxy + ": " + pe.Msg
		if pe.Err != nil {
			s += ": " + failureText(pe.Err)
		}
		return s
	}
	var te *tlsError
	if errors.As(err, &te) {
		return te.Error()
	}
	if errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, fasthttp.ErrTimeout) {
		return "request timed out"
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return "connection closed before the response was complete"
	}
	if errors.Is(err, io.EOF) {
		return "connection closed by the server"
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return "lookup " + dns.Name + ": " + dns.Err
	}
	var op *net.OpError
	if errors.As(err, &op) {
		inner := op.Err
		var sys *os.SyscallError
		if errors.As(inner, &sys) {
			inner = sys.Err
		}
		if inner != nil {
			return op.Op + ": " + stripVariable(inner.Error())
		}
	}
	return stripVariable(err.Error())
}

var addrRE = regexp.MustCompile(`(\[[0-9a-fA-F:.]+\]|\d{1,3}(\.\d{1,3}){3}):\d+`)

func stripVariable(s string) string {
	if i := strings.Index(s, ". Buffer size="); i >= 0 {
		s = s[:i] // fasthttp appends a dump of the bytes read
	}
	if strings.ContainsRune(s, ':') {
		s = addrRE.ReplaceAllString(s, "$1")
	}
	return s
}

func isConnReset(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}
