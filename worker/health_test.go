package worker

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/glocust/glocust/protocol"
)

// probe GETs a health endpoint and decodes its document.
func probe(c *http.Client, url string) (int, Health, error) {
	var h Health
	resp, err := c.Get(url)
	if err != nil {
		return 0, h, err
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		return resp.StatusCode, h, fmt.Errorf("%s: Content-Type %q", url, ct)
	}
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
		return resp.StatusCode, h, fmt.Errorf("%s: %w", url, err)
	}
	return resp.StatusCode, h, nil
}

// TestServeHealth: /healthz answers 200 from the start, /readyz 503 until
// the master's ack and 200 after; stop closes the listener.
func TestServeHealth(t *testing.T) {
	t.Parallel()
	h := start(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	stop := h.w.ServeHealth(ln)
	defer stop()
	base := "http://" + ln.Addr().String()
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	check := func(path string, wantCode int, want Health) {
		t.Helper()
		code, doc, err := probe(c, base+path)
		if err != nil {
			t.Fatal(err)
		}
		if doc.Goroutines <= 0 {
			t.Fatalf("GET %s: goroutines %d", path, doc.Goroutines)
		}
		doc.Goroutines = 0
		if code != wantCode || doc != want {
			t.Fatalf("GET %s: %d %+v, want %d %+v", path, code, doc, wantCode, want)
		}
	}

	h.expect("client_ready")
	waiting := Health{NodeID: "host_abc", State: protocol.StateReady, Index: -1}
	check("/healthz", http.StatusOK, waiting)
	check("/readyz", http.StatusServiceUnavailable, waiting)

	h.send(&protocol.Ack{Index: 2, HasIndex: true})
	h.expect("stats") // sent once the ack is handled
	acked := Health{NodeID: "host_abc", State: protocol.StateReady, Registered: true, Index: 2}
	check("/readyz", http.StatusOK, acked)
	check("/healthz", http.StatusOK, acked)

	h.send(&protocol.Spawn{Timestamp: 1, UserClassesCount: []protocol.ClassCount{{Class: "A", Count: 3}, {Class: "B", Count: 0}}})
	h.expect("spawning_complete")
	h.expect("heartbeat") // from the loop, after the spawn is handled
	check("/readyz", http.StatusOK, Health{NodeID: "host_abc", State: protocol.StateRunning, Registered: true, Index: 2, UserCount: 3})

	stop()
	if _, _, err := probe(c, base+"/healthz"); err == nil {
		t.Fatal("the health endpoint still answers after stop")
	}
	stop() // a second call does nothing
}
