package worker

import (
	"testing"
	"time"

	"github.com/glocust/glocust/protocol"
)

// TestLogsOnlyToMastersThatHandleThem: the logs message (Locust 2.29) is
// sent to a master of the announced version only if that version handles
// it (with -1, the version is unknown: protocol.Baseline); in every case
// once the master sent a message that only 2.29+ masters send.
func TestLogsOnlyToMastersThatHandleThem(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		announced string
		logs      bool
	}{
		{"2.47.0", true},
		{"2.29.0", true},
		{"2.28.0", false},
		{"2.20.1", false},
		{"-1", false},
	} {
		t.Run(tc.announced, func(t *testing.T) {
			t.Parallel()
			var fl fakeLog
			fl.add(3)
			h := start(t, WithLocustVersion(tc.announced), WithLogs(fl.source, 30*time.Millisecond))
			h.expect("client_ready")
			h.send(&protocol.Ack{Index: 0, HasIndex: true})
			h.send(&protocol.MasterHeartbeat{})
			// 5 heartbeats (20 ms apart) span at least 3 log intervals.
			got := h.nextOf("logs", "heartbeat", 5) != nil
			if got != tc.logs {
				t.Fatalf("announcing %s: logs sent %v, want %v", tc.announced, got, tc.logs)
			}
			if tc.logs {
				return
			}
			// A master that sends spawning_complete runs 2.29 or later,
			// whatever the worker announced: logs are sent from then on.
			// The worker reads spawning_complete on its own goroutine: a
			// line logged before it did is dropped as the older master's
			// (none pending), so a new line goes with every round until
			// one is sent.
			h.send(&protocol.MasterSpawningComplete{UserCount: 0})
			sent := false
			for round := 0; round < 10 && !sent; round++ {
				fl.add(1)
				sent = h.nextOf("logs", "heartbeat", 3) != nil
			}
			if !sent {
				t.Fatalf("announcing %s: no logs after the master's spawning_complete", tc.announced)
			}
		})
	}
}

// TestResetStatsOnSpawnUnderOlderMasters: with --reset-stats, a worker
// under a master older than 2.29 (which never sends spawning_complete)
// resets its stats after every spawn it applies, as Locust's workers of
// those versions do; under a newer master it waits for the master's
// spawning_complete.
func TestResetStatsOnSpawnUnderOlderMasters(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		announced string
		want      int64 // requests in the final report
	}{
		{"2.20.1", 0},
		{"2.47.0", 1},
	} {
		t.Run(tc.announced, func(t *testing.T) {
			t.Parallel()
			// Reports only on the first ack and on quit: the test decides
			// what each holds.
			h := start(t, WithLocustVersion(tc.announced), WithResetStatsOnSpawningComplete(true),
				WithIntervals(20*time.Millisecond, time.Hour))
			h.expect("client_ready")
			h.send(&protocol.Ack{Index: 0, HasIndex: true})
			h.expect("stats")
			h.send(&protocol.Spawn{Timestamp: 1, UserClassesCount: []protocol.ClassCount{{Class: "A", Count: 1}}})
			h.expect("spawning_complete")
			h.w.stats.Entry("GET", "x").Record(time.Now(), 5*time.Millisecond, 0)
			h.send(&protocol.Spawn{Timestamp: 2, UserClassesCount: []protocol.ClassCount{{Class: "A", Count: 2}}})
			h.expect("spawning_complete")
			h.send(&protocol.Quit{})
			st := h.expect("stats").(*protocol.Stats)
			if st.Total.NumRequests != tc.want {
				t.Fatalf("announcing %s: the final report has %d requests, want %d", tc.announced, st.Total.NumRequests, tc.want)
			}
		})
	}
}

func TestMasterVersionFor(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		announced string
		want      protocol.Version
	}{
		{"2.47.0", protocol.Version{Major: 2, Minor: 47}},
		{"2.20.1", protocol.Version{Major: 2, Minor: 20, Patch: 1}},
		{"-1", protocol.Baseline},
		{"latest", protocol.Baseline},
	} {
		if got := masterVersionFor(tc.announced); got != tc.want {
			t.Errorf("masterVersionFor(%q) = %v, want %v", tc.announced, got, tc.want)
		}
	}
	if DefaultLocustVersion != protocol.Reference.String() {
		t.Errorf("DefaultLocustVersion %s, protocol.Reference %s", DefaultLocustVersion, protocol.Reference)
	}
}
