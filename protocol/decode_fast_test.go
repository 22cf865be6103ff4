package protocol

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"sync"
	"testing"
)

// sameValue is reflect.DeepEqual, except that NaNs of equal bits are equal.
func sameValue(a, b reflect.Value) bool {
	if a.IsValid() != b.IsValid() {
		return false
	}
	if !a.IsValid() {
		return true
	}
	if a.Type() != b.Type() {
		return false
	}
	switch a.Kind() {
	case reflect.Float32, reflect.Float64:
		return a.Float() == b.Float() || math.Float64bits(a.Float()) == math.Float64bits(b.Float())
	case reflect.Pointer:
		if a.IsNil() || b.IsNil() {
			return a.IsNil() == b.IsNil()
		}
		return sameValue(a.Elem(), b.Elem())
	case reflect.Interface:
		if a.IsNil() || b.IsNil() {
			return a.IsNil() == b.IsNil()
		}
		return sameValue(a.Elem(), b.Elem())
	case reflect.Slice:
		if a.IsNil() != b.IsNil() || a.Len() != b.Len() {
			return false
		}
		fallthrough
	case reflect.Array:
		for i := range a.Len() {
			if !sameValue(a.Index(i), b.Index(i)) {
				return false
			}
		}
		return true
	case reflect.Struct:
		if a.Type().String() == "time.Time" {
			return reflect.DeepEqual(a.Interface(), b.Interface())
		}
		for i := range a.NumField() {
			if !sameValue(a.Field(i), b.Field(i)) {
				return false
			}
		}
		return true
	case reflect.Map:
		return reflect.DeepEqual(a.Interface(), b.Interface())
	default:
		return reflect.DeepEqual(a.Interface(), b.Interface())
	}
}

// diffResult says how one frame went through both decoders.
type diffResult int

const (
	bothFailed diffResult = iota
	fastDeclined
	fastEqual
)

// checkDiff decodes frame for side with the fast path and the generic
// reference: either the fast path declines (and Decode returns exactly what
// the reference returns), or both succeed with deep-equal envelopes. With a
// Decoder d (reused from frame to frame by the caller), d.Decode must give
// the reference's result too.
func checkDiff(t testing.TB, d *Decoder, frame []byte, side Side) diffResult {
	t.Helper()
	want, werr := decodeGeneric(frame, side)
	if d != nil {
		peer := ""
		if len(frame)%2 == 0 {
			peer = want.NodeID // the usual case: the node id is the transport's peer
		}
		got, err := d.Decode(frame, side, peer)
		if (err == nil) != (werr == nil) || (err != nil && err.Error() != werr.Error()) {
			t.Fatalf("%s frame %x: Decoder error %v, reference %v", side, frame, err, werr)
		}
		if err == nil && !sameValue(reflect.ValueOf(got), reflect.ValueOf(want)) {
			t.Fatalf("%s frame %x: Decoder\n %#v\nreference\n %#v", side, frame, got.Payload, want.Payload)
		}
	}
	fast, ok := decodeFast(frame, side)
	got, gerr := Decode(frame, side)
	if (gerr == nil) != (werr == nil) || (gerr != nil && gerr.Error() != werr.Error()) {
		t.Fatalf("%s frame %x: Decode error %v, reference %v", side, frame, gerr, werr)
	}
	if gerr != nil {
		if _, isDE := gerr.(*DecodeError); !isDE {
			t.Fatalf("%s frame %x: error %T is not a *DecodeError", side, frame, gerr)
		}
		if ok {
			t.Fatalf("%s frame %x: fast path accepted %#v, reference fails: %v", side, frame, fast.Payload, werr)
		}
		return bothFailed
	}
	if !sameValue(reflect.ValueOf(got), reflect.ValueOf(want)) {
		t.Fatalf("%s frame %x: Decode\n %#v\nreference\n %#v", side, frame, got.Payload, want.Payload)
	}
	if !ok {
		return fastDeclined
	}
	if !sameValue(reflect.ValueOf(fast), reflect.ValueOf(want)) {
		t.Fatalf("%s frame %x: fast\n %#v\nreference\n %#v", side, frame, fast.Payload, want.Payload)
	}
	return fastEqual
}

func enc(t testing.TB, v ...Value) []byte {
	t.Helper()
	b, err := AppendValue(nil, []Value(v))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// benchStats is a report like bench/fanin's: 50 entries of 30 response-time
// buckets, 3 per-second keys, int keys as Locust 2.47 sends them.
func benchStats(rng *rand.Rand) *Stats {
	s := &Stats{UserCount: 100, UserClassesCount: []ClassCount{{"A", 60}, {"B", 40}}}
	mk := func(name, method string, nb int) StatsEntry {
		e := StatsEntry{Name: name, Method: method, LastRequestTimestamp: 1.8e9 + rng.Float64(), StartTime: 1.8e9,
			NumRequests: int64(rng.IntN(1000)), NumFailures: int64(rng.IntN(10)), TotalResponseTime: rng.Float64() * 1e5,
			MaxResponseTime: rng.Float64() * 1000, MinResponseTime: rng.Float64(), HasTimings: true, TotalContentLength: int64(rng.IntN(1e6))}
		k := int64(10)
		for range nb {
			k += int64(1 + rng.IntN(20))
			e.ResponseTimes = append(e.ResponseTimes, Bucket{k, int64(1 + rng.IntN(50))})
		}
		for s := range 3 {
			e.NumReqsPerSec = append(e.NumReqsPerSec, Bucket{1_800_000_000 + int64(s), int64(rng.IntN(100))})
		}
		e.NumFailPerSec = []Bucket{{1_800_000_001, 1}}
		return e
	}
	for i := range 50 {
		s.Stats = append(s.Stats, mk(fmt.Sprintf("/api/endpoint/%d", i), "GET", 30))
	}
	s.Total = mk("Aggregated", "", 162)
	s.Errors = []StatsError{{Key: "k1", Name: "/x", Method: "GET", Error: "boom", Occurrences: 3, FirstSeen: 1.8e9, LastSeen: 1.8e9 + 1, HasSeen: true}}
	return s
}

// seedFrames are valid frames of every fast type in many encodings,
// including every tolerance of the generic conversion.
func seedFrames(t testing.TB) [][]byte {
	rng := rand.New(rand.NewPCG(1, 2))
	var out [][]byte
	for _, p := range []Payload{
		benchStats(rng), &Heartbeat{State: "running", CurrentCPUUsage: 5, CurrentMemoryUsage: 50_000_000},
		&ClientReady{Version: "2.47.0"}, &ClientReady{SkipVersionCheck: true}, &ClientReady{}, &Spawning{},
		&SpawningComplete{UserClassesCount: []ClassCount{{"A", 1}, {"B", 2}}, UserCount: 3}, &ClientStopped{}, &Quit{},
		&Exception{Msg: "m", Traceback: "tb"}, &Ack{Index: 3, HasIndex: true}, &Ack{}, &Ack{Index: 2, HasIndex: true, Slot: 1, HasSlot: true}, &MasterHeartbeat{},
		&Spawn{Timestamp: 1.5, UserClassesCount: []ClassCount{{"A", 2}}, Host: "h", HasHost: true, StopTimeout: 1.0, ParsedOptions: NewMap("a", int64(1))},
		&Stats{}, &Logs{WorkerID: "w", Logs: []string{"x"}},
		// The glocust extension fields (docs/protocol.md section 9).
		&Stats{Seq: 1 << 40}, &Heartbeat{State: "ready", HasSeq: true}, &Heartbeat{State: "ready", Seq: 3, HasSeq: true},
		&MasterHeartbeat{HasAck: true}, &MasterHeartbeat{Ack: 1 << 33, HasAck: true},
		&Heartbeat{State: "running", Seq: 3, HasSeq: true, HasHealth: true,
			Health: WorkerHealth{CPUThrottled: 0.5, CPUThrottledSeconds: 2.25, MemoryWorkingSet: 1 << 28, MemoryLimit: 1 << 29}},
		&Heartbeat{State: "running", HasHealth: true},
	} {
		b, err := Encode("node_1", p)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	dt := func() *Map { return NewMap("__datetime__", true, "as_str", "20240102T03:04:05.000006") }
	oid := func() *Map { return NewMap("as_str", "abc", "__ObjectId__", true) }
	odd := []Value{nil, true, false, int64(-1), int64(7), uint64(math.MaxUint64), 2.5, math.NaN(), math.Inf(1), 1e300, "s", []byte("b"),
		[]Value{int64(1)}, NewMap(), NewMap("as_str", "x"), NewMap("as_str", int64(1), "y", int64(2)), dt(), oid(), Ext{Type: 1, Data: []byte{1}}}
	entry := func(kv ...Value) *Map {
		m := NewMap("name", "x", "method", "GET", "num_requests", int64(2), "total_response_time", int64(300), "max_response_time", 200.0,
			"min_response_time", int64(100), "response_times", NewMap(160.0, int64(1), int64(1200), int64(1), true, int64(3), "s", int64(4)))
		for i := 0; i+1 < len(kv); i += 2 {
			m.Keys = append(m.Keys, kv[i])
			m.Values = append(m.Values, kv[i+1])
		}
		return m
	}
	for _, v := range odd {
		out = append(out,
			enc(t, "client_ready", v, "w"),
			enc(t, "heartbeat", NewMap("state", v, "current_cpu_usage", v, "current_memory_usage", v), "w"),
			enc(t, "heartbeat", v, "w"), enc(t, "spawning", v, nil),
			enc(t, "heartbeat", NewMap("state", "ready", KeySeq, v, KeySeq, int64(1)), "w"),
			enc(t, "heartbeat", NewMap(KeyAck, v, KeyAck, int64(2), "other", v), "w"),
			enc(t, "stats", NewMap(KeySeq, v, "user_count", int64(1), KeySeq, int64(3)), "w"), enc(t, "quit", v, "w"), enc(t, "client_stopped", v, "w"),
			enc(t, "ack", v, "w"), enc(t, "ack", NewMap("index", v), "w"),
			enc(t, "exception", NewMap("msg", v, "traceback", "t"), "w"), enc(t, "exception", v, "w"),
			enc(t, "spawning_complete", NewMap("user_classes_count", v, "user_count", v), "w"),
			enc(t, "spawning_complete", NewMap("user_classes_count", NewMap("A", v, v, int64(1))), "w"),
			enc(t, "spawn", NewMap("timestamp", v, "user_classes_count", NewMap("A", v), "host", v, "stop_timeout", v, "parsed_options", v), "w"),
			enc(t, "stats", v, "w"),
			enc(t, "stats", NewMap("stats", v, "stats_total", v, "errors", v, "user_classes_count", v, "user_count", v), "w"),
			enc(t, "stats", NewMap("stats", []Value{v}), "w"),
			enc(t, "stats", NewMap("stats", []Value{entry("num_failures", v, "min_response_time", v, "response_times", v,
				"num_reqs_per_sec", NewMap(v, v), "last_request_timestamp", v, "name", v)}), "w"),
			enc(t, "stats", NewMap("stats_total", entry("total_response_time", v, "max_response_time", v)), "w"),
			enc(t, "stats", NewMap("errors", NewMap("k", v, v, NewMap("name", "n", "first_seen", v, "occurrences", v))), "w"),
			enc(t, "stats", NewMap("errors", NewMap("k", NewMap("name", v, "method", "GET", "error", "e", "occurrences", int64(1)))), "w"),
		)
	}
	// Duplicate keys (the first wins), 2-key maps with as_str, bin type
	// and node id, deep nesting.
	dup := &Map{Keys: []Value{"state", "state", "current_memory_usage", "current_memory_usage"}, Values: []Value{"ready", "running", int64(1), int64(2)}}
	dupEntry := entry()
	dupEntry.Keys = append(dupEntry.Keys, "name", "response_times", "min_response_time")
	dupEntry.Values = append(dupEntry.Values, "other", NewMap(int64(1), int64(1)), nil)
	deep := Value(int64(1))
	for range 70 {
		deep = []Value{deep}
	}
	out = append(out,
		enc(t, "heartbeat", dup, "w"),
		enc(t, "stats", NewMap("stats", []Value{dupEntry}, "stats", nil), "w"),
		enc(t, "stats", NewMap("stats", []Value{NewMap("as_str", "x", "name", "n")}), "w"),
		enc(t, "stats", NewMap("stats", []Value{entry("response_times", NewMap("as_str", int64(1), int64(5), int64(1)))}), "w"),
		enc(t, "stats", NewMap("errors", NewMap("as_str", NewMap(), "b", NewMap())), "w"),
		enc(t, "stats", NewMap("user_classes_count", NewMap("as_str", int64(1), "__ObjectId__", int64(2))), "w"),
		enc(t, "heartbeat", NewMap("as_str", "x", "__ObjectId__", true), "w"),
		enc(t, []byte("heartbeat"), NewMap("state", "ready"), "w"),
		enc(t, "heartbeat", NewMap("state", "ready"), []byte("w")),
		enc(t, "heartbeat", NewMap("state", "ready", "x", deep), "w"),
		enc(t, "quit", deep, "w"),
		enc(t, "heartbeat", NewMap("state", "ready"), int64(1)),
	)
	return out
}

func goldenFrames(t testing.TB) [][]byte {
	var out [][]byte
	for _, g := range loadGolden(t) {
		out = append(out, g.bytes(t))
	}
	return out
}

func mutate(rng *rand.Rand, b []byte) []byte {
	m := append([]byte(nil), b...)
	special := []byte{0xc0, 0xc1, 0xc2, 0xc3, 0xca, 0xcb, 0xcf, 0xd3, 0xd9, 0xdc, 0xde, 0xdf, 0x80, 0x82, 0x90, 0xa0, 0xa6, 0xff, 0x00, 0x7f}
	for range 1 + rng.IntN(3) {
		if len(m) == 0 {
			return m
		}
		i := rng.IntN(len(m))
		switch rng.IntN(6) {
		case 0:
			m[i] ^= byte(1 << rng.IntN(8))
		case 1:
			m[i] = special[rng.IntN(len(special))]
		case 2:
			m = m[:i]
		case 3:
			m = append(m[:i], m[i+1:]...)
		case 4:
			m = append(m[:i], append([]byte{special[rng.IntN(len(special))]}, m[i:]...)...)
		case 5:
			m[i] = byte(rng.IntN(256))
		}
	}
	return m
}

// TestDecodeDifferential checks the fast path against the generic
// reference on the golden frames, crafted frames covering every tolerance,
// and random mutations of both.
func TestDecodeDifferential(t *testing.T) {
	t.Parallel()
	golden := goldenFrames(t)
	seeds := append(seedFrames(t), golden...)
	d := &Decoder{}
	var counts [3]int
	for _, f := range seeds {
		for _, side := range []Side{FromWorker, FromMaster} {
			counts[checkDiff(t, d, f, side)]++
		}
	}
	t.Logf("seeds: %d both failed, %d declined by the fast path, %d fast and equal", counts[0], counts[1], counts[2])
	// Every golden frame of a fast type takes the fast path.
	for i, g := range loadGolden(t) {
		side := g.side()
		if _, ok := decodeFast(golden[i], side); !ok && isFastType(g.Type, side) {
			t.Errorf("%s: golden %s frame declined by the fast path", g.File, g.Type)
		}
	}
	rng := rand.New(rand.NewPCG(3, 4))
	n := 200
	if testing.Short() {
		n = 20
	}
	counts = [3]int{}
	for _, f := range seeds {
		for range n {
			m := mutate(rng, f)
			for _, side := range []Side{FromWorker, FromMaster} {
				counts[checkDiff(t, d, m, side)]++
			}
		}
	}
	t.Logf("mutations: %d both failed, %d declined by the fast path, %d fast and equal", counts[0], counts[1], counts[2])
}

func isFastType(typ string, side Side) bool {
	if side == FromMaster {
		return typ == TypeHeartbeat || typ == TypeAck || typ == TypeSpawn
	}
	return strings.Contains(" stats heartbeat client_ready spawning spawning_complete exception quit client_stopped ", " "+typ+" ")
}

// FuzzDecodeDifferential: the fast path and the generic reference agree on
// any input (or the fast path declines and Decode returns the reference's
// result).
func FuzzDecodeDifferential(f *testing.F) {
	for _, b := range seedFrames(f) {
		f.Add(b, false)
		f.Add(b, true)
	}
	for _, b := range goldenFrames(f) {
		f.Add(b, false)
		f.Add(b, true)
	}
	f.Fuzz(func(t *testing.T, b []byte, fromMaster bool) {
		side := FromWorker
		if fromMaster {
			side = FromMaster
		}
		fuzzDecoder.Lock()
		defer fuzzDecoder.Unlock()
		checkDiff(t, &fuzzDecoder.d, b, side)
	})
}

// fuzzDecoder is reused across fuzz inputs, so that state left by one
// frame would show on the next.
var fuzzDecoder struct {
	sync.Mutex
	d Decoder
}

func benchFrame(b *testing.B) []byte {
	f, err := Encode("fanin_0123456789abcdef0123456789abcdef", benchStats(rand.New(rand.NewPCG(1, 2))))
	if err != nil {
		b.Fatal(err)
	}
	return f
}

// BenchmarkDecodeStats decodes a 50-entry, 30-bucket report like
// bench/fanin's; /generic is the reference path (the decoder before the
// fast path).
func BenchmarkDecodeStats(b *testing.B) {
	f := benchFrame(b)
	for _, c := range []struct {
		name string
		fn   func([]byte, Side) (Envelope, error)
	}{{"fast", Decode}, {"generic", decodeGeneric}, {"decoder", (&Decoder{}).decodeNoPeer}} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(f)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.fn(f, FromWorker); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkDecodeHeartbeat(b *testing.B) {
	f, _ := Encode("fanin_0123456789abcdef0123456789abcdef", &Heartbeat{State: "running", CurrentCPUUsage: 5, CurrentMemoryUsage: 50_000_000})
	for _, c := range []struct {
		name string
		fn   func([]byte, Side) (Envelope, error)
	}{{"fast", Decode}, {"generic", decodeGeneric}, {"decoder", (&Decoder{}).decodePeer("fanin_0123456789abcdef0123456789abcdef")}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.fn(f, FromWorker); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestDecodeBucketsIndependent: bucket slices share chunks, but appending
// to one never changes another.
func TestDecodeBucketsIndependent(t *testing.T) {
	t.Parallel()
	f, err := Encode("w", benchStats(rand.New(rand.NewPCG(1, 2))))
	if err != nil {
		t.Fatal(err)
	}
	env, err := Decode(f, FromWorker)
	if err != nil {
		t.Fatal(err)
	}
	s := env.Payload.(*Stats)
	want := append([]Bucket(nil), s.Stats[0].NumReqsPerSec...)
	s.Stats[0].ResponseTimes = append(s.Stats[0].ResponseTimes, Bucket{-1, -1})
	if !reflect.DeepEqual(s.Stats[0].NumReqsPerSec, want) {
		t.Fatal("append to one bucket slice overwrote the next one")
	}
}

// TestDecodeFastAllocs bounds the allocations of the hot messages.
func TestDecodeFastAllocs(t *testing.T) {
	hb, _ := Encode("w", &Heartbeat{State: "running", CurrentCPUUsage: 5, CurrentMemoryUsage: 50_000_000})
	if n := testing.AllocsPerRun(100, func() { _, _ = Decode(hb, FromWorker) }); n > 2 {
		t.Errorf("heartbeat: %.0f allocations, want <= 2 (payload, node id)", n)
	}
	st, _ := Encode("w", benchStats(rand.New(rand.NewPCG(1, 2))))
	if n := testing.AllocsPerRun(20, func() { _, _ = Decode(st, FromWorker) }); n > 80 {
		t.Errorf("50-entry report: %.0f allocations, want <= 80", n)
	}
	// A Decoder reuses everything: once warm, the hot messages of a known
	// peer allocate nothing.
	var d Decoder
	if n := testing.AllocsPerRun(100, func() { _, _ = d.Decode(hb, FromWorker, "w") }); n > 0 {
		t.Errorf("heartbeat with a Decoder: %.0f allocations, want 0", n)
	}
	if n := testing.AllocsPerRun(20, func() { _, _ = d.Decode(st, FromWorker, "w") }); n > 0 {
		t.Errorf("50-entry report with a Decoder: %.0f allocations, want 0", n)
	}
}

// TestDecoderReuse: a Decoder's reports are right however their sizes
// vary from one frame to the next.
func TestDecoderReuse(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(5, 6))
	var d Decoder
	for i := range 60 {
		s := benchStats(rng)
		s.Stats = s.Stats[:rng.IntN(len(s.Stats)+1)]
		if i%3 == 0 {
			s.UserClassesCount = append(s.UserClassesCount, ClassCount{fmt.Sprintf("C%d", i), int64(i)})
		}
		if i%4 == 0 {
			s.Errors = nil
		}
		f, err := Encode("w", s)
		if err != nil {
			t.Fatal(err)
		}
		checkDiff(t, &d, f, FromWorker)
		hb, _ := Encode("w", &Heartbeat{State: "running", CurrentCPUUsage: float64(i)})
		checkDiff(t, &d, hb, FromWorker)
	}
}

// TestDecoderKeepsOtherPayloads: only stats and heartbeats are reused; a
// spawning_complete decoded before a report keeps its user classes.
func TestDecoderKeepsOtherPayloads(t *testing.T) {
	t.Parallel()
	var d Decoder
	st, _ := Encode("w", benchStats(rand.New(rand.NewPCG(1, 2))))
	if _, err := d.Decode(st, FromWorker, "w"); err != nil { // warm: the Decoder has memory to reuse
		t.Fatal(err)
	}
	sc, _ := Encode("w", &SpawningComplete{UserClassesCount: []ClassCount{{"A", 1}, {"B", 2}}, UserCount: 3})
	env, err := d.Decode(sc, FromWorker, "w")
	if err != nil {
		t.Fatal(err)
	}
	got := env.Payload.(*SpawningComplete)
	for range 3 {
		if _, err := d.Decode(st, FromWorker, "w"); err != nil {
			t.Fatal(err)
		}
	}
	if want := []ClassCount{{"A", 1}, {"B", 2}}; !reflect.DeepEqual(got.UserClassesCount, want) {
		t.Errorf("spawning_complete classes after later reports: %v, want %v", got.UserClassesCount, want)
	}
}

func (d *Decoder) decodeNoPeer(f []byte, side Side) (Envelope, error) { return d.Decode(f, side, "") }

func (d *Decoder) decodePeer(peer string) func([]byte, Side) (Envelope, error) {
	return func(f []byte, side Side) (Envelope, error) { return d.Decode(f, side, peer) }
}
