package worker

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/glocust/glocust/protocol"
)

// fakeLog is a LogSource whose lines the test appends.
type fakeLog struct {
	mu    sync.Mutex
	lines []string
}

func (f *fakeLog) add(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for range n {
		f.lines = append(f.lines, fmt.Sprintf("line %d", len(f.lines)))
	}
}

func (f *fakeLog) source() ([]string, int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.lines...), int64(len(f.lines))
}

// TestLogsMessages checks Locust's logs reporting: the whole buffer when
// there are new lines, nothing when there are none, and after an interval
// with more than 70 new lines one last send, then none.
func TestLogsMessages(t *testing.T) {
	t.Parallel()
	var fl fakeLog
	fl.add(3)
	h := start(t, WithLogs(fl.source, 30*time.Millisecond))
	h.expect("client_ready")
	h.send(&protocol.Ack{Index: 1, HasIndex: true})
	lg := h.expect("logs").(*protocol.Logs)
	if lg.WorkerID != h.w.NodeID() || len(lg.Logs) != 3 || lg.Logs[2] != "line 2" {
		t.Fatalf("first logs message: %+v", lg)
	}
	// No new lines: heartbeats go on, no logs message.
	if p := h.nextOf("logs", "heartbeat", 5); p != nil {
		t.Fatalf("logs sent without new lines: %+v", p)
	}
	fl.add(2)
	if lg := h.expect("logs").(*protocol.Logs); len(lg.Logs) != 5 {
		t.Fatalf("after 2 new lines: %d lines", len(lg.Logs))
	}
	fl.add(71)
	if lg := h.expect("logs").(*protocol.Logs); len(lg.Logs) != 76 {
		t.Fatalf("the last send: %d lines", len(lg.Logs))
	}
	fl.add(1)
	if p := h.nextOf("logs", "heartbeat", 5); p != nil {
		t.Fatalf("logs sent after the 70-line cut-off: %+v", p)
	}
}

// nextOf reads frames until n frames of type stop went by, returning the
// first frame of type want seen meanwhile (nil if none).
func (h *harness) nextOf(want, stop string, n int) protocol.Payload {
	h.t.Helper()
	for n > 0 {
		select {
		case b := <-h.cur.toMaster:
			e, err := protocol.Decode(b, protocol.FromWorker)
			if err != nil {
				h.t.Fatalf("undecodable frame: %v", err)
			}
			switch e.Type() {
			case want:
				return e.Payload
			case stop:
				n--
			}
		case <-time.After(5 * time.Second):
			h.t.Fatalf("no %q from worker", stop)
		}
	}
	return nil
}
