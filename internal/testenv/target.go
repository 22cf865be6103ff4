package testenv

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Target is an HTTP server on 127.0.0.1 for load tests to hit. Endpoints:
//
//	GET  /            200 "ok"
//	GET  /item        200 "item"
//	POST /login       200, sets the cookie session=glocust (other methods: 405)
//	ANY  /fail        500
//	GET  /slow?ms=N   200 after N milliseconds (400 if N is not a number)
//	ANY  /echo        200, the request body back, X-Method set to the method
//
// Anything else is 404. Every request is counted by method and path.
type Target struct {
	// URL is the base URL, e.g. http://127.0.0.1:41234 (no trailing slash).
	URL string

	srv *http.Server
	ln  net.Listener

	mu       sync.Mutex
	counts   map[string]*atomic.Int64
	closed   sync.Once
	closeErr error
	done     chan struct{}
	serveErr error // from Serve, read after done is closed
}

// NewTarget starts a Target on a random port; it is closed at test cleanup,
// which fails the test if the server failed.
func NewTarget(t testing.TB) *Target {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("testenv: target listen: %v", err)
	}
	tg := &Target{
		URL:    "http://" + ln.Addr().String(),
		ln:     ln,
		counts: map[string]*atomic.Int64{},
		done:   make(chan struct{}),
	}
	tg.srv = &http.Server{Handler: tg, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		defer close(tg.done)
		tg.serveErr = tg.srv.Serve(ln)
	}()
	t.Cleanup(func() {
		if err := tg.Close(); err != nil {
			t.Errorf("testenv: %v", err)
		}
	})
	return tg
}

// Addr returns host:port.
func (tg *Target) Addr() string { return tg.ln.Addr().String() }

func (tg *Target) counter(key string) *atomic.Int64 {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	c := tg.counts[key]
	if c == nil {
		c = new(atomic.Int64)
		tg.counts[key] = c
	}
	return c
}

// ServeHTTP implements http.Handler.
func (tg *Target) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	tg.counter(r.Method + " " + r.URL.Path).Add(1)
	switch r.URL.Path {
	case "/":
		io.WriteString(w, "ok")
	case "/item":
		io.WriteString(w, "item")
	case "/login":
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		http.SetCookie(w, &http.Cookie{Name: "session", Value: "glocust", Path: "/"})
		io.WriteString(w, "logged in")
	case "/fail":
		http.Error(w, "fail", http.StatusInternalServerError)
	case "/slow":
		ms, err := strconv.Atoi(r.URL.Query().Get("ms"))
		if err != nil {
			http.Error(w, "ms: "+err.Error(), http.StatusBadRequest)
			return
		}
		select {
		case <-time.After(time.Duration(ms) * time.Millisecond):
		case <-r.Context().Done():
			return
		}
		io.WriteString(w, "slow")
	case "/echo":
		w.Header().Set("X-Method", r.Method)
		if ct := r.Header.Get("Content-Type"); ct != "" {
			w.Header().Set("Content-Type", ct)
		}
		_, _ = io.Copy(w, r.Body)
	default:
		http.NotFound(w, r)
	}
}

// Counts returns the requests served so far, keyed "METHOD /path" (no query).
func (tg *Target) Counts() map[string]int64 {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	out := make(map[string]int64, len(tg.counts))
	for k, c := range tg.counts {
		out[k] = c.Load()
	}
	return out
}

// Count returns the requests served for one "METHOD /path" key.
func (tg *Target) Count(key string) int64 { return tg.counter(key).Load() }

// Close stops the server, interrupting requests still running after 2 s. It
// returns an error if the server had failed or could not be closed; it is
// idempotent (later calls return the first one's error).
func (tg *Target) Close() error {
	tg.closed.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		err := tg.srv.Shutdown(ctx)
		if errors.Is(err, context.DeadlineExceeded) { // requests still running: cut them off
			err = tg.srv.Close()
		}
		<-tg.done
		if !errors.Is(tg.serveErr, http.ErrServerClosed) {
			err = errors.Join(err, fmt.Errorf("serve: %w", tg.serveErr))
		}
		if err != nil {
			tg.closeErr = fmt.Errorf("testenv: target %s: %w", tg.URL, err)
		}
	})
	return tg.closeErr
}
