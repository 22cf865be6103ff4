package scenario

import (
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// TestRequestTimeouts: timeout {connect, read} as Python requests'
// (connect, read): a TLS handshake the server never answers is a connect
// timeout; a response that stalls is a read timeout; a response that
// trickles in, each part within the read timeout, succeeds however long it
// takes in all.
func TestRequestTimeouts(t *testing.T) {
	t.Parallel()
	silent := silentServer(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "3")
		w.WriteHeader(200)
		for i := range 3 {
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
				return
			case <-time.After(stallFor(r.URL.Path)):
			}
			w.Write([]byte{'a' + byte(i)})
		}
	}))
	defer srv.Close()
	sc, err := Parse("s.yaml", []byte(`users:
  - class: A
    tasks:
      - request: {path: "https://`+silent+`/", name: handshake, timeout: {connect: 0.2}}
      - request: {path: /stall, timeout: {read: 0.2, connect: 5}}
      - request: {path: /trickle, timeout: {read: 1s}, expect_body_contains: abc}
      - request: {path: /trickle, name: whole, timeout: 0.2}
`))
	if err != nil {
		t.Fatal(err)
	}
	st := newFakeStats()
	r := NewRunner(nil, st)
	defer r.Close()
	runTasks(t, classUser(t, r, sc.Classes[0], srv.URL), sc.Classes[0])
	want := []string{"connect timed out (timeout.connect: 200ms)", "read timed out (timeout.read: 200ms)", "", "request timed out"}
	recs := st.all()
	if len(recs) != len(want) {
		t.Fatalf("records %+v", recs)
	}
	for i, w := range want {
		if recs[i].err != w {
			t.Errorf("%s: error %q, want %q", recs[i].name, recs[i].err, w)
		}
		// Each limit ends its wait (the connect limit of /stall, 5 s, does
		// not bound reading); the trickle takes 450 ms.
		if recs[i].rt > 2*time.Second {
			t.Errorf("%s: took %v", recs[i].name, recs[i].rt)
		}
	}
}

// stallFor is how long the timeout test's server waits before each byte.
func stallFor(path string) time.Duration {
	if path == "/stall" {
		return time.Minute
	}
	return 150 * time.Millisecond // /trickle: 450 ms in all
}

// silentServer accepts connections and never sends anything.
func silentServer(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		wg.Wait()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	return l.Addr().String()
}
