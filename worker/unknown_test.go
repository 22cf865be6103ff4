package worker

import (
	"strings"
	"testing"

	"github.com/glocust/glocust/protocol"
)

// exceptionsUntil reads the worker's frames until the exception whose
// message is marker and returns the exceptions before it. The worker sends
// exceptions in the order they were reported, so a marker reported after
// a spawn was answered comes after every exception that spawn caused.
func (h *harness) exceptionsUntil(marker string) []*protocol.Exception {
	h.t.Helper()
	h.w.ReportException(marker, "marker")
	var got []*protocol.Exception
	for {
		e := h.expect("exception").(*protocol.Exception)
		if e.Msg == marker {
			return got
		}
		got = append(got, e)
	}
}

// TestUnknownClassReported: a spawn naming classes the worker's users lack
// makes the worker send one exception per such class, naming it and the
// classes it has, once per test; the known class still runs.
func TestUnknownClassReported(t *testing.T) {
	t.Parallel()
	h := start(t)
	h.expect("client_ready")
	h.send(&protocol.Ack{Index: 0, HasIndex: true})
	spawn := func(ts float64, counts ...protocol.ClassCount) {
		h.send(&protocol.Spawn{Timestamp: ts, UserClassesCount: counts})
		h.expect("spawning_complete")
	}
	spawn(1, protocol.ClassCount{Class: "A", Count: 1}, protocol.ClassCount{Class: "C", Count: 2}, protocol.ClassCount{Class: "D", Count: 0})
	got := h.exceptionsUntil("after the first spawn")
	if len(got) != 2 {
		t.Fatalf("exceptions after a spawn with two unknown classes: %+v", got)
	}
	for i, class := range []string{`"C"`, `"D"`} {
		if !strings.Contains(got[i].Msg, class) || !strings.Contains(got[i].Msg, "has A, B;") ||
			!strings.Contains(got[i].Traceback, class) {
			t.Errorf("exception %d does not name %s and the classes A, B: %+v", i, class, got[i])
		}
	}
	if got[0].Traceback == got[1].Traceback {
		t.Errorf("one traceback for two classes (masters group exceptions by traceback): %q", got[0].Traceback)
	}
	if n := h.users.UserCount(); n != 1 {
		t.Errorf("%d users of known classes running, want 1", n)
	}

	// The next spawns of the same test report nothing more.
	spawn(2, protocol.ClassCount{Class: "A", Count: 2}, protocol.ClassCount{Class: "C", Count: 3})
	spawn(3, protocol.ClassCount{Class: "A", Count: 3}, protocol.ClassCount{Class: "C", Count: 4}, protocol.ClassCount{Class: "D", Count: 1})
	if got := h.exceptionsUntil("after more spawns"); len(got) != 0 {
		t.Fatalf("the same classes reported again in one test: %+v", got)
	}

	// A new test (after stop) reports them again.
	h.send(&protocol.Stop{})
	h.expect("client_ready")
	h.send(&protocol.Ack{Index: 0, HasIndex: true})
	spawn(4, protocol.ClassCount{Class: "A", Count: 1}, protocol.ClassCount{Class: "C", Count: 1})
	if got := h.exceptionsUntil("after a new test"); len(got) != 1 || !strings.Contains(got[0].Msg, `"C"`) {
		t.Fatalf("exceptions in a new test: %+v", got)
	}
}
