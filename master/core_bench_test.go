package master

import (
	"bytes"
	"encoding/binary"
	"testing"
	"time"

	"github.com/glocust/glocust/protocol"
	"github.com/glocust/glocust/protocol/zmq"
)

// benchCore is a core with one registered worker whose replies are
// encoded into a reused buffer, as the direct send path does.
func benchCore(b *testing.B, id string) *core {
	now := time.Unix(1_800_000_000, 0)
	var buf []byte
	cfg := Config{Classes: []UserClass{{Name: "A", Weight: 1}}, Now: func() time.Time { return now }}
	c := newCore(cfg.withDefaults(),
		func(peer string, p protocol.Payload) {
			var err error
			if buf, err = protocol.AppendEncode(buf[:0], peer, p); err != nil {
				b.Fatal(err)
			}
		})
	ready, err := protocol.Encode(id, &protocol.ClientReady{Version: LocustVersion})
	if err != nil {
		b.Fatal(err)
	}
	c.handleFrame(zmq.Frame{Peer: id, Payload: ready}, now)
	return c
}

// benchReport is a 20-entry report; with seq it carries a glocust seq of
// the 9-byte form, so that the benchmark can renumber it in place.
func benchReport(b *testing.B, id string, seq bool) (frame []byte, seqAt int) {
	s := &protocol.Stats{UserClassesCount: []protocol.ClassCount{{Class: "A", Count: 10}}, UserCount: 10,
		Total: protocol.StatsEntry{Name: "Aggregated", NumRequests: 200, HasTimings: true, TotalResponseTime: 2000,
			MaxResponseTime: 50, MinResponseTime: 1, StartTime: 1_800_000_000}}
	for i := range 20 {
		s.Stats = append(s.Stats, protocol.StatsEntry{Name: "/page/" + string(rune('a'+i)), Method: "GET", NumRequests: 10,
			HasTimings: true, TotalResponseTime: 100, MaxResponseTime: 50, MinResponseTime: 1, StartTime: 1_800_000_000,
			LastRequestTimestamp: 1_800_000_002.5, ResponseTimes: []protocol.Bucket{{Key: 1, Count: 4}, {Key: 10, Count: 3}, {Key: 50, Count: 3}},
			NumReqsPerSec: []protocol.Bucket{{Key: 1_800_000_001, Count: 5}, {Key: 1_800_000_002, Count: 5}}})
	}
	if seq {
		s.Seq = 1 << 40
	}
	frame, err := protocol.Encode(id, s)
	if err != nil {
		b.Fatal(err)
	}
	if seq {
		seqAt = bytes.Index(frame, []byte(protocol.KeySeq)) + len(protocol.KeySeq) + 1 // after the key and 0xcf
	}
	return frame, seqAt
}

// BenchmarkCoreReport is the master's per-report work on its loop: decode,
// the glocust seq check when the report has one, merge.
func BenchmarkCoreReport(b *testing.B) {
	for _, seq := range []bool{false, true} {
		name := "locust"
		if seq {
			name = "glocust-seq"
		}
		b.Run(name, func(b *testing.B) {
			const id = "bench_0123456789abcdef0123456789abcdef"
			c := benchCore(b, id)
			frame, at := benchReport(b, id, seq)
			now := time.Unix(1_800_000_003, 0)
			n := uint64(1 << 40)
			b.ReportAllocs()
			for b.Loop() {
				if seq {
					n++
					binary.BigEndian.PutUint64(frame[at:], n)
				}
				c.handleFrame(zmq.Frame{Peer: id, Payload: frame}, now)
			}
			if seq && c.reg.get(id).seq != n {
				b.Fatalf("last counted seq %d, want %d", c.reg.get(id).seq, n)
			}
		})
	}
}

// BenchmarkCoreHeartbeat is the master's per-heartbeat work: decode,
// liveness, the generator-health check, the reply (with the glocust ack
// when asked) encoded. glocust-health is a glocust worker's heartbeat in
// a cgroup (docs/protocol.md section 9), below every threshold.
func BenchmarkCoreHeartbeat(b *testing.B) {
	for _, v := range []struct {
		name        string
		seq, health bool
	}{{"locust", false, false}, {"glocust-seq", true, false}, {"glocust-health", true, true}} {
		b.Run(v.name, func(b *testing.B) {
			const id = "bench_0123456789abcdef0123456789abcdef"
			c := benchCore(b, id)
			frame, err := protocol.Encode(id, &protocol.Heartbeat{State: protocol.StateRunning, CurrentCPUUsage: 5,
				CurrentMemoryUsage: 50_000_000, Seq: 12345, HasSeq: v.seq, HasHealth: v.health,
				Health: protocol.WorkerHealth{CPUThrottled: 0.05, CPUThrottledSeconds: 12.5, MemoryWorkingSet: 300 << 20, MemoryLimit: 1 << 30}})
			if err != nil {
				b.Fatal(err)
			}
			now := time.Unix(1_800_000_003, 0)
			b.ReportAllocs()
			for b.Loop() {
				c.handleFrame(zmq.Frame{Peer: id, Payload: frame}, now)
			}
		})
	}
}
