package master

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/glocust/glocust/protocol"
)

// seqReport is a stats report of n requests with the glocust seq (0: none).
func seqReport(seq uint64, n int64) *protocol.Stats {
	return &protocol.Stats{Seq: seq, UserClassesCount: []protocol.ClassCount{{Class: "A", Count: 1}}, UserCount: 1,
		Stats: []protocol.StatsEntry{{Name: "/", Method: "GET", NumRequests: n}}, Total: protocol.StatsEntry{Name: "Aggregated", NumRequests: n}}
}

// glocustHB is a glocust worker's heartbeat, which asks for the ack.
func glocustHB(seq uint64) *protocol.Heartbeat {
	return &protocol.Heartbeat{State: protocol.StateRunning, CurrentCPUUsage: 1, CurrentMemoryUsage: 1, Seq: seq, HasSeq: true}
}

// ackOf sends a heartbeat for id and returns the reply.
func (h *harness) ackOf(id string, p *protocol.Heartbeat) *protocol.MasterHeartbeat {
	h.t.Helper()
	h.take()
	h.recv(id, p)
	out := h.take()
	if len(out) != 1 || out[0].peer != id {
		h.t.Fatalf("heartbeat of %s: replies %+v, want one", id, out)
	}
	r, ok := out[0].p.(*protocol.MasterHeartbeat)
	if !ok {
		h.t.Fatalf("heartbeat of %s answered with %T", id, out[0].p)
	}
	return r
}

func (h *harness) total() int64 { return h.c.agg.Total().NumRequests }

// TestSeqCountedOnce: a glocust report is counted once per (node id, seq),
// whatever repeats; the heartbeat reply acknowledges the last counted seq
// to glocust workers only; a report without seq is counted every time.
func TestSeqCountedOnce(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	h.recv("h_g", &protocol.ClientReady{Version: "2.47.0"})
	h.recv("h_p", &protocol.ClientReady{Version: "2.47.0"})
	if r := h.ackOf("h_g", glocustHB(0)); !r.HasAck || r.Ack != 0 {
		t.Fatalf("before any report: reply %+v, want ack 0", r)
	}
	steps := []struct {
		seq        uint64
		n          int64
		wantTotal  int64
		wantAck    uint64
		dups, gaps int64
	}{
		{1, 5, 5, 1, 0, 0},
		{1, 5, 5, 1, 1, 0},   // the same report again
		{2, 7, 12, 2, 1, 0},  // the next one
		{3, 11, 23, 3, 1, 0}, // and the next
		{2, 7, 23, 3, 2, 0},  // an older one, re-sent
		{3, 11, 23, 3, 3, 0},
		{5, 13, 36, 5, 3, 1}, // a gap (4 never arrives): counted, and noted
		{4, 17, 36, 5, 4, 1}, // 4 after 5: below the last counted
	}
	for i, st := range steps {
		h.recv("h_g", seqReport(st.seq, st.n))
		c := h.c.counters
		if h.total() != st.wantTotal || c.duplicateReports != st.dups || c.seqGaps != st.gaps {
			t.Fatalf("step %d (seq %d): total %d, duplicates %d, gaps %d; want %d, %d, %d",
				i, st.seq, h.total(), c.duplicateReports, c.seqGaps, st.wantTotal, st.dups, st.gaps)
		}
		if r := h.ackOf("h_g", glocustHB(st.seq)); !r.HasAck || r.Ack != st.wantAck {
			t.Fatalf("step %d: reply %+v, want ack %d", i, r, st.wantAck)
		}
	}
	// A Locust worker: no seq, every report counted, Locust's reply (None)
	// byte for byte.
	before := h.total()
	h.recv("h_p", seqReport(0, 3))
	h.recv("h_p", seqReport(0, 3))
	if got := h.total() - before; got != 6 {
		t.Fatalf("reports without seq added %d requests, want 6", got)
	}
	r := h.ackOf("h_p", hb(protocol.StateRunning))
	got, err := protocol.Encode("h_p", r)
	if err != nil {
		t.Fatal(err)
	}
	if want := []byte("\x93\xa9heartbeat\xc0\xa3h_p"); !bytes.Equal(got, want) {
		t.Fatalf("reply to a Locust worker encodes as %x, want %x", got, want)
	}
}

// TestSeqSurvivesRecords: the last counted seq outlives the worker record
// (stop and register again, deletion after going missing, take-back), so
// a report re-sent afterwards is not counted again.
func TestSeqSurvivesRecords(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	h.recv("h_g", &protocol.ClientReady{Version: "2.47.0"})
	h.recv("h_g", seqReport(1, 5))
	h.recv("h_g", seqReport(2, 5))
	// Stop: client_stopped deletes the record, client_ready makes a new one.
	h.recv("h_g", &protocol.ClientStopped{})
	if h.c.reg.get("h_g") != nil {
		t.Fatal("client_stopped kept the record")
	}
	// A report the worker kept while its connection was down arrives after
	// its client_stopped: counted once, as the node was this master's.
	h.recv("h_g", seqReport(3, 5))
	h.recv("h_g", seqReport(3, 5))
	if h.total() != 15 {
		t.Fatalf("a late report after client_stopped: total %d, want 15 (counted once)", h.total())
	}
	h.recv("h_never", seqReport(1, 5))
	if h.total() != 15 {
		t.Fatalf("a report of a node this master never had was counted: total %d", h.total())
	}
	h.recv("h_g", &protocol.ClientReady{Version: "2.47.0"})
	h.recv("h_g", seqReport(3, 5))
	if h.total() != 15 {
		t.Fatalf("a re-sent report after client_ready was counted: total %d, want 15", h.total())
	}
	// A duplicate client_ready (a retry) replaces the record in place.
	h.recv("h_g", &protocol.ClientReady{Version: "2.47.0"})
	h.recv("h_g", seqReport(3, 5))
	h.recv("h_g", seqReport(4, 5))
	if h.total() != 20 {
		t.Fatalf("total %d after a duplicate client_ready, a re-sent and a new report; want 20", h.total())
	}
	// Missing for long: the record is deleted; the worker comes back with
	// heartbeats (a candidate, whose reply acks what was counted) and its
	// next report takes it back. Its re-sent seq 3 is not counted again.
	h.recv("h_other", &protocol.ClientReady{Version: "2.47.0"})
	for range 70 {
		h.recv("h_other", hb(protocol.StateRunning))
		h.advance(time.Second)
	}
	if h.c.reg.get("h_g") != nil {
		t.Fatal("missing worker not deleted after 70 s")
	}
	if r := h.ackOf("h_g", glocustHB(4)); !r.HasAck || r.Ack != 4 {
		t.Fatalf("candidate's reply %+v, want ack 4", r)
	}
	h.recv("h_g", seqReport(4, 5))
	h.recv("h_g", seqReport(5, 5))
	if w := h.c.reg.get("h_g"); w == nil || !w.takenBack || w.seq != 5 {
		t.Fatalf("not taken back with seq 5: %+v", w)
	}
	if h.total() != 25 {
		t.Fatalf("total %d after take-back with a re-sent and a new report; want 25", h.total())
	}
}

// TestSeqOverTransport: the same over each transport kind, through the
// loop: the ack arrives in the heartbeat reply as the worker decodes it.
func TestSeqOverTransport(t *testing.T) {
	t.Parallel()
	eachTransport(t, func(t *testing.T, tk transportKind) {
		t.Parallel()
		lm := startLiveWith(t, tk, Config{Classes: []UserClass{{Name: "A", Weight: 1}}, QuitWait: 5 * time.Second},
			WebConfig{Headless: true})
		w := lm.worker(t, "node-g")
		w.send(&protocol.ClientReady{Version: LocustVersion})
		w.expect(protocol.TypeAck)
		for _, st := range []struct{ seq, ack uint64 }{{1, 1}, {2, 2}, {2, 2}, {1, 2}, {3, 3}} {
			w.send(seqReport(st.seq, 10))
			w.send(glocustHB(st.seq))
			if r := w.expect(protocol.TypeHeartbeat).(*protocol.MasterHeartbeat); !r.HasAck || r.Ack != st.ack {
				t.Fatalf("after seq %d: reply %+v, want ack %d", st.seq, r, st.ack)
			}
		}
		var problems []string
		lm.m.Do(func(v *View) {
			if n := v.Stats().Total().NumRequests; n != 30 {
				problems = append(problems, fmt.Sprintf("total %d, want 30", n))
			}
			if c := v.Counters(); c.DuplicateReports != 2 {
				problems = append(problems, fmt.Sprintf("counters %+v, want 2 duplicates", c))
			}
		})
		for _, p := range problems {
			t.Error(p)
		}
	})
}
