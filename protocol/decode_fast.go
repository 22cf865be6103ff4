package protocol

import (
	"encoding/binary"
	"math"
	"strconv"
)

// The fast path decodes the frequent message types straight from the
// msgpack bytes into their typed structs, without the generic Value tree.
// It walks map keys as byte slices, decodes the values it needs in place,
// skips (and validates) everything else, and allocates only the result.
//
// It is exact by construction: whenever a frame is invalid or unusual in a
// way whose typed result depends on details of the generic conversion
// (a two-entry map with an "as_str" key, which the generic reader may turn
// into a Datetime or ObjectID; a value of a type the conversion rejects;
// a bin-encoded type or node id), it declines and Decode falls back to
// decodeGeneric, which also produces every error.

// atom kinds.
const (
	kNil uint8 = iota
	kBool
	kInt   // fits int64 (generic: int64)
	kUint  // 0xcf above MaxInt64 (generic: uint64)
	kFloat // float32 or float64 (generic: float64)
	kStr   // str family (generic: string); s aliases the frame
	kOther // bin, ext, array or map: validated and skipped
)

// atom is one scalar read in place.
type atom struct {
	kind uint8
	b    bool
	i    int64
	u    uint64
	f    float64
	s    []byte
}

// toInt is toInt of the generic value.
func (a *atom) toInt() (int64, bool) {
	switch a.kind {
	case kInt:
		return a.i, true
	case kUint:
		return math.MaxInt64, true // only values above MaxInt64 are kUint
	case kFloat:
		x := a.f
		if math.IsNaN(x) || math.IsInf(x, 0) || x > math.MaxInt64 || x < math.MinInt64 {
			return 0, false
		}
		return int64(x), true
	case kBool:
		if a.b {
			return 1, true
		}
		return 0, true
	}
	return 0, false
}

// toFloat is toFloat of the generic value.
func (a *atom) toFloat() float64 {
	switch a.kind {
	case kFloat:
		return a.f
	case kInt:
		return float64(a.i)
	case kUint:
		return float64(a.u)
	}
	return 0
}

func (a *atom) isInt() bool { return a.kind == kInt || a.kind == kUint }

// str is getString of the generic value: "" unless it is a str.
func (a *atom) str() string {
	if a.kind != kStr {
		return ""
	}
	return string(a.s)
}

// skip validates and steps over one value exactly as value(depth) would
// accept it, without building it.
func (r *reader) skip(depth int) error {
	if depth > MaxDepth {
		return ErrTooDeep
	}
	c, err := r.byte1()
	if err != nil {
		return err
	}
	switch {
	case c <= 0x7f, c >= 0xe0:
		return nil
	case c&0xf0 == 0x80:
		return r.skipMap(uint64(c&0x0f), depth)
	case c&0xf0 == 0x90:
		return r.skipArray(uint64(c&0x0f), depth)
	case c&0xe0 == 0xa0:
		_, err := r.need(uint64(c & 0x1f))
		return err
	}
	switch c {
	case 0xc0, 0xc2, 0xc3:
		return nil
	case 0xc4, 0xc5, 0xc6, 0xd9, 0xda, 0xdb:
		size := 1 << (c - 0xc4)
		if c >= 0xd9 {
			size = 1 << (c - 0xd9)
		}
		n, err := r.uintN(size)
		if err != nil {
			return err
		}
		_, err = r.need(n)
		return err
	case 0xc7, 0xc8, 0xc9:
		n, err := r.uintN(1 << (c - 0xc7))
		if err != nil {
			return err
		}
		if _, err := r.byte1(); err != nil {
			return err
		}
		_, err = r.need(n)
		return err
	case 0xca:
		_, err := r.need(4)
		return err
	case 0xcb:
		_, err := r.need(8)
		return err
	case 0xcc, 0xcd, 0xce, 0xcf:
		_, err := r.need(1 << (c - 0xcc))
		return err
	case 0xd0, 0xd1, 0xd2, 0xd3:
		_, err := r.need(1 << (c - 0xd0))
		return err
	case 0xd4, 0xd5, 0xd6, 0xd7, 0xd8:
		if _, err := r.byte1(); err != nil {
			return err
		}
		_, err := r.need(1 << (c - 0xd4))
		return err
	case 0xdc, 0xdd:
		n, err := r.uintN(2 << (c - 0xdc))
		if err != nil {
			return err
		}
		return r.skipArray(n, depth)
	case 0xde, 0xdf:
		n, err := r.uintN(2 << (c - 0xde))
		if err != nil {
			return err
		}
		return r.skipMap(n, depth)
	}
	return ErrBadCode
}

func (r *reader) skipArray(n uint64, depth int) error {
	if n > uint64(len(r.b)-r.pos) {
		return ErrTruncated
	}
	for i := uint64(0); i < n; i++ {
		if err := r.skip(depth + 1); err != nil {
			return err
		}
	}
	return nil
}

func (r *reader) skipMap(n uint64, depth int) error {
	if n > uint64(len(r.b)-r.pos)/2 {
		return ErrTruncated
	}
	for i := uint64(0); i < 2*n; i++ {
		if err := r.skip(depth + 1); err != nil {
			return err
		}
	}
	return nil
}

// atom reads one value at depth: scalars and strs in place, anything else
// validated, skipped and reported as kOther. ok is false on invalid data.
func (r *reader) atom(depth int) (a atom, ok bool) {
	if depth > MaxDepth || r.pos >= len(r.b) {
		return a, false
	}
	c := r.b[r.pos]
	switch {
	case c <= 0x7f:
		r.pos++
		return atom{kind: kInt, i: int64(c)}, true
	case c >= 0xe0:
		r.pos++
		return atom{kind: kInt, i: int64(int8(c))}, true
	case c&0xe0 == 0xa0:
		r.pos++
		s, err := r.need(uint64(c & 0x1f))
		return atom{kind: kStr, s: s}, err == nil
	}
	switch c {
	case 0xc0:
		r.pos++
		return atom{kind: kNil}, true
	case 0xc2, 0xc3:
		r.pos++
		return atom{kind: kBool, b: c == 0xc3}, true
	case 0xca:
		r.pos++
		u, err := r.uintN(4)
		return atom{kind: kFloat, f: float64(math.Float32frombits(uint32(u)))}, err == nil
	case 0xcb:
		r.pos++
		u, err := r.uintN(8)
		return atom{kind: kFloat, f: math.Float64frombits(u)}, err == nil
	case 0xcc, 0xcd, 0xce:
		r.pos++
		u, err := r.uintN(1 << (c - 0xcc))
		return atom{kind: kInt, i: int64(u)}, err == nil
	case 0xcf:
		r.pos++
		u, err := r.uintN(8)
		if u <= math.MaxInt64 {
			return atom{kind: kInt, i: int64(u)}, err == nil
		}
		return atom{kind: kUint, u: u}, err == nil
	case 0xd0:
		r.pos++
		u, err := r.uintN(1)
		return atom{kind: kInt, i: int64(int8(u))}, err == nil
	case 0xd1:
		r.pos++
		u, err := r.uintN(2)
		return atom{kind: kInt, i: int64(int16(u))}, err == nil
	case 0xd2:
		r.pos++
		u, err := r.uintN(4)
		return atom{kind: kInt, i: int64(int32(u))}, err == nil
	case 0xd3:
		r.pos++
		u, err := r.uintN(8)
		return atom{kind: kInt, i: int64(u)}, err == nil
	case 0xd9, 0xda, 0xdb:
		r.pos++
		n, err := r.uintN(1 << (c - 0xd9))
		if err != nil {
			return a, false
		}
		s, err := r.need(n)
		return atom{kind: kStr, s: s}, err == nil
	}
	return atom{kind: kOther}, r.skip(depth) == nil
}

// mapHeader reads a map header (n entries, bounded by the remaining bytes
// as mapBody bounds it). ok is false, with the position unchanged, if the
// value is not a valid map.
func (r *reader) mapHeader() (n int, ok bool) { return r.header(0x80, 0xde, 2) }

// arrayHeader reads an array header, bounded like arrayBody.
func (r *reader) arrayHeader() (n int, ok bool) { return r.header(0x90, 0xdc, 1) }

// header reads a map or array header: fix is the fix form's high nibble,
// code16 the 16-bit form's type byte (code16+1 the 32-bit one), and an
// element takes at least minBytes, which bounds n by what is left.
func (r *reader) header(fix, code16 byte, minBytes uint64) (n int, ok bool) {
	start := r.pos
	defer func() {
		if !ok {
			r.pos = start // the caller may skip (and so validate) the value
		}
	}()
	if r.pos >= len(r.b) {
		return 0, false
	}
	c := r.b[r.pos]
	var u uint64
	switch {
	case c&0xf0 == fix:
		r.pos++
		u = uint64(c & 0x0f)
	case c == code16 || c == code16+1:
		r.pos++
		var err error
		if u, err = r.uintN(2 << (c - code16)); err != nil {
			return 0, false
		}
	default:
		return 0, false
	}
	if u > uint64(len(r.b)-r.pos)/minBytes {
		return 0, false
	}
	return int(u), true
}

// key reads a map key at depth: a str key as a byte slice aliasing the
// frame (isStr true), any other key validated and skipped.
func (r *reader) key(depth int) (k []byte, isStr bool, ok bool) {
	if p := r.pos; p < len(r.b) && r.b[p]&0xe0 == 0xa0 && depth <= MaxDepth { // fixstr, the usual key
		if end := p + 1 + int(r.b[p]&0x1f); end <= len(r.b) {
			r.pos = end
			return r.b[p+1 : end], true, true
		}
	}
	a, ok := r.atom(depth)
	return a.s, a.kind == kStr, ok
}

// mapKeys walks a map of n entries at depth (its keys and values are at
// depth+1). For each str key it calls f, which must consume the value and
// return false on failure; other keys' values are skipped. A two-entry map
// with an "as_str" key declines (the generic reader may turn it into a
// Datetime or an ObjectID). seen holds one bit per field index f reports,
// so that the first of duplicate keys wins as with Map.Get.
func (r *reader) mapKeys(n, depth int, f func(k []byte) bool) bool {
	for range n {
		k, isStr, ok := r.key(depth + 1)
		if !ok {
			return false
		}
		if isStr && n == 2 && string(k) == "as_str" {
			return false
		}
		if !isStr {
			if r.skip(depth+1) != nil {
				return false
			}
			continue
		}
		if !f(k) {
			return false
		}
	}
	return true
}

// Decoder decodes frames as Decode does, reusing its memory from one
// call to the next: the master decodes a stats report and a heartbeat per
// worker and second, and they need not cost the garbage collector. The
// *Stats and *Heartbeat payloads it returns, and everything they hold
// (entries, buckets, errors, user classes), are only valid until the next
// Decode on the same Decoder; strings stay valid. Other payloads are
// allocated as by Decode. The zero Decoder is ready to use; it is not safe
// for concurrent use.
type Decoder struct {
	stats   Stats
	hb      Heartbeat
	entries []StatsEntry
	errs    []StatsError
	classes []ClassCount
	arena   []Bucket
	buckets int               // buckets the last stats report needed
	names   map[string]string // interned entry, class and error strings
}

// A Decoder interns at most decoderMaxNames strings of at most
// decoderMaxNameLen bytes (4 MiB); other strings are allocated per frame.
const (
	decoderMaxNames   = 1 << 14
	decoderMaxNameLen = 256
)

// Decode is Decode (the package function) with reused memory. peer, when
// it equals the frame's node id, is returned as Envelope.NodeID without
// allocating a copy (pass the transport's Frame.Peer, or "").
func (d *Decoder) Decode(frame []byte, side Side, peer string) (Envelope, error) {
	if env, ok := decodeFastWith(frame, side, d, peer); ok {
		return env, nil
	}
	return decodeGeneric(frame, side)
}

// intern returns b as a string, without allocating when it was seen
// before.
func (d *Decoder) intern(b []byte) string {
	if d == nil {
		return string(b)
	}
	if s, ok := d.names[string(b)]; ok {
		return s
	}
	s := string(b)
	if len(d.names) < decoderMaxNames && len(b) <= decoderMaxNameLen {
		if d.names == nil {
			d.names = map[string]string{}
		}
		d.names[s] = s
	}
	return s
}

// internStr is a.str(), interned by the reader's Decoder.
func (r *reader) internStr(a *atom) string {
	if a.kind != kStr {
		return ""
	}
	return r.dec.intern(a.s)
}

// decodeFast decodes frame when its type is one of the fast ones.
func decodeFast(frame []byte, side Side) (Envelope, bool) {
	return decodeFastWith(frame, side, nil, "")
}

func decodeFastWith(frame []byte, side Side, d *Decoder, peer string) (Envelope, bool) {
	r := reader{b: frame, dec: d}
	if d != nil {
		r.arena = d.arena[:0]
		d.classes = d.classes[:0]
	}
	if n, err := r.arrayLen(); err != nil || n != 3 {
		return Envelope{}, false
	}
	t, ok := r.atom(0)
	if !ok || t.kind != kStr {
		return Envelope{}, false
	}
	var p Payload
	if side == FromWorker {
		switch string(t.s) {
		case TypeHeartbeat:
			p, ok = r.fastHeartbeat()
		case TypeStats:
			p, ok = r.fastStats()
		case TypeClientReady:
			p, ok = r.fastClientReady()
		case TypeSpawning:
			p, ok = &Spawning{}, r.skip(0) == nil
		case TypeSpawningComplete:
			p, ok = r.fastSpawningComplete()
		case TypeException:
			p, ok = r.fastException()
		case TypeQuit:
			p, ok = &Quit{}, r.skip(0) == nil
		case TypeClientStopped:
			p, ok = &ClientStopped{}, r.skip(0) == nil
		default:
			return Envelope{}, false
		}
	} else {
		switch string(t.s) {
		case TypeHeartbeat:
			p, ok = r.fastMasterHeartbeat()
		case TypeAck:
			p, ok = r.fastAck()
		case TypeSpawn:
			p, ok = r.fastSpawn()
		default:
			return Envelope{}, false
		}
	}
	if !ok {
		return Envelope{}, false
	}
	node, ok := r.atom(0)
	if !ok || (node.kind != kStr && node.kind != kNil) || r.pos != len(r.b) {
		return Envelope{}, false
	}
	if d != nil {
		if _, isStats := p.(*Stats); isStats && r.dec.buckets > cap(d.arena) {
			// Next time one chunk holds every bucket of a report.
			d.arena = make([]Bucket, 0, r.dec.buckets+r.dec.buckets/4)
		}
		if string(node.s) == peer {
			return Envelope{NodeID: peer, Payload: p}, true
		}
	}
	return Envelope{NodeID: string(node.s), Payload: p}, true
}

// dataMap reads the data of a message converted with asMap: nil is the
// empty map; anything but a map declines.
func (r *reader) dataMap(f func(k []byte) bool) bool {
	if r.peekNil() {
		r.pos++
		return true
	}
	n, ok := r.mapHeader()
	return ok && r.mapKeys(n, 0, f)
}

// field records the first occurrence of field bit in seen; a later
// duplicate is skipped (validated) and reports false.
func (r *reader) first(seen *uint32, bit uint32, depth int) (first bool, ok bool) {
	if *seen&bit != 0 {
		return false, r.skip(depth) == nil
	}
	*seen |= bit
	return true, true
}

func (r *reader) fastHeartbeat() (Payload, bool) {
	var h *Heartbeat
	if r.dec != nil {
		h = &r.dec.hb
		*h = Heartbeat{}
	} else {
		h = &Heartbeat{}
	}
	var seen uint32
	ok := r.dataMap(func(k []byte) bool {
		var bit uint32
		switch string(k) {
		case "state":
			bit = 1
		case "current_cpu_usage":
			bit = 2
		case "current_memory_usage":
			bit = 4
		case KeySeq:
			bit = 8
		case KeyCPUThrottled:
			bit = 16
		case KeyCPUThrottledSeconds:
			bit = 32
		case KeyMemoryWorkingSet:
			bit = 64
		case KeyMemoryLimit:
			bit = 128
		default:
			return r.skip(1) == nil
		}
		if first, ok := r.first(&seen, bit, 1); !first {
			return ok
		}
		a, ok := r.atom(1)
		switch bit {
		case 1:
			h.State = internState(&a)
		case 2:
			h.CurrentCPUUsage = a.toFloat()
		case 4:
			h.CurrentMemoryUsage, _ = a.toInt()
		case 8:
			h.Seq, h.HasSeq = a.glocustSeq()
		case 16:
			h.Health.CPUThrottled = a.toFloat()
		case 32:
			h.Health.CPUThrottledSeconds = a.toFloat()
		case 64:
			h.Health.MemoryWorkingSet, _ = a.toInt()
		case 128:
			h.Health.MemoryLimit, _ = a.toInt()
		}
		h.HasHealth = h.HasHealth || bit >= 16
		return ok
	})
	return h, ok
}

// glocustSeq is glocustSeq of the generic decoder for one atom.
func (a *atom) glocustSeq() (uint64, bool) {
	switch {
	case a.kind == kInt && a.i >= 0:
		return uint64(a.i), true
	case a.kind == kUint:
		return math.MaxInt64, true
	}
	return 0, false
}

// fastMasterHeartbeat reads a master heartbeat: None, or a map that may
// hold the glocust ack. Other data declines (the generic decoder ignores
// it).
func (r *reader) fastMasterHeartbeat() (Payload, bool) {
	h := &MasterHeartbeat{}
	var seen uint32
	ok := r.dataMap(func(k []byte) bool {
		if string(k) != KeyAck {
			return r.skip(1) == nil
		}
		if first, ok := r.first(&seen, 1, 1); !first {
			return ok
		}
		a, ok := r.atom(1)
		h.Ack, h.HasAck = a.glocustSeq()
		return ok
	})
	return h, ok
}

// internState returns the usual states without allocating.
func internState(a *atom) string {
	if a.kind != kStr {
		return ""
	}
	switch string(a.s) {
	case StateReady:
		return StateReady
	case StateSpawning:
		return StateSpawning
	case StateRunning:
		return StateRunning
	case StateStopped:
		return StateStopped
	}
	return string(a.s)
}

func (r *reader) fastClientReady() (Payload, bool) {
	a, ok := r.atom(0)
	if !ok {
		return nil, false
	}
	switch a.kind {
	case kStr:
		return &ClientReady{Version: string(a.s)}, true
	case kNil:
		return &ClientReady{}, true
	case kInt:
		if a.i == -1 {
			return &ClientReady{SkipVersionCheck: true}, true
		}
		return &ClientReady{Version: strconv.FormatInt(a.i, 10)}, true
	}
	return nil, false // rare forms: the generic conversion formats them
}

func (r *reader) fastException() (Payload, bool) {
	e := &Exception{}
	var seen uint32
	ok := r.dataMap(func(k []byte) bool {
		var dst *string
		var bit uint32
		switch string(k) {
		case "msg":
			dst, bit = &e.Msg, 1
		case "traceback":
			dst, bit = &e.Traceback, 2
		default:
			return r.skip(1) == nil
		}
		if first, ok := r.first(&seen, bit, 1); !first {
			return ok
		}
		a, ok := r.atom(1)
		*dst = a.str()
		return ok
	})
	return e, ok
}

// classCounts decodes a user_classes_count value at depth: nil stays nil,
// a map gives a (non-nil) slice, anything else declines (generic: error).
func (r *reader) classCounts(depth int, reuse bool) ([]ClassCount, bool) {
	if r.peekNil() {
		r.pos++
		return nil, true
	}
	n, ok := r.mapHeader()
	if !ok {
		return nil, false
	}
	var out []ClassCount
	d := r.dec
	if !reuse {
		d = nil // the payload owns its slice
	}
	if d != nil && cap(d.classes)-len(d.classes) >= n {
		out = d.classes[len(d.classes):len(d.classes)] // a window: appends stay inside it
	} else {
		out = make([]ClassCount, 0, n)
	}
	for range n {
		k, isStr, ok := r.key(depth + 1)
		if !ok || !isStr || (n == 2 && string(k) == "as_str") {
			return nil, false
		}
		a, ok := r.atom(depth + 1)
		if !ok {
			return nil, false
		}
		c, _ := a.toInt()
		out = append(out, ClassCount{Class: r.dec.intern(k), Count: c})
	}
	if out == nil {
		out = []ClassCount{} // a map gives a non-nil slice
	}
	out = out[:n:n]
	if d != nil {
		if cap(d.classes)-len(d.classes) >= n {
			d.classes = d.classes[:len(d.classes)+n]
		} else {
			d.classes = make([]ClassCount, 0, max(2*(len(d.classes)+n), 8)) // used from the next frame on
		}
	}
	return out, true
}

func (r *reader) fastSpawningComplete() (Payload, bool) {
	s := &SpawningComplete{}
	var seen uint32
	ok := r.dataMap(func(k []byte) bool {
		switch string(k) {
		case "user_classes_count":
			if first, ok := r.first(&seen, 1, 1); !first {
				return ok
			}
			var ok bool
			s.UserClassesCount, ok = r.classCounts(1, false)
			return ok
		case "user_count":
			if first, ok := r.first(&seen, 2, 1); !first {
				return ok
			}
			a, ok := r.atom(1)
			s.UserCount, _ = a.toInt()
			return ok
		}
		return r.skip(1) == nil
	})
	return s, ok
}

func (r *reader) fastAck() (Payload, bool) {
	a := &Ack{}
	if r.pos < len(r.b) {
		if c := r.b[r.pos]; c&0xf0 != 0x80 && c != 0xde && c != 0xdf {
			return a, r.skip(0) == nil // not a map: no index
		}
	}
	n, ok := r.mapHeader()
	if !ok {
		return nil, false
	}
	var seen uint32
	ok = r.mapKeys(n, 0, func(k []byte) bool {
		var bit uint32
		var dst *int64
		var has *bool
		switch string(k) {
		case "index":
			bit, dst, has = 1, &a.Index, &a.HasIndex
		case "glocust_slot":
			bit, dst, has = 2, &a.Slot, &a.HasSlot
		default:
			return r.skip(1) == nil
		}
		if first, ok := r.first(&seen, bit, 1); !first {
			return ok
		}
		v, ok := r.atom(1)
		if i, isInt := v.toInt(); isInt {
			*dst, *has = i, true
		}
		return ok
	})
	return a, ok
}

func (r *reader) fastSpawn() (Payload, bool) {
	s := &Spawn{}
	var seen uint32
	ok := r.dataMap(func(k []byte) bool {
		var bit uint32
		switch string(k) {
		case "timestamp":
			bit = 1
		case "user_classes_count":
			bit = 2
		case "host":
			bit = 4
		case "stop_timeout":
			bit = 8
		case "parsed_options":
			bit = 16
		default:
			return r.skip(1) == nil
		}
		if first, ok := r.first(&seen, bit, 1); !first {
			return ok
		}
		switch bit {
		case 2:
			var ok bool
			s.UserClassesCount, ok = r.classCounts(1, false)
			return ok
		case 16:
			v, err := r.value(1)
			if m, ok := v.(*Map); ok {
				s.ParsedOptions = m
			}
			return err == nil
		}
		a, ok := r.atom(1)
		switch bit {
		case 1:
			s.Timestamp = a.toFloat()
		case 4:
			if a.kind == kStr {
				s.Host, s.HasHost = string(a.s), true
			}
		case 8:
			switch a.kind {
			case kNil:
			case kInt:
				s.StopTimeout = a.i
			case kUint:
				s.StopTimeout = a.u
			case kFloat:
				s.StopTimeout = a.f
			case kBool:
				s.StopTimeout = a.b
			case kStr:
				s.StopTimeout = string(a.s)
			default:
				return false // a container: the generic tree keeps it
			}
		}
		return ok
	})
	return s, ok
}

// Field bits of a stats entry.
const (
	fName uint32 = 1 << iota
	fMethod
	fLastTS
	fStart
	fNumReq
	fNumNone
	fNumFail
	fTotalRT
	fMaxRT
	fMinRT
	fContent
	fRT
	fRPS
	fFPS
)

func (r *reader) fastStats() (Payload, bool) {
	var s *Stats
	if d := r.dec; d != nil {
		s = &d.stats
		*s = Stats{}
		d.buckets = 0
	} else {
		s = &Stats{}
	}
	var seen uint32
	ok := r.dataMap(func(k []byte) bool {
		var bit uint32
		switch string(k) {
		case "user_count":
			bit = 1
		case "stats":
			bit = 2
		case "stats_total":
			bit = 4
		case "errors":
			bit = 8
		case "user_classes_count":
			bit = 16
		case KeySeq:
			bit = 32
		default:
			return r.skip(1) == nil
		}
		if first, ok := r.first(&seen, bit, 1); !first {
			return ok
		}
		switch bit {
		case 1:
			a, ok := r.atom(1)
			s.UserCount, _ = a.toInt()
			return ok
		case 2:
			if r.peekNil() {
				r.pos++
				return true
			}
			n, ok := r.arrayHeader()
			if !ok {
				return false
			}
			if d := r.dec; d != nil {
				if d.entries == nil || cap(d.entries) < n { // never nil: an empty list is [], as decoded without a Decoder
					d.entries = make([]StatsEntry, n)
				}
				s.Stats = d.entries[:n]
				clear(s.Stats)
			} else {
				s.Stats = make([]StatsEntry, n)
			}
			for i := range s.Stats {
				if !r.statsEntry(&s.Stats[i], 2, true) {
					return false
				}
			}
			return true
		case 4:
			return r.statsEntry(&s.Total, 1, false)
		case 8:
			return r.statsErrors(s)
		case 32:
			a, ok := r.atom(1)
			if seq, isSeq := a.glocustSeq(); isSeq {
				s.Seq = seq
			}
			return ok
		default:
			var ok bool
			s.UserClassesCount, ok = r.classCounts(1, true) // a stats report: the Decoder may reuse it
			return ok
		}
	})
	return s, ok
}

// statsEntry decodes a StatsEntry map at depth into e. A value that is not
// a map declines when mustMap (a stats list element: generic error), or
// leaves e zero (stats_total).
func (r *reader) statsEntry(e *StatsEntry, depth int, mustMap bool) bool {
	n, ok := r.mapHeader()
	if !ok {
		if mustMap {
			return false
		}
		return r.skip(depth) == nil
	}
	var seen uint32
	var total, maxRT, minRT atom
	ok = r.mapKeys(n, depth, func(k []byte) bool {
		var bit uint32
		switch string(k) {
		case "name":
			bit = fName
		case "method":
			bit = fMethod
		case "last_request_timestamp":
			bit = fLastTS
		case "start_time":
			bit = fStart
		case "num_requests":
			bit = fNumReq
		case "num_none_requests":
			bit = fNumNone
		case "num_failures":
			bit = fNumFail
		case "total_response_time":
			bit = fTotalRT
		case "max_response_time":
			bit = fMaxRT
		case "min_response_time":
			bit = fMinRT
		case "total_content_length":
			bit = fContent
		case "response_times":
			bit = fRT
		case "num_reqs_per_sec":
			bit = fRPS
		case "num_fail_per_sec":
			bit = fFPS
		default:
			return r.skip(depth+1) == nil
		}
		if first, ok := r.first(&seen, bit, depth+1); !first {
			return ok
		}
		var ok bool
		switch bit {
		case fRT:
			e.ResponseTimes, ok = r.buckets(depth + 1)
			return ok
		case fRPS:
			e.NumReqsPerSec, ok = r.buckets(depth + 1)
			return ok
		case fFPS:
			e.NumFailPerSec, ok = r.buckets(depth + 1)
			return ok
		}
		a, ok := r.atom(depth + 1)
		switch bit {
		case fName:
			e.Name = r.internStr(&a)
		case fMethod:
			e.Method = internMethod(&a)
		case fLastTS:
			e.LastRequestTimestamp = a.toFloat()
		case fStart:
			e.StartTime = a.toFloat()
		case fNumReq:
			e.NumRequests, _ = a.toInt()
		case fNumNone:
			e.NumNoneRequests, _ = a.toInt()
		case fNumFail:
			e.NumFailures, _ = a.toInt()
		case fTotalRT:
			total = a
		case fMaxRT:
			maxRT = a
		case fMinRT:
			minRT = a
		case fContent:
			e.TotalContentLength, _ = a.toInt()
		}
		return ok
	})
	if !ok {
		return false
	}
	e.TotalResponseTime = total.toFloat()
	e.MaxResponseTime = maxRT.toFloat()
	if seen&fMinRT != 0 && minRT.kind != kNil {
		e.MinResponseTime = minRT.toFloat()
		e.HasTimings = true
		if total.isInt() {
			e.IntTimings |= IntTotal
		}
		if maxRT.isInt() {
			e.IntTimings |= IntMax
		}
		if minRT.isInt() {
			e.IntTimings |= IntMin
		}
	}
	return true
}

// internMethod returns the usual HTTP methods without allocating.
func internMethod(a *atom) string {
	if a.kind != kStr {
		return ""
	}
	switch string(a.s) {
	case "GET":
		return "GET"
	case "POST":
		return "POST"
	case "PUT":
		return "PUT"
	case "DELETE":
		return "DELETE"
	case "PATCH":
		return "PATCH"
	case "HEAD":
		return "HEAD"
	case "OPTIONS":
		return "OPTIONS"
	case "":
		return ""
	}
	return string(a.s)
}

// buckets decodes a bucket map at depth: anything but a non-empty map is
// nil (as the generic conversion does); int, float (2.12) and bool keys
// are kept, other keys dropped.
func (r *reader) buckets(depth int) ([]Bucket, bool) {
	n, ok := r.mapHeader()
	if !ok {
		return nil, r.skip(depth) == nil
	}
	if n == 0 {
		return nil, true
	}
	// The buckets of a report share a few chunks: each map takes a
	// capacity-capped window (an append by a consumer copies). A chunk
	// holds at most the buckets the remaining bytes can encode (2 bytes
	// each).
	if r.dec != nil {
		r.dec.buckets += n
	}
	if cap(r.arena)-len(r.arena) < n {
		r.arena = make([]Bucket, 0, max(n, min(1024, (len(r.b)-r.pos)/2)))
	}
	start := len(r.arena)
	b, pos, arena := r.b, r.pos, r.arena
	for range n {
		// Common case first, in locals: unsigned int key and count.
		if key, p, ok := uintAt(b, pos); ok {
			if c, p, ok := uintAt(b, p); ok {
				arena = append(arena, Bucket{Key: key, Count: c})
				pos = p
				continue
			}
		}
		r.pos, r.arena = pos, arena
		if !r.bucket(depth, n) {
			return nil, false
		}
		pos, arena = r.pos, r.arena
	}
	r.pos, r.arena = pos, arena
	end := len(r.arena)
	return r.arena[start:end:end], true
}

// uintAt decodes a positive fixint, uint8, uint16 or uint32 at b[pos] (as atom and toInt
// would) and returns the position after it; ok is false for any other
// encoding. It is small enough to inline: the other encodings take the
// general path.
func uintAt(b []byte, pos int) (v int64, next int, ok bool) {
	if pos+4 < len(b) { // the last bytes of a payload take the general path
		switch c := b[pos]; {
		case c <= 0x7f:
			return int64(c), pos + 1, true
		case c == 0xcc:
			return int64(b[pos+1]), pos + 2, true
		case c == 0xcd:
			return int64(binary.BigEndian.Uint16(b[pos+1:])), pos + 3, true
		case c == 0xce: // per-second keys: Unix times
			return int64(binary.BigEndian.Uint32(b[pos+1:])), pos + 5, true
		}
	}
	return 0, pos, false
}

// bucket decodes one bucket of a map of n at depth in the general way,
// appending it to the arena unless its key is dropped.
func (r *reader) bucket(depth, n int) bool {
	k, ok := r.atom(depth + 1)
	if !ok || (n == 2 && k.kind == kStr && string(k.s) == "as_str") {
		return false
	}
	v, ok := r.atom(depth + 1)
	if !ok {
		return false
	}
	var key int64
	if k.kind == kFloat {
		key = int64(math.RoundToEven(k.f))
	} else if key, ok = k.toInt(); !ok {
		return true // dropped
	}
	c, _ := v.toInt()
	r.arena = append(r.arena, Bucket{Key: key, Count: c})
	return true
}

// statsErrors decodes the errors map (at depth 1) into s.Errors; a value
// that is not a map is ignored, an entry that is not a map declines.
func (r *reader) statsErrors(s *Stats) bool {
	n, ok := r.mapHeader()
	if !ok {
		return r.skip(1) == nil
	}
	if n > 0 {
		if d := r.dec; d != nil {
			if cap(d.errs) < n {
				d.errs = make([]StatsError, 0, n)
			}
			s.Errors = d.errs[:0:n]
		} else {
			s.Errors = make([]StatsError, 0, n)
		}
	}
	for range n {
		k, ok := r.atom(2)
		if !ok || (n == 2 && k.kind == kStr && string(k.s) == "as_str") {
			return false
		}
		se := StatsError{Key: r.internStr(&k)}
		en, ok := r.mapHeader()
		if !ok {
			return false
		}
		var seen uint32
		var first, last atom
		ok = r.mapKeys(en, 2, func(k []byte) bool {
			var bit uint32
			switch string(k) {
			case "name":
				bit = 1
			case "method":
				bit = 2
			case "error":
				bit = 4
			case "occurrences":
				bit = 8
			case "first_seen":
				bit = 16
			case "last_seen":
				bit = 32
			default:
				return r.skip(3) == nil
			}
			if f, ok := r.first(&seen, bit, 3); !f {
				return ok
			}
			a, ok := r.atom(3)
			switch bit {
			case 1:
				se.Name = r.internStr(&a)
			case 2:
				se.Method = r.internStr(&a)
			case 4:
				se.Error = r.internStr(&a)
			case 8:
				se.Occurrences, _ = a.toInt()
			case 16:
				first = a
			case 32:
				last = a
			}
			return ok
		})
		if !ok {
			return false
		}
		if seen&16 != 0 {
			se.HasSeen = true
			se.FirstSeen = first.toFloat()
			se.LastSeen = last.toFloat()
		}
		s.Errors = append(s.Errors, se)
	}
	return true
}
