package worker

import (
	"fmt"
	"testing"

	"github.com/glocust/glocust/protocol"
)

// TestTagsFromSpawn checks which tags the worker filters with: the
// master's non-empty tags/exclude_tags from the spawn's parsed_options win,
// the worker's own (WithTags) fill in, and only a spawn that starts a test
// filters.
func TestTagsFromSpawn(t *testing.T) {
	t.Parallel()
	h := start(t, WithTags([]string{"own"}, []string{"own-x"}))
	h.expect("client_ready")
	h.send(&protocol.Ack{Index: 1, HasIndex: true})
	opts := protocol.NewMap("tags", []protocol.Value{"checkout", "login"}, "exclude_tags", nil, "num_users", int64(2))
	h.send(&protocol.Spawn{Timestamp: 1, UserClassesCount: []protocol.ClassCount{{Class: "A", Count: 2}}, ParsedOptions: opts})
	h.expect("spawning_complete")
	h.send(&protocol.Spawn{Timestamp: 2, UserClassesCount: []protocol.ClassCount{{Class: "A", Count: 3}}, ParsedOptions: opts})
	h.expect("spawning_complete")
	h.users.mu.Lock()
	got := fmt.Sprint(h.users.filters)
	h.users.mu.Unlock()
	if want := "[[[checkout login] [own-x]]]"; got != want {
		t.Fatalf("FilterTags calls = %s, want %s (one call, master's tags, own exclude_tags)", got, want)
	}
}

// TestPlacementFromAckAndSpawn checks what the users learn before each
// spawn is applied: the index and data slot from the ack (the slot is the
// index from a Locust master, which sends none), the number of shares from
// the spawn's expect_workers, and the master's options; and at once, a new
// slot an ack gives during a test.
func TestPlacementFromAckAndSpawn(t *testing.T) {
	t.Parallel()
	h := start(t)
	h.expect("client_ready")
	h.send(&protocol.Ack{Index: 4, HasIndex: true})
	h.send(&protocol.Spawn{Timestamp: 1, UserClassesCount: []protocol.ClassCount{{Class: "A", Count: 1}},
		ParsedOptions: protocol.NewMap("expect_workers", int64(3), "page_size", "7")})
	h.expect("spawning_complete")
	h.send(&protocol.Ack{Index: 5, HasIndex: true, Slot: 1, HasSlot: true})
	h.send(&protocol.Spawn{Timestamp: 2, UserClassesCount: []protocol.ClassCount{{Class: "A", Count: 2}}})
	h.expect("spawning_complete")
	h.users.mu.Lock()
	got := fmt.Sprint(h.users.calls)
	h.users.mu.Unlock()
	// The second ack comes during the test: the new slot is placed at once
	// (with the last spawn's options), then again with the next spawn's.
	want := "[place 4 4 3 options page_size=7 apply place 5 1 3 options page_size=7 place 5 1 1 options page_size=<nil> apply]"
	if got != want {
		t.Fatalf("calls = %s, want %s", got, want)
	}
}
