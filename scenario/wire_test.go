package scenario

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/iotest"

	"github.com/valyala/fasthttp"
)

// chunkReader returns at most n bytes per Read.
type chunkReader struct {
	b []byte
	n int
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	m := min(len(p), r.n, len(r.b))
	copy(p, r.b[:m])
	r.b = r.b[m:]
	return m, nil
}

func readWire(in string, head bool, step int) (wireResponse, error) {
	rr := respReader{r: &chunkReader{b: []byte(in), n: step}, buf: make([]byte, 16)}
	var w wireResponse
	err := rr.readResponse(head, &w)
	return w, err
}

func TestReadResponse(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("x", 100000)
	tests := []struct {
		name   string
		in     string
		head   bool
		status int
		body   string
		close  bool
		cookie bool
		hdr    string // expected header bytes (default: up to the blank line)
		err    error
		errSub string
	}{
		{name: "content-length", in: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok", status: 200, body: "ok"},
		{name: "lower-case names, no reason", in: "HTTP/1.1 404\r\ncontent-length:  3 \r\n\r\nnot", status: 404, body: "not"},
		{name: "bare LF", in: "HTTP/1.1 200 OK\nContent-Length: 2\n\nok", status: 200, body: "ok"},
		{name: "zero length", in: "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", status: 200},
		{name: "big body", in: "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + big, status: 200, body: big},
		{name: "chunked", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\n\r\n",
			status: 200, body: "hello, world"},
		{name: "chunked upper-case hex, trailers, LF", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, Chunked\r\n\r\nA\r\n0123456789\n0\r\nX-Trailer: 1\r\n\r\n",
			status: 200, body: "0123456789"},
		{name: "chunked wins over content-length", in: "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
			status: 200, body: "ok"},
		{name: "chunked big", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n186a0\r\n" + big + "\r\n0\r\n\r\n", status: 200, body: big},
		{name: "until close", in: "HTTP/1.1 200 OK\r\n\r\nall of it", status: 200, body: "all of it", close: true},
		{name: "other transfer-encoding: until close", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nContent-Length: 2\r\n\r\nabcd", status: 200, body: "abcd", close: true},
		{name: "connection close", in: "HTTP/1.1 200 OK\r\nConnection: Keep-Alive, Close\r\nContent-Length: 2\r\n\r\nok", status: 200, body: "ok", close: true},
		{name: "http/1.0", in: "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", status: 200, body: "ok", close: true},
		{name: "http/1.0 keep-alive", in: "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok", status: 200, body: "ok"},
		{name: "extra bytes", in: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1", status: 200, body: "ok", close: true},
		{name: "204 ignores content-length", in: "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n", status: 204},
		{name: "304", in: "HTTP/1.1 304 Not Modified\r\n\r\n", status: 304},
		{name: "head", in: "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n", head: true, status: 200},
		{name: "interim responses", in: "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 1\r\n\r\n!",
			status: 201, body: "!", hdr: "HTTP/1.1 201 Created\r\nContent-Length: 1\r\n\r\n"},
		{name: "set-cookie", in: "HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nContent-Length: 0\r\n\r\n", status: 200, cookie: true},
		{name: "folded line", in: "HTTP/1.1 200 OK\r\nX-A: 1\r\n  2\r\nContent-Length: 0\r\n\r\n", status: 200},
		{name: "eof at once", in: "", err: io.EOF},
		{name: "eof in header", in: "HTTP/1.1 200 OK\r\nContent-Len", err: io.ErrUnexpectedEOF},
		{name: "eof in body", in: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nok", err: io.ErrUnexpectedEOF},
		{name: "eof in chunk", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nok", err: io.ErrUnexpectedEOF},
		{name: "eof before last chunk", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n", err: io.ErrUnexpectedEOF},
		{name: "garbage", in: "SSH-2.0-OpenSSH\r\n", err: errMalformed, errSub: "status line"},
		{name: "garbage without newline", in: "<html>", err: errMalformed},
		{name: "bad status", in: "HTTP/1.1 2x0 OK\r\n\r\n", err: errMalformed},
		{name: "status below 100", in: "HTTP/1.1 099 OK\r\n\r\n", err: errMalformed},
		{name: "bad content-length", in: "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", err: errMalformed, errSub: "Content-Length"},
		{name: "conflicting content-length", in: "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nok", err: errMalformed},
		{name: "header line without colon", in: "HTTP/1.1 200 OK\r\nbogus\r\n\r\n", err: errMalformed},
		{name: "bad chunk size", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", err: errMalformed},
		{name: "chunk overflow", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\n", err: errMalformed},
		{name: "chunk without crlf", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nokX0\r\n\r\n", err: errMalformed},
		{name: "header too large", in: "HTTP/1.1 200 OK\r\nX: " + strings.Repeat("a", maxHeaderBytes) + "\r\n\r\n", err: errMalformed, errSub: "64 KiB"},
	}
	for _, tc := range tests {
		for _, step := range []int{1, 7, 1 << 20} {
			w, err := readWire(tc.in, tc.head, step)
			if tc.err != nil {
				if !errors.Is(err, tc.err) || !strings.Contains(errText(err), tc.errSub) {
					t.Errorf("%s (step %d): err = %v, want %v", tc.name, step, err, tc.err)
				}
				continue
			}
			if err != nil {
				t.Errorf("%s (step %d): %v", tc.name, step, err)
				continue
			}
			wantClose := tc.close
			if tc.name == "extra bytes" && step < len(tc.in) {
				wantClose = w.close // whether the extra bytes were read yet depends on the reads
			}
			if w.status != tc.status || string(w.body) != tc.body || w.close != wantClose || w.setCookie != tc.cookie {
				t.Errorf("%s (step %d): status %d body %.20q close %v cookie %v, want %d %.20q %v %v",
					tc.name, step, w.status, w.body, w.close, w.setCookie, tc.status, tc.body, tc.close, tc.cookie)
			}
			hdr := tc.hdr
			if hdr == "" {
				hdr = tc.in[:strings.Index(tc.in, "\n\n")+2]
				if i := strings.Index(tc.in, "\r\n\r\n"); i >= 0 {
					hdr = tc.in[:i+4]
				}
			}
			if string(w.header) != hdr {
				t.Errorf("%s (step %d): header %q, want %q", tc.name, step, w.header, hdr)
			}
		}
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// TestReadResponseReadErrors: a read error other than EOF is returned as is.
func TestReadResponseReadErrors(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	rr := respReader{r: io.MultiReader(strings.NewReader("HTTP/1.1 200 OK\r\n"), iotest.ErrReader(boom)), buf: make([]byte, 64)}
	var w wireResponse
	if err := rr.readResponse(false, &w); err != boom {
		t.Errorf("err = %v", err)
	}
}

// FuzzResponse checks the response reader against fasthttp's: it must
// never panic or read past the input, and where both accept a response
// they must agree on its status, body and whether the connection can be
// reused.
func FuzzResponse(f *testing.F) {
	for _, s := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n0\r\nT: 1\r\n\r\n",
		"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\nx",
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
		"HTTP/1.1 301 Moved\r\nLocation: /x\r\nSet-Cookie: a=b\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nbody until close",
		"HTTP/1.1 500 Internal Server Error\nContent-Length: 3\n\nerr",
	} {
		f.Add([]byte(s), false, uint8(0))
		f.Add([]byte(s), true, uint8(3))
	}
	for _, s := range codedSeeds(f) {
		f.Add([]byte(s), false, uint8(0))
		f.Add([]byte(s), false, uint8(5))
	}
	f.Fuzz(func(t *testing.T, in []byte, head bool, step uint8) {
		rr := respReader{r: &chunkReader{b: in, n: int(step) + 1}, buf: make([]byte, 0, 8)}
		var w wireResponse
		err := rr.readResponse(head, &w)
		if err != nil {
			if !errors.Is(err, errMalformed) && err != io.EOF && err != io.ErrUnexpectedEOF {
				t.Fatalf("unexpected error type %T: %v", err, err)
			}
			return
		}
		if rr.n > len(in) {
			t.Fatalf("read %d bytes of %d", rr.n, len(in))
		}
		if len(w.body) > len(in) || len(w.header) == 0 || !bytes.Contains(in, w.header) {
			t.Fatalf("header %q or body %q not from the input", w.header, w.body)
		}
		if w.status < 100 || w.status > 999 {
			t.Fatalf("status %d", w.status)
		}
		checkDecoded(t, w)
		// fasthttp, reading the same bytes.
		fr := fasthttp.AcquireResponse()
		defer fasthttp.ReleaseResponse(fr)
		fr.SkipBody = head
		br := bufio.NewReaderSize(bytes.NewReader(in), 1<<17)
		if fr.Read(br) != nil {
			return // fasthttp is stricter here
		}
		if !agreeableForFasthttp(in) {
			return
		}
		if fr.StatusCode() != w.status {
			t.Fatalf("status %d, fasthttp %d", w.status, fr.StatusCode())
		}
		if !head && !bytes.Equal(fr.Body(), w.body) {
			t.Fatalf("body %q, fasthttp %q", w.body, fr.Body())
		}
		// A response to HEAD has no body whatever its header says, so the
		// connection stays usable even without framing (fasthttp closes it).
		if fr.ConnectionClose() && !w.close && !head {
			t.Fatalf("fasthttp closes, we reuse")
		}
	})
}

// agreeableForFasthttp leaves out inputs where fasthttp knowingly differs
// (it accepts things this reader treats differently): header names with
// odd bytes or spaces, repeated framing fields, folded lines, and versions other than
// HTTP/1.0 and 1.1 (this reader treats HTTP/1.2 as 1.1, as RFC 9112 section
// 2.6 asks; fasthttp treats anything but "HTTP/1.1" as an older version and
// closes).
func agreeableForFasthttp(in []byte) bool {
	for rest := in; ; {
		i := bytes.Index(rest, []byte("HTTP/"))
		if i < 0 {
			break
		}
		rest = rest[i+5:]
		if !bytes.HasPrefix(rest, []byte("1.0 ")) && !bytes.HasPrefix(rest, []byte("1.1 ")) {
			return false // also after a 1xx response
		}
	}
	hdr, _, _ := bytes.Cut(in, []byte("\n\n"))
	hdr, _, _ = bytes.Cut(hdr, []byte("\r\n\r\n"))
	lower := bytes.ToLower(hdr)
	for _, f := range []string{"content-length", "transfer-encoding", "connection"} {
		if bytes.Count(lower, []byte(f)) > 1 {
			return false
		}
	}
	for _, c := range hdr {
		if c < 0x20 && c != '\r' && c != '\n' || c >= 0x7f {
			return false
		}
	}
	for i, line := range bytes.Split(hdr, []byte("\n")) {
		if name, _, ok := bytes.Cut(line, []byte(":")); i > 0 && ok && bytes.ContainsAny(name, " \t") {
			return false // a space in a header name: fasthttp gives up on the connection
		}
	}
	return !bytes.Contains(hdr, []byte("\n ")) && !bytes.Contains(hdr, []byte("\n\t"))
}

// rawServer answers each request on a connection with the next of
// responses (the last one repeats), counting connections.
func rawServer(t *testing.T, responses ...string) (host string, conns *atomic.Int32) {
	t.Helper()
	return rawServerFunc(t, func(_ *fasthttp.Request, i int) string { return responses[min(i, len(responses)-1)] })
}

// rawServerFunc answers the i-th request on a connection with the bytes
// answer returns for it ("": close without answering), counting
// connections. answer runs on the server's goroutines.
func rawServerFunc(t *testing.T, answer func(req *fasthttp.Request, i int) string) (host string, conns *atomic.Int32) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	conns = new(atomic.Int32)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var open []net.Conn
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			mu.Lock()
			open = append(open, c)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				br := bufio.NewReader(c)
				for i := 0; ; i++ {
					var req fasthttp.Request
					if err := req.Read(br); err != nil {
						return
					}
					resp := answer(&req, i)
					if resp == "" {
						return // close without answering
					}
					if _, err := io.WriteString(c, resp); err != nil {
						return
					}
				}
			}()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		for _, c := range open {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return "http://" + l.Addr().String(), conns
}

func TestHTTPResponseFraming(t *testing.T) {
	t.Parallel()
	host, conns := rawServer(t,
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-Test: a\r\nX-Test: b\r\nSet-Cookie: s=1; Path=/\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nnext",
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nextraHTTP/1.1 200 OK\r\n\r\n", // extra bytes: not reused
	)
	st := newFakeStats()
	r := NewRunner(nil, st)
	defer r.Close()
	u := testUser(t, r, host)
	ctx := context.Background()
	resp := u.HTTP.Get(ctx, "/a", "")
	if !resp.OK() || string(resp.Body()) != "hello world" || resp.StatusCode != 200 {
		t.Fatalf("chunked: %v %d %q", resp.Err, resp.StatusCode, resp.Body())
	}
	if got := resp.Header("x-test"); got != "a" {
		t.Errorf("Header(x-test) = %q", got)
	}
	if raw := resp.Raw(); raw == nil || raw.StatusCode() != 200 || string(raw.Body()) != "hello world" ||
		string(raw.Header.Peek("X-Test")) != "a" || countSeq(raw.Header.Cookies()) != 1 {
		t.Errorf("Raw = %v", raw)
	}
	if resp := u.HTTP.Get(ctx, "/b", ""); !resp.OK() || string(resp.Body()) != "next" {
		t.Fatalf("after 100 Continue: %v %q", resp.Err, resp.Body())
	}
	if resp := u.HTTP.Get(ctx, "/c", ""); !resp.OK() || string(resp.Body()) != "extra" {
		t.Fatalf("extra bytes: %v %q", resp.Err, resp.Body())
	}
	if got := conns.Load(); got != 1 {
		t.Errorf("connections = %d, want 1 before the extra bytes", got)
	}
	// The connection with extra bytes was dropped: a new one, whose
	// first answer is the chunked one again, and the cookie is sent.
	if resp := u.HTTP.Get(ctx, "/d", ""); !resp.OK() || string(resp.Body()) != "hello world" {
		t.Fatalf("after redial: %v %q", resp.Err, resp.Body())
	}
	if got := conns.Load(); got != 2 {
		t.Errorf("connections = %d, want 2", got)
	}
	u.HTTP.endTask()
	if resp := u.HTTP.Get(ctx, "/e", ""); !resp.OK() || string(resp.Body()) != "next" {
		t.Fatalf("after endTask: %v %q", resp.Err, resp.Body())
	}
	host2, _ := rawServer(t, "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\n\r\nbusy")
	if resp := u.HTTP.Get(ctx, host2+"/g", ""); resp.OK() || resp.StatusCode != 503 || string(resp.Body()) != "busy" {
		t.Fatalf("503: %v %d %q", resp.Err, resp.StatusCode, resp.Body())
	}
	recs := st.all()
	if len(recs) != 6 || recs[5].err != "HTTP 503 Service Unavailable" || recs[5].length != 4 || recs[0].length != 11 {
		t.Errorf("records %+v", recs)
	}
}

func countSeq[K, V any](seq func(func(K, V) bool)) int {
	n := 0
	for range seq {
		n++
	}
	return n
}

func TestHTTPMalformedResponse(t *testing.T) {
	t.Parallel()
	host, _ := rawServer(t, "HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n")
	st := newFakeStats()
	r := NewRunner(nil, st)
	defer r.Close()
	u := testUser(t, r, host)
	if resp := u.HTTP.Get(context.Background(), "/", ""); resp.OK() || resp.StatusCode != 0 {
		t.Fatalf("malformed: %v %d", resp.Err, resp.StatusCode)
	}
	if recs := st.all(); len(recs) != 1 || recs[0].err != "malformed HTTP response: invalid Content-Length" {
		t.Errorf("records %+v", recs)
	}
}

// TestHTTPServerClosesKeepAlive: a server that closes a kept-alive
// connection without answering makes the client redial once.
func TestHTTPServerClosesKeepAlive(t *testing.T) {
	t.Parallel()
	host, conns := rawServer(t, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", "")
	st := newFakeStats()
	r := NewRunner(nil, st)
	defer r.Close()
	u := testUser(t, r, host)
	for i := range 3 {
		if resp := u.HTTP.Get(context.Background(), "/", ""); !resp.OK() {
			t.Fatalf("request %d: %v", i, resp.Err)
		}
	}
	if got := conns.Load(); got != 3 {
		t.Errorf("connections = %d, want 3", got)
	}
}
