package scenario

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// loopbackServer starts a fasthttp server on 127.0.0.1 answering "hello,
// world"; with a certificate, over TLS.
func loopbackServer(tb testing.TB, cert ...tls.Certificate) string {
	tb.Helper()
	return loopbackServerWith(tb, func(ctx *fasthttp.RequestCtx) {
		ctx.SetContentType("text/plain")
		ctx.SetBodyString("hello, world")
	}, cert...)
}

// loopbackServerWith starts a fasthttp server on 127.0.0.1 answering with
// handler; with a certificate, over TLS.
func loopbackServerWith(tb testing.TB, handler fasthttp.RequestHandler, cert ...tls.Certificate) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	scheme := "http://"
	if len(cert) > 0 {
		l = tls.NewListener(l, &tls.Config{Certificates: cert})
		scheme = "https://"
	}
	srv := &fasthttp.Server{MaxIdleWorkerDuration: 5 * time.Millisecond, Handler: handler}
	done := make(chan struct{})
	go func() { defer close(done); srv.Serve(l) }()
	tb.Cleanup(func() { srv.Shutdown(); <-done })
	return scheme + l.Addr().String()
}

// benchDo runs one user's request loop with prof against host.
func benchDo(b *testing.B, host string, prof *httpProfile, opts ...RunnerOption) {
	r := NewRunner(nil, newBenchStats(), opts...)
	defer r.Close()
	u := testUserWith(b, r, host, prof, 1)
	req := &Request{URL: "/bench", Header: map[string][]string{"Accept": {"text/plain"}}}
	ctx := context.Background()
	if resp := u.HTTP.Do(ctx, req); !resp.OK() {
		b.Fatal(resp.Err)
	}
	u.HTTP.endTask()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if resp := u.HTTP.Do(ctx, req); !resp.OK() {
			b.Fatal(resp.Err)
		}
		u.HTTP.endTask()
	}
}

// BenchmarkDoTLS is BenchmarkDo over HTTPS (keep-alive).
func BenchmarkDoTLS(b *testing.B) {
	host := loopbackServer(b, loopbackCert(b, "bench", nil).tlsCert())
	benchDo(b, host, newProfile(HTTPConfig{TLS: TLSConfig{Insecure: true}}, nil))
}

// BenchmarkDoTLSClose measures a new connection per request over HTTPS
// (connection: close): the TLS handshake, full or resumed.
func BenchmarkDoTLSClose(b *testing.B) {
	host := loopbackServer(b, loopbackCert(b, "bench", nil).tlsCert())
	for _, resume := range []bool{false, true} {
		b.Run(fmt.Sprintf("resumption=%v", resume), func(b *testing.B) {
			benchDo(b, host, newProfile(HTTPConfig{ConnectionClose: true, TLS: TLSConfig{Insecure: true, SessionResumption: resume}}, nil))
		})
	}
}

// BenchmarkDoByName is BenchmarkDo with a host name instead of an address:
// the hot path then also checks whether the name was resolved again.
func BenchmarkDoByName(b *testing.B) {
	host := loopbackServer(b)
	res := newFakeResolver()
	res.set("bench.test", "127.0.0.1")
	benchDo(b, strings.Replace(host, "127.0.0.1", "bench.test", 1), newProfile(HTTPConfig{}, nil), WithResolver(res))
}

// BenchmarkDo measures one user's request loop (the hot path: prepared
// request, cookie jar, stats record) against a loopback fasthttp server.
func BenchmarkDo(b *testing.B) {
	benchDo(b, loopbackServer(b), newProfile(HTTPConfig{}, nil))
}

// benchJSON is a 2 KiB JSON body, as an API answers.
var benchJSON = []byte(`{"items":[` + strings.Repeat(`{"id":12345,"name":"glocust item","tags":["load","test"],"price":19.99},`, 28) + `{"id":0}]}`)

// BenchmarkDoGzip states the cost of compressed responses: benchJSON sent
// plain, sent gzipped and decoded (the default, for the content size
// Locust reports), and sent gzipped and not decoded (content_size:
// received), against a loopback fasthttp server.
func BenchmarkDoGzip(b *testing.B) {
	gz := encode(b, "gzip", benchJSON)
	for _, tc := range []struct {
		name string
		gzip bool
		cfg  HTTPConfig
	}{{"plain", false, HTTPConfig{}}, {"gzip-decoded", true, HTTPConfig{}}, {"gzip-received", true, HTTPConfig{ReceivedContentSize: true}}} {
		b.Run(tc.name, func(b *testing.B) {
			host := loopbackServerWith(b, func(ctx *fasthttp.RequestCtx) {
				ctx.SetContentType("application/json")
				if !tc.gzip {
					ctx.SetBody(benchJSON)
					return
				}
				ctx.Response.Header.Set("Content-Encoding", "gzip")
				ctx.SetBody(gz)
			})
			benchDo(b, host, newProfile(tc.cfg, nil))
		})
	}
}

// BenchmarkGunzip is the decoding alone of benchJSON gzipped.
func BenchmarkGunzip(b *testing.B) {
	gz := encode(b, "gzip", benchJSON)
	dst := make([]byte, 0, 2*len(benchJSON))
	b.ReportAllocs()
	b.SetBytes(int64(len(benchJSON)))
	for range b.N {
		var err error
		if dst, err = decodeBody(dst[:0], gz, []coding{codingGzip}); err != nil || len(dst) != len(benchJSON) {
			b.Fatal(err)
		}
	}
}

// BenchmarkDoTemplate compares a templated request (one path variable and
// one header variable, rendered per request) with the same request
// without templates (rendered once), against a loopback fasthttp server.
func BenchmarkDoTemplate(b *testing.B) {
	host := loopbackServer(b)
	sc, err := Parse("bench.yaml", []byte(`vars: {id: "42", tok: abcdef0123456789}
users:
  - class: A
    tasks:
      - request: {path: /items/42, headers: {Authorization: "Bearer abcdef0123456789"}}
      - request: {path: "/items/${id}", headers: {Authorization: "Bearer ${tok}"}}
`))
	if err != nil {
		b.Fatal(err)
	}
	c := sc.Classes[0]
	for i, name := range []string{"untemplated", "templated"} {
		b.Run(name, func(b *testing.B) {
			benchTask(b, c, host, i)
		})
	}
}

// BenchmarkDoChecks states the cost of response checks on benchJSON (2
// KiB): the same request without checks, with expect_json (three paths,
// one with [*] over the 29 items), expect_header and expect_max_ms, and
// with templated values, against a loopback fasthttp server.
func BenchmarkDoChecks(b *testing.B) {
	host := loopbackServerWith(b, func(ctx *fasthttp.RequestCtx) {
		ctx.SetContentType("application/json")
		ctx.SetBody(benchJSON)
	})
	sc, err := Parse("bench.yaml", []byte(`vars: {id: "0", ct: json}
users:
  - class: A
    tasks:
      - request: {path: /items}
      - request:
          path: /items
          expect_json: {"items[0].id": 12345, "items[-1].id": {type: integer}, "items[*].tags": {type: array}}
          expect_header: {Content-Type: {contains: json}}
          expect_max_ms: 5000
      - request:
          path: /items
          expect_json: {"items[-1].id": "${id}"}
          expect_header: {Content-Type: {contains: "${ct}"}}
`))
	if err != nil {
		b.Fatal(err)
	}
	c := sc.Classes[0]
	for i, name := range []string{"none", "checks", "templated"} {
		b.Run(name, func(b *testing.B) {
			st := newFakeStats() // the checks pass
			r0 := NewRunner(nil, st)
			defer r0.Close()
			c.Tasks[i].Fn(context.Background(), classUser(b, r0, c, host))
			if recs := st.all(); len(recs) != 1 || recs[0].fail {
				b.Fatalf("records = %+v, want one success", recs)
			}
			benchTask(b, c, host, i)
		})
	}
}

// BenchmarkDoParallel runs the same with one user per goroutine.
func BenchmarkDoParallel(b *testing.B) {
	host := loopbackServer(b)
	r := NewRunner(nil, newBenchStats())
	defer r.Close()
	req := &Request{URL: "/bench"}
	b.ReportAllocs()
	b.SetParallelism(4)
	b.RunParallel(func(pb *testing.PB) {
		u := testUser(b, r, host)
		ctx := context.Background()
		for pb.Next() {
			u.HTTP.Do(ctx, req)
			u.HTTP.endTask()
		}
	})
}

type benchStats struct{}
type benchEntry struct{}

func newBenchStats() Stats                                               { return benchStats{} }
func (benchStats) Lookup(string, string) EntryRecorder                   { return benchEntry{} }
func (benchEntry) Record(time.Time, time.Duration, int64)                {}
func (benchEntry) RecordFailure(time.Time, time.Duration, int64, string) {}

// TestIdleUserMemory checks the memory an idle (waiting) user costs.
func TestIdleUserMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("memory measurement")
	}
	const n = 2000
	c := &Class{Name: "Idle", WaitTime: Constant(time.Hour),
		Tasks: []Task{{Fn: func(context.Context, *UserContext) error { return nil }}}}
	r := NewRunner([]*Class{c}, nil)
	defer r.Close()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	r.Apply(counts("Idle", n))
	time.Sleep(200 * time.Millisecond) // every user ran its task and waits
	runtime.GC()
	runtime.ReadMemStats(&after)
	perUser := (int64(after.HeapAlloc+after.StackInuse) - int64(before.HeapAlloc+before.StackInuse)) / n
	t.Logf("idle user: %d bytes (heap+stack)", perUser)
	if perUser > 10<<10 {
		t.Errorf("idle user costs %d bytes, want <= 10 KiB", perUser)
	}
}

// nginxResponse is what bench/nginx.conf answers.
const nginxResponse = "HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Fri, 27 Nov 2026 01:12:52 GMT\r\n" +
	"Content-Type: text/plain\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok"

// BenchmarkReadResponse measures the client's response parser on nginx's
// answer; BenchmarkReadResponseFasthttp is fasthttp's, which it replaced.
func BenchmarkReadResponse(b *testing.B) {
	src := strings.NewReader(nginxResponse)
	buf := make([]byte, rbufSize)
	var w wireResponse
	b.ReportAllocs()
	for range b.N {
		src.Reset(nginxResponse)
		rr := respReader{r: src, buf: buf}
		if err := rr.readResponse(false, &w); err != nil || len(w.body) != 2 {
			b.Fatal(err)
		}
	}
}

func BenchmarkReadResponseFasthttp(b *testing.B) {
	src := strings.NewReader(nginxResponse)
	br := bufio.NewReaderSize(src, 4096)
	resp := fasthttp.AcquireResponse()
	b.ReportAllocs()
	for range b.N {
		src.Reset(nginxResponse)
		br.Reset(src)
		resp.Reset()
		if err := resp.Read(br); err != nil || len(resp.Body()) != 2 {
			b.Fatal(err)
		}
	}
}

// benchTask runs task i of c as one user against host, b.N times after a
// first run that connects.
func benchTask(b *testing.B, c *Class, host string, i int) {
	r := NewRunner(nil, newBenchStats())
	defer r.Close()
	u := classUser(b, r, c, host)
	fn := c.Tasks[i].Fn
	ctx := context.Background()
	fn(ctx, u)
	u.HTTP.endTask()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		fn(ctx, u)
		u.HTTP.endTask()
	}
}
