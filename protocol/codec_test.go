package protocol

import (
	"bytes"
	"encoding/hex"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/vmihailenco/msgpack/v5"
)

// Expected bytes were produced by Python msgpack 1.x (the library Locust
// uses) from the equivalent Python values; see the comment on each case.
func TestEncodeMatchesPython(t *testing.T) {
	t.Parallel()
	entry := StatsEntry{
		Name: "home", Method: "GET", LastRequestTimestamp: 1700000001.5, StartTime: 1700000000.0,
		NumRequests: 3, NumFailures: 1, TotalResponseTime: 36.75, MaxResponseTime: 20.5, MinResponseTime: 1.25,
		HasTimings: true, TotalContentLength: 300,
		ResponseTimes: []Bucket{{1, 1}, {15, 1}, {140, 1}, {1200, 70000}},
		NumReqsPerSec: []Bucket{{1700000000, 2}, {1700000001, 1}},
		NumFailPerSec: []Bucket{{1700000001, 1}},
	}
	cases := []struct {
		name string
		node string
		p    Payload
		want string
	}{
		{"client_ready", "host_0123456789abcdef0123456789abcdef", &ClientReady{Version: "2.47.0"},
			"93ac636c69656e745f7265616479a6322e34372e30d925686f73745f3031323334353637383961626364656630313233343536373839616263646566"},
		{"client_ready -1", "w", &ClientReady{SkipVersionCheck: true}, "93ac636c69656e745f7265616479ffa177"},
		{"heartbeat", "w1", &Heartbeat{State: "running", CurrentCPUUsage: 12.5, CurrentMemoryUsage: 123456789},
			"93a968656172746265617483a57374617465a772756e6e696e67b163757272656e745f6370755f7573616765cb4029000000000000b463757272656e745f6d656d6f72795f7573616765ce075bcd15a27731"},
		{"heartbeat with glocust_seq", "w1", &Heartbeat{State: "running", CurrentCPUUsage: 12.5, CurrentMemoryUsage: 123456789, Seq: 7, HasSeq: true},
			"93a968656172746265617484a57374617465a772756e6e696e67b163757272656e745f6370755f7573616765cb4029000000000000b463757272656e745f6d656d6f72795f7573616765ce075bcd15ab676c6f637573745f73657107a27731"},
		{"heartbeat with glocust_seq and health", "w1", &Heartbeat{State: "running", CurrentCPUUsage: 12.5, CurrentMemoryUsage: 123456789,
			Seq: 7, HasSeq: true, HasHealth: true, Health: WorkerHealth{CPUThrottled: 0.25, CPUThrottledSeconds: 1.5,
				MemoryWorkingSet: 49692672, MemoryLimit: 64 << 20}},
			"93a968656172746265617488a57374617465a772756e6e696e67b163757272656e745f6370755f7573616765cb4029000000000000b463757272656e745f6d656d6f72795f7573616765ce075bcd15ab676c6f637573745f73657107b5676c6f637573745f6370755f7468726f74746c6564cb3fd0000000000000bd676c6f637573745f6370755f7468726f74746c65645f7365636f6e6473cb3ff8000000000000ba676c6f637573745f6d656d6f72795f776f726b696e675f736574ce02f64000b4676c6f637573745f6d656d6f72795f6c696d6974ce04000000a27731"},
		{"master heartbeat", "w1", &MasterHeartbeat{}, "93a9686561727462656174c0a27731"},
		{"master heartbeat with glocust_ack", "w1", &MasterHeartbeat{Ack: 300, HasAck: true},
			"93a968656172746265617481ab676c6f637573745f61636bcd012ca27731"},
		{"stats with glocust_seq", "w1", &Stats{Total: StatsEntry{Name: "Aggregated", StartTime: 1700000000.0},
			UserClassesCount: []ClassCount{{"A", 1}}, UserCount: 1, Seq: 70000},
			"93a5737461747386a5737461747390ab73746174735f746f74616c8ea46e616d65aa41676772656761746564a66d6574686f64a0b66c6173745f726571756573745f74696d657374616d70c0aa73746172745f74696d65cb41d954fc40000000ac6e756d5f726571756573747300b16e756d5f6e6f6e655f726571756573747300ac6e756d5f6661696c7572657300b3746f74616c5f726573706f6e73655f74696d6500b16d61785f726573706f6e73655f74696d6500b16d696e5f726573706f6e73655f74696d65c0b4746f74616c5f636f6e74656e745f6c656e67746800ae726573706f6e73655f74696d657380b06e756d5f726571735f7065725f73656380b06e756d5f6661696c5f7065725f73656380a66572726f727380b2757365725f636c61737365735f636f756e7481a14101aa757365725f636f756e7401ab676c6f637573745f736571ce00011170a27731"},
		{"ack", "w1", &Ack{Index: 3, HasIndex: true}, "93a361636b81a5696e64657803a27731"},
		// A glocust master's ack: msgpack.packb(["ack", {"index": 3, "glocust_slot": 1}, "w1"]).
		{"ack with slot", "w1", &Ack{Index: 3, HasIndex: true, Slot: 1, HasSlot: true},
			"93a361636b82a5696e64657803ac676c6f637573745f736c6f7401a27731"},
		{"spawn", "w1", &Spawn{Timestamp: 1700000000.25, UserClassesCount: []ClassCount{{"A", 3}, {"B", 0}}, StopTimeout: 0.0, ParsedOptions: &Map{}},
			"93a5737061776e85a974696d657374616d70cb41d954fc40100000b2757365725f636c61737365735f636f756e7482a14103a14200a4686f7374c0ac73746f705f74696d656f7574cb0000000000000000ae7061727365645f6f7074696f6e7380a27731"},
		{"spawning_complete", "w1", &SpawningComplete{UserClassesCount: []ClassCount{{"A", 300}, {"B", 70000}}, UserCount: 70300},
			"93b1737061776e696e675f636f6d706c65746582b2757365725f636c61737365735f636f756e7482a141cd012ca142ce00011170aa757365725f636f756e74ce0001129ca27731"},
		{"stats", "w1", &Stats{
			Stats: []StatsEntry{entry},
			Total: StatsEntry{Name: "Aggregated", StartTime: 1700000000.0},
			Errors: []StatsError{{Key: "abc", Name: "home", Method: "GET", Error: strings.Repeat("x", 40), Occurrences: 1,
				FirstSeen: 1700000001.5, LastSeen: 1700000001.5, HasSeen: true}},
			UserClassesCount: []ClassCount{{"A", 1}}, UserCount: 1,
		}, "93a5737461747385a57374617473918ea46e616d65a4686f6d65a66d6574686f64a3474554b66c6173745f726571756573745f74696d657374616d70cb41d954fc40600000aa73746172745f74696d65cb41d954fc40000000ac6e756d5f726571756573747303b16e756d5f6e6f6e655f726571756573747300ac6e756d5f6661696c7572657301b3746f74616c5f726573706f6e73655f74696d65cb4042600000000000b16d61785f726573706f6e73655f74696d65cb4034800000000000b16d696e5f726573706f6e73655f74696d65cb3ff4000000000000b4746f74616c5f636f6e74656e745f6c656e677468cd012cae726573706f6e73655f74696d65738401010f01cc8c01cd04b0ce00011170b06e756d5f726571735f7065725f73656382ce6553f10002ce6553f10101b06e756d5f6661696c5f7065725f73656381ce6553f10101ab73746174735f746f74616c8ea46e616d65aa41676772656761746564a66d6574686f64a0b66c6173745f726571756573745f74696d657374616d70c0aa73746172745f74696d65cb41d954fc40000000ac6e756d5f726571756573747300b16e756d5f6e6f6e655f726571756573747300ac6e756d5f6661696c7572657300b3746f74616c5f726573706f6e73655f74696d6500b16d61785f726573706f6e73655f74696d6500b16d696e5f726573706f6e73655f74696d65c0b4746f74616c5f636f6e74656e745f6c656e67746800ae726573706f6e73655f74696d657380b06e756d5f726571735f7065725f73656380b06e756d5f6661696c5f7065725f73656380a66572726f727381a361626386a46e616d65a4686f6d65a66d6574686f64a3474554a56572726f72d92878787878787878787878787878787878787878787878787878787878787878787878787878787878ab6f6363757272656e63657301aa66697273745f7365656ecb41d954fc40600000a96c6173745f7365656ecb41d954fc40600000b2757365725f636c61737365735f636f756e7481a14101aa757365725f636f756e7401a27731"},
		{"custom ints", "w1", &Custom{Type: "custom", Data: []Value{int64(-1), int64(-33), int64(-129), int64(-40000), int64(-3000000000), int64(255), int64(65535), int64(70000), int64(5000000000), strings.Repeat("é", 20), []byte{0}}},
			"93a6637573746f6d9bffd0dfd1ff7fd2ffff63c0d3ffffffff4d2fa200ccffcdffffce00011170cf000000012a05f200d928c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c40100a27731"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got, err := Encode(c.node, c.p)
			if err != nil {
				t.Fatal(err)
			}
			if g := hex.EncodeToString(got); g != c.want {
				t.Fatalf("encoding differs from Python\n got %s\nwant %s", g, c.want)
			}
			// The reference decoder agrees it is one 3-element array.
			dec := msgpack.NewDecoder(bytes.NewReader(got))
			dec.SetMapDecoder(func(d *msgpack.Decoder) (any, error) { return d.DecodeUntypedMap() })
			env, err := dec.DecodeSlice()
			if err != nil || len(env) != 3 {
				t.Fatalf("vmihailenco decode: %v (%d elements)", err, len(env))
			}
			// Round trip through our decoder and encoder is byte-exact.
			side := FromWorker
			switch c.p.(type) {
			case *Ack, *Spawn, *MasterHeartbeat, *MasterSpawningComplete:
				side = FromMaster
			}
			e, err := Decode(got, side)
			if err != nil {
				t.Fatal(err)
			}
			if e.NodeID != c.node {
				t.Fatalf("node id %q, want %q", e.NodeID, c.node)
			}
			again, err := Encode(e.NodeID, e.Payload)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(again, got) {
				t.Fatalf("re-encoding differs\n got %x\nwant %x", again, got)
			}
		})
	}
}

func TestDecodeTolerance(t *testing.T) {
	t.Parallel()
	enc := func(v ...Value) []byte {
		b, err := AppendValue(nil, []Value(v))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	// Locust 2.12: float response-time keys, int stop_timeout, 4-key errors.
	stats212 := enc("stats", NewMap(
		"stats", []Value{NewMap("name", "x", "method", "GET", "num_requests", int64(2), "min_response_time", 150.0,
			"response_times", NewMap(160.0, int64(1), 1200.0, int64(1)))},
		"stats_total", NewMap("name", "Aggregated", "method", ""),
		"errors", NewMap("k", NewMap("name", "x", "method", "GET", "error", "boom", "occurrences", int64(2))),
		"user_classes_count", NewMap("A", int64(1)), "user_count", int64(1),
	), "w")
	e, err := Decode(stats212, FromWorker)
	if err != nil {
		t.Fatal(err)
	}
	s := e.Payload.(*Stats)
	if got, want := s.Stats[0].ResponseTimes, []Bucket{{160, 1}, {1200, 1}}; !reflect.DeepEqual(got, want) {
		t.Errorf("buckets %v, want %v", got, want)
	}
	if s.Errors[0].HasSeen || s.Errors[0].Occurrences != 2 {
		t.Errorf("4-key error decoded as %+v", s.Errors[0])
	}
	// Ack without index (masters <= 2.10.2).
	e, err = Decode(enc("ack", NewMap(), "w"), FromMaster)
	if err != nil || e.Payload.(*Ack).HasIndex {
		t.Fatalf("ack without index: %+v %v", e, err)
	}
	// client_ready "" and -1.
	for data, want := range map[Value]ClientReady{"": {}, int64(-1): {SkipVersionCheck: true}, "2.12.1": {Version: "2.12.1"}} {
		e, err = Decode(enc("client_ready", data, "w"), FromWorker)
		if err != nil || *e.Payload.(*ClientReady) != want {
			t.Errorf("client_ready %v: %+v %v", data, e.Payload, err)
		}
	}
	// Unknown types are kept verbatim.
	e, err = Decode(enc("my_type", NewMap("a", []Value{int64(1)}), "w"), FromWorker)
	if err != nil {
		t.Fatal(err)
	}
	if c, ok := e.Payload.(*Custom); !ok || c.Type != "my_type" {
		t.Fatalf("custom: %#v", e.Payload)
	}
	// Datetime hook.
	e, err = Decode(enc("x", NewMap("__datetime__", true, "as_str", "20240102T03:04:05.000006"), "w"), FromWorker)
	if err != nil {
		t.Fatal(err)
	}
	if dt, ok := e.Payload.(*Custom).Data.(Datetime); !ok || dt.Time.Nanosecond() != 6000 {
		t.Fatalf("datetime: %#v", e.Payload.(*Custom).Data)
	}
	// Stop timeout as int or None (2.12).
	e, err = Decode(enc("spawn", NewMap("timestamp", 1.5, "user_classes_count", NewMap("A", int64(2)), "host", nil, "stop_timeout", nil, "parsed_options", NewMap()), "w"), FromMaster)
	if err != nil || e.Payload.(*Spawn).StopTimeout != nil || e.Payload.(*Spawn).HasHost {
		t.Fatalf("spawn: %+v %v", e.Payload, err)
	}
}

func TestDecodeRejects(t *testing.T) {
	t.Parallel()
	for name, in := range map[string][]byte{
		"empty":        {},
		"two elements": {0x92, 0xa1, 'x', 0xc0},
		"huge array":   {0xdd, 0xff, 0xff, 0xff, 0xff},
		"huge str":     {0x93, 0xdb, 0xff, 0xff, 0xff, 0xff},
		"trailing":     {0x93, 0xa1, 'x', 0xc0, 0xa1, 'w', 0x00},
		"bad code":     {0x93, 0xa1, 'x', 0xc1, 0xa1, 'w'},
		"stats list":   {0x93, 0xa5, 's', 't', 'a', 't', 's', 0x81, 0xa5, 's', 't', 'a', 't', 's', 0x01, 0xa1, 'w'},
	} {
		_, err := Decode(in, FromWorker)
		var de *DecodeError
		if !errors.As(err, &de) {
			t.Errorf("%s: got %v, want a DecodeError", name, err)
		}
	}
	deep := bytes.Repeat([]byte{0x91}, 1000)
	if _, err := DecodeValue(deep); !errors.Is(err, ErrTooDeep) {
		t.Errorf("deep nesting: %v", err)
	}
}

func FuzzDecode(f *testing.F) {
	for _, p := range []Payload{
		&ClientReady{Version: "2.47.0"}, &Heartbeat{State: "ready"}, &Ack{Index: 1, HasIndex: true},
		&Spawn{Timestamp: 1, UserClassesCount: []ClassCount{{"A", 1}}, StopTimeout: 0.0},
		&Stats{Stats: []StatsEntry{{Name: "a", ResponseTimes: []Bucket{{1, 2}}}}, Errors: []StatsError{{Key: "k", HasSeen: true}}},
		&Stats{Seq: 9}, &Heartbeat{State: "running", Seq: 0, HasSeq: true}, &MasterHeartbeat{Ack: 5, HasAck: true},
		&Heartbeat{State: "running", HasSeq: true, HasHealth: true, Health: WorkerHealth{CPUThrottled: 1, MemoryLimit: 1 << 30}},
		&Custom{Type: "c", Data: NewMap("__datetime__", true, "as_str", "20240102T03:04:05.000006")},
	} {
		b, err := Encode("node_1", p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, false)
		f.Add(b, true)
	}
	f.Fuzz(func(t *testing.T, b []byte, fromMaster bool) {
		side := FromWorker
		if fromMaster {
			side = FromMaster
		}
		e, err := Decode(b, side)
		if err != nil {
			return
		}
		// Whatever decodes must encode again, and decode to the same payload type.
		out, err := Encode(e.NodeID, e.Payload)
		if err != nil {
			t.Fatalf("decoded %T but cannot encode it: %v", e.Payload, err)
		}
		e2, err := Decode(out, side)
		if err != nil {
			t.Fatalf("re-encoded frame does not decode: %v", err)
		}
		if e2.Type() != e.Type() || e2.NodeID != e.NodeID {
			t.Fatalf("round trip changed %q/%q into %q/%q", e.Type(), e.NodeID, e2.Type(), e2.NodeID)
		}
	})
}

// A client_ready version that is not a string is kept as text that depends
// on its content only (never on an address), so that two decodes of the
// same frame agree.
func TestClientReadyVersionNotAString(t *testing.T) {
	t.Parallel()
	data := []Value{NewMap("k", []Value{int64(1), "x"}), 2.5}
	got := clientReady(data).Version
	if want := `[{"k": [1, "x"]}, 2.5]`; got != want {
		t.Fatalf("version %q, want %q", got, want)
	}
	if again := clientReady([]Value{NewMap("k", []Value{int64(1), "x"}), 2.5}).Version; again != got {
		t.Fatalf("two decodes differ: %q and %q", got, again)
	}
}
