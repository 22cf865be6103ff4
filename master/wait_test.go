package master

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/glocust/glocust/protocol"
)

// WaitForWorkers returns once the nth worker is ready, not before; a
// worker that leaves again no longer counts; maxWait and ctx end it.
func TestWaitForWorkers(t *testing.T) {
	eachTransport(t, func(t *testing.T, tk transportKind) {
		lm := startLive(t, tk, true)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()

		// maxWait with nobody connected.
		if err := lm.m.WaitForWorkers(ctx, 1, 100*time.Millisecond); !errors.Is(err, ErrExpectWorkersTimeout) {
			t.Fatalf("no worker, maxWait 100ms: %v", err)
		}
		// A cancelled context.
		cctx, ccancel := context.WithCancel(ctx)
		ccancel()
		if err := lm.m.WaitForWorkers(cctx, 1, 0); !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled: %v", err)
		}

		done := make(chan error, 2)
		go func() { done <- lm.m.WaitForWorkers(ctx, 3, 0) }()
		go func() { done <- lm.m.WaitForWorkers(ctx, 2, 0) }()
		pending := func(want int) {
			t.Helper()
			// Give the loop a message round trip: a worker's heartbeat is
			// answered after the waiters were checked.
			select {
			case err := <-done:
				t.Fatalf("returned early (%d expected to wait): %v", want, err)
			case <-time.After(50 * time.Millisecond):
			}
		}
		returned := func(what string) {
			t.Helper()
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("%s: %v", what, err)
				}
			case <-ctx.Done():
				t.Fatalf("%s: did not return", what)
			}
		}
		var ws []*fakeWorker
		join := func(id string) {
			w := lm.worker(t, id)
			w.send(&protocol.ClientReady{Version: lm.m.cfg.LocustVersion})
			w.expect("ack")
			w.send(&protocol.Heartbeat{State: protocol.StateReady})
			w.expect("heartbeat")
			ws = append(ws, w)
		}
		join("w1")
		pending(2)
		join("w2")
		returned("n=2 after two ready workers")
		pending(1)
		// w2 quits: two more are needed for three.
		ws[1].send(&protocol.ClientStopped{})
		ws[1].send(&protocol.Quit{})
		join("w3")
		pending(1)
		join("w4")
		returned("n=3 after three ready workers")
		// Already reached: at once.
		if err := lm.m.WaitForWorkers(ctx, 3, time.Millisecond); err != nil {
			t.Fatalf("already reached: %v", err)
		}
		if got := len(lm.m.waitersNow()); got != 0 {
			t.Fatalf("%d waiters left registered", got)
		}
	})
}

// waitersNow returns the registered WaitForWorkers calls.
func (m *Master) waitersNow() []readyWaiter {
	var ws []readyWaiter
	m.Do(func(*View) { ws = append(ws, m.waiters...) })
	return ws
}
