package scenario

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/klauspost/compress/zstd"
	brrr "github.com/molecule-man/go-brrr"
	"github.com/valyala/fasthttp"
)

// encode compresses b with the named coding, as a server would.
func encode(tb testing.TB, name string, b []byte) []byte {
	tb.Helper()
	var buf bytes.Buffer
	var w io.WriteCloser
	var err error
	switch name {
	case "gzip":
		w = gzip.NewWriter(&buf)
	case "zlib":
		w = zlib.NewWriter(&buf)
	case "raw-deflate":
		w, err = flate.NewWriter(&buf, flate.BestSpeed)
	case "br":
		w, err = brrr.NewWriter(&buf, 5)
	case "zstd":
		var e *zstd.Encoder
		if e, err = zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1)); err == nil {
			out := e.EncodeAll(b, nil)
			e.Close()
			return out
		}
	default:
		tb.Fatalf("unknown coding %q", name)
	}
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := w.Write(b); err != nil {
		tb.Fatal(err)
	}
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

func TestContentCodings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		header string
		want   []coding
		value  string
		known  bool
		err    string
	}{
		{header: "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n\r\n", want: []coding{codingGzip}, value: "gzip", known: true},
		{header: "HTTP/1.1 200 OK\ncontent-encoding:X-GZip\n\n", want: []coding{codingGzip}, value: "X-GZip", known: true},
		{header: "HTTP/1.1 200 OK\r\nContent-Encoding: deflate, br\r\nContent-Encoding: zstd\r\n\r\n",
			want: []coding{codingDeflate, codingBrotli, codingZstd}, value: "deflate, br, zstd", known: true},
		{header: "HTTP/1.1 200 OK\r\nContent-Encoding: identity\r\n\r\n", value: "identity", known: true},
		{header: "HTTP/1.1 200 OK\r\nContent-Encoding: \r\n\r\n", known: true},
		{header: "HTTP/1.1 200 OK\r\nContent-Encoding: compress\r\n\r\n", want: nil, value: "compress"},
		{header: "HTTP/1.1 200 OK\r\nContent-Encoding: gzip, snappy\r\n\r\n", want: []coding{codingGzip}, value: "gzip, snappy"},
		{header: "HTTP/1.1 200 OK\r\nContent-Encoding: gzip,gzip,gzip,gzip,gzip,gzip\r\n\r\n",
			value: "gzip, gzip, gzip, gzip, gzip, gzip", known: true, err: "too many content codings (6 > 5)"},
		{header: "HTTP/1.1 200 OK\r\nX-Content-Encoding: gzip\r\n\r\n", known: true},
	}
	for _, tc := range tests {
		cs, known, err := contentCodings([]byte(tc.header))
		value := codingValue([]byte(tc.header))
		if fmt.Sprint(cs.list()) != fmt.Sprint(tc.want) || value != tc.value || known != tc.known || errText(err) != tc.err {
			t.Errorf("%q: %v %q %v %v, want %v %q %v %q", tc.header, cs.list(), value, known, err, tc.want, tc.value, tc.known, tc.err)
		}
	}
}

func TestDecodeBody(t *testing.T) {
	t.Parallel()
	text := []byte(strings.Repeat("glocust decodes what Locust decodes. ", 300))
	gz := encode(t, "gzip", text)
	tests := []struct {
		name string
		in   []byte
		cs   []coding
		want []byte
		err  string
	}{
		{name: "gzip", in: gz, cs: []coding{codingGzip}, want: text},
		{name: "gzip members", in: append(encode(t, "gzip", []byte("one ")), encode(t, "gzip", []byte("two"))...),
			cs: []coding{codingGzip}, want: []byte("one two")},
		{name: "gzip trailing garbage", in: append(bytes.Clone(gz), "\x00\x00garbage"...), cs: []coding{codingGzip}, want: text},
		{name: "gzip bad second member", in: append(bytes.Clone(gz), gz[:20]...), cs: []coding{codingGzip}, want: text},
		{name: "gzip corrupt", in: gz[:len(gz)/2], cs: []coding{codingGzip}, err: "unexpected EOF"},
		{name: "gzip not gzip", in: text, cs: []coding{codingGzip}, err: "gzip: invalid header"},
		{name: "deflate zlib", in: encode(t, "zlib", text), cs: []coding{codingDeflate}, want: text},
		{name: "deflate raw", in: encode(t, "raw-deflate", text), cs: []coding{codingDeflate}, want: text},
		{name: "deflate corrupt", in: []byte("not deflate at all"), cs: []coding{codingDeflate}, err: "flate: corrupt input"},
		{name: "br", in: encode(t, "br", text), cs: []coding{codingBrotli}, want: text},
		{name: "br corrupt", in: []byte{0xff, 0xff, 0xff, 0xff}, cs: []coding{codingBrotli}, err: "brotli"},
		{name: "zstd", in: encode(t, "zstd", text), cs: []coding{codingZstd}, want: text},
		{name: "zstd corrupt", in: []byte("not zstd"), cs: []coding{codingZstd}, err: "magic number mismatch"},
		{name: "chain", in: encode(t, "br", encode(t, "gzip", text)), cs: []coding{codingGzip, codingBrotli}, want: text},
		{name: "chain inner corrupt", in: encode(t, "br", []byte("plain text, not gzip")), cs: []coding{codingGzip, codingBrotli}, err: "gzip: invalid header"},
	}
	for _, tc := range tests {
		got, err := decodeBody([]byte("prefix:"), tc.in, tc.cs)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) || string(got) != "prefix:" {
				t.Errorf("%s: %q, %v; want error containing %q and the prefix kept", tc.name, got, err, tc.err)
			}
			continue
		}
		if err != nil || !bytes.Equal(got, append([]byte("prefix:"), tc.want...)) {
			t.Errorf("%s: %.40q, %v; want %.40q", tc.name, got, err, tc.want)
		}
	}
}

// TestDecodeBomb: a small body that decodes to more than maxDecodedBody
// fails instead of filling the generator's memory. The gzip bomb is 65
// members of 1 MiB of zeros (cheaper to make than one member of 65 MiB);
// the limit counts them all.
func TestDecodeBomb(t *testing.T) {
	t.Parallel()
	bombs := map[string][]byte{
		"gzip": bytes.Repeat(encode(t, "gzip", make([]byte, 1<<20)), maxDecodedBody>>20+1),
		"zstd": encode(t, "zstd", make([]byte, maxDecodedBody+1)),
	}
	for name, in := range bombs {
		cs, _, _ := contentCodings([]byte("HTTP/1.1 200 OK\r\nContent-Encoding: " + name + "\r\n\r\n"))
		if _, err := decodeBody(nil, in, cs.list()); !errors.Is(err, errDecodedTooBig) {
			t.Errorf("%s bomb (%d bytes): err = %v, want %v", name, len(in), err, errDecodedTooBig)
		}
	}
}

// TestResponseBodyDecoded: Body decodes, ReceivedBody does not, and a body
// that cannot be decoded sets Err.
func TestResponseBodyDecoded(t *testing.T) {
	t.Parallel()
	gz := encode(t, "gzip", []byte("hello"))
	in := fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n%s", len(gz), gz)
	var r Response
	w, err := readWire(in, false, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	r.w = w
	if got := r.Body(); string(got) != "hello" || !bytes.Equal(r.ReceivedBody(), gz) || r.Err != nil {
		t.Errorf("Body %q, ReceivedBody %q, Err %v", got, r.ReceivedBody(), r.Err)
	}
	r.clear()
	r.w, _ = readWire("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 16\r\n\r\nnot gzip, plain.", false, 1<<20)
	want := "cannot decode the response body (Content-Encoding: gzip): gzip: invalid header"
	if got := r.Body(); got != nil || errText(r.Err) != want {
		t.Errorf("Body %q, Err %v; want nil and %q", got, r.Err, want)
	}
	if r.db != nil {
		putRbuf(r.db)
	}
}

// codingTarget answers with compressed bodies, framed by Content-Length or
// chunked, and records each request's URI and Accept-Encoding.
type codingTarget struct {
	host string
	mu   sync.Mutex
	seen [][2]string // URI, Accept-Encoding
}

const codingText = "glocust decodes what Locust decodes. "

func newCodingTarget(t *testing.T) *codingTarget {
	t.Helper()
	text := []byte(strings.Repeat(codingText, 100))
	gz := encode(t, "gzip", text)
	sized := func(coding string, body []byte) string {
		return fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Encoding: %s\r\nContent-Length: %d\r\n\r\n%s", coding, len(body), body)
	}
	chunked := func(coding string, body []byte) string {
		var b strings.Builder
		b.WriteString("HTTP/1.1 200 OK\r\nContent-Encoding: " + coding + "\r\nTransfer-Encoding: chunked\r\n\r\n")
		for len(body) > 0 {
			n := min(len(body), len(body)/3+1)
			fmt.Fprintf(&b, "%x\r\n%s\r\n", n, body[:n])
			body = body[n:]
		}
		b.WriteString("0\r\n\r\n")
		return b.String()
	}
	routes := map[string]string{
		"/gzip":         sized("gzip", gz),
		"/gzip-chunked": chunked("gzip", gz),
		"/br":           sized("br", encode(t, "br", text)),
		"/zstd":         chunked("zstd", encode(t, "zstd", text)),
		"/deflate":      sized("deflate", encode(t, "raw-deflate", text)),
		"/json":         chunked("gzip", encode(t, "gzip", []byte(`{"token":"t-42"}`))),
		"/corrupt":      sized("gzip", []byte("not gzip, plain text")),
		"/unknown":      sized("snappy", []byte("raw bytes")),
		"/truncated":    sized("gzip", gz[:60]),
		"/bad-deflate":  sized("deflate", []byte("not deflate at all")),
		"/head":         "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 120\r\n\r\n",
		"/304":          "HTTP/1.1 304 Not Modified\r\nContent-Encoding: gzip\r\n\r\n",
	}
	ct := &codingTarget{}
	ct.host, _ = rawServerFunc(t, func(req *fasthttp.Request, _ int) string {
		uri := string(req.RequestURI())
		ct.mu.Lock()
		ct.seen = append(ct.seen, [2]string{uri, string(req.Header.Peek("Accept-Encoding"))})
		ct.mu.Unlock()
		if r, ok := routes[uri]; ok {
			return r
		}
		return "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
	})
	return ct
}

func (ct *codingTarget) requests() [][2]string {
	ct.mu.Lock()
	defer ct.mu.Unlock()
	return slices.Clone(ct.seen)
}

// TestCompressedResponses runs requests against a target that compresses:
// gzip (Content-Length and chunked), br, zstd and deflate bodies are
// checked with expect_body_contains and extracted from, the decoded length
// is recorded (or, with content_size: received, the received one), and
// Accept-Encoding is Locust's unless configured.
func TestCompressedResponses(t *testing.T) {
	t.Parallel()
	ct := newCodingTarget(t)
	sc, err := Parse("s.yaml", []byte(`users:
  - class: A
    tasks:
      - request: {path: /gzip, expect_body_contains: "Locust decodes"}
      - request: {path: /gzip-chunked, expect_body_contains: "Locust decodes"}
      - request: {path: /br, expect_body_contains: "Locust decodes"}
      - request: {path: /zstd, expect_body_contains: "Locust decodes"}
      - request: {path: /deflate, expect_body_contains: "Locust decodes"}
      - request: {path: /json, extract: {tok: {json: token}}}
      - request: {path: "/echo/${tok}", expect_body_contains: "${tok}", expect_status: 200}
      - request: {path: /corrupt}
      - request: {path: /unknown, expect_body_contains: raw bytes}
      - request: {path: /gzip, name: identity, headers: {accept-encoding: identity}}
      - request: {method: HEAD, path: /head}
      - request: {path: /truncated}
      - request: {path: /bad-deflate}
      - request: {path: /304}
  - class: B
    http: {accept_encoding: none, content_size: received}
    tasks:
      - request: {path: /gzip}
      - request: {path: /gzip, name: checked, expect_body_contains: "Locust decodes"}
      - request: {path: /corrupt}
      - request: {path: /corrupt, name: corrupt checked, expect_body_contains: x}
  - class: C
    http: {accept_encoding: "gzip;q=1.0, identity; q=0.5"}
    tasks: [{request: {path: /c}}]
`))
	if err != nil {
		t.Fatal(err)
	}
	st := newFakeStats()
	r := NewRunner(nil, st)
	defer r.Close()
	for _, c := range sc.Classes {
		runTasks(t, classUser(t, r, c, ct.host), c)
	}
	text := strings.Repeat(codingText, 100)
	gzLen := int64(len(encode(t, "gzip", []byte(text))))
	corrupt := `cannot decode the response body (Content-Encoding: gzip): gzip: invalid header`
	want := []rec{
		{name: "/gzip", length: int64(len(text))},
		{name: "/gzip-chunked", length: int64(len(text))},
		{name: "/br", length: int64(len(text))},
		{name: "/zstd", length: int64(len(text))},
		{name: "/deflate", length: int64(len(text))},
		{name: "/json", length: int64(len(`{"token":"t-42"}`))},
		{name: "/echo/${tok}", length: 2, fail: true, err: `response body does not contain "t-42"`},
		{name: "/corrupt", fail: true, err: corrupt},
		{name: "/unknown", length: int64(len("raw bytes"))},
		{name: "identity", length: int64(len(text))},
		{name: "/head", method: "HEAD"},
		{name: "/truncated", fail: true, err: "cannot decode the response body (Content-Encoding: gzip): unexpected EOF"},
		{name: "/bad-deflate", fail: true, err: "cannot decode the response body (Content-Encoding: deflate): flate: corrupt input"},
		{name: "/304"},
		{name: "/gzip", length: gzLen},
		{name: "checked", length: gzLen},
		{name: "/corrupt", length: int64(len("not gzip, plain text"))},
		{name: "corrupt checked", length: int64(len("not gzip, plain text")), fail: true, err: corrupt},
		{name: "/c", length: 2},
	}
	got := st.all()
	if len(got) != len(want) {
		t.Fatalf("records %+v", got)
	}
	for i, w := range want {
		g := got[i]
		g.rt = 0
		if w.method == "" {
			w.method = "GET"
		}
		if g != w {
			t.Errorf("record %d = %+v, want %+v", i, g, w)
		}
	}
	seen := ct.requests()
	wantAE := map[string]string{"/gzip": DefaultAcceptEncoding, "/echo/t-42": DefaultAcceptEncoding, "/c": "gzip;q=1.0, identity; q=0.5"}
	var identity, none int
	for _, s := range seen {
		if w, ok := wantAE[s[0]]; ok && s[1] != w && s[1] != "identity" && s[1] != "" {
			t.Errorf("%s: Accept-Encoding %q, want %q", s[0], s[1], w)
		}
		switch s[1] {
		case "identity":
			identity++
		case "":
			none++
		}
	}
	if identity != 1 || none != 4 {
		t.Errorf("requests with Accept-Encoding identity: %d (want 1), without: %d (want class B's 4): %q", identity, none, seen)
	}
}

// codedSeeds are responses with compressed bodies, for FuzzResponse.
func codedSeeds(tb testing.TB) []string {
	text := []byte(`{"token":"abc","items":[1,2,3]}`)
	var out []string
	for _, c := range [][2]string{{"gzip", "gzip"}, {"deflate", "zlib"}, {"deflate", "raw-deflate"}, {"br", "br"}, {"zstd", "zstd"}} {
		b := encode(tb, c[1], text)
		out = append(out,
			fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Encoding: %s\r\nContent-Length: %d\r\n\r\n%s", c[0], len(b), b),
			fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Encoding: %s\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n", c[0], len(b), b))
	}
	two := encode(tb, "br", encode(tb, "gzip", text))
	out = append(out, fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Encoding: br\r\nContent-Length: %d\r\n\r\n%s", len(two), two))
	return out
}

// checkDecoded decodes a response read by FuzzResponse as Response.Body
// does: a failure must be a *DecodeError, a body no larger than
// maxDecodedBody; an empty body is not decoded; a single gzip or deflate
// coding must decode as the standard library decodes it (gzip: its first
// member).
func checkDecoded(t *testing.T, w wireResponse) {
	resp := Response{w: w}
	defer func() {
		if resp.db != nil {
			putRbuf(resp.db)
		}
	}()
	body, err := resp.body()
	var de *DecodeError
	if err != nil && !errors.As(err, &de) {
		t.Fatalf("decoding: %T %v", err, err)
	}
	if len(body) > maxDecodedBody {
		t.Fatalf("decoded %d bytes", len(body))
	}
	if !w.coded || len(w.body) == 0 {
		if err != nil || !bytes.Equal(body, w.body) {
			t.Fatalf("no Content-Encoding or no body, yet body %q err %v", body, err)
		}
		return
	}
	list, known, cerr := contentCodings(w.header)
	cs := list.list()
	if cerr != nil || !known || len(cs) != 1 || cs[0] > codingDeflate {
		return
	}
	ref, rerr := stdlibDecode(cs[0], w.body)
	switch {
	case errors.Is(err, errDecodedTooBig) || len(ref) > maxDecodedBody:
	case (rerr == nil) != (err == nil):
		t.Fatalf("%s: error %v, the standard library's %v", cs[0], err, rerr)
	case err == nil && (!bytes.HasPrefix(body, ref) || cs[0] == codingDeflate && len(body) != len(ref)):
		t.Fatalf("%s: decoded %q, the standard library %q", cs[0], body, ref)
	}
}

// stdlibDecode decodes gzip's first member, or deflate as zlib else raw,
// with the standard library.
func stdlibDecode(c coding, b []byte) ([]byte, error) {
	limit := func(r io.Reader) ([]byte, error) { return io.ReadAll(io.LimitReader(r, maxDecodedBody+1)) }
	if c == codingGzip {
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return nil, err
		}
		zr.Multistream(false)
		return limit(zr)
	}
	if zr, err := zlib.NewReader(bytes.NewReader(b)); err == nil {
		if out, err := limit(zr); err == nil {
			return out, nil
		}
	}
	return limit(flate.NewReader(bytes.NewReader(b)))
}

// TestAcceptEncodingConfig: the Go API's HTTPConfig.AcceptEncoding.
func TestAcceptEncodingConfig(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"": DefaultAcceptEncoding, NoAcceptEncoding: "", "br": "br"} {
		if got := (&HTTPConfig{AcceptEncoding: in}).acceptEncoding(); got != want {
			t.Errorf("AcceptEncoding %q sends %q, want %q", in, got, want)
		}
	}
	c := &Class{Name: "A", Tasks: []Task{{Fn: func(context.Context, *UserContext) error { return nil }}},
		HTTP: HTTPConfig{AcceptEncoding: "gzip\r\nX-Injected: 1"}}
	if err := c.Validate(); !errors.Is(err, ErrInvalidClass) || !strings.Contains(err.Error(), "http.accept_encoding: a line break") {
		t.Errorf("Validate = %v", err)
	}
}
