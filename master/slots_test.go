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
// takes its slot (while its index is new), that a worker back after its
// slot was taken gets another one in a new ack, and that a worker without
// a share moves into a slot a departed worker freed.
func TestDataSlots(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *Config) { c.ParsedOptions = protocol.NewMap("expect_workers", int64(2)) })
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
	// h_b's slot 2 is beyond the 2 shares: when h_c quits, h_b moves into
	// its slot 0 (a new ack), and the next worker gets slot 2.
	h.recv("h_c", &protocol.Quit{})
	if got := acks(h.take(), "h_b"); len(got) != 1 || got[0] != [2]int64{1, 0} {
		t.Fatalf("after a quit, the worker without a share: acks %v, want one with index 1 and slot 0", got)
	}
	if e := ready("h_e"); e != [2]int64{4, 2} {
		t.Fatalf("the next worker: %v, want index 4 and slot 2", e)
	}
	// h_d goes silent: missing; h_e (slot 2) moves into its slot 1; back,
	// h_d gets slot 2.
	for range 6 {
		h.recv("h_e", hb("ready"))
		h.recv("h_b", hb("ready"))
		h.advance(time.Second)
	}
	if got := acks(h.take(), "h_e"); len(got) != 1 || got[0] != [2]int64{4, 1} {
		t.Fatalf("h_e: acks %v, want one with index 4 and slot 1", got)
	}
	h.recv("h_d", hb("ready"))
	if got := acks(h.take(), "h_d"); len(got) != 1 || got[0] != [2]int64{3, 2} {
		t.Fatalf("h_d back: acks %v, want one with index 3 and slot 2", got)
	}
}

func TestSlotsTakeFreeCompact(t *testing.T) {
	t.Parallel()
	var s slots
	for i, id := range []string{"a", "b", "c", "d"} {
		if got, changed := s.take(id); got != i || changed {
			t.Fatalf("take(%s) = %d, %v; want %d, false", id, got, changed, i)
		}
	}
	s.free("b") // missing
	if got, changed := s.take("b"); got != 1 || changed {
		t.Fatalf("b back to its free slot: %d, %v; want 1, false", got, changed)
	}
	s.free("a")
	s.free("b")
	// With 3 shares, d (slot 3) has none: it moves into the lowest free slot.
	if moved := s.compact(3); len(moved) != 1 || moved[0] != "d" || s.of["d"] != 0 {
		t.Fatalf("compact moved %v, d at %d; want d at 0", moved, s.of["d"])
	}
	if moved := s.compact(3); moved != nil {
		t.Fatalf("a second compact moved %v", moved)
	}
	if got, changed := s.take("a"); got != 1 || !changed {
		t.Fatalf("a back after its slot went to d: %d, %v; want 1 (b's, free), true", got, changed)
	}
	s.forget("c")
	if _, known := s.of["c"]; known || s.holder[2] != "" {
		t.Fatalf("forget kept c: %v %v", s.of, s.holder)
	}
}
