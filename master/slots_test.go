package master

import (
	"testing"
	"time"

	"github.com/glocust/glocust/protocol"
)

// acks returns the (index, slot) of the acks sent to id.
func acks(out []sent, id string) [][2]int64 {
	var got [][2]int64
	for _, s := range out {
		if a, ok := s.p.(*protocol.Ack); ok && s.peer == id {
			if !a.HasSlot {
				got = append(got, [2]int64{a.Index, -1})
				continue
			}
			got = append(got, [2]int64{a.Index, a.Slot})
		}
	}
	return got
}

// TestDataSlots checks that the master gives each live worker the lowest
// free data slot, that a worker replacing one that quit or went missing
// takes its slot (while its index is new), and that a worker that comes
// back after its slot was taken gets another one in a new ack.
func TestDataSlots(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	ready := func(id string) [2]int64 {
		t.Helper()
		h.recv(id, &protocol.ClientReady{Version: "2.47.0"})
		a := acks(h.take(), id)
		if len(a) != 1 {
			t.Fatalf("%s: acks %v, want one", id, a)
		}
		return a[0]
	}
	if a, b := ready("h_a"), ready("h_b"); a != [2]int64{0, 0} || b != [2]int64{1, 1} {
		t.Fatalf("first workers: %v %v, want index/slot 0/0 and 1/1", a, b)
	}
	if a := ready("h_a"); a != [2]int64{0, 0} {
		t.Fatalf("a duplicate client_ready: %v, want the same index and slot", a)
	}
	h.recv("h_a", &protocol.Quit{})
	if c := ready("h_c"); c != [2]int64{2, 0} {
		t.Fatalf("the worker after one quit: %v, want index 2 and the freed slot 0", c)
	}
	// h_b goes silent: missing, its slot is free for the next worker.
	for range 6 {
		h.recv("h_c", hb("ready"))
		h.advance(time.Second)
	}
	if st := h.c.reg.get("h_b").state; st != protocol.StateMissing {
		t.Fatalf("h_b is %s, want missing", st)
	}
	if d := ready("h_d"); d != [2]int64{3, 1} {
		t.Fatalf("the worker after one went missing: %v, want index 3 and slot 1", d)
	}
	// h_b comes back: slot 1 is h_d's now, so it gets a new ack with slot 2.
	h.take()
	h.recv("h_b", hb("ready"))
	if got := acks(h.take(), "h_b"); len(got) != 1 || got[0] != [2]int64{1, 2} {
		t.Fatalf("the worker back from missing: acks %v, want one with index 1 and slot 2", got)
	}
	// A worker that comes back to a free slot keeps it, without a new ack.
	for range 6 {
		h.recv("h_c", hb("ready"))
		h.recv("h_b", hb("ready"))
		h.advance(time.Second)
	}
	h.take()
	h.recv("h_d", hb("ready"))
	if got := acks(h.take(), "h_d"); len(got) != 0 {
		t.Fatalf("the worker back to its free slot: acks %v, want none", got)
	}
	if s, _ := h.c.reg.slots.take("h_d"); s != 1 {
		t.Fatalf("h_d holds slot %d, want 1", s)
	}
}
