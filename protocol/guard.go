package protocol

import (
	"errors"
	"time"
)

// The ROUTER behind ListenRouter's tcp:// endpoints protects the master
// from its peers (style.md section 5, pitfalls 3 and 10); see
// zmtp_router.go. It used to be a guard around go-zeromq's ROUTER; the
// guarantees are unchanged:
//
//   - Reads are parsed as ZMTP 3 framing. A frame header claiming more than
//     the frame limit, or a multipart message whose frames add up to more,
//     closes the connection before anything is allocated for it. Reserved
//     flag bits do the same.
//   - Every write has a deadline, and sends never wait for a peer: a peer
//     that never reads is dropped instead of stalling the master's messages
//     to everybody.
//   - Each accepted connection's handshake runs in its own goroutine,
//     bounded by the handshake timeout, so a silent TCP client cannot keep
//     other workers from connecting.

// Defaults of the ROUTER transport.
const (
	// DefaultWriteTimeout bounds one write to one peer of a ROUTER.
	DefaultWriteTimeout = 250 * time.Millisecond
	// DefaultHandshakeTimeout bounds a new connection's ZMTP handshake.
	DefaultHandshakeTimeout = 5 * time.Second
)

const (
	zmtpGreetingLen  = 64
	zmtpSignatureLen = 10
	flagMore         = 0x01
	flagLong         = 0x02
	flagCommand      = 0x04
)

// ErrFrameTooLarge is the read error of a ROUTER connection whose peer
// announced a frame (or multipart message) larger than the limit.
var ErrFrameTooLarge = errors.New("protocol: frame exceeds size limit")

// ErrBadFraming is the read error of a ROUTER connection whose peer sent
// a frame header with reserved flag bits set, or otherwise broke ZMTP.
var ErrBadFraming = errors.New("protocol: invalid ZMTP frame header")

// Violation describes why the ROUTER closed a connection.
type Violation struct {
	Remote string // the peer's TCP address (and identity, once known)
	Reason string
}
