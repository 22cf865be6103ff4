package worker

import (
	"cmp"
	"slices"

	"github.com/glocust/glocust/protocol"
)

// dialect is what the master's heartbeat replies revealed about it.
type dialect uint8

const (
	// dialectUnknown: no reply to a heartbeat yet (or a Locust 2.12
	// master, which never sends heartbeats).
	dialectUnknown dialect = iota
	// dialectLocust: replies carry no ack. A report is confirmed by a
	// reply to a heartbeat sent after it on the same connection (the
	// master handles a connection's messages in order and answers every
	// heartbeat of a known worker), and is never sent twice.
	dialectLocust
	// dialectGlocust: replies acknowledge the last counted report seq; a
	// report the master did not acknowledge is sent again, as it was.
	dialectGlocust
)

func (d dialect) String() string {
	switch d {
	case dialectLocust:
		return "locust"
	case dialectGlocust:
		return "glocust"
	}
	return "unknown"
}

// inFlight is a stats report handed to a connection and not confirmed.
type inFlight struct {
	seq      uint64
	frame    []byte // the encoded message, sent again as it is
	nodeID   string // the node id it was encoded for
	requests int64  // its total's num_requests, for the loss log
	afterHB  int64  // heartbeats sent on its connection before it
}

// maxTracked bounds the reports kept unconfirmed (sent and limbo): past
// it the oldest is given up. A master that answers heartbeats confirms
// each report within a round trip; only one that never answers (Locust
// 2.12) lets reports pile up.
const maxTracked = 64

// delivery tracks the worker's stats reports from the moment they are
// handed to a connection until the master confirms them
// (docs/protocol.md section 9). It does no I/O: the loop tells it what
// was sent and received, and it says what to send again and what is lost.
//
// Reports of a connection that failed go to limbo; the next connection's
// first heartbeat reply decides their fate: a glocust master's ack tells
// which it counted, and the others are sent again before anything new
// (same seq: the master counts each once); without an ack (a Locust
// master) they are lost if they did not arrive, and cannot be sent again
// without the risk of counting them twice, so they are reported as
// possibly lost.
//
// One goroutine (the worker's loop) owns a delivery.
type delivery struct {
	seq       uint64 // the last seq given to a report
	dialect   dialect
	sent      []inFlight // on the current connection, oldest first
	limbo     []inFlight // from failed connections, by seq
	resend    []inFlight // decided to be sent again on this connection, by seq
	hbSent    int64      // heartbeats sent on the current connection
	hbReplies int64      // replies received on the current connection
}

// nextSeq is the seq of the next report (committed by sentReport).
func (d *delivery) nextSeq() uint64 { return d.seq + 1 }

// sentReport records a report handed to the current connection.
func (d *delivery) sentReport(seq uint64, frame []byte, nodeID string, requests int64) (dropped []inFlight) {
	d.seq = max(d.seq, seq)
	d.sent = append(d.sent, inFlight{seq: seq, frame: frame, nodeID: nodeID, requests: requests, afterHB: d.hbSent})
	return d.trim()
}

// heartbeatSent records a heartbeat handed to the current connection.
func (d *delivery) heartbeatSent() { d.hbSent++ }

// reply handles a master heartbeat received on the current connection for
// a worker whose node id is nodeID. It confirms what the reply confirms,
// decides the fate of the limbo (queued for nextResend, or returned as
// lost), and learns the master's dialect.
func (d *delivery) reply(m *protocol.MasterHeartbeat, nodeID string) (lost []inFlight) {
	d.hbReplies = min(d.hbReplies+1, d.hbSent) // a reply beyond the heartbeats sent here confirms nothing more
	if m.HasAck {
		d.dialect = dialectGlocust
		d.sent = slices.DeleteFunc(d.sent, func(r inFlight) bool { return r.seq <= m.Ack })
	} else {
		d.dialect = dialectLocust
		d.sent = slices.DeleteFunc(d.sent, func(r inFlight) bool { return r.afterHB < d.hbReplies })
	}
	for _, r := range d.limbo {
		switch {
		case m.HasAck && r.seq <= m.Ack: // counted
		case m.HasAck && r.nodeID == nodeID:
			d.resend = append(d.resend, r)
		default:
			lost = append(lost, r)
		}
	}
	d.limbo = nil
	return lost
}

// nextResend returns the next report to send again, if any.
func (d *delivery) nextResend() (inFlight, bool) {
	if len(d.resend) == 0 {
		return inFlight{}, false
	}
	return d.resend[0], true
}

// resent records that the report nextResend returned was handed to the
// current connection.
func (d *delivery) resent() {
	r := d.resend[0]
	d.resend = d.resend[1:]
	r.afterHB = d.hbSent
	d.sent = append(d.sent, r)
}

// settled reports whether no report waits for a decision or to be sent
// again: new reports may go out (they must follow the ones sent again).
func (d *delivery) settled() bool { return len(d.limbo) == 0 && len(d.resend) == 0 }

// unconfirmed reports whether some report is not confirmed yet.
func (d *delivery) unconfirmed() bool { return !d.settled() || len(d.sent) > 0 }

// connectionLost moves the reports of the failed connection to limbo, to
// be decided on the next connection, and starts counting heartbeats
// afresh. With a master that never answered a heartbeat nothing can be
// decided: those reports are dropped (returned).
func (d *delivery) connectionLost() (dropped []inFlight) {
	d.hbSent, d.hbReplies = 0, 0
	if d.dialect == dialectUnknown {
		dropped = append(d.sent, d.resend...)
		d.sent, d.resend = nil, nil
		return dropped
	}
	d.limbo = append(append(d.limbo, d.sent...), d.resend...)
	slices.SortFunc(d.limbo, func(a, b inFlight) int { return cmp.Compare(a.seq, b.seq) })
	d.sent, d.resend = nil, nil
	return d.trim()
}

// giveUp returns every report not confirmed, and forgets them (the worker
// ends without a master to decide).
func (d *delivery) giveUp() []inFlight {
	out := append(append(append([]inFlight(nil), d.limbo...), d.resend...), d.sent...)
	d.limbo, d.resend, d.sent = nil, nil, nil
	return out
}

// trim keeps at most maxTracked reports, giving up the oldest.
func (d *delivery) trim() (dropped []inFlight) {
	for len(d.limbo)+len(d.sent) > maxTracked {
		if len(d.limbo) > 0 {
			dropped = append(dropped, d.limbo[0])
			d.limbo = d.limbo[1:]
		} else {
			dropped = append(dropped, d.sent[0])
			d.sent = d.sent[1:]
		}
	}
	return dropped
}
