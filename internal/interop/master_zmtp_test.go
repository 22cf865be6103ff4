package interop

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"os"
	"syscall"

	"github.com/glocust/glocust/internal/zmtptest"
)

// The tests' DEALERs are internal/zmtptest peers with a 64 KiB read buffer
// (peerBuf); a message they Recv may have frames of up to maxRecv bytes.
var peerBuf = zmtptest.ReadBufferSize(64 << 10)

const maxRecv = 16 << 20

// testNodeID returns a node id in Locust's <host>_<32 hex> form.
func testNodeID(host string) string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never returns an error
	return host + "_" + hex.EncodeToString(b[:])
}

// isClosedErr reports errors that mean the other side closed or reset the
// connection.
func isClosedErr(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, net.ErrClosed) || errors.Is(err, io.ErrUnexpectedEOF)
}

func isTimeout(err error) bool { return errors.Is(err, os.ErrDeadlineExceeded) }
