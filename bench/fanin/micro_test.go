package fanin

import (
	"testing"
	"time"

	"github.com/glocust/glocust/protocol"
	"github.com/glocust/glocust/stats"
)

// The master's per-message work without transport, on the simulator's
// frames: what one report and one heartbeat cost glocust's decoder and
// merge (compare the Python figures of the Locust 2.12.1 reference
// measurement in bench/README.md, "Master fan-in": 0.63-0.70 ms per
// 50-entry report and about 8-11 us per heartbeat).

func statsFrame(b *testing.B) []byte {
	g := newLoadGen(DefaultEntries, 7)
	vs, err := g.variants(time.Now())
	if err != nil {
		b.Fatal(err)
	}
	return append(append([]byte(nil), vs[0].prefix...), protocol.AppendString(nil, "fanin_0123456789abcdef0123456789abcdef")...)
}

func BenchmarkDecodeStats(b *testing.B) {
	f := statsFrame(b)
	b.SetBytes(int64(len(f)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := protocol.Decode(f, protocol.FromWorker); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMergeStats(b *testing.B) {
	env, err := protocol.Decode(statsFrame(b), protocol.FromWorker)
	if err != nil {
		b.Fatal(err)
	}
	st := env.Payload.(*protocol.Stats)
	agg := stats.NewAggregate(time.Now())
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		agg.Merge(st, now)
	}
}

// BenchmarkDecodeMergeStats is the master's whole per-report work: the
// reused Decoder (as master's core runs it) and the merge, over the four
// variants a simulator sends.
func BenchmarkDecodeMergeStats(b *testing.B) {
	g := newLoadGen(DefaultEntries, 7)
	vs, err := g.variants(time.Now())
	if err != nil {
		b.Fatal(err)
	}
	const peer = "fanin_0123456789abcdef0123456789abcdef"
	var frames [][]byte
	for _, v := range vs {
		frames = append(frames, append(append([]byte(nil), v.prefix...), protocol.AppendString(nil, peer)...))
	}
	var dec protocol.Decoder
	now := time.Now()
	agg := stats.NewAggregate(now)
	b.SetBytes(int64(len(frames[0])))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		env, err := dec.Decode(frames[i%len(frames)], protocol.FromWorker, peer)
		if err != nil {
			b.Fatal(err)
		}
		now = now.Add(3 * time.Millisecond) // 1,000 workers reporting every 3 s
		agg.Merge(env.Payload.(*protocol.Stats), now)
		i++
	}
}

func BenchmarkDecodeHeartbeat(b *testing.B) {
	f, _ := protocol.Encode("fanin_0123456789abcdef0123456789abcdef", &protocol.Heartbeat{State: "running", CurrentCPUUsage: 5, CurrentMemoryUsage: 50_000_000})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := protocol.Decode(f, protocol.FromWorker); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeHeartbeatReply(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := protocol.Encode("fanin_0123456789abcdef0123456789abcdef", &protocol.MasterHeartbeat{}); err != nil {
			b.Fatal(err)
		}
	}
}
