package worker

import (
	"fmt"
	"testing"

	"github.com/glocust/glocust/protocol"
)

var (
	locustReply = &protocol.MasterHeartbeat{}
	ackReply    = func(n uint64) *protocol.MasterHeartbeat { return &protocol.MasterHeartbeat{Ack: n, HasAck: true} }
)

// send records report seq (of seq*10 requests) and its confirming
// heartbeat, as sendStats does.
func (d *delivery) send(seq uint64, id string) {
	d.sentReport(seq, []byte(fmt.Sprintf("frame %d", seq)), id, int64(seq)*10)
	d.heartbeatSent()
}

func seqs(rs []inFlight) []uint64 {
	out := []uint64{}
	for _, r := range rs {
		out = append(out, r.seq)
	}
	return out
}

// TestDeliveryHeartbeatCount: against a Locust master a report is
// confirmed by the reply to a heartbeat sent after it on its connection,
// and only then; replies beyond the heartbeats sent confirm nothing more.
func TestDeliveryHeartbeatCount(t *testing.T) {
	t.Parallel()
	var d delivery
	d.heartbeatSent() // hb 1, before any report
	d.sentReport(1, nil, "w", 10)
	if d.reply(locustReply, "w"); len(d.sent) != 1 {
		t.Fatalf("the reply to a heartbeat sent before report 1 confirmed it: sent %v", seqs(d.sent))
	}
	d.heartbeatSent() // hb 2, after report 1
	d.sentReport(2, nil, "w", 20)
	d.reply(locustReply, "w") // answers hb 2: confirms 1, not 2
	if got := seqs(d.sent); !equalSeqs(got, []uint64{2}) {
		t.Fatalf("after the reply to hb 2: unconfirmed %v, want [2]", got)
	}
	// A stray reply (more replies than heartbeats) confirms nothing.
	d.reply(locustReply, "w")
	if got := seqs(d.sent); !equalSeqs(got, []uint64{2}) {
		t.Fatalf("a reply beyond the heartbeats sent confirmed %v", got)
	}
	d.heartbeatSent()
	d.reply(locustReply, "w")
	if d.unconfirmed() || d.dialect != dialectLocust {
		t.Fatalf("after the reply to hb 3: unconfirmed %v, dialect %v", seqs(d.sent), d.dialect)
	}
}

// TestDeliveryLocustLoss: against a Locust master, the reports a failed
// connection did not confirm are lost at the next connection's first
// reply, never sent again; new reports wait until then.
func TestDeliveryLocustLoss(t *testing.T) {
	t.Parallel()
	var d delivery
	d.send(1, "w")
	d.reply(locustReply, "w")
	d.send(2, "w")
	d.send(3, "w")
	if !d.settled() {
		t.Fatal("not settled while connected")
	}
	if dropped := d.connectionLost(); len(dropped) != 0 {
		t.Fatalf("dropped %v at the loss", seqs(dropped))
	}
	if d.settled() {
		t.Fatal("settled before the next connection's reply: new reports could overtake")
	}
	d.heartbeatSent()
	lost := d.reply(locustReply, "w")
	if got := seqs(lost); !equalSeqs(got, []uint64{2, 3}) || lost[0].requests != 20 {
		t.Fatalf("lost %v (%+v), want [2 3] with their request counts", got, lost)
	}
	if _, again := d.nextResend(); again || !d.settled() || d.unconfirmed() {
		t.Fatal("a Locust master is sent a report again, or reports stay pending")
	}
}

// TestDeliveryGlocustResend: against a glocust master, the reports it did
// not acknowledge are sent again, in seq order, before anything new; those
// it acknowledged are not; those of another node id are lost.
func TestDeliveryGlocustResend(t *testing.T) {
	t.Parallel()
	var d delivery
	d.send(1, "w")
	d.reply(ackReply(1), "w")
	if d.unconfirmed() || d.dialect != dialectGlocust {
		t.Fatal("an ack did not confirm its seq")
	}
	for s := uint64(2); s <= 5; s++ {
		d.send(s, "w")
	}
	d.reply(ackReply(2), "w") // replies may lag: 3-5 not counted yet
	if got := seqs(d.sent); !equalSeqs(got, []uint64{3, 4, 5}) {
		t.Fatalf("unconfirmed %v, want [3 4 5]", got)
	}
	d.connectionLost()
	d.heartbeatSent()
	if lost := d.reply(ackReply(3), "w"); len(lost) != 0 { // the master had counted 3
		t.Fatalf("lost %v against a glocust master", seqs(lost))
	}
	var order []uint64
	for {
		r, ok := d.nextResend()
		if !ok {
			break
		}
		if string(r.frame) != fmt.Sprintf("frame %d", r.seq) {
			t.Fatalf("seq %d sent again as %q, not as it was", r.seq, r.frame)
		}
		order = append(order, r.seq)
		d.resent()
	}
	if !equalSeqs(order, []uint64{4, 5}) || !d.settled() {
		t.Fatalf("sent again %v, want [4 5]", order)
	}
	if d.nextSeq() != 6 {
		t.Fatalf("next seq %d, want 6", d.nextSeq())
	}
	// They are confirmed like any report, by the ack.
	d.reply(ackReply(5), "w")
	if d.unconfirmed() {
		t.Fatalf("unconfirmed %v after ack 5", seqs(d.sent))
	}
	// Reports of another node id cannot be sent again (the master checks
	// the identity): lost.
	d.send(6, "old")
	d.connectionLost()
	if lost := d.reply(ackReply(5), "new"); !equalSeqs(seqs(lost), []uint64{6}) {
		t.Fatalf("lost %v, want [6]", seqs(lost))
	}
}

// TestDeliveryLossDuringResend: a connection that fails while reports are
// being sent again puts them back, in seq order, with the others.
func TestDeliveryLossDuringResend(t *testing.T) {
	t.Parallel()
	var d delivery
	d.send(1, "w")
	d.reply(ackReply(0), "w")
	d.send(2, "w")
	d.send(3, "w")
	d.connectionLost()
	d.reply(ackReply(0), "w")
	d.resent() // 1 sent again; 2 and 3 wait
	d.connectionLost()
	if got := seqs(d.limbo); !equalSeqs(got, []uint64{1, 2, 3}) {
		t.Fatalf("limbo %v, want [1 2 3]", got)
	}
}

// TestDeliveryUnknownAndBound: with a master that never answered a
// heartbeat nothing is kept across connections, and no more than
// maxTracked reports are ever kept.
func TestDeliveryUnknownAndBound(t *testing.T) {
	t.Parallel()
	var d delivery
	d.send(1, "w")
	if dropped := d.connectionLost(); !equalSeqs(seqs(dropped), []uint64{1}) || !d.settled() {
		t.Fatalf("unknown dialect: dropped %v, settled %v", seqs(dropped), d.settled())
	}
	var dropped []inFlight
	for s := uint64(2); s < 2+maxTracked+5; s++ {
		dropped = append(dropped, d.sentReport(s, nil, "w", 1)...)
	}
	if len(d.sent) != maxTracked || !equalSeqs(seqs(dropped), []uint64{2, 3, 4, 5, 6}) {
		t.Fatalf("kept %d, dropped %v", len(d.sent), seqs(dropped))
	}
	if got := d.giveUp(); len(got) != maxTracked || d.unconfirmed() {
		t.Fatalf("giveUp returned %d, unconfirmed after: %v", len(got), d.unconfirmed())
	}
}

func equalSeqs(a, b []uint64) bool { return fmt.Sprint(a) == fmt.Sprint(b) }
