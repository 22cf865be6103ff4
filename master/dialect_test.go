package master

import (
	"slices"
	"testing"
	"time"

	"github.com/glocust/glocust/protocol"
)

// TestMessagesByWorkerVersion: the master sends each worker only the
// message types that worker's Locust version handles: ack (2.10),
// heartbeat (2.19), update_user_class (2.25), spawning_complete (2.29).
// An empty version counts as 2.10, -1 (only glocust sends it) as the newest.
func TestMessagesByWorkerVersion(t *testing.T) {
	t.Parallel()
	all := []string{"ack", "heartbeat", "spawn", "update_user_class", "spawning_complete"}
	want := map[string][]string{
		"2.47.0": all,
		"2.29.0": all,
		"2.28.0": {"ack", "heartbeat", "spawn", "update_user_class"},
		"2.25.0": {"ack", "heartbeat", "spawn", "update_user_class"},
		"2.24.1": {"ack", "heartbeat", "spawn"},
		"2.20.1": {"ack", "heartbeat", "spawn"},
		"2.18.4": {"ack", "spawn"},
		"":       {"ack", "spawn"},
		"-1":     all,
		"2.9.0":  {"spawn"},
	}
	h := newHarness(t, nil)
	ids := map[string]string{} // node id -> version
	for v := range want {
		id := "h_" + v
		ids[id] = v
		cr := &protocol.ClientReady{Version: v}
		if v == "-1" {
			cr = &protocol.ClientReady{SkipVersionCheck: true}
		}
		h.recv(id, cr)
		h.recv(id, hb(protocol.StateReady))
	}
	if err := h.c.start(len(want), 100); err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	record := func() {
		for _, s := range h.take() {
			if typ := s.p.MessageType(); !slices.Contains(got[s.peer], typ) {
				got[s.peer] = append(got[s.peer], typ)
			}
			if sp, ok := s.p.(*protocol.Spawn); ok {
				h.recv(s.peer, &protocol.Spawning{})
				h.recv(s.peer, &protocol.SpawningComplete{UserClassesCount: sp.UserClassesCount})
			}
		}
	}
	for i := 0; i < 30 && h.c.state != StateRunning; i++ {
		h.advance(100 * time.Millisecond)
		record()
	}
	if h.c.state != StateRunning {
		t.Fatalf("state %s after the ramp-up", h.c.state)
	}
	if err := h.c.updateUserClass(protocol.NewMap("user_class_name", "A", "weight", int64(2))); err != nil {
		t.Fatal(err)
	}
	record()
	for id, v := range ids {
		g := slices.Sorted(slices.Values(got[id]))
		w := slices.Sorted(slices.Values(want[v]))
		if !slices.Equal(g, w) {
			t.Errorf("worker announcing %q was sent %v, want %v", v, g, w)
		}
	}
}

func TestLocustVersionIsReference(t *testing.T) {
	t.Parallel()
	if LocustVersion != protocol.Reference.String() {
		t.Errorf("master.LocustVersion %s, protocol.Reference %s", LocustVersion, protocol.Reference)
	}
}
