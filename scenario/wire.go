package scenario

import (
	"bytes"
	"errors"
	"io"
	"net"
	"sync"
)

// The client's own HTTP/1.x response reader, the hot path of every request.
// It handles the framing of responses (status line, Content-Length,
// chunked, read-until-close, 1xx interim responses, bodiless statuses and
// HEAD) and reads only the header fields that framing and connection reuse
// need (Content-Length, Transfer-Encoding, Connection), noting whether
// Set-Cookie and Content-Encoding are present. Everything else about the header
// (Response.Header, Response.Raw, cookies, Location) is parsed from the
// kept header bytes by fasthttp when asked for, off the hot path.

// rbuf holds one response as read from the connection: the header bytes
// and the de-chunked body. It is borrowed from a pool for a task, so a
// waiting user holds none.
type rbuf struct{ b []byte }

const (
	rbufSize       = 4 << 10   // initial size: most responses arrive in one read
	rbufKeepMax    = 256 << 10 // larger buffers are not pooled
	maxHeaderBytes = 64 << 10  // response header limit, 1xx responses included
	maxLineBytes   = 8 << 10   // chunk size line or trailer line limit
)

var rbufPool = sync.Pool{New: func() any { return &rbuf{b: make([]byte, 0, rbufSize)} }}

func getRbuf() *rbuf { return rbufPool.Get().(*rbuf) }

func putRbuf(b *rbuf) {
	if cap(b.b) > rbufKeepMax {
		return
	}
	b.b = b.b[:0]
	rbufPool.Put(b)
}

// errMalformed is wrapped by the errors of responses that are not valid
// HTTP/1.x.
var errMalformed = errors.New("malformed HTTP response")

type malformedError struct{ what string }

func (e *malformedError) Error() string { return "malformed HTTP response: " + e.what }
func (e *malformedError) Unwrap() error { return errMalformed }

var (
	errStatusLine    = &malformedError{"invalid status line"}
	errHeaderLine    = &malformedError{"invalid header line"}
	errContentLength = &malformedError{"invalid Content-Length"}
	errHeaderTooBig  = &malformedError{"header larger than 64 KiB"}
	errChunkSize     = &malformedError{"invalid chunk size"}
	errChunkEnd      = &malformedError{"chunk not followed by CRLF"}
	errLineTooLong   = &malformedError{"chunk size or trailer line too long"}

	errHeaderEnd = errors.New("scenario: internal error: header end mismatch")
)

// wireResponse is the parsed form of one response.
type wireResponse struct {
	status    int
	header    []byte // the final response's header, status line to blank line
	body      []byte // de-chunked body, as the server coded it (Content-Encoding)
	close     bool   // the connection must not be reused
	setCookie bool   // the header has Set-Cookie fields
	coded     bool   // the header has Content-Encoding fields (decode.go)
}

// framing is what a header says about the body and the connection.
type framing struct {
	contentLength int64 // -1: none
	chunked       bool
	untilClose    bool // a Transfer-Encoding other than chunked: read until close
	connClose     bool
	keepAlive     bool
	http10        bool
}

// respReader reads one response from r. buf[:n] holds what was read so
// far; buf may be reallocated when it is full.
type respReader struct {
	r   io.Reader
	buf []byte
	n   int
	fr  framing

	// With a read timeout (dl.read), each read waits at most that long
	// (conn's read deadline is moved before each). A copy: a pointer would
	// make the request's deadlines escape with buf.
	dl   deadlines
	conn net.Conn

	chunkEnd int // end of the raw chunked body, trailers included
}

// fill reads at least one more byte, growing buf when it is full. EOF is
// reported as io.EOF if nothing at all was read, else io.ErrUnexpectedEOF.
func (rr *respReader) fill() error {
	if rr.n == len(rr.buf) {
		if rr.n == cap(rr.buf) {
			nb := make([]byte, max(2*cap(rr.buf), rbufSize))
			copy(nb, rr.buf[:rr.n])
			rr.buf = nb
		}
		rr.buf = rr.buf[:cap(rr.buf)]
	}
	if rr.dl.read > 0 {
		if err := rr.conn.SetReadDeadline(rr.dl.within(rr.dl.read)); err != nil {
			return err
		}
	}
	for {
		m, err := rr.r.Read(rr.buf[rr.n:])
		if m > 0 {
			rr.n += m
			return nil
		}
		if err == io.EOF {
			if rr.n == 0 {
				return io.EOF
			}
			return io.ErrUnexpectedEOF
		}
		if err != nil {
			return err
		}
	}
}

// readResponse reads one complete response, skipping 1xx interim ones.
// head: the request was HEAD, so the response has no body. The slices in
// out point into rr.buf.
func (rr *respReader) readResponse(head bool, out *wireResponse) error {
	*out = wireResponse{}
	start := 0
	for {
		end, err := rr.readHeader(start, out)
		if err != nil {
			return err
		}
		if out.status < 200 && out.status != 101 {
			start = end // interim response: the final one follows
			continue
		}
		if err := rr.readBody(end, head, out); err != nil {
			return err
		}
		out.header = rr.buf[start:end:end] // after readBody, which may grow buf
		return nil
	}
}

// readHeader reads and parses the header that starts at start and returns
// the offset just past its blank line. Bytes are scanned once for the end
// of the header; the header is parsed once it is complete.
func (rr *respReader) readHeader(start int, out *wireResponse) (int, error) {
	for rr.n == start {
		if err := rr.fill(); err != nil {
			return 0, err
		}
	}
	// The common case: the whole header came with the first read.
	if n, err := parseHeader(rr.buf[start:rr.n], out, &rr.fr); err != nil || n > 0 {
		return start + n, err
	}
	scan := start // no header end begins before scan
	for {
		if rr.n-start >= 5 && string(rr.buf[start:start+5]) != "HTTP/" {
			return 0, errStatusLine // fail early on garbage
		}
		if end := headerEnd(rr.buf[:rr.n], &scan); end > 0 {
			if n, err := parseHeader(rr.buf[start:end], out, &rr.fr); err != nil || n != end-start {
				if err == nil {
					err = errHeaderEnd // cannot happen: both agree on the end (FuzzResponse)
				}
				return 0, err
			}
			return end, nil
		}
		if rr.n-start >= maxHeaderBytes {
			return 0, errHeaderTooBig
		}
		if err := rr.fill(); err != nil {
			return 0, err
		}
	}
}

// headerEnd returns the offset just past the blank line that ends a header
// in b, searching from *scan, or 0 if b has none yet; *scan advances past
// what was searched.
func headerEnd(b []byte, scan *int) int {
	p := *scan
	for {
		i := bytes.IndexByte(b[p:], '\n')
		if i < 0 {
			*scan = len(b)
			return 0
		}
		p += i + 1 // the start of the next line
		switch {
		case p < len(b) && b[p] == '\n':
			return p + 1
		case p+1 < len(b) && b[p] == '\r' && b[p+1] == '\n':
			return p + 2
		case p == len(b) || p+1 == len(b) && b[p] == '\r':
			*scan = p - 1 // undecided: look at this line start again
			return 0
		}
	}
}

// readBody reads the body that starts at off.
func (rr *respReader) readBody(off int, head bool, out *wireResponse) error {
	fr := &rr.fr
	out.close = fr.connClose || fr.http10 && !fr.keepAlive
	if fr.http10 && fr.chunked {
		// HTTP/1.0 has no chunked coding: RFC 9112 treats such framing as
		// faulty; like fasthttp, read until close.
		fr.chunked, fr.untilClose = false, true
	}
	end := off
	switch {
	case head || out.status == 204 || out.status == 304 || out.status == 101:
		if out.status == 101 {
			out.close = true // the connection now speaks another protocol
		}
	case fr.chunked:
		w, err := rr.readChunked(off)
		if err != nil {
			return err
		}
		out.body = rr.buf[off:w:w]
		if rr.n > rr.chunkEnd {
			out.close = true // bytes after the response: do not reuse
		}
		return nil
	case fr.contentLength >= 0 && !fr.untilClose:
		for int64(rr.n-off) < fr.contentLength {
			if err := rr.fill(); err != nil {
				return err
			}
		}
		end = off + int(fr.contentLength)
	default: // the body ends when the server closes the connection
		for {
			err := rr.fill()
			if err == io.ErrUnexpectedEOF {
				break
			}
			if err != nil {
				return err
			}
		}
		end = rr.n
		out.close = true
	}
	out.body = rr.buf[off:end:end]
	if rr.n > end {
		out.close = true // bytes after the response: do not reuse
	}
	return nil
}

// line returns the end of the line that starts at p (the index of its
// '\n'), reading more as needed.
func (rr *respReader) line(p int) (int, error) {
	for {
		if i := bytes.IndexByte(rr.buf[p:rr.n], '\n'); i >= 0 {
			return p + i, nil
		}
		if rr.n-p > maxLineBytes {
			return 0, errLineTooLong
		}
		if err := rr.fill(); err != nil {
			return 0, err
		}
	}
}

// readChunked decodes a chunked body that starts at off in place (the
// decoded bytes move down over the chunk framing) and returns the end of
// the decoded body. rr.chunkEnd is set to the end of the raw body.
func (rr *respReader) readChunked(off int) (int, error) {
	w, p := off, off
	for {
		nl, err := rr.line(p)
		if err != nil {
			return 0, err
		}
		size, ok := parseChunkSize(rr.buf[p:nl])
		if !ok {
			return 0, errChunkSize
		}
		p = nl + 1
		if size == 0 {
			break
		}
		for int64(rr.n-p) < size+1 {
			if err := rr.fill(); err != nil {
				return 0, err
			}
		}
		n := int(size)
		copy(rr.buf[w:], rr.buf[p:p+n])
		w += n
		p += n
		// CRLF (or a bare LF) after the data.
		if rr.buf[p] == '\r' {
			for rr.n-p < 2 {
				if err := rr.fill(); err != nil {
					return 0, err
				}
			}
			p++
		}
		if rr.buf[p] != '\n' {
			return 0, errChunkEnd
		}
		p++
	}
	// Trailer fields, up to a blank line; ignored.
	for {
		nl, err := rr.line(p)
		if err != nil {
			return 0, err
		}
		blank := nl == p || nl == p+1 && rr.buf[p] == '\r'
		p = nl + 1
		if blank {
			break
		}
	}
	rr.chunkEnd = p
	return w, nil
}

// parseChunkSize parses a chunk size line (without its '\n'): hex digits,
// then optional extensions after ';', optional spaces and a '\r'.
func parseChunkSize(b []byte) (int64, bool) {
	var n int64
	i := 0
	for ; i < len(b); i++ {
		c := b[i]
		var d byte
		switch {
		case '0' <= c && c <= '9':
			d = c - '0'
		case 'a' <= c && c <= 'f':
			d = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			d = c - 'A' + 10
		default:
			goto rest
		}
		if n > (1<<62)>>4 {
			return 0, false // overflow
		}
		n = n<<4 | int64(d)
	}
rest:
	if i == 0 {
		return 0, false
	}
	for ; i < len(b); i++ {
		switch b[i] {
		case ' ', '\t':
		case ';', '\r':
			return n, true // extensions are ignored
		default:
			return 0, false
		}
	}
	return n, true
}

// parseHeader parses a header block from its status line to its blank
// line. It returns 0 if the block is not complete yet, else the length of
// the block. Lines may end in CRLF or a bare LF.
func parseHeader(b []byte, out *wireResponse, fr *framing) (int, error) {
	*fr = framing{contentLength: -1}
	out.setCookie, out.coded = false, false
	nl := bytes.IndexByte(b, '\n')
	if nl < 0 {
		return 0, nil
	}
	status, http10, ok := parseStatusLine(trimCR(b[:nl]))
	if !ok {
		return 0, errStatusLine
	}
	out.status, fr.http10 = status, http10
	p := nl + 1
	for {
		i := bytes.IndexByte(b[p:], '\n')
		if i < 0 {
			return 0, nil
		}
		line := trimCR(b[p : p+i])
		p += i + 1
		if len(line) == 0 {
			return p, nil
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			if line[0] == ' ' || line[0] == '\t' {
				continue // obsolete line folding: a continued value, not framing
			}
			return 0, errHeaderLine
		}
		name, value := line[:colon], trimSpace(line[colon+1:])
		switch len(name) {
		case len("content-length"):
			if equalFoldLower(name, "content-length") {
				n, ok := parseDecimal(value)
				if !ok || fr.contentLength >= 0 && fr.contentLength != n {
					return 0, errContentLength
				}
				fr.contentLength = n
			}
		case len("transfer-encoding"):
			if equalFoldLower(name, "transfer-encoding") {
				last := value
				if i := bytes.LastIndexByte(value, ','); i >= 0 {
					last = trimSpace(value[i+1:])
				}
				switch {
				case equalFoldLower(last, "chunked"):
					fr.chunked, fr.untilClose = true, false
				case len(last) > 0 && !equalFoldLower(last, "identity"):
					fr.chunked, fr.untilClose = false, true
				}
			}
		case len("content-encoding"):
			if equalFoldLower(name, "content-encoding") {
				out.coded = true
			}
		case len("connection"): // == len("set-cookie")
			if equalFoldLower(name, "connection") {
				for len(value) > 0 {
					tok := value
					if i := bytes.IndexByte(value, ','); i >= 0 {
						tok, value = value[:i], value[i+1:]
					} else {
						value = nil
					}
					tok = trimSpace(tok)
					if equalFoldLower(tok, "close") {
						fr.connClose = true
					} else if equalFoldLower(tok, "keep-alive") {
						fr.keepAlive = true
					}
				}
			} else if equalFoldLower(name, "set-cookie") {
				out.setCookie = true
			}
		}
	}
}

// parseStatusLine parses "HTTP/1.1 200 OK" (the reason is optional).
func parseStatusLine(l []byte) (status int, http10, ok bool) {
	if len(l) < len("HTTP/1.1 200") || string(l[:5]) != "HTTP/" {
		return 0, false, false
	}
	sp := bytes.IndexByte(l, ' ')
	if sp < 0 || len(l) < sp+4 || len(l) > sp+4 && l[sp+4] != ' ' {
		return 0, false, false
	}
	ver := l[5:sp]
	if len(ver) != 3 || ver[0] != '1' || ver[1] != '.' || ver[2] < '0' || ver[2] > '9' {
		return 0, false, false // HTTP/1.x only: the request was HTTP/1.1
	}
	for _, c := range l[sp+1 : sp+4] {
		if c < '0' || c > '9' {
			return 0, false, false
		}
		status = status*10 + int(c-'0')
	}
	if status < 100 {
		return 0, false, false
	}
	return status, ver[2] == '0', true
}

func parseDecimal(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

func trimCR(b []byte) []byte {
	if len(b) > 0 && b[len(b)-1] == '\r' {
		return b[:len(b)-1]
	}
	return b
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// equalFoldLower reports whether b equals lower (ASCII lower case) ignoring
// ASCII case.
func equalFoldLower(b []byte, lower string) bool {
	if len(b) != len(lower) {
		return false
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}
