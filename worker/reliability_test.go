package worker

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/glocust/glocust/protocol"
)

// syncBuffer is a log sink safe for the worker's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// logged starts a worker whose log the test reads.
func logged(t *testing.T, opts ...Option) (*harness, *syncBuffer) {
	t.Helper()
	var buf syncBuffer
	opts = append([]Option{WithLogger(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})))}, opts...)
	return start(t, opts...), &buf
}

// record makes n requests on the worker's registry.
func (h *harness) record(n int) {
	e := h.w.stats.Entry("GET", "/")
	for range n {
		e.Record(time.Now(), 5*time.Millisecond, 10)
	}
}

// register answers client_ready and the first report; reply answers the
// master heartbeats as a Locust master (nil) or a glocust one.
func (h *harness) register(reply func(*protocol.Heartbeat) *protocol.MasterHeartbeat) {
	h.t.Helper()
	h.expect(protocol.TypeClientReady)
	h.send(&protocol.Ack{Index: 0, HasIndex: true})
	st := h.expect(protocol.TypeStats).(*protocol.Stats)
	h.answer(reply, st.Seq)
	h.sync()
}

// sync returns once the worker handled everything the test sent: it
// handles a spawn (of no users; a first one resets the stats) after the
// frames before it, and answers spawning_complete when done.
func (h *harness) sync() {
	h.t.Helper()
	h.spawnTS++
	h.send(&protocol.Spawn{Timestamp: h.spawnTS, UserClassesCount: []protocol.ClassCount{{Class: "A"}, {Class: "B"}}})
	h.expect(protocol.TypeSpawningComplete)
}

// answer reads the worker's next heartbeat and sends the master's reply.
func (h *harness) answer(reply func(*protocol.Heartbeat) *protocol.MasterHeartbeat, seq uint64) {
	h.t.Helper()
	hb := h.expect(protocol.TypeHeartbeat).(*protocol.Heartbeat)
	if !hb.HasSeq || hb.Seq < seq {
		h.t.Fatalf("heartbeat %+v after report %d: want the last seq in it", hb, seq)
	}
	h.send(reply(hb))
}

func locustMaster(*protocol.Heartbeat) *protocol.MasterHeartbeat { return &protocol.MasterHeartbeat{} }

// glocustMaster acks everything up to the heartbeat's seq (what a master
// that received every report would say).
func glocustMaster(hb *protocol.Heartbeat) *protocol.MasterHeartbeat {
	return &protocol.MasterHeartbeat{Ack: hb.Seq, HasAck: true}
}

// next returns the next frame the worker sent and its bytes, or false
// once deadline fired.
func (h *harness) next(deadline <-chan time.Time) (protocol.Envelope, []byte, bool) {
	h.t.Helper()
	select {
	case b := <-h.cur.toMaster:
		e, err := protocol.Decode(b, protocol.FromWorker)
		if err != nil {
			h.t.Fatalf("worker sent undecodable frame: %v", err)
		}
		return e, b, true
	case <-deadline:
		return protocol.Envelope{}, nil, false
	}
}

// expectStats reads frames until a stats report arrives, returning it and
// its bytes; reports with no requests are skipped when skipEmpty.
func (h *harness) expectStats(skipEmpty bool) (*protocol.Stats, []byte) {
	h.t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		e, b, ok := h.next(deadline)
		if !ok {
			h.t.Fatal("no stats report from the worker")
		}
		if st, isStats := e.Payload.(*protocol.Stats); isStats && (!skipEmpty || st.Total.NumRequests > 0) {
			return st, b
		}
	}
}

// drop simulates the connection's failure: the worker redials.
func (h *harness) drop() {
	h.t.Helper()
	h.cur.Close()
	h.nextPipe()
}

// quiet checks that no frame of type typ arrives within d (what the
// worker must not do while it waits for something).
func (h *harness) quiet(typ string, d time.Duration) {
	h.t.Helper()
	deadline := time.After(d)
	for {
		e, _, ok := h.next(deadline)
		if !ok {
			return
		}
		if e.Type() == typ {
			h.t.Fatalf("unexpected %s: %+v", typ, e.Payload)
		}
	}
}

// TestReportsWaitForTheMaster: after a connection failed, reports are
// carried (never dropped) until the master answers on the new connection;
// then one report delivers all of them.
func TestReportsWaitForTheMaster(t *testing.T) {
	t.Parallel()
	h := start(t)
	h.register(locustMaster)
	h.drop()
	h.record(7)
	h.quiet(protocol.TypeStats, 300*time.Millisecond) // several report intervals
	h.record(5)
	h.answer(locustMaster, 0)
	st, _ := h.expectStats(true)
	if st.Total.NumRequests != 12 || len(st.Stats) != 1 || st.Stats[0].NumRequests != 12 {
		t.Fatalf("first report after the master answered: %+v, want the 12 requests carried", st.Total)
	}
}

// TestResendToGlocustMaster: a report a glocust master did not acknowledge
// before the connection failed is sent again verbatim, before any newer
// report; what it acknowledged is not.
func TestResendToGlocustMaster(t *testing.T) {
	t.Parallel()
	h := start(t)
	h.register(glocustMaster)
	h.record(3)
	first, _ := h.expectStats(true)
	h.record(4)
	second, frame := h.expectStats(true)
	h.record(6) // carried: recorded after the last report handed over
	h.drop()
	// The master had counted the first report, not the second.
	h.answer(func(*protocol.Heartbeat) *protocol.MasterHeartbeat {
		return &protocol.MasterHeartbeat{Ack: first.Seq, HasAck: true}
	}, 0)
	again, b := h.expectStats(true)
	if again.Seq != second.Seq || !bytes.Equal(b, frame) {
		t.Fatalf("sent again: seq %d, same bytes %v; want seq %d as it was", again.Seq, bytes.Equal(b, frame), second.Seq)
	}
	next, _ := h.expectStats(true)
	if next.Seq != second.Seq+1 || next.Total.NumRequests != 6 {
		t.Fatalf("next report: seq %d with %d requests, want seq %d with the 6 carried", next.Seq, next.Total.NumRequests, second.Seq+1)
	}
	if h.w.NodeID() != "host_abc" {
		t.Fatalf("node id changed to %s", h.w.NodeID())
	}
}

// TestLostInFlightLocust: a report a Locust master did not confirm before
// the connection failed is not sent again (it may have been counted); the
// worker logs it with its request count.
func TestLostInFlightLocust(t *testing.T) {
	t.Parallel()
	h, log := logged(t)
	h.register(locustMaster)
	h.record(9)
	st, _ := h.expectStats(true)
	h.drop()
	h.answer(locustMaster, 0)
	h.record(2)
	next, _ := h.expectStats(true)
	if next.Total.NumRequests != 2 {
		t.Fatalf("report after the loss has %d requests, want only the 2 new ones", next.Total.NumRequests)
	}
	want := fmt.Sprintf("%s\" seq=%d requests=9", lossMsg, st.Seq)
	if err := waitLog(log, want); err != nil {
		t.Fatal(err)
	}
}

func waitLog(log *syncBuffer, want string) error {
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(log.String(), want) {
		if time.Now().After(deadline) {
			return fmt.Errorf("log lacks %q:\n%s", want, log.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	return nil
}

// TestDeafConnectionReregisters: a Locust master that does not answer on
// a new connection within the deaf timeout gets the worker under a new
// node id, whose first report carries what was recorded meanwhile.
func TestDeafConnectionReregisters(t *testing.T) {
	t.Parallel()
	h := start(t, WithDeafAfter(100*time.Millisecond))
	h.register(locustMaster)
	h.record(8)
	st, _ := h.expectStats(true)
	h.answer(locustMaster, st.Seq)
	h.record(5)
	h.drop()
	h.nextPipe() // the deaf connection is given up
	h.expect(protocol.TypeClientReady)
	if h.w.NodeID() == "host_abc" {
		t.Fatal("registering again under the same node id")
	}
	h.send(&protocol.Ack{Index: 1, HasIndex: true})
	h.answer(locustMaster, 0) // settles the reports of the deaf connection
	got, _ := h.expectStats(false)
	if got.Total.NumRequests != 5 {
		t.Fatalf("first report under the new id: %d requests, want the 5 carried", got.Total.NumRequests)
	}
}

// TestGlocustMasterKeepsIdentity: a glocust master's silence on a new
// connection is not taken for deafness (its ROUTER hands the identity
// over): the worker keeps its node id and waits.
func TestGlocustMasterKeepsIdentity(t *testing.T) {
	t.Parallel()
	h := start(t, WithDeafAfter(50*time.Millisecond))
	h.register(glocustMaster)
	h.drop()
	h.quiet(protocol.TypeClientReady, 500*time.Millisecond) // 10 deaf timeouts
	select {
	case p := <-h.pipes:
		t.Fatalf("the worker dialed again (%v) while a glocust master was only silent", p)
	default:
	}
	h.answer(glocustMaster, 0)
	h.record(1)
	if st, _ := h.expectStats(true); h.w.NodeID() != "host_abc" || st.Total.NumRequests != 1 {
		t.Fatalf("after the silence: node id %s, report %+v", h.w.NodeID(), st.Total)
	}
}

// TestShutdownWaitsForConfirmation: on interruption the worker sends its
// final report, waits until the master confirms it, then quits; every
// request recorded is in a report.
func TestShutdownWaitsForConfirmation(t *testing.T) {
	t.Parallel()
	for _, m := range []struct {
		name  string
		reply func(*protocol.Heartbeat) *protocol.MasterHeartbeat
	}{{"locust", locustMaster}, {"glocust", glocustMaster}} {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			h := start(t)
			h.register(m.reply)
			h.record(11)
			h.cancel()
			st, _ := h.expectStats(true)
			if st.Total.NumRequests != 11 {
				t.Fatalf("final report: %d requests, want 11", st.Total.NumRequests)
			}
			h.quiet(protocol.TypeQuit, 200*time.Millisecond)
			h.answer(m.reply, st.Seq)
			h.expect(protocol.TypeQuit)
			h.waitRun()
		})
	}
}

// TestShutdownReconnects: a worker interrupted while its connection is
// down connects again to deliver its final report and quit.
func TestShutdownReconnects(t *testing.T) {
	t.Parallel()
	h := start(t)
	h.register(glocustMaster)
	h.record(4)
	st, _ := h.expectStats(true) // sent, not acknowledged
	h.cur.Close()
	h.cancel()
	h.nextPipe()
	h.answer(func(*protocol.Heartbeat) *protocol.MasterHeartbeat { return &protocol.MasterHeartbeat{HasAck: true} }, 0)
	again, _ := h.expectStats(true)
	if again.Seq != st.Seq || again.Total.NumRequests != 4 {
		t.Fatalf("after reconnecting: report seq %d with %d requests, want %d sent again", again.Seq, again.Total.NumRequests, st.Seq)
	}
	h.answer(glocustMaster, again.Seq)
	h.expect(protocol.TypeQuit)
	h.waitRun()
}

// TestInterruptKeepsConnection repeats an interruption at once after the
// registration: the final report and quit go out on the same connection
// every time (the cancellation must not tear it down first).
func TestInterruptKeepsConnection(t *testing.T) {
	t.Parallel()
	for i := range 30 {
		h := start(t)
		h.register(locustMaster)
		h.cancel()
		h.expectStats(false)
		h.answer(locustMaster, 0)
		h.expect(protocol.TypeQuit)
		h.waitRun()
		select {
		case p := <-h.pipes:
			t.Fatalf("round %d: the worker dialed again (%v) while shutting down", i, p)
		default:
		}
	}
}

// waitRun waits for Run to return nil (and leaves the result for the
// cleanup).
func (h *harness) waitRun() {
	h.t.Helper()
	select {
	case err := <-h.result:
		h.result <- err
		if err != nil && !errors.Is(err, nil) {
			h.t.Fatalf("Run returned %v", err)
		}
	case <-time.After(5 * time.Second):
		h.t.Fatal("Run did not return")
	}
}
