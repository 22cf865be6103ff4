package protocol

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"
)

// MaxDepth bounds the nesting of arrays and maps the decoder accepts.
const MaxDepth = 64

// Errors returned by the decoder (wrapped in *DecodeError).
var (
	ErrTruncated = errors.New("truncated msgpack data")
	ErrTrailing  = errors.New("trailing bytes after envelope")
	ErrEnvelope  = errors.New("not a [type, data, node_id] envelope")
	ErrTooDeep   = errors.New("nesting too deep")
	ErrBadCode   = errors.New("invalid msgpack type code")
)

// DecodeError describes a frame that could not be decoded.
type DecodeError struct {
	Type string // message type, when it could be read
	Err  error
}

func (e *DecodeError) Error() string {
	if e.Type == "" {
		return "protocol: decode: " + e.Err.Error()
	}
	return fmt.Sprintf("protocol: decode %q: %v", e.Type, e.Err)
}

func (e *DecodeError) Unwrap() error { return e.Err }

// Decode parses one frame payload produced by side. It never panics and
// never allocates more than the frame's own length implies. Tolerances:
// float bucket keys (Locust 2.12) are rounded to ints, an ack without index
// is accepted, client_ready versions "" and -1 are accepted, errors without
// first_seen/last_seen are accepted, and unknown message types decode as
// *Custom with their data kept verbatim.
//
// The frequent types (worker: stats, heartbeat, client_ready, spawning,
// spawning_complete, exception, quit, client_stopped; master: heartbeat,
// ack, spawn) are decoded straight from the bytes (decode_fast.go); any
// other type, and any frame the fast path declines, goes through the
// generic Value tree. Both give the same result.
func Decode(frame []byte, side Side) (Envelope, error) {
	if env, ok := decodeFast(frame, side); ok {
		return env, nil
	}
	return decodeGeneric(frame, side)
}

// decodeGeneric is the reference decoder: it builds the generic Value tree
// of the data, then converts it. decodeFast must return what it returns
// (FuzzDecodeDifferential checks this); every frame decodeFast declines,
// including every invalid one, is decoded here, so errors come from here.
func decodeGeneric(frame []byte, side Side) (Envelope, error) {
	r := reader{b: frame}
	n, err := r.arrayLen()
	if err != nil {
		return Envelope{}, &DecodeError{Err: err}
	}
	if n != 3 {
		return Envelope{}, &DecodeError{Err: fmt.Errorf("%w: array of %d", ErrEnvelope, n)}
	}
	typ, err := r.str()
	if err != nil {
		return Envelope{}, &DecodeError{Err: fmt.Errorf("%w: type: %v", ErrEnvelope, err)}
	}
	data, err := r.value(0)
	if err != nil {
		return Envelope{}, &DecodeError{Type: typ, Err: err}
	}
	var node string
	if r.peekNil() {
		r.pos++
	} else if node, err = r.str(); err != nil {
		return Envelope{}, &DecodeError{Type: typ, Err: fmt.Errorf("%w: node_id: %v", ErrEnvelope, err)}
	}
	if r.pos != len(r.b) {
		return Envelope{}, &DecodeError{Type: typ, Err: ErrTrailing}
	}
	p, err := typed(typ, data, side)
	if err != nil {
		return Envelope{}, &DecodeError{Type: typ, Err: err}
	}
	return Envelope{NodeID: node, Payload: p}, nil
}

// DecodeValue decodes a single msgpack value (for tests and tools).
func DecodeValue(b []byte) (Value, error) {
	r := reader{b: b}
	v, err := r.value(0)
	if err != nil {
		return nil, err
	}
	if r.pos != len(b) {
		return nil, ErrTrailing
	}
	return v, nil
}

type reader struct {
	b     []byte
	pos   int
	arena []Bucket // decodeFast's bucket chunks
	dec   *Decoder // decodeFast's reusable memory; nil: allocate everything
}

func (r *reader) need(n uint64) ([]byte, error) {
	if n > uint64(len(r.b)-r.pos) {
		return nil, ErrTruncated
	}
	s := r.b[r.pos : r.pos+int(n)]
	r.pos += int(n)
	return s, nil
}

func (r *reader) byte1() (byte, error) {
	if r.pos >= len(r.b) {
		return 0, ErrTruncated
	}
	c := r.b[r.pos]
	r.pos++
	return c, nil
}

func (r *reader) peekNil() bool { return r.pos < len(r.b) && r.b[r.pos] == 0xc0 }

func (r *reader) uintN(size int) (uint64, error) {
	s, err := r.need(uint64(size))
	if err != nil {
		return 0, err
	}
	switch size {
	case 1:
		return uint64(s[0]), nil
	case 2:
		return uint64(binary.BigEndian.Uint16(s)), nil
	case 4:
		return uint64(binary.BigEndian.Uint32(s)), nil
	default:
		return binary.BigEndian.Uint64(s), nil
	}
}

func (r *reader) arrayLen() (int, error) {
	c, err := r.byte1()
	if err != nil {
		return 0, err
	}
	var n uint64
	switch {
	case c&0xf0 == 0x90:
		n = uint64(c & 0x0f)
	case c == 0xdc:
		n, err = r.uintN(2)
	case c == 0xdd:
		n, err = r.uintN(4)
	default:
		return 0, fmt.Errorf("want array, got code 0x%02x", c)
	}
	if err != nil {
		return 0, err
	}
	// Each element takes at least one byte: a larger claim is truncated data.
	if n > uint64(len(r.b)-r.pos) {
		return 0, ErrTruncated
	}
	return int(n), nil
}

func (r *reader) str() (string, error) {
	c, err := r.byte1()
	if err != nil {
		return "", err
	}
	var n uint64
	switch {
	case c&0xe0 == 0xa0:
		n = uint64(c & 0x1f)
	case c == 0xd9:
		n, err = r.uintN(1)
	case c == 0xda:
		n, err = r.uintN(2)
	case c == 0xdb:
		n, err = r.uintN(4)
	case c == 0xc4, c == 0xc5, c == 0xc6: // bin accepted where a str is expected
		r.pos--
		v, err := r.value(0)
		if err != nil {
			return "", err
		}
		return string(v.([]byte)), nil
	default:
		return "", fmt.Errorf("want str, got code 0x%02x", c)
	}
	if err != nil {
		return "", err
	}
	s, err := r.need(n)
	if err != nil {
		return "", err
	}
	return string(s), nil
}

// value decodes any msgpack value.
func (r *reader) value(depth int) (Value, error) {
	if depth > MaxDepth {
		return nil, ErrTooDeep
	}
	c, err := r.byte1()
	if err != nil {
		return nil, err
	}
	switch {
	case c <= 0x7f:
		return int64(c), nil
	case c >= 0xe0:
		return int64(int8(c)), nil
	case c&0xf0 == 0x80:
		return r.mapBody(uint64(c&0x0f), depth)
	case c&0xf0 == 0x90:
		return r.arrayBody(uint64(c&0x0f), depth)
	case c&0xe0 == 0xa0:
		s, err := r.need(uint64(c & 0x1f))
		return string(s), err
	}
	switch c {
	case 0xc0:
		return nil, nil
	case 0xc2:
		return false, nil
	case 0xc3:
		return true, nil
	case 0xc4, 0xc5, 0xc6:
		n, err := r.uintN(1 << (c - 0xc4))
		if err != nil {
			return nil, err
		}
		s, err := r.need(n)
		if err != nil {
			return nil, err
		}
		return append([]byte(nil), s...), nil
	case 0xc7, 0xc8, 0xc9:
		n, err := r.uintN(1 << (c - 0xc7))
		if err != nil {
			return nil, err
		}
		return r.ext(n)
	case 0xca:
		u, err := r.uintN(4)
		return float64(math.Float32frombits(uint32(u))), err
	case 0xcb:
		u, err := r.uintN(8)
		return math.Float64frombits(u), err
	case 0xcc, 0xcd, 0xce:
		u, err := r.uintN(1 << (c - 0xcc))
		return int64(u), err
	case 0xcf:
		u, err := r.uintN(8)
		if u <= math.MaxInt64 {
			return int64(u), err
		}
		return u, err
	case 0xd0:
		u, err := r.uintN(1)
		return int64(int8(u)), err
	case 0xd1:
		u, err := r.uintN(2)
		return int64(int16(u)), err
	case 0xd2:
		u, err := r.uintN(4)
		return int64(int32(u)), err
	case 0xd3:
		u, err := r.uintN(8)
		return int64(u), err
	case 0xd4, 0xd5, 0xd6, 0xd7, 0xd8:
		return r.ext(1 << (c - 0xd4))
	case 0xd9, 0xda, 0xdb:
		n, err := r.uintN(1 << (c - 0xd9))
		if err != nil {
			return nil, err
		}
		s, err := r.need(n)
		return string(s), err
	case 0xdc, 0xdd:
		n, err := r.uintN(2 << (c - 0xdc))
		if err != nil {
			return nil, err
		}
		return r.arrayBody(n, depth)
	case 0xde, 0xdf:
		n, err := r.uintN(2 << (c - 0xde))
		if err != nil {
			return nil, err
		}
		return r.mapBody(n, depth)
	}
	return nil, fmt.Errorf("%w 0x%02x", ErrBadCode, c)
}

func (r *reader) ext(n uint64) (Value, error) {
	t, err := r.byte1()
	if err != nil {
		return nil, err
	}
	s, err := r.need(n)
	if err != nil {
		return nil, err
	}
	return Ext{Type: int8(t), Data: append([]byte(nil), s...)}, nil
}

func (r *reader) arrayBody(n uint64, depth int) (Value, error) {
	if n > uint64(len(r.b)-r.pos) {
		return nil, ErrTruncated
	}
	out := make([]Value, 0, n)
	for i := uint64(0); i < n; i++ {
		v, err := r.value(depth + 1)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

func (r *reader) mapBody(n uint64, depth int) (Value, error) {
	if n > uint64(len(r.b)-r.pos)/2 {
		return nil, ErrTruncated
	}
	m := &Map{Keys: make([]Value, 0, n), Values: make([]Value, 0, n)}
	for i := uint64(0); i < n; i++ {
		k, err := r.value(depth + 1)
		if err != nil {
			return nil, err
		}
		v, err := r.value(depth + 1)
		if err != nil {
			return nil, err
		}
		m.Keys = append(m.Keys, k)
		m.Values = append(m.Values, v)
	}
	// Locust's object_hook: datetime and ObjectId maps.
	if n == 2 {
		if raw, ok := m.Get("as_str"); ok {
			if s, ok := raw.(string); ok {
				if _, ok := m.Get("__datetime__"); ok {
					if t, err := time.Parse(DatetimeLayout, s); err == nil {
						return Datetime{Time: t, Raw: s}, nil
					}
				}
				if _, ok := m.Get("__ObjectId__"); ok {
					return ObjectID(s), nil
				}
			}
		}
	}
	return m, nil
}

// ---- typed conversion ----

func typed(typ string, data Value, side Side) (Payload, error) {
	switch typ {
	case TypeClientReady:
		return clientReady(data), nil
	case TypeHeartbeat:
		if side == FromMaster {
			h := &MasterHeartbeat{}
			if m, ok := data.(*Map); ok {
				h.Ack, h.HasAck = glocustSeq(m, KeyAck)
			}
			return h, nil
		}
		return heartbeat(data)
	case TypeStats:
		return stats(data)
	case TypeSpawn:
		return spawn(data)
	case TypeSpawning:
		return &Spawning{}, nil
	case TypeSpawningComplete:
		m, err := asMap(data)
		if err != nil {
			return nil, err
		}
		if side == FromMaster {
			return &MasterSpawningComplete{UserCount: getInt(m, "user_count")}, nil
		}
		cc, err := classCounts(m, "user_classes_count")
		if err != nil {
			return nil, err
		}
		return &SpawningComplete{UserClassesCount: cc, UserCount: getInt(m, "user_count")}, nil
	case TypeClientStopped:
		return &ClientStopped{}, nil
	case TypeStop:
		return &Stop{}, nil
	case TypeQuit:
		return &Quit{}, nil
	case TypeReconnect:
		return &Reconnect{}, nil
	case TypeAck:
		a := &Ack{}
		if m, ok := data.(*Map); ok {
			if v, ok := m.Get("index"); ok {
				if i, ok := toInt(v); ok {
					a.Index, a.HasIndex = i, true
				}
			}
			if v, ok := m.Get("glocust_slot"); ok {
				if i, ok := toInt(v); ok {
					a.Slot, a.HasSlot = i, true
				}
			}
		}
		return a, nil
	case TypeException:
		m, err := asMap(data)
		if err != nil {
			return nil, err
		}
		return &Exception{Msg: getString(m, "msg"), Traceback: getString(m, "traceback")}, nil
	case TypeLogs:
		m, err := asMap(data)
		if err != nil {
			return nil, err
		}
		l := &Logs{WorkerID: getString(m, "worker_id")}
		if v, ok := m.Get("logs"); ok {
			if arr, ok := v.([]Value); ok {
				for _, e := range arr {
					s, _ := e.(string)
					l.Logs = append(l.Logs, s)
				}
			}
		}
		return l, nil
	case TypeUpdateUserClass:
		m, err := asMap(data)
		if err != nil {
			return nil, err
		}
		return &UpdateUserClass{Data: m}, nil
	case TypeLocustfile:
		return &Locustfile{Data: data}, nil
	default:
		return &Custom{Type: typ, Data: data}, nil
	}
}

func clientReady(data Value) *ClientReady {
	switch v := data.(type) {
	case string:
		return &ClientReady{Version: v}
	case nil:
		return &ClientReady{}
	default:
		if i, ok := toInt(v); ok {
			if i == -1 {
				return &ClientReady{SkipVersionCheck: true}
			}
			return &ClientReady{Version: strconv.FormatInt(i, 10)}
		}
		return &ClientReady{Version: valueString(v)}
	}
}

func heartbeat(data Value) (*Heartbeat, error) {
	m, err := asMap(data)
	if err != nil {
		return nil, err
	}
	h := &Heartbeat{State: getString(m, "state")}
	if v, ok := m.Get("current_cpu_usage"); ok {
		h.CurrentCPUUsage, _ = toFloat(v)
	}
	h.CurrentMemoryUsage = getInt(m, "current_memory_usage")
	h.Seq, h.HasSeq = glocustSeq(m, KeySeq)
	for _, k := range [...]string{KeyCPUThrottled, KeyCPUThrottledSeconds, KeyMemoryWorkingSet, KeyMemoryLimit} {
		if _, ok := m.Get(k); ok {
			h.HasHealth = true
		}
	}
	h.Health = WorkerHealth{CPUThrottled: getFloat(m, KeyCPUThrottled), CPUThrottledSeconds: getFloat(m, KeyCPUThrottledSeconds),
		MemoryWorkingSet: getInt(m, KeyMemoryWorkingSet), MemoryLimit: getInt(m, KeyMemoryLimit)}
	return h, nil
}

// glocustSeq reads an optional glocust sequence number (docs/protocol.md
// section 9): a msgpack integer >= 0; anything else is absent. Integers
// above MaxInt64 read as MaxInt64, as toInt does.
func glocustSeq(m *Map, key string) (uint64, bool) {
	v, ok := m.Get(key)
	if !ok || !isInt(v) {
		return 0, false
	}
	i, _ := toInt(v)
	if i < 0 {
		return 0, false
	}
	return uint64(i), true
}

func spawn(data Value) (*Spawn, error) {
	m, err := asMap(data)
	if err != nil {
		return nil, err
	}
	s := &Spawn{}
	if v, ok := m.Get("timestamp"); ok {
		s.Timestamp, _ = toFloat(v)
	}
	if s.UserClassesCount, err = classCounts(m, "user_classes_count"); err != nil {
		return nil, err
	}
	if v, ok := m.Get("host"); ok {
		if h, ok := v.(string); ok {
			s.Host, s.HasHost = h, true
		}
	}
	s.StopTimeout, _ = m.Get("stop_timeout")
	if v, ok := m.Get("parsed_options"); ok {
		if po, ok := v.(*Map); ok {
			s.ParsedOptions = po
		}
	}
	return s, nil
}

func stats(data Value) (*Stats, error) {
	m, err := asMap(data)
	if err != nil {
		return nil, err
	}
	s := &Stats{UserCount: getInt(m, "user_count")}
	s.Seq, _ = glocustSeq(m, KeySeq)
	if v, ok := m.Get("stats"); ok && v != nil {
		arr, ok := v.([]Value)
		if !ok {
			return nil, fmt.Errorf("stats: want list, got %T", v)
		}
		s.Stats = make([]StatsEntry, 0, len(arr))
		for i, e := range arr {
			em, ok := e.(*Map)
			if !ok {
				return nil, fmt.Errorf("stats[%d]: want map, got %T", i, e)
			}
			s.Stats = append(s.Stats, statsEntry(em))
		}
	}
	if v, ok := m.Get("stats_total"); ok {
		if tm, ok := v.(*Map); ok {
			s.Total = statsEntry(tm)
		}
	}
	if v, ok := m.Get("errors"); ok {
		if em, ok := v.(*Map); ok {
			for i, k := range em.Keys {
				key, _ := k.(string)
				e, ok := em.Values[i].(*Map)
				if !ok {
					return nil, fmt.Errorf("errors[%q]: want map, got %T", key, em.Values[i])
				}
				se := StatsError{
					Key:         key,
					Name:        getString(e, "name"),
					Method:      getString(e, "method"),
					Error:       getString(e, "error"),
					Occurrences: getInt(e, "occurrences"),
				}
				if _, ok := e.Get("first_seen"); ok {
					se.HasSeen = true
					se.FirstSeen = getFloat(e, "first_seen")
					se.LastSeen = getFloat(e, "last_seen")
				}
				s.Errors = append(s.Errors, se)
			}
		}
	}
	if s.UserClassesCount, err = classCounts(m, "user_classes_count"); err != nil {
		return nil, err
	}
	return s, nil
}

func statsEntry(m *Map) StatsEntry {
	e := StatsEntry{
		Name:                 getString(m, "name"),
		Method:               getString(m, "method"),
		LastRequestTimestamp: getFloat(m, "last_request_timestamp"),
		StartTime:            getFloat(m, "start_time"),
		NumRequests:          getInt(m, "num_requests"),
		NumNoneRequests:      getInt(m, "num_none_requests"),
		NumFailures:          getInt(m, "num_failures"),
		TotalResponseTime:    getFloat(m, "total_response_time"),
		MaxResponseTime:      getFloat(m, "max_response_time"),
		TotalContentLength:   getInt(m, "total_content_length"),
		ResponseTimes:        buckets(m, "response_times"),
		NumReqsPerSec:        buckets(m, "num_reqs_per_sec"),
		NumFailPerSec:        buckets(m, "num_fail_per_sec"),
	}
	if v, ok := m.Get("min_response_time"); ok && v != nil {
		e.MinResponseTime, _ = toFloat(v)
		e.HasTimings = true
		for bit, key := range map[uint8]string{IntTotal: "total_response_time", IntMax: "max_response_time", IntMin: "min_response_time"} {
			if v, _ := m.Get(key); isInt(v) {
				e.IntTimings |= bit
			}
		}
	}
	return e
}

func buckets(m *Map, key string) []Bucket {
	v, ok := m.Get(key)
	if !ok {
		return nil
	}
	bm, ok := v.(*Map)
	if !ok || bm.Len() == 0 {
		return nil
	}
	out := make([]Bucket, 0, bm.Len())
	for i, k := range bm.Keys {
		var key int64
		switch x := k.(type) {
		case float64: // Locust 2.12 sends float keys (160.0) for float inputs
			key = int64(math.RoundToEven(x))
		default:
			if key, ok = toInt(k); !ok {
				continue
			}
		}
		c, _ := toInt(bm.Values[i])
		out = append(out, Bucket{Key: key, Count: c})
	}
	return out
}

func classCounts(m *Map, key string) ([]ClassCount, error) {
	v, ok := m.Get(key)
	if !ok || v == nil {
		return nil, nil
	}
	cm, ok := v.(*Map)
	if !ok {
		return nil, fmt.Errorf("%s: want map, got %T", key, v)
	}
	out := make([]ClassCount, 0, cm.Len())
	for i, k := range cm.Keys {
		name, ok := k.(string)
		if !ok {
			return nil, fmt.Errorf("%s: class name %s is not a string", key, valueString(k))
		}
		n, _ := toInt(cm.Values[i])
		out = append(out, ClassCount{Class: name, Count: n})
	}
	return out, nil
}

func asMap(v Value) (*Map, error) {
	if v == nil {
		return &Map{}, nil
	}
	m, ok := v.(*Map)
	if !ok {
		return nil, fmt.Errorf("want map data, got %T", v)
	}
	return m, nil
}

func getString(m *Map, k string) string {
	v, _ := m.Get(k)
	s, _ := v.(string)
	return s
}

func getInt(m *Map, k string) int64 {
	v, _ := m.Get(k)
	i, _ := toInt(v)
	return i
}

func getFloat(m *Map, k string) float64 {
	v, _ := m.Get(k)
	f, _ := toFloat(v)
	return f
}

func toInt(v Value) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case uint64:
		if x > math.MaxInt64 {
			return math.MaxInt64, true
		}
		return int64(x), true
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) || x > math.MaxInt64 || x < math.MinInt64 {
			return 0, false
		}
		return int64(x), true
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	}
	return 0, false
}

func toFloat(v Value) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case int64:
		return float64(x), true
	case uint64:
		return float64(x), true
	}
	return 0, false
}

func isInt(v Value) bool {
	switch v.(type) {
	case int64, uint64:
		return true
	}
	return false
}
