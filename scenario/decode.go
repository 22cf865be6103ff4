package scenario

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"

	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zlib"
	"github.com/klauspost/compress/zstd"
	brrr "github.com/molecule-man/go-brrr"
)

// Content codings: a response body the server compressed (Content-Encoding)
// is decoded as Python requests (urllib3) decodes it for Locust's HttpUser:
// gzip (and x-gzip; concatenated members too), deflate (zlib-wrapped, or raw
// when the zlib header is not there), br and zstd, several codings in one
// header decoded in reverse order (at most maxCodings, as urllib3). A
// coding it does not know leaves the body as received, as urllib3 does
// when it is the only one (urllib3 tries a chain that mixes known and
// unknown codings, and fails; glocust leaves it as received). An empty
// body (HEAD, 204, 304) is not decoded.
//
// Decoding happens off the hot path, only for responses that carry a
// Content-Encoding, and only when something needs the decoded body: the
// content size Locust reports (HTTPConfig.ReceivedContentSize off, the
// default), a check, an extraction or Response.Body. The decoders are
// pooled (a gzip or brotli decoder holds tens of KiB, too much for each of
// thousands of users) and the decoded body goes into a buffer borrowed for
// the task, so a steady stream of compressed responses does not allocate.
//
// The decoders are klauspost/compress's (gzip, flate, zlib, zstd) and
// molecule-man/go-brrr's (brotli), pure Go: both modules are already linked
// into the binary by fasthttp, which uses them for its own compression.

// DefaultAcceptEncoding is the Accept-Encoding glocust sends by default:
// that of Locust's HttpUser (python-requests with urllib3, which adds br
// because Locust's dependency geventhttpclient installs the brotli module)
// and of its FastHttpUser (geventhttpclient), "gzip, deflate, br". On
// Python 3.14, where the zstd module is built in, HttpUser also sends
// zstd; glocust decodes zstd whatever it sends.
const DefaultAcceptEncoding = "gzip, deflate, br"

// NoAcceptEncoding, as HTTPConfig.AcceptEncoding, sends no Accept-Encoding
// header: servers then answer uncompressed.
const NoAcceptEncoding = "none"

// maxDecodedBody bounds a decoded body: a small compressed response can
// decode to gigabytes (a decompression bomb), which would take the
// generator down rather than test the target.
const maxDecodedBody = 64 << 20

// maxCodings is the longest chain of codings decoded, as urllib3's
// MultiDecoder.max_decode_links.
const maxCodings = 5

type coding uint8

const (
	codingGzip coding = iota
	codingDeflate
	codingBrotli
	codingZstd
)

func (c coding) String() string {
	return [...]string{codingGzip: "gzip", codingDeflate: "deflate", codingBrotli: "br", codingZstd: "zstd"}[c]
}

// DecodeError is the failure of a response whose body could not be
// decoded (Python requests' ContentDecodingError).
type DecodeError struct {
	Encoding string // the Content-Encoding, as the server sent it
	Err      error
}

func (e *DecodeError) Error() string {
	msg := e.Err.Error()
	var ce flate.CorruptInputError
	if errors.As(e.Err, &ce) {
		msg = "flate: corrupt input" // without the offset, so that one cause is one row in the stats
	}
	return "cannot decode the response body (Content-Encoding: " + e.Encoding + "): " + msg
}

func (e *DecodeError) Unwrap() error { return e.Err }

var errDecodedTooBig = errors.New("larger than " + strconv.Itoa(maxDecodedBody>>20) + " MiB decoded")

// codings are the content codings of a response, in the order the server
// applied them.
type codings struct {
	n int
	c [maxCodings]coding
}

func (cs *codings) list() []coding { return cs.c[:cs.n] }

// contentCodings returns the codings of a response header (the status
// line to the blank line). known is false when a coding is not one glocust
// decodes: the body is then left as received. It does not allocate.
func contentCodings(header []byte) (cs codings, known bool, err error) {
	known = true
	total := 0
	forEachCoding(header, func(tok []byte) {
		var c coding
		switch {
		case len(tok) == 0 || equalFoldLower(tok, "identity"):
			return
		case equalFoldLower(tok, "gzip") || equalFoldLower(tok, "x-gzip"):
			c = codingGzip
		case equalFoldLower(tok, "deflate"):
			c = codingDeflate
		case equalFoldLower(tok, "br"):
			c = codingBrotli
		case equalFoldLower(tok, "zstd"):
			c = codingZstd
		default:
			known = false
			return
		}
		if total++; total <= maxCodings {
			cs.c[cs.n] = c
			cs.n++
		}
	})
	if known && total > maxCodings {
		return codings{}, true, fmt.Errorf("too many content codings (%d > %d)", total, maxCodings)
	}
	return cs, known, nil
}

// forEachCoding calls fn with each comma-separated token of the header's
// Content-Encoding fields, trimmed.
func forEachCoding(header []byte, fn func(tok []byte)) {
	for p := 0; p < len(header); {
		end := bytes.IndexByte(header[p:], '\n')
		if end < 0 {
			end = len(header)
		} else {
			end += p
		}
		line := trimCR(header[p:end])
		p = end + 1
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok || !equalFoldLower(trimSpace(name), "content-encoding") {
			continue
		}
		for len(value) > 0 {
			tok := value
			if i := bytes.IndexByte(value, ','); i >= 0 {
				tok, value = value[:i], value[i+1:]
			} else {
				value = nil
			}
			fn(trimSpace(tok))
		}
	}
}

// codingValue returns the header's Content-Encoding, its fields joined,
// for messages.
func codingValue(header []byte) string {
	var toks []string
	forEachCoding(header, func(tok []byte) {
		if len(tok) > 0 {
			toks = append(toks, string(tok))
		}
	})
	return strings.Join(toks, ", ")
}

// decodeBody appends src decoded with the codings cs (the last applied
// first) to dst.
func decodeBody(dst, src []byte, cs []coding) ([]byte, error) {
	start := len(dst)
	for i := len(cs) - 1; i >= 0; i-- {
		in := src
		if i < len(cs)-1 {
			in = bytes.Clone(dst[start:]) // a chain of codings: rare
			dst = dst[:start]
		}
		var err error
		if dst, err = decodeOne(dst, in, cs[i]); err != nil {
			return dst[:start], err
		}
	}
	return dst, nil
}

func decodeOne(dst, src []byte, c coding) ([]byte, error) {
	switch c {
	case codingGzip:
		return gunzip(dst, src)
	case codingDeflate:
		return inflate(dst, src)
	case codingBrotli:
		return unbrotli(dst, src)
	}
	return unzstd(dst, src)
}

// readAllLimited appends what r yields to dst, up to maxDecodedBody bytes
// past start.
func readAllLimited(dst []byte, start int, r io.Reader) ([]byte, error) {
	for {
		if len(dst) == cap(dst) {
			dst = append(dst, 0)[:len(dst)]
		}
		n, err := r.Read(dst[len(dst):cap(dst)])
		dst = dst[:len(dst)+n]
		if len(dst)-start > maxDecodedBody {
			return dst, errDecodedTooBig
		}
		if err == io.EOF {
			return dst, nil
		}
		if err != nil {
			return dst, err
		}
	}
}

type gzipDecoder struct {
	src bytes.Reader
	zr  gzip.Reader
}

var gzipDecoders = sync.Pool{New: func() any { return new(gzipDecoder) }}

// gunzip decodes gzip members one after the other, as urllib3's
// GzipDecoder: the first must be valid; after it, further members are
// decoded while they are, and what follows the last valid one is ignored.
func gunzip(dst, src []byte) ([]byte, error) {
	d := gzipDecoders.Get().(*gzipDecoder)
	defer gzipDecoders.Put(d)
	d.src.Reset(src)
	start := len(dst)
	for member := 0; member == 0 || d.src.Len() > 0; member++ {
		mark := len(dst)
		err := d.zr.Reset(&d.src)
		if err == nil {
			d.zr.Multistream(false)
			dst, err = readAllLimited(dst, start, &d.zr)
		}
		switch {
		case err == nil:
		case member == 0 || errors.Is(err, errDecodedTooBig):
			return dst, err
		default:
			return dst[:mark], nil
		}
	}
	return dst, nil
}

type flateDecoder struct {
	src bytes.Reader
	zr  io.ReadCloser // zlib
	fr  io.ReadCloser // raw deflate
}

var flateDecoders = sync.Pool{New: func() any { return new(flateDecoder) }}

// inflate decodes "deflate" as urllib3's DeflateDecoder: the zlib format
// (RFC 1950), as the coding is defined, or the raw deflate format (RFC
// 1951) that some servers send instead.
func inflate(dst, src []byte) ([]byte, error) {
	d := flateDecoders.Get().(*flateDecoder)
	defer flateDecoders.Put(d)
	start := len(dst)
	d.src.Reset(src)
	var err error
	if d.zr == nil {
		d.zr, err = zlib.NewReader(&d.src)
	} else {
		err = d.zr.(zlib.Resetter).Reset(&d.src, nil)
	}
	if err == nil {
		if dst, err = readAllLimited(dst, start, d.zr); err == nil || errors.Is(err, errDecodedTooBig) {
			return dst, err
		}
	}
	dst = dst[:start]
	d.src.Reset(src)
	if d.fr == nil {
		d.fr = flate.NewReader(&d.src)
	} else if err := d.fr.(flate.Resetter).Reset(&d.src, nil); err != nil {
		return dst, err
	}
	return readAllLimited(dst, start, d.fr)
}

type brotliDecoder struct {
	src bytes.Reader
	br  *brrr.Reader
}

var brotliDecoders = sync.Pool{New: func() any { return new(brotliDecoder) }}

func unbrotli(dst, src []byte) ([]byte, error) {
	d := brotliDecoders.Get().(*brotliDecoder)
	defer brotliDecoders.Put(d)
	d.src.Reset(src)
	if d.br == nil {
		d.br = brrr.NewReader(&d.src)
	} else {
		d.br.Reset(&d.src)
	}
	return readAllLimited(dst, len(dst), d.br)
}

// zstdDecoder decodes whole zstd bodies (DecodeAll, safe for concurrent
// use, up to GOMAXPROCS at a time); it starts no goroutine.
var zstdDecoder = sync.OnceValues(func() (*zstd.Decoder, error) {
	return zstd.NewReader(nil, zstd.WithDecoderConcurrency(0), zstd.WithDecoderMaxMemory(maxDecodedBody))
})

func unzstd(dst, src []byte) ([]byte, error) {
	d, err := zstdDecoder()
	if err != nil {
		return dst, err
	}
	out, err := d.DecodeAll(src, dst)
	if errors.Is(err, zstd.ErrDecoderSizeExceeded) {
		err = errDecodedTooBig
	}
	if err != nil {
		return dst, err
	}
	return out, nil
}
