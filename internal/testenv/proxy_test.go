package testenv

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"testing"
	"time"
)

// sink is an upstream that records what each connection sent and echoes
// it back.
type sink struct {
	ln   net.Listener
	mu   sync.Mutex
	got  [][]byte // per connection, in accept order
	eofs int      // connections that ended
	wg   sync.WaitGroup
}

func newSink(t *testing.T) *sink {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &sink{ln: ln}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			i := len(s.got)
			s.got = append(s.got, nil)
			s.mu.Unlock()
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer c.Close()
				buf := make([]byte, 4096)
				for {
					n, err := c.Read(buf)
					if n > 0 {
						s.mu.Lock()
						s.got[i] = append(s.got[i], buf[:n]...)
						s.mu.Unlock()
						c.Write(buf[:n]) //nolint:errcheck // the client may be gone
					}
					if err != nil {
						s.mu.Lock()
						s.eofs++
						s.mu.Unlock()
						return
					}
				}
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		s.wg.Wait()
	})
	return s
}

// received returns what connection i sent so far and how many connections
// ended.
func (s *sink) received(i int) ([]byte, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if i >= len(s.got) {
		return nil, s.eofs
	}
	return bytes.Clone(s.got[i]), s.eofs
}

// await polls cond every 5 ms until it returns nil or timeout passes.
func await(timeout time.Duration, cond func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := cond()
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func startProxy(t *testing.T, s *sink) *Proxy {
	t.Helper()
	p, err := StartProxy(s.ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Error(err)
		}
	})
	return p
}

func dialProxy(t *testing.T, p *Proxy) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// readN reads exactly n bytes within timeout.
func readN(c net.Conn, n int, timeout time.Duration) ([]byte, error) {
	c.SetReadDeadline(time.Now().Add(timeout)) //nolint:errcheck // a failed deadline shows as a read error
	b := make([]byte, n)
	_, err := io.ReadFull(c, b)
	return b, err
}

// readEnd waits until c reports the end of the connection (EOF or reset).
func readEnd(c net.Conn, timeout time.Duration) error {
	c.SetReadDeadline(time.Now().Add(timeout)) //nolint:errcheck // see readN
	buf := make([]byte, 64)
	for {
		_, err := c.Read(buf)
		switch {
		case err == nil:
		case errors.Is(err, os.ErrDeadlineExceeded):
			return fmt.Errorf("connection still open after %v", timeout)
		default:
			return nil
		}
	}
}

func TestProxyForwards(t *testing.T) {
	t.Parallel()
	s := newSink(t)
	p := startProxy(t, s)
	c := dialProxy(t, p)
	if _, err := c.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	got, err := readN(c, 5, 5*time.Second)
	if err != nil || string(got) != "hello" {
		t.Fatalf("echo through the proxy: %q, %v", got, err)
	}
	// The counts are updated after each write returned.
	if err := await(5*time.Second, func() error {
		if st := p.Stats(); st.Accepted != 1 || p.Active() != 1 || st.ToUpstream != 5 || st.ToClients != 5 {
			return fmt.Errorf("stats %+v, active %d; want 1 accepted and active, 5 bytes each way", st, p.Active())
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

func TestProxyReset(t *testing.T) {
	t.Parallel()
	s := newSink(t)
	p := startProxy(t, s)
	c := dialProxy(t, p)
	if _, err := c.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	if _, err := readN(c, 1, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if n := p.Reset(); n != 1 {
		t.Fatalf("Reset reset %d connections, want 1", n)
	}
	if err := readEnd(c, 5*time.Second); err != nil {
		t.Fatalf("client side: %v", err)
	}
	if err := await(5*time.Second, func() error {
		if _, eofs := s.received(0); eofs != 1 {
			return fmt.Errorf("upstream saw %d ends, want 1", eofs)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// A new connection is proxied again.
	c2 := dialProxy(t, p)
	if _, err := c2.Write([]byte("y")); err != nil {
		t.Fatal(err)
	}
	if got, err := readN(c2, 1, 5*time.Second); err != nil || string(got) != "y" {
		t.Fatalf("after a reset: %q, %v", got, err)
	}
}

func TestProxyRefuse(t *testing.T) {
	t.Parallel()
	s := newSink(t)
	p := startProxy(t, s)
	p.Refuse(true)
	// The reset may come before or after connect returns.
	if c, err := net.Dial("tcp", p.Addr()); err == nil {
		err = readEnd(c, 5*time.Second)
		c.Close()
		if err != nil {
			t.Fatalf("refused connection: %v", err)
		}
	}
	if st := p.Stats(); st.Refused != 1 || st.Accepted != 0 {
		t.Fatalf("stats %+v, want 1 refused, 0 accepted", st)
	}
	p.Refuse(false)
	c2 := dialProxy(t, p)
	if _, err := c2.Write([]byte("z")); err != nil {
		t.Fatal(err)
	}
	if got, err := readN(c2, 1, 5*time.Second); err != nil || string(got) != "z" {
		t.Fatalf("after refusing: %q, %v", got, err)
	}
}

func TestProxyHold(t *testing.T) {
	t.Parallel()
	s := newSink(t)
	p := startProxy(t, s)
	c := dialProxy(t, p)
	// Wait for the upstream connection, so the sink numbers it 0.
	if err := await(5*time.Second, func() error {
		if p.Active() != 1 {
			return errors.New("not proxied yet")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	p.Hold()
	if _, err := c.Write([]byte("held")); err != nil {
		t.Fatal(err)
	}
	// Nothing arrives while held: the read times out.
	if got, err := readN(c, 1, 300*time.Millisecond); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read while held: %q, %v; want a timeout", got, err)
	}
	if got, _ := s.received(0); len(got) != 0 {
		t.Fatalf("upstream received %q while held", got)
	}
	p.Release()
	got, err := readN(c, 4, 5*time.Second)
	if err != nil || string(got) != "held" {
		t.Fatalf("after release: %q, %v", got, err)
	}
}

func TestProxyCutMidChunk(t *testing.T) {
	t.Parallel()
	s := newSink(t)
	p := startProxy(t, s)
	c := dialProxy(t, p)
	if _, err := c.Write([]byte("ab")); err != nil { // below minLen: delivered whole
		t.Fatal(err)
	}
	if _, err := readN(c, 2, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	p.CutMidChunk(10)
	if _, err := c.Write([]byte("0123456789ABCDEF")); err != nil {
		t.Fatal(err)
	}
	if err := readEnd(c, 5*time.Second); err != nil {
		t.Fatalf("client after the cut: %v", err)
	}
	var got []byte
	if err := await(5*time.Second, func() error {
		var eofs int
		if got, eofs = s.received(0); eofs != 1 {
			return fmt.Errorf("upstream saw %d ends, want 1", eofs)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	st := p.Stats()
	if st.Cuts != 1 || st.CutLen < 10 || st.CutDelivered != st.CutLen/2 {
		t.Fatalf("stats %+v: want one cut delivering half of a chunk of >= 10 bytes", st)
	}
	if want := "ab" + "0123456789ABCDEF"[:st.CutDelivered]; string(got) != want {
		t.Fatalf("upstream received %q, want %q", got, want)
	}
}

func TestProxyResetClients(t *testing.T) {
	t.Parallel()
	s := newSink(t)
	p := startProxy(t, s)
	c := dialProxy(t, p)
	if _, err := c.Write([]byte("a")); err != nil {
		t.Fatal(err)
	}
	if _, err := readN(c, 1, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if n := p.ResetClients(); n != 1 {
		t.Fatalf("ResetClients reset %d connections, want 1", n)
	}
	if err := readEnd(c, 5*time.Second); err != nil {
		t.Fatalf("client side: %v", err)
	}
	// The upstream side stays open: a new connection is the sink's second
	// one, and the first has not ended.
	c2 := dialProxy(t, p)
	if _, err := c2.Write([]byte("b")); err != nil {
		t.Fatal(err)
	}
	if _, err := readN(c2, 1, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, eofs := s.received(1); eofs != 0 {
		t.Fatalf("upstream saw %d ends while the orphan is kept, want 0", eofs)
	}
	if n := p.DropOrphans(); n != 1 {
		t.Fatalf("DropOrphans dropped %d, want 1", n)
	}
	if err := await(5*time.Second, func() error {
		if _, eofs := s.received(1); eofs != 1 {
			return fmt.Errorf("upstream saw %d ends, want 1", eofs)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}
