//go:build !linux

package scenario

import "net"

// rawIO is only used on Linux; elsewhere connections use net.Conn.
type rawIO struct{ net.Conn }

func newRawIO(net.Conn) *rawIO { return nil }
