package protocol

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"
)

// goldenFrame is one entry of testdata/golden/MANIFEST.json: a frame captured
// from real Locust traffic (see testdata/capture/README.md).
type goldenFrame struct {
	File          string `json:"file"`
	LocustVersion string `json:"locust_version"`
	Dir           string `json:"dir"`
	Type          string `json:"type"`
	NodeID        string `json:"node_id"`
	Decoded       any    `json:"decoded"`
}

func loadGolden(t testing.TB) []goldenFrame {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "golden", "MANIFEST.json"))
	if err != nil {
		t.Fatal(err)
	}
	var frames []goldenFrame
	if err := json.Unmarshal(b, &frames); err != nil {
		t.Fatal(err)
	}
	if len(frames) < 50 {
		t.Fatalf("only %d golden frames", len(frames))
	}
	return frames
}

func (g goldenFrame) bytes(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "golden", g.File))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (g goldenFrame) side() Side {
	if g.Dir == "m2w" {
		return FromMaster
	}
	return FromWorker
}

// manifestForm converts a decoded value to the manifest's JSON form, where
// non-string map keys are written "int:160" or "float:160.0".
func manifestForm(v Value) any {
	switch x := v.(type) {
	case *Map:
		out := map[string]any{}
		for i, k := range x.Keys {
			var key string
			switch kk := k.(type) {
			case string:
				key = kk
			case int64:
				key = "int:" + strconv.FormatInt(kk, 10)
			case float64:
				key = "float:" + pyFloat(kk)
			default:
				key = fmt.Sprint(kk)
			}
			out[key] = manifestForm(x.Values[i])
		}
		return out
	case []Value:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = manifestForm(e)
		}
		return out
	case Datetime:
		return map[string]any{"__datetime__": true, "as_str": x.Raw}
	case ObjectID:
		return map[string]any{"__ObjectId__": true, "as_str": string(x)}
	default:
		return v
	}
}

func pyFloat(f float64) string {
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if f == math.Trunc(f) {
		s += ".0"
	}
	return s
}

// normalise pushes a value through JSON so that both sides compare alike.
func normalise(t testing.TB, v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestGoldenDecode decodes every captured frame into its typed message and,
// generically, into the same value Python's msgpack produced.
func TestGoldenDecode(t *testing.T) {
	t.Parallel()
	for _, g := range loadGolden(t) {
		frame := g.bytes(t)
		env, err := Decode(frame, g.side())
		if err != nil {
			t.Errorf("%s: %v", g.File, err)
			continue
		}
		if env.Type() != g.Type && !(isCustom(g.Type) && isCustomPayload(env.Payload)) {
			t.Errorf("%s: type %q, want %q", g.File, env.Type(), g.Type)
		}
		if env.NodeID != g.NodeID {
			t.Errorf("%s: node id %q, want %q", g.File, env.NodeID, g.NodeID)
		}
		v, err := DecodeValue(frame)
		if err != nil {
			t.Errorf("%s: %v", g.File, err)
			continue
		}
		if got, want := normalise(t, manifestForm(v)), normalise(t, g.Decoded); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: generic decode differs from Python's\n got %v\nwant %v", g.File, got, want)
		}
	}
}

func isCustom(typ string) bool { return typ == "custom_w2m" || typ == "custom_m2w" }

func isCustomPayload(p Payload) bool { _, ok := p.(*Custom); return ok }

// TestGoldenReencode re-encodes the typed messages decoded from real frames:
// the bytes must be identical to what Locust sent. Frames whose typed form
// normalises data on purpose are listed with the reason.
func TestGoldenReencode(t *testing.T) {
	t.Parallel()
	exact := 0
	for _, g := range loadGolden(t) {
		frame := g.bytes(t)
		env, err := Decode(frame, g.side())
		if err != nil {
			t.Fatalf("%s: %v", g.File, err)
		}
		out, err := Encode(env.NodeID, env.Payload)
		if err != nil {
			t.Errorf("%s: %v", g.File, err)
			continue
		}
		if bytes.Equal(out, frame) {
			exact++
			continue
		}
		if reason := knownLossy(g, env); reason != "" {
			continue
		}
		i := 0
		for i < len(out) && i < len(frame) && out[i] == frame[i] {
			i++
		}
		lo := max(0, i-24)
		t.Errorf("%s (%s %s): re-encoded bytes differ at offset %d\n got …%x\nwant …%x", g.File, g.LocustVersion, g.Type, i,
			out[lo:min(len(out), i+24)], frame[lo:min(len(frame), i+24)])
	}
	t.Logf("%d frames re-encoded byte for byte", exact)
}

// knownLossy says why a frame's typed form cannot reproduce its bytes.
func knownLossy(g goldenFrame, env Envelope) string {
	if _, ok := env.Payload.(*Stats); ok && g.LocustVersion != "2.47.0" {
		b, _ := json.Marshal(g.Decoded)
		if bytes.Contains(b, []byte(`"float:`)) {
			return "Locust < 2.20 sends float bucket keys, which the typed form normalises to ints"
		}
		if bytes.Contains(b, []byte(`"name":"Aggregated"`)) && bytes.Contains(b, []byte(`"method":null`)) {
			return "Locust < 2.20 sends the Aggregated entry's method as None; the typed form keeps \"\""
		}
	}
	return ""
}
