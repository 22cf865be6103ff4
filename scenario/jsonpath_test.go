package scenario

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

const jpDoc = `{"token": "t1", "data": {"user": {"id": 7, "name": "A\u00e9"}, "tags": ["x", "y"]},
 "items": [{"id": 1, "ok": true}, {"id": 2, "ok": false}, {"id": 3, "ok": null}],
 "a.b": {"c d": 5}, "dup": 1, "dup": 2, "nested": [[1, 2], [3]], "empty": [], "esc\"key": "v"}`

func TestJSONPath(t *testing.T) {
	t.Parallel()
	tests := []struct {
		path string
		pick pickMode
		want string // raw JSON
	}{
		{"token", pickRandom, `"t1"`},
		{"$.token", pickRandom, `"t1"`},
		{"$", pickRandom, strings.TrimSpace(jpDoc)},
		{"", pickRandom, strings.TrimSpace(jpDoc)},
		{"data.user.id", pickRandom, `7`},
		{"data.user", pickRandom, `{"id": 7, "name": "A\u00e9"}`},
		{"data.tags[1]", pickRandom, `"y"`},
		{"data.tags[-1]", pickRandom, `"y"`},
		{"items[0].ok", pickRandom, `true`},
		{"items[2].ok", pickRandom, `null`},
		{"items[*].id", pickFirst, `1`},
		{"items[*].id", pickLast, `3`},
		{"$['a.b'][\"c d\"]", pickRandom, `5`},
		{"dup", pickRandom, `2`},
		{"nested[*][*]", pickLast, `3`},
		{"nested[1][0]", pickRandom, `3`},
		{`["esc\"key"]`, pickRandom, `"v"`},
		{"data[*]", pickFirst, `{"id": 7, "name": "A\u00e9"}`},
	}
	rnd := rand.New(rand.NewPCG(1, 1))
	for _, tc := range tests {
		jp, err := parseJSONPath(tc.path)
		if err != nil {
			t.Errorf("parseJSONPath(%q): %v", tc.path, err)
			continue
		}
		got, err := jp.eval([]byte(jpDoc), tc.pick, rnd)
		if err != nil || string(got) != tc.want {
			t.Errorf("%q = %s, %v; want %s", tc.path, got, err, tc.want)
		}
	}
}

func TestJSONPathRandomPick(t *testing.T) {
	t.Parallel()
	jp, _ := parseJSONPath("items[*].id")
	rnd := rand.New(rand.NewPCG(1, 2))
	seen := map[string]int{}
	for range 3000 {
		v, err := jp.eval([]byte(jpDoc), pickRandom, rnd)
		if err != nil {
			t.Fatal(err)
		}
		seen[string(v)]++
	}
	for _, id := range []string{"1", "2", "3"} {
		if n := seen[id]; n < 850 || n > 1150 {
			t.Errorf("id %s picked %d times of 3000, want about 1000 (%v)", id, n, seen)
		}
	}
}

func TestJSONPathErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ path, doc, want string }{
		{"nope", jpDoc, `json path nope: $ has no member "nope"`},
		{"data.user.age", jpDoc, `json path data.user.age: $.data.user has no member "age"`},
		{"token.x", jpDoc, `json path token.x: $.token is a string, not an object`},
		{"items[5]", jpDoc, `json path items[5]: $.items has 3 elements, no [5]`},
		{"items.id", jpDoc, `json path items.id: $.items is an array, not an object`},
		{"data[0]", jpDoc, `json path data[0]: $.data is an object, not an array`},
		{"token[*]", jpDoc, `json path token[*]: $.token is a string, not an array or object`},
		{"empty[*]", jpDoc, `json path empty[*]: no match`},
		{"items[*].name", jpDoc, `json path items[*].name: $.items[*] has no member "name"`},
		{"a", `{"a": 1`, `the response is not valid JSON: unterminated object at byte 0`},
		{"a", `{"a": 1} x`, `the response is not valid JSON: data after the JSON value at byte 9`},
		{"a", ``, `the response is not valid JSON: unexpected end at byte 0`},
		{"a", `<html>`, `the response is not valid JSON: unexpected '<' at byte 0`},
		{"b", `{"a" 1}`, `the response is not valid JSON: want ":" at byte 5`},
	} {
		jp, err := parseJSONPath(tc.path)
		if err != nil {
			t.Fatal(err)
		}
		_, err = jp.eval([]byte(tc.doc), pickFirst, nil)
		if err == nil || err.Error() != tc.want {
			t.Errorf("%q in %q: error %v, want %q", tc.path, tc.doc, err, tc.want)
		}
	}
}

func TestParseJSONPathErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ path, want string }{
		{"a..b", `json path "a..b": a name is required at byte 2`},
		{"a.", `json path "a.": a name is required at byte 2`},
		{"a[", `json path "a[": "[" without "]" at byte 1`},
		{"a[x]", `json path "a[x]": "x" is not an index (want an integer, *, or a quoted name) at byte 1`},
		{"a['x]", `json path "a['x]": unterminated quoted name at byte 1`},
		{"a['x'b]", `json path "a['x'b]": want "]" after the quoted name at byte 1`},
		{"a b", `json path "a b": unexpected ' ' at byte 1 (want "." or "[")`},
		{"$x", `json path "$x": unexpected 'x' at byte 1 (want "." or "[")`},
		{"a]", `json path "a]": unexpected ']' at byte 1 (want "." or "[")`},
	} {
		if _, err := parseJSONPath(tc.path); err == nil || err.Error() != tc.want {
			t.Errorf("parseJSONPath(%q) = %v, want %q", tc.path, err, tc.want)
		}
	}
}

// FuzzJSONPath checks the evaluator against encoding/json: for a valid
// document and a path without [*], it finds what navigating the decoded
// document finds, and a string value decodes to the same text.
func FuzzJSONPath(f *testing.F) {
	f.Add("data.user.name", jpDoc)
	f.Add("items[-1].id", jpDoc)
	f.Add("items[*].id", jpDoc)
	f.Add("['a.b']['c d']", jpDoc)
	f.Add("a", `{"a": "\ud83d\ude00 \ud800 x\u0041"}`)
	f.Add("a[0]", `{"a": [[[[]]]], "a": [1]}`)
	f.Add("$", `"\u00"`)
	f.Fuzz(func(t *testing.T, path, doc string) {
		jp, err := parseJSONPath(path)
		if err != nil {
			return
		}
		got, err := jp.eval([]byte(doc), pickFirst, nil)
		if jp.wild || !json.Valid([]byte(doc)) {
			return
		}
		v, e := decodeJSONNumbers([]byte(doc))
		if e != nil {
			t.Fatal(e)
		}
		want, found := navigate(v, jp.steps)
		if found != (err == nil) {
			t.Fatalf("path %q in %q: found %v, but eval says %s, %v", path, doc, found, got, err)
		}
		if !found {
			return
		}
		g, e := decodeJSONNumbers(got)
		if e != nil {
			t.Fatalf("path %q in %q: eval gave %q, not JSON: %v", path, doc, got, e)
		}
		if !reflect.DeepEqual(g, want) {
			t.Fatalf("path %q in %q: eval gave %s, encoding/json %v", path, doc, got, want)
		}
		if s, ok := want.(string); ok && string(appendJSONString(nil, got)) != s {
			t.Fatalf("path %q in %q: string %q, encoding/json %q", path, doc, appendJSONString(nil, got), s)
		}
	})
}

// decodeJSONNumbers decodes b with numbers kept as their text
// (json.Number): a valid document may hold a number no float64 can (1e1000),
// which json.Unmarshal into any refuses, and the evaluator returns numbers
// as their text anyway.
func decodeJSONNumbers(b []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := d.Token(); err != io.EOF {
		return nil, fmt.Errorf("data after the JSON value (%v)", err)
	}
	return v, nil
}

// navigate follows steps without [*] in a decoded document.
func navigate(v any, steps []jpStep) (any, bool) {
	for _, st := range steps {
		switch st.kind {
		case jpKey:
			m, ok := v.(map[string]any)
			if !ok {
				return nil, false
			}
			if v, ok = m[st.key]; !ok {
				return nil, false
			}
		case jpIndex:
			a, ok := v.([]any)
			if !ok {
				return nil, false
			}
			i := st.idx
			if i < 0 {
				i += len(a)
			}
			if i < 0 || i >= len(a) {
				return nil, false
			}
			v = a[i]
		}
	}
	return v, true
}
