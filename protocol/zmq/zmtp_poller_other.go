//go:build !linux

package zmq

import "time"

// Without Linux's epoll, every connection keeps its goroutine pair.
const (
	havePoller        = false
	zmtpBatchInterval = 50 * time.Millisecond
)

type zmtpPoller struct{}

func newZMTPPoller(*zmtpRouter, time.Duration) (*zmtpPoller, error) { panic("unreachable") }
func (p *zmtpPoller) run()                                          {}
func (p *zmtpPoller) takeFD(*zmtpConn) error                        { return nil }
func (p *zmtpPoller) adopt(*zmtpConn, []byte)                       {}
func (p *zmtpPoller) forget(*zmtpConn)                              {}
func (p *zmtpPoller) markBlocked(*zmtpConn)                         {}
func (c *zmtpConn) sendPolled(*zmtpPoller, byte, []byte) bool       { return false }
func (p *zmtpPoller) ring()                                         {}
func (p *zmtpPoller) flushDirty(bool) bool                          { return false }
