package protocol

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Value is a decoded msgpack value. It is one of: nil, bool, int64, uint64,
// float64, string, []byte, []Value, *Map, Datetime or ObjectID. Maps keep
// their wire order so that values re-encode byte for byte.
type Value = any

// Map is an insertion-ordered msgpack map. Keys are Values (Locust uses str,
// int and, in 2.12, float keys).
type Map struct {
	Keys   []Value
	Values []Value
}

// NewMap builds a map from alternating key, value arguments.
func NewMap(kv ...Value) *Map {
	m := &Map{}
	for i := 0; i+1 < len(kv); i += 2 {
		m.Set(kv[i], kv[i+1])
	}
	return m
}

// Len returns the number of entries.
func (m *Map) Len() int {
	if m == nil {
		return 0
	}
	return len(m.Keys)
}

// Get returns the value stored under the string key k.
func (m *Map) Get(k string) (Value, bool) {
	if m == nil {
		return nil, false
	}
	for i, key := range m.Keys {
		if s, ok := key.(string); ok && s == k {
			return m.Values[i], true
		}
	}
	return nil, false
}

// Set replaces the value under key k, or appends it.
func (m *Map) Set(k Value, v Value) {
	for i, key := range m.Keys {
		if keyEqual(key, k) {
			m.Values[i] = v
			return
		}
	}
	m.Keys = append(m.Keys, k)
	m.Values = append(m.Values, v)
}

// Datetime is Locust's encoding of a Python datetime (Locust >= 2.20):
// {"__datetime__": true, "as_str": "%Y%m%dT%H:%M:%S.%f"}.
type Datetime struct {
	Time time.Time
	Raw  string // the as_str text exactly as received or to be sent
}

// DatetimeLayout is the Go layout of Locust's "%Y%m%dT%H:%M:%S.%f".
const DatetimeLayout = "20060102T15:04:05.000000"

// NewDatetime converts t (as naive local wall time, as Python does) into a Datetime.
func NewDatetime(t time.Time) Datetime {
	return Datetime{Time: t, Raw: t.Format(DatetimeLayout)}
}

// ObjectID is Locust's encoding of a bson ObjectId: {"__ObjectId__": true, "as_str": hex}.
type ObjectID string

// Ext is a msgpack extension value. Locust never sends one; it is kept so
// that an unknown message carrying one can be logged and re-encoded.
type Ext struct {
	Type int8
	Data []byte
}

// keyEqual compares two map keys without panicking on uncomparable values.
func keyEqual(a, b Value) bool {
	switch x := a.(type) {
	case string:
		y, ok := b.(string)
		return ok && x == y
	case int64:
		y, ok := b.(int64)
		return ok && x == y
	case uint64:
		y, ok := b.(uint64)
		return ok && x == y
	case float64:
		y, ok := b.(float64)
		return ok && x == y
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case int:
		y, ok := b.(int)
		return ok && x == y
	case nil:
		return b == nil
	default:
		return false
	}
}

// valueString renders v as text with the same result for equal values:
// maps by their entries in wire order, never by address. It is how a
// value that should have been a string (a client_ready version that is
// not one) is kept readable.
func valueString(v Value) string {
	var b strings.Builder
	appendValueString(&b, v)
	return b.String()
}

func appendValueString(b *strings.Builder, v Value) {
	switch x := v.(type) {
	case *Map:
		b.WriteByte('{')
		for i := range x.Len() {
			if i > 0 {
				b.WriteString(", ")
			}
			appendValueString(b, x.Keys[i])
			b.WriteString(": ")
			appendValueString(b, x.Values[i])
		}
		b.WriteByte('}')
	case []Value:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			appendValueString(b, e)
		}
		b.WriteByte(']')
	case string:
		b.WriteString(strconv.Quote(x))
	case Datetime:
		b.WriteString(x.Raw)
	default:
		fmt.Fprint(b, x)
	}
}
