package protocol

import (
	"encoding/binary"
	"fmt"
	"math"
	"sort"
)

// The encoder writes msgpack exactly as Python's msgpack >= 1.0 does with
// default options (use_bin_type=True): str is always str (fixstr, str8,
// str16, str32), floats are always float64, integers take the smallest
// form (unsigned forms for n >= 0, signed forms for n < 0), and maps are
// written in the order the caller gives. Every append function is
// allocation-free apart from growing dst.

// AppendNil appends msgpack nil.
func AppendNil(dst []byte) []byte { return append(dst, 0xc0) }

// AppendBool appends msgpack true or false.
func AppendBool(dst []byte, v bool) []byte {
	if v {
		return append(dst, 0xc3)
	}
	return append(dst, 0xc2)
}

// AppendInt appends n in Python msgpack's smallest integer form.
func AppendInt(dst []byte, n int64) []byte {
	if n >= 0 {
		return AppendUint(dst, uint64(n))
	}
	switch {
	case n >= -32:
		return append(dst, byte(int8(n)))
	case n >= math.MinInt8:
		return append(dst, 0xd0, byte(int8(n)))
	case n >= math.MinInt16:
		return binary.BigEndian.AppendUint16(append(dst, 0xd1), uint16(int16(n)))
	case n >= math.MinInt32:
		return binary.BigEndian.AppendUint32(append(dst, 0xd2), uint32(int32(n)))
	default:
		return binary.BigEndian.AppendUint64(append(dst, 0xd3), uint64(n))
	}
}

// AppendUint appends n in Python msgpack's smallest unsigned form.
func AppendUint(dst []byte, n uint64) []byte {
	switch {
	case n <= 0x7f:
		return append(dst, byte(n))
	case n <= math.MaxUint8:
		return append(dst, 0xcc, byte(n))
	case n <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(dst, 0xcd), uint16(n))
	case n <= math.MaxUint32:
		return binary.BigEndian.AppendUint32(append(dst, 0xce), uint32(n))
	default:
		return binary.BigEndian.AppendUint64(append(dst, 0xcf), n)
	}
}

// AppendFloat appends f as float64 (0xcb), as Python always does.
func AppendFloat(dst []byte, f float64) []byte {
	return binary.BigEndian.AppendUint64(append(dst, 0xcb), math.Float64bits(f))
}

// AppendString appends s as msgpack str.
func AppendString(dst []byte, s string) []byte {
	n := len(s)
	switch {
	case n < 32:
		dst = append(dst, 0xa0|byte(n))
	case n <= math.MaxUint8:
		dst = append(dst, 0xd9, byte(n))
	case n <= math.MaxUint16:
		dst = binary.BigEndian.AppendUint16(append(dst, 0xda), uint16(n))
	default:
		dst = binary.BigEndian.AppendUint32(append(dst, 0xdb), uint32(n))
	}
	return append(dst, s...)
}

// AppendBytes appends b as msgpack bin.
func AppendBytes(dst []byte, b []byte) []byte {
	n := len(b)
	switch {
	case n <= math.MaxUint8:
		dst = append(dst, 0xc4, byte(n))
	case n <= math.MaxUint16:
		dst = binary.BigEndian.AppendUint16(append(dst, 0xc5), uint16(n))
	default:
		dst = binary.BigEndian.AppendUint32(append(dst, 0xc6), uint32(n))
	}
	return append(dst, b...)
}

// AppendArrayHeader appends the header of an array of n elements.
func AppendArrayHeader(dst []byte, n int) []byte {
	switch {
	case n < 16:
		return append(dst, 0x90|byte(n))
	case n <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(dst, 0xdc), uint16(n))
	default:
		return binary.BigEndian.AppendUint32(append(dst, 0xdd), uint32(n))
	}
}

// AppendMapHeader appends the header of a map of n entries.
func AppendMapHeader(dst []byte, n int) []byte {
	switch {
	case n < 16:
		return append(dst, 0x80|byte(n))
	case n <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(dst, 0xde), uint16(n))
	default:
		return binary.BigEndian.AppendUint32(append(dst, 0xdf), uint32(n))
	}
}

// AppendValue appends a generic value. Supported: nil, bool, all Go integer
// kinds, float32/float64 (written as float64), string, []byte, []Value,
// []string, *Map, map[string]Value (keys sorted, for determinism), Datetime
// and ObjectID.
func AppendValue(dst []byte, v Value) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return AppendNil(dst), nil
	case bool:
		return AppendBool(dst, x), nil
	case int:
		return AppendInt(dst, int64(x)), nil
	case int8:
		return AppendInt(dst, int64(x)), nil
	case int16:
		return AppendInt(dst, int64(x)), nil
	case int32:
		return AppendInt(dst, int64(x)), nil
	case int64:
		return AppendInt(dst, x), nil
	case uint:
		return AppendUint(dst, uint64(x)), nil
	case uint8:
		return AppendUint(dst, uint64(x)), nil
	case uint16:
		return AppendUint(dst, uint64(x)), nil
	case uint32:
		return AppendUint(dst, uint64(x)), nil
	case uint64:
		return AppendUint(dst, x), nil
	case float32:
		return AppendFloat(dst, float64(x)), nil
	case float64:
		return AppendFloat(dst, x), nil
	case string:
		return AppendString(dst, x), nil
	case []byte:
		return AppendBytes(dst, x), nil
	case []string:
		dst = AppendArrayHeader(dst, len(x))
		for _, s := range x {
			dst = AppendString(dst, s)
		}
		return dst, nil
	case []Value:
		dst = AppendArrayHeader(dst, len(x))
		var err error
		for _, e := range x {
			if dst, err = AppendValue(dst, e); err != nil {
				return dst, err
			}
		}
		return dst, nil
	case *Map:
		if x == nil {
			return AppendNil(dst), nil
		}
		dst = AppendMapHeader(dst, len(x.Keys))
		var err error
		for i := range x.Keys {
			if dst, err = AppendValue(dst, x.Keys[i]); err != nil {
				return dst, err
			}
			if dst, err = AppendValue(dst, x.Values[i]); err != nil {
				return dst, err
			}
		}
		return dst, nil
	case map[string]Value:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		dst = AppendMapHeader(dst, len(keys))
		var err error
		for _, k := range keys {
			dst = AppendString(dst, k)
			if dst, err = AppendValue(dst, x[k]); err != nil {
				return dst, err
			}
		}
		return dst, nil
	case Datetime:
		dst = AppendMapHeader(dst, 2)
		dst = AppendString(dst, "__datetime__")
		dst = AppendBool(dst, true)
		dst = AppendString(dst, "as_str")
		return AppendString(dst, x.Raw), nil
	case ObjectID:
		dst = AppendMapHeader(dst, 2)
		dst = AppendString(dst, "__ObjectId__")
		dst = AppendBool(dst, true)
		dst = AppendString(dst, "as_str")
		return AppendString(dst, string(x)), nil
	case Ext:
		return appendExt(dst, x), nil
	default:
		return dst, fmt.Errorf("protocol: cannot encode value of type %T", v)
	}
}

func appendExt(dst []byte, x Ext) []byte {
	n := len(x.Data)
	switch n {
	case 1:
		dst = append(dst, 0xd4)
	case 2:
		dst = append(dst, 0xd5)
	case 4:
		dst = append(dst, 0xd6)
	case 8:
		dst = append(dst, 0xd7)
	case 16:
		dst = append(dst, 0xd8)
	default:
		switch {
		case n <= math.MaxUint8:
			dst = append(dst, 0xc7, byte(n))
		case n <= math.MaxUint16:
			dst = binary.BigEndian.AppendUint16(append(dst, 0xc8), uint16(n))
		default:
			dst = binary.BigEndian.AppendUint32(append(dst, 0xc9), uint32(n))
		}
	}
	dst = append(dst, byte(x.Type))
	return append(dst, x.Data...)
}

// appendClassCounts writes a {class: count} map in the slice's order.
func appendClassCounts(dst []byte, cc []ClassCount) []byte {
	dst = AppendMapHeader(dst, len(cc))
	for _, c := range cc {
		dst = AppendString(dst, c.Class)
		dst = AppendInt(dst, c.Count)
	}
	return dst
}

func appendBuckets(dst []byte, bs []Bucket) []byte {
	dst = AppendMapHeader(dst, len(bs))
	for _, b := range bs {
		dst = AppendInt(dst, b.Key)
		dst = AppendInt(dst, b.Count)
	}
	return dst
}

// floatOrNone writes f, or nil when f is 0.
func floatOrNone(dst []byte, f float64) []byte {
	if f == 0 {
		return AppendNil(dst)
	}
	return AppendFloat(dst, f)
}

// appendTiming writes a response-time field as Python holds it: int 0 (or
// None for the minimum) before any timed request, an int when the peer sent
// one, a float otherwise.
func appendTiming(dst []byte, has, isInt bool, v float64, none bool) []byte {
	switch {
	case !has && none:
		return AppendNil(dst)
	case !has:
		return AppendInt(dst, 0)
	case isInt && v == math.Trunc(v) && math.Abs(v) < 1<<63:
		return AppendInt(dst, int64(v))
	default:
		return AppendFloat(dst, v)
	}
}

// AppendStatsEntry appends one entry in the key order of Locust's StatsEntryDict.
func AppendStatsEntry(dst []byte, e *StatsEntry) []byte {
	dst = AppendMapHeader(dst, 14)
	dst = AppendString(dst, "name")
	dst = AppendString(dst, e.Name)
	dst = AppendString(dst, "method")
	dst = AppendString(dst, e.Method)
	dst = AppendString(dst, "last_request_timestamp")
	dst = floatOrNone(dst, e.LastRequestTimestamp)
	dst = AppendString(dst, "start_time")
	dst = AppendFloat(dst, e.StartTime)
	dst = AppendString(dst, "num_requests")
	dst = AppendInt(dst, e.NumRequests)
	dst = AppendString(dst, "num_none_requests")
	dst = AppendInt(dst, e.NumNoneRequests)
	dst = AppendString(dst, "num_failures")
	dst = AppendInt(dst, e.NumFailures)
	dst = AppendString(dst, "total_response_time")
	dst = appendTiming(dst, e.HasTimings, e.IntTimings&IntTotal != 0, e.TotalResponseTime, false)
	dst = AppendString(dst, "max_response_time")
	dst = appendTiming(dst, e.HasTimings, e.IntTimings&IntMax != 0, e.MaxResponseTime, false)
	dst = AppendString(dst, "min_response_time")
	dst = appendTiming(dst, e.HasTimings, e.IntTimings&IntMin != 0, e.MinResponseTime, true)
	dst = AppendString(dst, "total_content_length")
	dst = AppendInt(dst, e.TotalContentLength)
	dst = AppendString(dst, "response_times")
	dst = appendBuckets(dst, e.ResponseTimes)
	dst = AppendString(dst, "num_reqs_per_sec")
	dst = appendBuckets(dst, e.NumReqsPerSec)
	dst = AppendString(dst, "num_fail_per_sec")
	return appendBuckets(dst, e.NumFailPerSec)
}

func appendStatsError(dst []byte, e *StatsError) []byte {
	if e.HasSeen {
		dst = AppendMapHeader(dst, 6)
	} else {
		dst = AppendMapHeader(dst, 4)
	}
	dst = AppendString(dst, "name")
	dst = AppendString(dst, e.Name)
	dst = AppendString(dst, "method")
	dst = AppendString(dst, e.Method)
	dst = AppendString(dst, "error")
	dst = AppendString(dst, e.Error)
	dst = AppendString(dst, "occurrences")
	dst = AppendInt(dst, e.Occurrences)
	if e.HasSeen {
		dst = AppendString(dst, "first_seen")
		dst = floatOrNone(dst, e.FirstSeen)
		dst = AppendString(dst, "last_seen")
		dst = floatOrNone(dst, e.LastSeen)
	}
	return dst
}

// Encode returns the frame payload for p addressed to or from nodeID.
func Encode(nodeID string, p Payload) ([]byte, error) {
	return AppendEncode(make([]byte, 0, 128), nodeID, p)
}

// AppendEncode appends the [type, data, node_id] envelope for p to dst.
func AppendEncode(dst []byte, nodeID string, p Payload) ([]byte, error) {
	if p == nil {
		return dst, fmt.Errorf("protocol: encode: nil payload")
	}
	dst = AppendArrayHeader(dst, 3)
	dst = AppendString(dst, p.MessageType())
	var err error
	if dst, err = appendData(dst, p); err != nil {
		return dst, fmt.Errorf("protocol: encode %q: %w", p.MessageType(), err)
	}
	return AppendString(dst, nodeID), nil
}

func appendData(dst []byte, p Payload) ([]byte, error) {
	switch m := p.(type) {
	case *ClientReady:
		if m.SkipVersionCheck {
			return AppendInt(dst, -1), nil
		}
		return AppendString(dst, m.Version), nil
	case *Heartbeat:
		dst = AppendMapHeader(dst, 3+boolInt(m.HasSeq)+4*boolInt(m.HasHealth))
		dst = AppendString(dst, "state")
		dst = AppendString(dst, m.State)
		dst = AppendString(dst, "current_cpu_usage")
		dst = AppendFloat(dst, m.CurrentCPUUsage)
		dst = AppendString(dst, "current_memory_usage")
		dst = AppendInt(dst, m.CurrentMemoryUsage)
		if m.HasSeq {
			dst = appendSeq(dst, KeySeq, m.Seq)
		}
		if h := &m.Health; m.HasHealth {
			dst = AppendFloat(AppendString(dst, KeyCPUThrottled), h.CPUThrottled)
			dst = AppendFloat(AppendString(dst, KeyCPUThrottledSeconds), h.CPUThrottledSeconds)
			dst = AppendInt(AppendString(dst, KeyMemoryWorkingSet), h.MemoryWorkingSet)
			dst = AppendInt(AppendString(dst, KeyMemoryLimit), h.MemoryLimit)
		}
		return dst, nil
	case *MasterHeartbeat:
		if !m.HasAck {
			return AppendNil(dst), nil
		}
		return appendSeq(AppendMapHeader(dst, 1), KeyAck, m.Ack), nil
	case *Spawning, *ClientStopped, *Quit, *Stop, *Reconnect:
		return AppendNil(dst), nil
	case *SpawningComplete:
		dst = AppendMapHeader(dst, 2)
		dst = AppendString(dst, "user_classes_count")
		dst = appendClassCounts(dst, m.UserClassesCount)
		dst = AppendString(dst, "user_count")
		return AppendInt(dst, m.UserCount), nil
	case *Exception:
		dst = AppendMapHeader(dst, 2)
		dst = AppendString(dst, "msg")
		dst = AppendString(dst, m.Msg)
		dst = AppendString(dst, "traceback")
		return AppendString(dst, m.Traceback), nil
	case *Logs:
		dst = AppendMapHeader(dst, 2)
		dst = AppendString(dst, "worker_id")
		dst = AppendString(dst, m.WorkerID)
		dst = AppendString(dst, "logs")
		return AppendValue(dst, m.Logs)
	case *Stats:
		return appendStats(dst, m), nil
	case *Ack:
		if !m.HasIndex { // masters <= 2.10.2 send None
			return AppendNil(dst), nil
		}
		if !m.HasSlot {
			dst = AppendMapHeader(dst, 1)
		} else {
			dst = AppendMapHeader(dst, 2)
		}
		dst = AppendString(dst, "index")
		dst = AppendInt(dst, m.Index)
		if m.HasSlot {
			dst = AppendString(dst, "glocust_slot")
			dst = AppendInt(dst, m.Slot)
		}
		return dst, nil
	case *Spawn:
		return appendSpawn(dst, m)
	case *MasterSpawningComplete:
		dst = AppendMapHeader(dst, 1)
		dst = AppendString(dst, "user_count")
		return AppendInt(dst, m.UserCount), nil
	case *UpdateUserClass:
		if m.Data == nil {
			return AppendMapHeader(dst, 0), nil
		}
		return AppendValue(dst, m.Data)
	case *Locustfile:
		return AppendValue(dst, m.Data)
	case *Custom:
		return AppendValue(dst, m.Data)
	default:
		return dst, fmt.Errorf("unknown payload type %T", p)
	}
}

func appendStats(dst []byte, m *Stats) []byte {
	dst = AppendMapHeader(dst, 5+boolInt(m.Seq != 0))
	dst = AppendString(dst, "stats")
	dst = AppendArrayHeader(dst, len(m.Stats))
	for i := range m.Stats {
		dst = AppendStatsEntry(dst, &m.Stats[i])
	}
	dst = AppendString(dst, "stats_total")
	dst = AppendStatsEntry(dst, &m.Total)
	dst = AppendString(dst, "errors")
	dst = AppendMapHeader(dst, len(m.Errors))
	for i := range m.Errors {
		dst = AppendString(dst, m.Errors[i].Key)
		dst = appendStatsError(dst, &m.Errors[i])
	}
	dst = AppendString(dst, "user_classes_count")
	dst = appendClassCounts(dst, m.UserClassesCount)
	dst = AppendString(dst, "user_count")
	dst = AppendInt(dst, m.UserCount)
	if m.Seq != 0 {
		dst = appendSeq(dst, KeySeq, m.Seq)
	}
	return dst
}

// appendSeq appends a glocust sequence key and its value (an int; sequence
// numbers stay far below 2^63).
func appendSeq(dst []byte, key string, n uint64) []byte {
	return AppendInt(AppendString(dst, key), int64(min(n, math.MaxInt64)))
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func appendSpawn(dst []byte, m *Spawn) ([]byte, error) {
	dst = AppendMapHeader(dst, 5)
	dst = AppendString(dst, "timestamp")
	dst = AppendFloat(dst, m.Timestamp)
	dst = AppendString(dst, "user_classes_count")
	dst = appendClassCounts(dst, m.UserClassesCount)
	dst = AppendString(dst, "host")
	if m.HasHost {
		dst = AppendString(dst, m.Host)
	} else {
		dst = AppendNil(dst)
	}
	dst = AppendString(dst, "stop_timeout")
	var err error
	if dst, err = AppendValue(dst, m.StopTimeout); err != nil {
		return dst, err
	}
	dst = AppendString(dst, "parsed_options")
	if m.ParsedOptions == nil {
		return AppendMapHeader(dst, 0), nil
	}
	return AppendValue(dst, m.ParsedOptions)
}
