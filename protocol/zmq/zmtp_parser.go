package zmq

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// ZMTP 3.0 sizes and frame flags (RFC 23).
const (
	zmtpGreetingLen  = 64
	zmtpSignatureLen = 10
	flagMore         = 0x01
	flagLong         = 0x02
	flagCommand      = 0x04
)

// ErrFrameTooLarge is the read error of a ROUTER connection whose peer
// announced a frame (or multipart message) larger than the limit.
var ErrFrameTooLarge = errors.New("zmq: frame exceeds size limit")

// ErrBadFraming is the read error of a ROUTER connection whose peer sent
// a frame header with reserved flag bits set, or otherwise broke ZMTP.
var ErrBadFraming = errors.New("zmq: invalid ZMTP frame header")

// zmtpParser is the one ZMTP framing parser: bytes are fed as they
// arrive, in pieces of any size, and complete messages come out (the Linux
// poller feeds it directly; zmtpReader wraps it for a buffered stream). It
// checks reserved flag bits, a command inside a message, and the frame and
// message limit before anything is allocated, keeps the first frame's body
// (from the free lists) and skips later frames without storing them.
type zmtpParser struct {
	max uint64 // largest frame or message; 0: no limit

	hdr [9]byte // the frame header being read
	hn  int     // bytes of hdr read

	inFrame bool   // reading a frame's body (or skipping it)
	flags   byte   // the current frame's flags
	body    []byte // the first frame's body; filled up to bn
	bn      int
	skip    uint64 // bytes of a later frame still to skip

	nframes int
	total   uint64
}

// feed consumes p. emit receives each complete message and returns false
// to stop (feed then returns the unconsumed rest's length as n<len(p) and
// a nil error; the parser keeps its state). A framing error ends the
// stream: the parser must not be fed again.
func (z *zmtpParser) feed(p []byte, emit func(zmtpMsg) bool) (n int, err error) {
	start := len(p)
	for len(p) > 0 || (z.inFrame && z.frameComplete()) {
		if z.inFrame {
			if z.nframes == 1 {
				k := copy(z.body[z.bn:], p)
				z.bn += k
				p = p[k:]
			} else {
				k := uint64(len(p))
				if k > z.skip {
					k = z.skip
				}
				z.skip -= k
				p = p[k:]
			}
			if !z.frameComplete() {
				break
			}
			z.inFrame = false
			if z.flags&flagCommand == 0 && z.flags&flagMore != 0 {
				continue
			}
			m := zmtpMsg{body: z.body, nframes: z.nframes, cmd: z.flags&flagCommand != 0}
			z.body, z.bn, z.nframes, z.total = nil, 0, 0, 0
			if !emit(m) {
				return start - len(p), nil
			}
			continue
		}
		z.hdr[z.hn] = p[0]
		z.hn++
		p = p[1:]
		flags := z.hdr[0]
		if z.hn == 1 && flags&^(flagMore|flagLong|flagCommand) != 0 {
			return start - len(p), fmt.Errorf("%w: flags %#02x", ErrBadFraming, flags)
		}
		need := 2
		if flags&flagLong != 0 {
			need = 9
		}
		if z.hn < need {
			continue
		}
		z.hn = 0
		size := uint64(z.hdr[1])
		if need == 9 {
			size = binary.BigEndian.Uint64(z.hdr[1:9])
		}
		cmd := flags&flagCommand != 0
		if cmd && (flags&flagMore != 0 || z.nframes > 0) {
			return start - len(p), fmt.Errorf("%w: command frame inside a message", ErrBadFraming)
		}
		if z.max > 0 && (size > z.max || z.total+size > z.max) {
			return start - len(p), fmt.Errorf("%w: frame of %d bytes after %d (limit %d)", ErrFrameTooLarge, size, z.total, z.max)
		}
		if size > 1<<62 {
			return start - len(p), fmt.Errorf("%w: frame of %d bytes", ErrFrameTooLarge, size)
		}
		z.total += size
		z.nframes++
		z.flags = flags
		z.inFrame = true
		if z.nframes == 1 {
			z.body, z.bn = newBody(size), 0
		} else {
			z.skip = size
		}
	}
	return start - len(p), nil
}

func (z *zmtpParser) frameComplete() bool {
	if z.nframes == 1 {
		return z.bn == len(z.body)
	}
	return z.skip == 0
}

// midMessage reports whether the stream stopped inside a message (an end
// of stream there is an unexpected EOF, not a clean close).
func (z *zmtpParser) midMessage() bool { return z.hn > 0 || z.inFrame || z.nframes > 0 }

// release returns a partly read body to the free lists.
func (z *zmtpParser) release() {
	if z.body != nil {
		releaseBody(z.body)
		z.body = nil
	}
}

// zmtpReader reads messages from a buffered stream (the handshake, and the
// reader goroutine of the path without the poller) with a zmtpParser.
type zmtpReader struct {
	br  *bufio.Reader
	max uint64 // largest frame or message; 0: no limit

	p    zmtpParser
	m    zmtpMsg
	got  bool
	take func(zmtpMsg) bool
}

// next reads one message: the data frames up to one without MORE, or one
// command. An end of stream inside a message is io.ErrUnexpectedEOF; a
// read error is returned as it is.
func (z *zmtpReader) next() (zmtpMsg, error) {
	if z.take == nil {
		z.take = func(m zmtpMsg) bool { z.m, z.got = m, true; return false }
	}
	z.p.max = z.max
	for {
		if n := z.br.Buffered(); n > 0 {
			b, _ := z.br.Peek(n)
			used, err := z.p.feed(b, z.take)
			_, _ = z.br.Discard(used)
			if err != nil {
				return zmtpMsg{}, err
			}
			if z.got {
				m := z.m
				z.m, z.got = zmtpMsg{}, false
				return m, nil
			}
		}
		if _, err := z.br.Peek(1); err != nil { // waits for more bytes
			if err == io.EOF && z.p.midMessage() {
				err = io.ErrUnexpectedEOF
			}
			return zmtpMsg{}, err
		}
	}
}
