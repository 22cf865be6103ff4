package scenario

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"
)

// fakeResolver answers from a table; tests change it while users run.
type fakeResolver struct {
	mu      sync.Mutex
	names   map[string][]netip.Addr
	lookups int
}

func newFakeResolver() *fakeResolver { return &fakeResolver{names: map[string][]netip.Addr{}} }

func (f *fakeResolver) set(name string, addrs ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.names[name] = nil
	for _, a := range addrs {
		f.names[name] = append(f.names[name], netip.MustParseAddr(a))
	}
}

func (f *fakeResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lookups++
	addrs, ok := f.names[host]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	return slices.Clone(addrs), nil
}

// addrServer is one HTTP server on several addresses of the same port; it
// counts requests and connections (opened, closed) per local address, and
// the Connection header of each request.
type addrServer struct {
	port  int
	srv   *http.Server
	done  sync.WaitGroup
	mu    sync.Mutex
	reqs  map[string]int
	opens map[string]int
	ends  map[string]int
	close int // requests with Connection: close
}

// serveOn listens on ips (IPv4 or IPv6 loopback addresses) with one port
// free on all of them, trying a few ports.
func serveOn(t *testing.T, ips ...string) (*addrServer, error) {
	s := &addrServer{reqs: map[string]int{}, opens: map[string]int{}, ends: map[string]int{}}
	var ls []net.Listener
	for try := 0; try < 20 && len(ls) < len(ips); try++ {
		for _, l := range ls {
			l.Close()
		}
		ls = ls[:0]
		first, err := net.Listen("tcp", net.JoinHostPort(ips[0], "0"))
		if err != nil {
			return nil, err
		}
		ls = append(ls, first)
		s.port = first.Addr().(*net.TCPAddr).Port
		for _, ip := range ips[1:] {
			l, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(s.port)))
			if err != nil {
				break // the port is taken there: try another
			}
			ls = append(ls, l)
		}
	}
	if len(ls) < len(ips) {
		return nil, fmt.Errorf("no port free on all of %v", ips)
	}
	s.srv = &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			local := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
			s.mu.Lock()
			s.reqs[hostOf(local)]++
			if r.Header.Get("Connection") == "close" {
				s.close++
			}
			s.mu.Unlock()
			io.WriteString(w, "ok")
		}),
		ConnState: func(c net.Conn, st http.ConnState) {
			s.mu.Lock()
			defer s.mu.Unlock()
			switch st {
			case http.StateNew:
				s.opens[hostOf(c.LocalAddr())]++
			case http.StateClosed:
				s.ends[hostOf(c.LocalAddr())]++
			}
		},
	}
	for _, l := range ls {
		s.done.Add(1)
		go func() { defer s.done.Done(); s.srv.Serve(l) }()
	}
	t.Cleanup(func() { s.srv.Close(); s.done.Wait() })
	return s, nil
}

func hostOf(a net.Addr) string {
	h, _, _ := net.SplitHostPort(a.String())
	return h
}

// counts returns requests, connections opened and connections closed at ip.
func (s *addrServer) counts(ip string) (reqs, opens, ends int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reqs[ip], s.opens[ip], s.ends[ip]
}

// TestConnectionClose: connection: close per request and per class sends
// "Connection: close" and opens a connection per request; keep-alive (the
// default) reuses one.
func TestConnectionClose(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, http, request  string
		wantConns, wantClose int
	}{
		{"keep-alive", "", "", 1, 0},
		{"per request", "", ", connection: close", 3, 3},
		{"per class", "\n    http: {connection: close}", "", 3, 3},
		{"per request over a class's close", "\n    http: {connection: close}", ", connection: keep-alive", 3, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv, err := serveOn(t, "127.0.0.1")
			if err != nil {
				t.Fatal(err)
			}
			sc, err := Parse("s.yaml", []byte("users:\n  - class: A"+tc.http+"\n    tasks: [{request: {path: /"+tc.request+"}}]\n"))
			if err != nil {
				t.Fatal(err)
			}
			st := newFakeStats()
			r := NewRunner(nil, st)
			defer r.Close()
			u := testUserWith(t, r, fmt.Sprintf("http://127.0.0.1:%d", srv.port), newProfile(sc.Classes[0].HTTP, nil), 1)
			for range 3 {
				if err := sc.Classes[0].Tasks[0].Fn(context.Background(), u); err != nil {
					t.Fatal(err)
				}
				u.HTTP.endTask()
			}
			for _, rc := range st.all() {
				checkRec(t, tc.name, rc, "")
			}
			reqs, opens, _ := srv.counts("127.0.0.1")
			srv.mu.Lock()
			closes := srv.close
			srv.mu.Unlock()
			if reqs != 3 || opens != tc.wantConns || closes != tc.wantClose {
				t.Errorf("requests %d (want 3), connections %d (want %d), with Connection: close %d (want %d)",
					reqs, opens, tc.wantConns, closes, tc.wantClose)
			}
		})
	}
}

// TestSpreadOverAddresses: users of a name that resolves to two loopback
// addresses share them evenly (one connection each, user i on address i
// mod 2), and follow the name when it is resolved again to other
// addresses.
func TestSpreadOverAddresses(t *testing.T) {
	t.Parallel()
	srv, err := serveOn(t, "127.0.0.1", "127.0.0.2")
	if err != nil {
		t.Fatal(err)
	}
	res := newFakeResolver()
	res.set("svc.test", "127.0.0.2", "127.0.0.1")
	sc, err := Parse("s.yaml", []byte(fmt.Sprintf(`host: http://svc.test:%d
http: {resolve_interval: 0.05}
users:
  - class: U
    wait_time: {constant: 0.01}
    tasks: [{request: {path: /}}]
`, srv.port)))
	if err != nil {
		t.Fatal(err)
	}
	st := newFakeStats()
	r := NewRunner(sc.Classes, st, WithHost(sc.Host), WithResolver(res))
	defer r.Close()
	const users = 10
	r.Apply(counts("U", users))
	waitFor(t, "both addresses to serve 100 requests", func() bool {
		a, _, _ := srv.counts("127.0.0.1")
		b, _, _ := srv.counts("127.0.0.2")
		return a >= 100 && b >= 100
	})
	a, aConns, _ := srv.counts("127.0.0.1")
	b, bConns, _ := srv.counts("127.0.0.2")
	if aConns != users/2 || bConns != users/2 {
		t.Errorf("connections per address: 127.0.0.1 %d, 127.0.0.2 %d; want %d each", aConns, bConns, users/2)
	}
	if share := float64(a) / float64(a+b); share < 0.35 || share > 0.65 {
		t.Errorf("127.0.0.1 got %d of %d requests (%.0f%%), want about half", a, a+b, 100*share)
	}

	// The name now resolves to one address: the users on the other move.
	res.set("svc.test", "127.0.0.2")
	waitFor(t, "the users on 127.0.0.1 to move to 127.0.0.2", func() bool {
		_, _, ends := srv.counts("127.0.0.1")
		_, opens, _ := srv.counts("127.0.0.2")
		return ends == users/2 && opens == users
	})
	before, _, _ := srv.counts("127.0.0.2")
	waitFor(t, "requests on 127.0.0.2 only", func() bool {
		n, _, _ := srv.counts("127.0.0.2")
		return n >= before+100
	})
	if n, opens, _ := srv.counts("127.0.0.1"); opens != users/2 {
		t.Errorf("127.0.0.1 got new connections after it left the name: %d connections, %d requests", opens, n)
	}

	// Back to two addresses: spread again.
	res.set("svc.test", "127.0.0.1", "127.0.0.2")
	waitFor(t, "the users to spread again", func() bool {
		_, opens, _ := srv.counts("127.0.0.1")
		_, _, ends := srv.counts("127.0.0.2")
		return opens == users && ends == users/2
	})
	r.StopAll(context.Background(), 0)
	for _, rc := range st.all() {
		if rc.fail {
			t.Fatalf("failure while moving between addresses: %+v", rc)
		}
	}
}

// TestIPv6: IPv6 literals in URLs and names that resolve to IPv6
// addresses.
func TestIPv6(t *testing.T) {
	t.Parallel()
	srv, err := serveOn(t, "::1")
	if err != nil {
		t.Fatalf("IPv6 loopback unavailable (the test needs ::1): %v", err)
	}
	res := newFakeResolver()
	res.set("v6.test", "::1")
	st := newFakeStats()
	r := NewRunner(nil, st, WithResolver(res))
	defer r.Close()
	for i, host := range []string{fmt.Sprintf("http://[::1]:%d", srv.port), fmt.Sprintf("http://v6.test:%d", srv.port)} {
		u := testUserWith(t, r, host, newProfile(HTTPConfig{}, nil), int64(i))
		u.HTTP.Do(context.Background(), &Request{URL: "/", Name: host, Timeout: 10 * time.Second})
	}
	u := testUserWith(t, r, "http://nope.test", newProfile(HTTPConfig{}, nil), 0)
	u.HTTP.Do(context.Background(), &Request{URL: "/", Name: "nope", Timeout: 10 * time.Second})
	recs := st.all()
	if len(recs) != 3 {
		t.Fatalf("records: %+v", recs)
	}
	checkRec(t, "literal", recs[0], "")
	checkRec(t, "name", recs[1], "")
	checkRec(t, "unknown name", recs[2], "lookup nope.test: no such host")
	if n, _, _ := srv.counts("::1"); n != 2 {
		t.Errorf("server got %d requests on ::1, want 2", n)
	}
}

// TestProfilesShared: classes without an HTTP configuration share one
// profile (so a Request they share is rendered once); a configured class
// has its own.
func TestProfilesShared(t *testing.T) {
	t.Parallel()
	task := []Task{{Fn: func(context.Context, *UserContext) error { return nil }}}
	r := NewRunner([]*Class{{Name: "A", Tasks: task}, {Name: "B", Tasks: task},
		{Name: "C", Tasks: task, HTTP: HTTPConfig{TLS: TLSConfig{Insecure: true}}}}, nil)
	defer r.Close()
	a, b, c := r.classes["A"].prof, r.classes["B"].prof, r.classes["C"].prof
	if a != b || a != r.defaultProf || c == a || !c.cfg.TLS.Insecure {
		t.Errorf("profiles: A %p, B %p, C %p (insecure %v), default %p", a, b, c, c.cfg.TLS.Insecure, r.defaultProf)
	}
}
