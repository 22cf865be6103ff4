package scenario

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
	"go.yaml.in/yaml/v3"
)

// orderJSON is what checkServer's /order answers, with status 409.
const orderJSON = `{"status": "pending", "id": 7, "price": 1.0, "ratio": 0.5, "big": 12345678901234567890,
 "items": [{"id": 1, "sku": "a"}, {"id": 2, "sku": "b"}], "owner": "u1", "note": null, "esc": "caf\u00e9",
 "meta": {"tags": ["x"]}}`

// checkServer answers /order (409, JSON, with headers to check), /missing
// (404, a JSON error), /gzip (orderJSON gzipped), /text (not JSON) and
// /slow (after 60 ms).
func checkServer(t *testing.T) string {
	t.Helper()
	gz := encode(t, "gzip", []byte(orderJSON))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		switch r.URL.Path {
		case "/order":
			h.Set("Content-Type", "application/json")
			h.Set("Cache-Control", "private, max-age=60")
			h["X-Multi"] = []string{"a", "b"}
			w.WriteHeader(http.StatusConflict)
			io.WriteString(w, orderJSON)
		case "/missing":
			h.Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, `{"error": "not_found"}`)
		case "/gzip":
			h.Set("Content-Type", "application/json")
			h.Set("Content-Encoding", "gzip")
			w.Write(gz)
		case "/slow":
			time.Sleep(60 * time.Millisecond)
			io.WriteString(w, "{}")
		default:
			io.WriteString(w, "hello")
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestResponseChecks(t *testing.T) {
	t.Parallel()
	host := checkServer(t)
	src := `vars: {who: u1, other: u2, seven: "7", item: "2"}
users:
  - class: A
    tasks:
      - name: checks
        steps:
          - request:
              path: /order
              name: json pass
              expect_status: [409]
              expect_json:
                status: pending
                $.id: 7.0
                price: 1
                big: 12345678901234567890
                items[1].sku: b
                "items[-1].id": 2
                esc: café
                note: null
                items[*].id: {type: integer}
                $.price: {type: integer}
                ratio: {type: number}
                meta: {type: object}
                meta.tags: {type: array}
                $.owner: {type: string}
                $.note: {type: "null"}
                missing: {exists: false}
                note.deeper: {exists: false}
                meta.tags[0]: {exists: true}
                owner: "${who}"
                id: "${seven}"
                "items[1].id": "${item}"
          - request:
              path: /order
              name: header pass
              expect_status: [409]
              expect_header:
                content-type: application/json
                Cache-Control: {contains: max-age}
                X-Multi: "a, b"
                X-Owner: {exists: false}
                Date: {exists: true}
          - request: {path: /order, name: time pass, expect_status: [409], expect_max_ms: 5000}
          - request: {path: /missing, name: 404 accepted, expect_status: [404], expect_json: {error: not_found}}
          - request: {path: /gzip, name: decoded, expect_json: {status: pending}}
          # Failures, one check each, in the order of wantFailures.
          - request: {path: /order, name: f1, expect_status: [409], expect_json: {status: ok}}
          - request: {path: /order, name: f2, expect_status: [409], expect_json: {$.status: ok}}
          - request: {path: /order, name: f3, expect_status: [409], expect_json: {"items[0].name": x}}
          - request: {path: /order, name: f4, expect_status: [409], expect_json: {id: {type: string}}}
          - request: {path: /order, name: f5, expect_status: [409], expect_json: {ratio: {type: integer}}}
          - request: {path: /order, name: f6, expect_status: [409], expect_json: {status: {exists: false}}}
          - request: {path: /order, name: f7, expect_status: [409], expect_json: {id: "7"}}
          - request: {path: /order, name: f8, expect_status: [409], expect_json: {"items[*].sku": a}}
          - request: {path: /order, name: f9, expect_status: [409], expect_json: {owner: "${other}"}}
          - request: {path: /order, name: f10, expect_status: [409], expect_json: {"items[5]": {exists: true}}}
          - request: {path: /order, name: f11, expect_status: [409], expect_json: {meta: x}}
          - request: {path: /text, name: f12, expect_json: {status: {exists: false}}}
          - request: {path: /order, name: f13, expect_status: [409], expect_header: {Content-Type: text/html}}
          - request: {path: /order, name: f14, expect_status: [409], expect_header: {X-Request-Id: {exists: true}}}
          - request: {path: /order, name: f15, expect_status: [409], expect_header: {Cache-Control: {contains: no-store}}}
          - request: {path: /order, name: f16, expect_status: [409], expect_header: {X-Multi: {exists: false}}}
          - request: {path: /order, name: f17, expect_status: [409], expect_header: {X-Foo: "1"}}
          - request: {path: /order, name: f18, expect_json: {status: ok}}
          - request: {path: /order, name: f19, expect_status: [409], expect_json: {status: ok}, expect_header: {X-Foo: "1"}}
          - request: {path: /order, name: f20, expect_status: [409], expect_header: {X-Foo: "1"}, expect_max_ms: 0.001}
`
	wantFailures := map[string]string{
		"f1":  `expect_json: status is "pending", want "ok"`,
		"f2":  `expect_json: $.status is "pending", want "ok"`,
		"f3":  `expect_json: items[0].name: $.items[0] has no member "name"`,
		"f4":  `expect_json: id is 7, want a string`,
		"f5":  `expect_json: ratio is 0.5, want an integer`,
		"f6":  `expect_json: status is "pending", want no value (exists: false)`,
		"f7":  `expect_json: id is 7, want "7"`,
		"f8":  `expect_json: items[*].sku is "b", want "a"`,
		"f9":  `expect_json: owner is "u1", want "u2"`,
		"f10": `expect_json: items[5]: $.items has 2 elements, no [5]`,
		"f11": `expect_json: meta is an object, want "x"`,
		"f12": `expect_json: status: the response is not valid JSON: unexpected 'h' at byte 0`,
		"f13": `expect_header: Content-Type is "application/json", want "text/html"`,
		"f14": `expect_header: X-Request-Id: no such header`,
		"f15": `expect_header: Cache-Control is "private, max-age=60", want it to contain "no-store"`,
		"f16": `expect_header: X-Multi is "a, b", want no such header (exists: false)`,
		"f17": `expect_header: X-Foo: no such header, want "1"`,
		"f18": `HTTP 409 Conflict`,                           // expect_status first
		"f19": `expect_json: status is "pending", want "ok"`, // then expect_json
		"f20": `expect_header: X-Foo: no such header, want "1"`,
	}
	recs := runOnce(t, src, host)
	seen := map[string]int{}
	for _, rc := range recs {
		seen[rc.name]++
		want, fails := wantFailures[rc.name]
		switch {
		case rc.fail != fails:
			t.Errorf("%s: failed %v (%q), want %v", rc.name, rc.fail, rc.err, fails)
		case rc.err != want:
			t.Errorf("%s: error %q, want %q", rc.name, rc.err, want)
		}
		if rc.rt <= 0 {
			t.Errorf("%s: response time %v", rc.name, rc.rt)
		}
	}
	for name, n := range seen {
		if n != 1 {
			t.Errorf("%s recorded %d times, want once", name, n)
		}
	}
	if len(seen) != 5+len(wantFailures) {
		t.Errorf("%d requests recorded, want %d: %+v", len(seen), 5+len(wantFailures), recs)
	}
}

// TestParseChecks checks what the YAML keys become on the Request: a
// YAML value as the JSON value it stands for, "$${" as a literal "${".
func TestParseChecks(t *testing.T) {
	t.Parallel()
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(`path: /
expect_json:
  a: ok
  b: "$${x}"
  c: 0x10
  d: 1e3
  e: 2024-01-02
  f: ~
  g: false
  h: {type: number}
  i: {exists: true}
  j: {exists: false}
  k: "12"
  l: -0.25
expect_header:
  X-A: 5
  x-b: {contains: "$${y}"}
  X-C: {exists: true}
  X-D: {exists: false}
expect_max_ms: 0.5
`), &doc); err != nil {
		t.Fatal(err)
	}
	p := &parser{file: "s.yaml"}
	p.beginClass()
	r, err := p.request(doc.Content[0], "request")
	if err != nil {
		t.Fatal(err)
	}
	wantJSON := []JSONCheck{
		{"a", JSONEqual, `"ok"`}, {"b", JSONEqual, `"${x}"`}, {"c", JSONEqual, "16"}, {"d", JSONEqual, "1000"},
		{"e", JSONEqual, `"2024-01-02"`}, {"f", JSONEqual, "null"}, {"g", JSONEqual, "false"}, {"h", JSONType, "number"},
		{"i", JSONExists, ""}, {"j", JSONAbsent, ""}, {"k", JSONEqual, `"12"`}, {"l", JSONEqual, "-0.25"},
	}
	if !reflect.DeepEqual(r.ExpectJSON, wantJSON) {
		t.Errorf("ExpectJSON:\n got %v\nwant %v", r.ExpectJSON, wantJSON)
	}
	wantHeader := []HeaderCheck{{"X-A", HeaderEqual, "5"}, {"x-b", HeaderContains, "${y}"}, {"X-C", HeaderExists, ""}, {"X-D", HeaderAbsent, ""}}
	if !reflect.DeepEqual(r.ExpectHeader, wantHeader) {
		t.Errorf("ExpectHeader:\n got %v\nwant %v", r.ExpectHeader, wantHeader)
	}
	if r.ExpectMaxTime != 500*time.Microsecond {
		t.Errorf("ExpectMaxTime = %v, want 500µs", r.ExpectMaxTime)
	}
}

// TestMaxTimeCheck checks expect_max_ms: a slower response is recorded
// once, with its real response time, as a failure saying how long it took.
func TestMaxTimeCheck(t *testing.T) {
	t.Parallel()
	host := checkServer(t)
	recs := runOnce(t, `users:
  - class: A
    tasks:
      - request: {path: /slow, name: slow, expect_max_ms: 20}
      - request: {path: /slow, name: fast enough, expect_max_ms: 5000}
`, host)
	if len(recs) != 2 {
		t.Fatalf("records = %+v, want 2", recs)
	}
	slow := recs[0]
	if !slow.fail || slow.err != "response took more than expect_max_ms 20" {
		t.Fatalf("slow: %+v, want the failure `response took more than expect_max_ms 20`", slow)
	}
	if slow.rt < 60*time.Millisecond {
		t.Errorf("slow: recorded %v, want the real response time (at least 60 ms)", slow.rt)
	}
	if recs[1].fail || recs[1].name != "fast enough" {
		t.Errorf("fast enough: %+v, want a success", recs[1])
	}
}

// TestChecksSkipExtraction checks that a request whose check fails sets
// none of its extractions.
func TestChecksSkipExtraction(t *testing.T) {
	t.Parallel()
	host := checkServer(t)
	recs := runOnce(t, `users:
  - class: A
    tasks:
      - request: {path: /order, expect_status: [409], expect_json: {id: 8}, extract: {s: {json: status}}}
      - request: {path: "/x/${s}", name: uses s}
`, host)
	if len(recs) != 2 || recs[0].err != "expect_json: id is 7, want 8" ||
		!strings.Contains(recs[1].err, `variable "s" is not set`) {
		t.Errorf("records = %+v; want the check's failure, then s unset", recs)
	}
}

// TestResponseChecksGo checks the Go API: Request's ExpectJSON,
// ExpectHeader and ExpectMaxTime, and the *CheckError a failure is.
func TestResponseChecksGo(t *testing.T) {
	t.Parallel()
	host := checkServer(t)
	st := newFakeStats()
	r := NewRunner(nil, st)
	defer r.Close()
	u := testUser(t, r, host)
	ctx := context.Background()
	pass := &Request{URL: "/order", ExpectStatus: []int{409},
		ExpectJSON: []JSONCheck{
			{Path: "status", Kind: JSONEqual, Value: `"pending"`},
			{Path: "$.id", Kind: JSONEqual, Value: `7.0`},
			{Path: "id", Kind: JSONEqualText, Value: `7`},
			{Path: "items", Kind: JSONType, Value: "array"},
			{Path: "nope", Kind: JSONAbsent},
		},
		ExpectHeader:  []HeaderCheck{{Name: "CONTENT-TYPE", Kind: HeaderEqual, Value: "application/json"}},
		ExpectMaxTime: 5 * time.Second,
	}
	if resp := u.HTTP.Do(ctx, pass); resp.Err != nil {
		t.Errorf("passing checks: %v", resp.Err)
	}
	u.HTTP.endTask()
	for _, tc := range []struct {
		req   *Request
		check string
		msg   string
	}{
		{&Request{URL: "/order", ExpectStatus: []int{409}, ExpectJSON: []JSONCheck{{Path: "note", Kind: JSONEqual, Value: "false"}}},
			"expect_json", "expect_json: note is null, want false"},
		{&Request{URL: "/order", ExpectStatus: []int{409}, ExpectHeader: []HeaderCheck{{Name: "X-Multi", Kind: HeaderContains, Value: "c"}}},
			"expect_header", `expect_header: X-Multi is "a, b", want it to contain "c"`},
		{&Request{URL: "/slow", ExpectMaxTime: time.Millisecond},
			"expect_max_ms", "response took more than expect_max_ms 1"},
	} {
		resp := u.HTTP.Do(ctx, tc.req)
		var ce *CheckError
		if !errors.As(resp.Err, &ce) || ce.Check != tc.check || !strings.HasSuffix(ce.Msg, tc.msg) {
			t.Errorf("error %#v, want a *CheckError of %s ending in %q", resp.Err, tc.check, tc.msg)
		}
		u.HTTP.endTask()
	}
	// Checks that cannot be compiled fail the request, with what is wrong.
	for _, tc := range []struct {
		req  *Request
		want string
	}{
		{&Request{URL: "/order", ExpectJSON: []JSONCheck{{Path: "a[", Kind: JSONExists}}},
			`expect_json[0] a[: json path "a[": "[" without "]" at byte 1`},
		{&Request{URL: "/order", ExpectJSON: []JSONCheck{{Path: "a", Kind: JSONEqual, Value: "ok"}}},
			`expect_json[0] a: "ok" is not a JSON string, number, true, false or null`},
		{&Request{URL: "/order", ExpectJSON: []JSONCheck{{Path: "a", Kind: JSONType, Value: "int"}}},
			`expect_json[0] a: unknown type "int" (want string, number, integer, boolean, null, array, object)`},
		{&Request{URL: "/order", ExpectHeader: []HeaderCheck{{Name: "X Y", Kind: HeaderExists}}},
			`expect_header[0] X Y: invalid header name "X Y"`},
		{&Request{URL: "/order", ExpectHeader: []HeaderCheck{{Name: "X", Kind: HeaderContains}}},
			`expect_header[0] X: contains needs a text`},
		{&Request{URL: "/order", ExpectMaxTime: -1}, `expect_max_ms: -1ns is negative`},
	} {
		if resp := u.HTTP.Do(ctx, tc.req); resp.Err == nil || resp.Err.Error() != tc.want {
			t.Errorf("error %v, want %q", resp.Err, tc.want)
		}
		u.HTTP.endTask()
	}
	recs := st.all()
	if n := len(recs); n != 1+3+6 {
		t.Errorf("%d records, want one per request (10)", n)
	}
}

// TestResponseChecksAllocs checks that passing checks, templated ones
// included, allocate nothing once the user's buffers have grown.
func TestResponseChecksAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops buffers under the race detector")
	}
	host := loopbackServerWith(t, func(ctx *fasthttp.RequestCtx) {
		ctx.SetContentType("application/json")
		ctx.Response.Header.Set("Cache-Control", "max-age=60")
		ctx.SetBodyString(orderJSON)
	})
	sc, err := Parse("s.yaml", []byte(`vars: {who: u1, cc: max-age}
users:
  - class: A
    tasks:
      - request:
          path: /order
          expect_json: {status: pending, id: 7.0, "items[*].id": {type: integer}, missing: {exists: false}, esc: café}
          expect_header: {Content-Type: application/json, Cache-Control: {contains: max-age}}
          expect_max_ms: 5000
      - request:
          path: /order
          expect_json: {owner: "${who}"}
          expect_header: {Cache-Control: {contains: "${cc}"}}
`))
	if err != nil {
		t.Fatal(err)
	}
	st := newFakeStats()
	r := NewRunner(nil, st)
	defer r.Close()
	c := sc.Classes[0]
	u := classUser(t, r, c, host)
	ctx := context.Background()
	run := func() {
		for _, tk := range c.Tasks {
			tk.Fn(ctx, u)
			u.HTTP.endTask()
		}
	}
	run()
	if fails := slices.ContainsFunc(st.all(), func(rc rec) bool { return rc.fail }); fails {
		t.Fatalf("records = %+v, want successes", st.all())
	}
	r2 := NewRunner(nil, newBenchStats())
	defer r2.Close()
	u = classUser(t, r2, c, host)
	run()
	if n := testing.AllocsPerRun(200, run); n != 0 {
		t.Errorf("%v allocations per run, want 0", n)
	}
}

func TestJSONNumbers(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		s           string
		ok, integer bool
	}{
		{"0", true, true}, {"-12", true, true}, {"1.5", true, false}, {"1e3", true, false}, {"-0.0E-2", true, false},
		{"", false, false}, {"-", false, false}, {"01", false, false}, {"1.", false, false}, {".5", false, false},
		{"1e", false, false}, {"+1", false, false}, {"Inf", false, false}, {"0x10", false, false}, {"1_000", false, false},
	} {
		ok, integer := validJSONNumber([]byte(tc.s))
		if ok != tc.ok || integer != tc.integer {
			t.Errorf("validJSONNumber(%q) = %v, %v; want %v, %v", tc.s, ok, integer, tc.ok, tc.integer)
		}
	}
	for _, tc := range []struct {
		v, text string
		want    bool
	}{
		{`7`, "7", true}, {`7`, "7.0", true}, {`7.0`, "7", true}, {`7`, "7x", false}, {`"7"`, "7", true},
		{`"caf\u00e9"`, "café", true}, {`true`, "true", true}, {`null`, "", false}, {`[1]`, "[1]", true},
		{`9007199254740993`, "9007199254740992", false}, // integers compare exactly
	} {
		if got := textEqual([]byte(tc.v), []byte(tc.text)); got != tc.want {
			t.Errorf("textEqual(%s, %q) = %v, want %v", tc.v, tc.text, got, tc.want)
		}
	}
	for _, tc := range []struct {
		typ  jsonType
		v    string
		want bool
	}{
		{jtInteger, "2", true}, {jtInteger, "2.0", true}, {jtInteger, "2e2", true}, {jtInteger, "2.5", false},
		{jtInteger, `"2"`, false}, {jtNumber, "-1.5e-3", true}, {jtNumber, "tru", false}, {jtBoolean, "false", true},
		{jtBoolean, "tru", false}, {jtNull, "null", true}, {jtString, `""`, true}, {jtArray, "[]", true}, {jtObject, "[]", false},
	} {
		if got := tc.typ.is([]byte(tc.v)); got != tc.want {
			t.Errorf("%s is %s: %v, want %v", tc.v, jsonTypeNames[tc.typ], got, tc.want)
		}
	}
}

func TestHeaderValues(t *testing.T) {
	t.Parallel()
	header := []byte("HTTP/1.1 200 OK\r\nX-A: 1\r\nx-a:  2 \r\nX-Fold: a\r\n  b\r\nX-Empty:\r\nX-AB: no\r\n\r\n")
	for _, tc := range []struct {
		name, want string
		found      bool
	}{
		{"x-a", "1, 2", true}, {"x-fold", "a b", true}, {"x-empty", "", true}, {"x-b", "", false}, {"http/1.1 200 ok", "", false},
	} {
		got, found := appendHeaderValues(nil, header, tc.name)
		if string(got) != tc.want || found != tc.found {
			t.Errorf("%s = %q, %v; want %q, %v", tc.name, got, found, tc.want, tc.found)
		}
	}
}

func TestSlowError(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		limit time.Duration
		want  string
	}{
		{500 * time.Millisecond, "response took more than expect_max_ms 500"},
		{2500 * time.Microsecond, "response took more than expect_max_ms 2.5"},
	} {
		if got := slowError(tc.limit).Error(); got != tc.want {
			t.Errorf("slowError(%v) = %q, want %q", tc.limit, got, tc.want)
		}
	}
}

// FuzzJSONCheck checks the JSON checks against encoding/json: for a valid
// document and a path without [*], the value found is equal (JSONEqual
// and JSONEqualText) to its own JSON text, has the type encoding/json
// gives it, and exists exactly when navigating the decoded document finds
// it.
func FuzzJSONCheck(f *testing.F) {
	f.Add("status", orderJSON)
	f.Add("items[1].id", orderJSON)
	f.Add("big", orderJSON)
	f.Add("esc", orderJSON)
	f.Add("a", `{"a": 1.50e1}`)
	f.Add("$", `-0`)
	f.Add("a.b", `{"a": null}`)
	f.Fuzz(func(t *testing.T, path, doc string) {
		jp, err := parseJSONPath(path)
		if err != nil || jp.wild {
			return
		}
		var whole any
		if json.Unmarshal([]byte(doc), &whole) != nil {
			return // not JSON, or a number beyond float64 (1e400)
		}
		raw, err := jp.eval([]byte(doc), pickFirst, nil)
		_, found := navigate(whole, jp.steps)
		if found != (err == nil) {
			t.Fatalf("path %q in %q: found %v, eval: %v", path, doc, found, err)
		}
		root, err := jsonRoot([]byte(doc))
		if err != nil {
			t.Fatalf("%q: %v", doc, err)
		}
		c := &respChecks{}
		check := func(kind JSONCheckKind, value string) bool {
			cc, err := c.compileJSON(JSONCheck{Path: path, Kind: kind, Value: value})
			if err != nil {
				t.Fatalf("compile %q %d %q: %v", path, kind, value, err)
			}
			return cc.check(root, cc.text, &jsonMatch{}) == nil
		}
		if check(JSONExists, "") != found || check(JSONAbsent, "") == found {
			t.Fatalf("path %q in %q: exists disagrees with encoding/json (%v)", path, doc, found)
		}
		if !found {
			return
		}
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			t.Fatalf("path %q in %q: eval gave %q, not JSON: %v", path, doc, raw, err)
		}
		if raw[0] != '[' && raw[0] != '{' {
			if !check(JSONEqual, string(raw)) {
				t.Fatalf("%s is not JSONEqual to itself", raw)
			}
		}
		var text string
		if s, ok := v.(string); ok {
			text = s
		} else {
			text = string(raw)
		}
		if !check(JSONEqualText, text) {
			t.Fatalf("%s is not JSONEqualText to %q", raw, text)
		}
		for _, name := range jsonTypeNames {
			var want bool
			switch v.(type) {
			case string:
				want = name == "string"
			case float64:
				if name == "integer" {
					continue // a float64 cannot tell for large numbers; TestJSONNumbers checks integer
				}
				want = name == "number"
			case bool:
				want = name == "boolean"
			case nil:
				want = name == "null"
			case []any:
				want = name == "array"
			case map[string]any:
				want = name == "object"
			}
			if got := check(JSONType, name); got != want {
				t.Fatalf("%s is %s: %v, encoding/json says %v", raw, name, got, want)
			}
		}
	})
}
