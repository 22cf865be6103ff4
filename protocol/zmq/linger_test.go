package zmq

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"
)

// lingerServer accepts one connection, writes unread bytes to it (what
// makes a plain close send an RST), then reads everything until EOF and
// closes. It returns what it read and the read's error.
func lingerServer(t *testing.T, unread int) (addr string, result <-chan error, got *bytes.Buffer) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	res := make(chan error, 1)
	var buf bytes.Buffer
	go func() {
		c, err := ln.Accept()
		if err != nil {
			res <- err
			return
		}
		defer c.Close()
		if _, err := c.Write(make([]byte, unread)); err != nil {
			res <- err
			return
		}
		_, err = io.Copy(&buf, c) // until EOF; an RST is an error
		res <- err
	}()
	return ln.Addr().String(), res, &buf
}

// TestLingerCloseDeliversEverything: everything written before Close
// reaches the peer, followed by a clean EOF, although the peer sent bytes
// this side never read (a plain close would reset the connection and
// discard what the kernel had not sent).
func TestLingerCloseDeliversEverything(t *testing.T) {
	t.Parallel()
	addr, result, got := lingerServer(t, 64<<10)
	raw, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c := newLingerConn(raw.(*net.TCPConn), 5*time.Second)
	// Wait until the server's bytes are in this side's receive buffer.
	probe := make([]byte, 1)
	if _, err := io.ReadFull(c, probe); err != nil {
		t.Fatal(err)
	}
	msg := bytes.Repeat([]byte("final stats and quit "), 200_000) // 4 MB: more than the socket buffers hold
	done := make(chan error, 1)
	go func() {
		_, err := c.Write(msg)
		done <- err
	}()
	// A reader, as go-zeromq's, drains what the server wrote meanwhile.
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		io.Copy(io.Discard, c) //nolint:errcheck // ends when the server closes
	}()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-result:
		if err != nil {
			t.Fatalf("server read ended with %v after %d of %d bytes", err, got.Len(), len(msg))
		}
	case <-time.After(10 * time.Second):
		t.Fatal("server did not see the end of the connection")
	}
	if !bytes.Equal(got.Bytes(), msg) {
		t.Fatalf("server read %d bytes, want the %d written", got.Len(), len(msg))
	}
	if d := time.Since(start); d > 4*time.Second {
		t.Fatalf("Close waited %v: it did not see the server close", d)
	}
	<-drained
	if err := c.Close(); err != nil { // idempotent
		t.Fatal(err)
	}
}

// TestLingerCloseBounded: a peer that never closes delays Close by the
// linger at most.
func TestLingerCloseBounded(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			accepted <- c
		}
	}()
	raw, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	peer := <-accepted
	defer peer.Close()
	c := newLingerConn(raw.(*net.TCPConn), 200*time.Millisecond)
	go io.Copy(io.Discard, c) //nolint:errcheck // ends at Close
	start := time.Now()
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 150*time.Millisecond || d > 3*time.Second {
		t.Fatalf("Close took %v with a peer that never closes, want about the 200 ms linger", d)
	}
	// The peer saw the FIN: its read ends.
	peer.SetReadDeadline(time.Now().Add(5 * time.Second)) //nolint:errcheck // a failed deadline shows below
	if _, err := peer.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Fatalf("peer read: %v, want EOF", err)
	}
}

// TestDialDealerLingers: DialDealer's transport is a lingerConn under
// go-zeromq, and Close still works with a peer that closes at once.
func TestDialDealerLingers(t *testing.T) {
	t.Parallel()
	r, err := ListenRouter("tcp://127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d, err := DialDealer(ctx, "tcp://"+r.Addr(), "w1")
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Send(ctx, Frame{Payload: []byte("last")}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := d.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
		t.Fatal(err)
	}
	f, err := r.Recv(ctx)
	if err != nil || string(f.Payload) != "last" || f.Peer != "w1" {
		t.Fatalf("router got %q from %q, %v; want the frame sent before Close", f.Payload, f.Peer, err)
	}
	if d := time.Since(start); d > DefaultCloseLinger+2*time.Second {
		t.Fatalf("Close took %v", d)
	}
}
