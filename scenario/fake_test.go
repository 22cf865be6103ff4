package scenario

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// evalOne parses tmpl (one expression) and evaluates it n times for u.
func evalOne(t *testing.T, u *UserContext, tmpl string, n int) []string {
	t.Helper()
	nodes, err := parseTemplate(tmpl, testEnv)
	if err != nil {
		t.Fatalf("%s: %v", tmpl, err)
	}
	out := make([]string, n)
	for i := range out {
		u.vars.gen = u.vars.gen[:0]
		out[i] = renderNodes(t, u, nodes)
	}
	return out
}

func fakeUser(t *testing.T) *UserContext {
	t.Helper()
	r := NewRunner(nil, nil)
	t.Cleanup(r.Close)
	u := testUser(t, r, "http://127.0.0.1")
	u.ID, u.Rand = 7, rand.New(rand.NewPCG(3, 4))
	return u
}

// TestFakeGenerators checks each generator's values: their format and
// bounds, over many draws, and that they vary.
func TestFakeGenerators(t *testing.T) {
	t.Parallel()
	u := fakeUser(t)
	in := func(list []string) func(string) error {
		return func(s string) error {
			if !slices.Contains(list, s) {
				return errors.New("not in the list")
			}
			return nil
		}
	}
	phoneRE := regexp.MustCompile(`^\+1-[2-9][0-9]{2}-555-01[0-9]{2}$`)
	tests := []struct {
		tmpl  string
		check func(string) error
		all   []string // when set, every one of these must come out
	}{
		{tmpl: "${first_name()}", check: in(firstNames)},
		{tmpl: "${last_name()}", check: in(lastNames)},
		{tmpl: "${name()}", check: func(s string) error {
			f, l, ok := strings.Cut(s, " ")
			if !ok || !slices.Contains(firstNames, f) || !slices.Contains(lastNames, l) {
				return errors.New("not a first and a last name")
			}
			return nil
		}},
		{tmpl: "${email()}", check: func(s string) error {
			a, err := mail.ParseAddress(s)
			if err != nil {
				return err
			}
			local, domain, _ := strings.Cut(a.Address, "@")
			if a.Address != s || domain != "example.com" || !regexp.MustCompile(`^[a-z]+\.[a-z]+\.7\.[0-9]{6}$`).MatchString(local) {
				return fmt.Errorf("address %q", a.Address)
			}
			return nil
		}},
		{tmpl: "${word()}", check: in(fakeWords)},
		{tmpl: "${words(3)}", check: func(s string) error {
			w := strings.Split(s, " ")
			if len(w) != 3 || slices.ContainsFunc(w, func(x string) bool { return !slices.Contains(fakeWords, x) }) {
				return errors.New("not 3 words of the list")
			}
			return nil
		}},
		{tmpl: "${sentence()}", check: func(s string) error {
			body, ok := strings.CutSuffix(s, ".")
			w := strings.Split(body, " ")
			if !ok || len(w) < 4 || len(w) > 12 || w[0][0] < 'A' || w[0][0] > 'Z' ||
				!slices.Contains(fakeWords, strings.ToLower(w[0][:1])+w[0][1:]) {
				return errors.New("not a sentence of 4 to 12 words")
			}
			return nil
		}},
		{tmpl: "${float(-1.5, 2.25, 2)}", check: func(s string) error {
			f, err := strconv.ParseFloat(s, 64)
			if _, frac, _ := strings.Cut(s, "."); err != nil || f < -1.5 || f > 2.25 || len(frac) != 2 {
				return errors.New("not in [-1.5, 2.25] with 2 decimals")
			}
			return nil
		}},
		{tmpl: "${float(0.1, 0.3, 1)}", check: in([]string{"0.1", "0.2", "0.3"}), all: []string{"0.1", "0.2", "0.3"}},
		{tmpl: "${float(-2, 2, 0)}", check: in([]string{"-2", "-1", "0", "1", "2"}), all: []string{"-2", "-1", "0", "1", "2"}},
		{tmpl: "${float(1, 2)}", check: func(s string) error {
			f, err := strconv.ParseFloat(s, 64)
			if _, frac, _ := strings.Cut(s, "."); err != nil || f < 1 || f > 2 || len(frac) != 2 {
				return errors.New("not in [1, 2] with 2 decimals")
			}
			return nil
		}},
		{tmpl: "${date(2024-02-27, 2024-03-02)}", check: func(s string) error {
			d, err := time.Parse(time.DateOnly, s)
			if err != nil || d.Before(time.Date(2024, 2, 27, 0, 0, 0, 0, time.UTC)) || d.After(time.Date(2024, 3, 2, 0, 0, 0, 0, time.UTC)) {
				return fmt.Errorf("not a date in range (%v)", err)
			}
			return nil
		}, all: []string{"2024-02-27", "2024-02-28", "2024-02-29", "2024-03-01", "2024-03-02"}},
		{tmpl: "${date(1969-12-31, 1969-12-31)}", check: in([]string{"1969-12-31"})},
		{tmpl: "${date_time(2024-01-01, 2024-01-01)}", check: func(s string) error {
			d, err := time.Parse(time.RFC3339, s)
			if err != nil || d.Format(time.DateOnly) != "2024-01-01" || d.Format(time.RFC3339) != s {
				return fmt.Errorf("not a time of 2024-01-01 (%v)", err)
			}
			return nil
		}},
		{tmpl: "${date_time(2024-06-30T23:59:58Z, 2024-07-01T00:00:00+00:00)}", check: in([]string{"2024-06-30T23:59:58Z", "2024-06-30T23:59:59Z", "2024-07-01T00:00:00Z"}),
			all: []string{"2024-06-30T23:59:58Z", "2024-06-30T23:59:59Z", "2024-07-01T00:00:00Z"}},
		{tmpl: "${phone()}", check: func(s string) error {
			if !phoneRE.MatchString(s) {
				return errors.New("not +1-NXX-555-01XX")
			}
			return nil
		}},
		{tmpl: "${bool()}", check: in([]string{"true", "false"}), all: []string{"true", "false"}},
		{tmpl: "${hex(40)}", check: func(s string) error {
			if !regexp.MustCompile(`^[0-9a-f]{40}$`).MatchString(s) {
				return errors.New("not 40 hex digits")
			}
			return nil
		}},
		{tmpl: "${hex(1)}", check: in(strings.Split(lowerHex, "")), all: strings.Split(lowerHex, "")},
		{tmpl: "${alnum(17)}", check: func(s string) error {
			if !regexp.MustCompile(`^[A-Za-z0-9]{17}$`).MatchString(s) {
				return errors.New("not 17 letters and digits")
			}
			return nil
		}},
		{tmpl: `${wchoice(a, 1, "b, c", 2)}`, check: in([]string{"a", "b, c"}), all: []string{"a", "b, c"}},
	}
	for _, tc := range tests {
		vals := evalOne(t, u, tc.tmpl, 500)
		for _, v := range vals {
			if err := tc.check(v); err != nil {
				t.Errorf("%s = %q: %v", tc.tmpl, v, err)
				break
			}
		}
		seen := map[string]bool{}
		for _, v := range vals {
			seen[v] = true
		}
		if len(seen) < 2 && !strings.Contains(tc.tmpl, "1969") {
			t.Errorf("%s gave only %q in 500 draws", tc.tmpl, vals[0])
		}
		for _, w := range tc.all {
			if !seen[w] {
				t.Errorf("%s never gave %q in 500 draws", tc.tmpl, w)
			}
		}
	}
}

// TestWChoiceDistribution draws a weighted pick 60000 times from a fixed
// seed: each value comes out in proportion to its weight, within 1.5
// points (the standard deviation of a share is under 0.2 points).
func TestWChoiceDistribution(t *testing.T) {
	t.Parallel()
	u := fakeUser(t)
	u.Rand = rand.New(rand.NewPCG(42, 42))
	const n = 60000
	got := map[string]int{}
	for _, v := range evalOne(t, u, "${wchoice(a, 3, b, 1, c, 6, d, 10)}", n) {
		got[v]++
	}
	for v, w := range map[string]float64{"a": 3, "b": 1, "c": 6, "d": 10} {
		share, want := float64(got[v])/n, w/20
		if math.Abs(share-want) > 0.015 {
			t.Errorf("%s: %.3f of the draws, want %.3f (all: %v)", v, share, want, got)
		}
	}
	if len(got) != 4 {
		t.Errorf("values %v, want a, b, c, d", got)
	}
}

// TestTemplateDefaults checks ${x:-default} for an undefined, unset,
// empty and set variable, a row column and an environment variable,
// against a local target that records what it got.
func TestTemplateDefaults(t *testing.T) {
	t.Parallel()
	host, got := captureServer(t, nil)
	sc, err := Parse("s.yaml", []byte(`vars: {set: v, empty: ""}
users:
  - class: A
    tasks:
      - request:
          path: /a
          headers: {X-Trace: "${set:-d1}|${empty:-d2}|${nobody:-d3}|${nobody:-}|${tok:- \"d 4\" }|${row.city:-d5}"}
          extract: {tok: {header: X-Tok}}
      - request: {path: "/b?e=${env.NOPE:-x_y}&h=${env.HOME:-no}&t=${tok:-d6}"}
`), WithEnv([]string{"HOME=/h"}))
	if err != nil {
		t.Fatal(err)
	}
	r := NewRunner(nil, newFakeStats())
	defer r.Close()
	c := sc.Classes[0]
	u := classUser(t, r, c, host)
	runTasks(t, u, c) // tok is not extracted (no X-Tok): its default
	u.SetVar("nobody", "n")
	u.SetVar("tok", "")
	runTasks(t, u, c)
	u.SetVar("tok", "k")
	runTasks(t, u, c)
	var traces, uris []string
	for _, g := range got() {
		if g.trace != "" {
			traces = append(traces, g.trace)
		} else {
			uris = append(uris, g.uri)
		}
	}
	wantTraces := []string{"v|d2|d3||d 4|d5", "v|d2|n|n|d 4|d5", "v|d2|n|n|k|d5"}
	wantURIs := []string{"/b?e=x_y&h=/h&t=d6", "/b?e=x_y&h=/h&t=d6", "/b?e=x_y&h=/h&t=k"}
	if !slices.Equal(traces, wantTraces) || !slices.Equal(uris, wantURIs) {
		t.Errorf("got %q and %q,\nwant %q and %q", traces, uris, wantTraces, wantURIs)
	}
}

// TestTemplateDefaultsRow checks a default on a row column: an empty cell
// and a column the data lacks.
func TestTemplateDefaultsRow(t *testing.T) {
	t.Parallel()
	d, err := NewDataSet("d", DataCycle, []string{"a"}, [][]string{{""}})
	if err != nil {
		t.Fatal(err)
	}
	u := fakeUser(t)
	u.vars.row, err = newDataPool(d, StandalonePlacement).lease(u.Rand)
	if err != nil {
		t.Fatal(err)
	}
	if got := evalOne(t, u, "${row.a:-e}|${row.b:-m}|${row.a}|", 1)[0]; got != "e|m||" {
		t.Errorf("got %q, want e|m||", got)
	}
}

// TestFakeEscaping sends generated values with quotes, apostrophes and
// spaces in a path, a query, a JSON body and a form, and checks that the
// target decodes each to a value of the generator.
func TestFakeEscaping(t *testing.T) {
	t.Parallel()
	host, got := captureServer(t, nil)
	sc, err := Parse("s.yaml", []byte(`users:
  - class: A
    tasks:
      - request: {method: POST, path: "/p/${last_name()}", query: {n: "${name()}"}, json: {n: "${last_name()}", q: "${wchoice(\"say \\\"hi\\\"\", 1)}"}}
      - request: {method: POST, path: /f, form: {s: "${sentence()}", l: "${last_name()}"}}
`))
	if err != nil {
		t.Fatal(err)
	}
	r := NewRunner(nil, newFakeStats())
	defer r.Close()
	c := sc.Classes[0]
	u := classUser(t, r, c, host)
	for range 150 {
		runTasks(t, u, c)
	}
	names := map[string]bool{}
	for _, g := range got() {
		uri, err := url.ParseRequestURI(g.uri)
		if err != nil {
			t.Fatalf("%s: %v", g.uri, err)
		}
		switch {
		case strings.HasPrefix(uri.Path, "/p/"):
			last := strings.TrimPrefix(uri.Path, "/p/")
			full := uri.Query().Get("n")
			var body struct{ N, Q string }
			if err := json.Unmarshal([]byte(g.body), &body); err != nil {
				t.Fatalf("body %s: %v", g.body, err)
			}
			f, l, _ := strings.Cut(full, " ")
			if !slices.Contains(lastNames, last) || !slices.Contains(firstNames, f) || !slices.Contains(lastNames, l) ||
				!slices.Contains(lastNames, body.N) || body.Q != `say "hi"` {
				t.Fatalf("request %q %s: not the generated values", g.uri, g.body)
			}
			names[last], names[l], names[body.N] = true, true, true
		case uri.Path == "/f":
			form, err := url.ParseQuery(g.body)
			if err != nil || !strings.HasSuffix(form.Get("s"), ".") || !slices.Contains(lastNames, form.Get("l")) {
				t.Fatalf("form %q: not the generated values (%v)", g.body, err)
			}
			names[form.Get("l")] = true
		}
	}
	for _, want := range []string{"O'Brien", "O'Neil", "Smith-Jones"} {
		if !names[want] {
			t.Errorf("%s never sent (of %d names)", want, len(names))
		}
	}
}

// TestFakeErrors checks bad arguments and seeds: errors name the file,
// the line and the key.
func TestFakeErrors(t *testing.T) {
	t.Parallel()
	req := func(tmpl string) string {
		return "users:\n  - class: A\n    tasks:\n      - request:\n          path: /\n          headers: {X: \"" + tmpl + "\"}\n"
	}
	const at = "scenario.yaml:6: users[0].tasks[0].request.headers.X: template: at byte "
	tests := []struct{ name, yaml, want string }{
		{"unknown function", req("${fake_name()}"), at + `2: unknown function "fake_name" (want uuid, randint`},
		{"arity 0", req("${email(x)}"), at + "2: email takes 0 argument(s), got 1"},
		{"arity words", req("${words()}"), at + "2: words takes 1 argument(s), got 0"},
		{"arity float", req("${float(1)}"), at + "2: float takes 2 or 3 argument(s), got 1"},
		{"arity date", req("${date(2024-01-01)}"), at + "2: date takes 2 argument(s), got 1"},
		{"words count", req("${words(0)}"), at + `2: words: the count must be an integer from 1 to 100, got "0"`},
		{"hex count", req("${hex(1025)}"), at + `2: hex: the count must be an integer from 1 to 1024, got "1025"`},
		{"alnum count", req("${alnum(x)}"), at + `2: alnum: the count must be an integer from 1 to 1024, got "x"`},
		{"wchoice odd", req("${wchoice(a, 1, b)}"), at + "2: wchoice: takes pairs of a value and its weight (wchoice(a, 3, b, 1)), got 3 argument(s)"},
		{"wchoice none", req("${wchoice()}"), at + "2: wchoice: takes pairs of a value and its weight (wchoice(a, 3, b, 1)), got 0 argument(s)"},
		{"wchoice zero", req("${wchoice(a, 1, b, 0)}"), at + `2: wchoice: the weight of "b" must be an integer from 1 to 1000000000, got "0"`},
		{"wchoice negative", req("${wchoice(a, -1)}"), at + `2: wchoice: the weight of "a" must be an integer from 1 to 1000000000, got "-1"`},
		{"wchoice fraction", req("${wchoice(a, 1.5)}"), at + `2: wchoice: the weight of "a" must be an integer from 1 to 1000000000, got "1.5"`},
		{"wchoice word", req("${wchoice(a, b)}"), at + `2: wchoice: the weight of "a" must be an integer from 1 to 1000000000, got "b"`},
		{"float order", req("${float(2, 1)}"), at + "2: float: 2 is greater than 1"},
		{"float number", req("${float(a, 1)}"), at + `2: float: "a" is not a number`},
		{"float inf", req("${float(1, Inf)}"), at + `2: float: "Inf" is not a number`},
		{"float decimals", req("${float(1, 2, 10)}"), at + `2: float: the decimals must be an integer from 0 to 9, got "10"`},
		{"float empty", req("${float(0.11, 0.19, 1)}"), at + "2: float: no number with 1 decimals is in [0.11, 0.19]"},
		{"float large", req("${float(0, 1e10, 9)}"), at + "2: float: [0, 1e10] with 9 decimals is too large"},
		{"date format", req("${date(2024-1-1, 2024-02-01)}"), at + `2: date: "2024-1-1" is not a date (YYYY-MM-DD)`},
		{"date order", req("${date(2024-02-01, 2024-01-01)}"), at + "2: date: 2024-02-01 is after 2024-01-01"},
		{"date_time format", req("${date_time(2024-01-01, noon)}"), at + `2: date_time: "noon" is not a date (YYYY-MM-DD) or an RFC 3339 time`},
		{"default of user.id", req("${user.id:-1}"), at + "2: user.id always has a value: it takes no default"},
		{"default template", req("${a:-x${b}"), at + "6: a default is literal text: it cannot hold a template"},
		{"default no name", req("${ :-x}"), at + `3: a name is required before ":-"`},
		{"default quoted", req(`${a:-\"x\" y}`), at + "9: unexpected 'y' after a quoted argument"},
		{"default of a call", req("${uuid():-x}"), at + "8: a call always has a value: it takes no default"},
		{"seed word", "seed: abc\n" + req("x"), "scenario.yaml:1: seed: expected an integer"},
		{"seed negative", "seed: -1\n" + req("x"), "scenario.yaml:1: seed: expected an integer in [0, 9223372036854775807], got -1"},
		{"seed fraction", "seed: 1.5\n" + req("x"), "scenario.yaml:1: seed: expected an integer"},
		{"seed list", "seed: [1]\n" + req("x"), "scenario.yaml:1: seed: expected an integer"},
	}
	for _, tc := range tests {
		_, err := Parse("scenario.yaml", []byte(tc.yaml))
		var pe *ParseError
		if !errors.As(err, &pe) || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%s: error = %v, want one starting %q", tc.name, err, tc.want)
		}
	}
}

// TestTemplateDefaultsParse checks what a default parses to.
func TestTemplateDefaultsParse(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in, name, def string
		kind          exprKind
	}{
		{"${a:-x}", "a", "x", exVar},
		{"${ a :- x y }", "a", "x y", exVar},
		{`${a:-" x, y "}`, "a", " x, y ", exVar},
		{"${a:-}", "a", "", exVar},
		{"${a:-b:-c}", "a", "b:-c", exVar},
		{"${a:-f(x) $b}", "a", "f(x) $b", exVar},
		{"${row.e-mail:-none}", "e-mail", "none", exRow},
	} {
		nodes, err := parseTemplate(tc.in, testEnv)
		if err != nil || len(nodes) != 1 || nodes[0].ex == nil {
			t.Errorf("%s: %v, %s", tc.in, err, describeNodes(nodes))
			continue
		}
		ex := nodes[0].ex
		if ex.kind != tc.kind || ex.name != tc.name || !ex.hasDef || string(ex.def) != tc.def {
			t.Errorf("%s: kind %d name %q default %q (%v), want %d %q %q", tc.in, ex.kind, ex.name, ex.def, ex.hasDef, tc.kind, tc.name, tc.def)
		}
	}
	for in, want := range map[string]string{"${env.NOPE:-d}": "d", "${env.EMPTY:-d}": "d", "${env.HOME:-d}": "/home/u", "${env.NOPE:-}x": "x"} {
		nodes, err := parseTemplate(in, testEnv)
		if err != nil || describeNodes(nodes) != `"`+want+`"` {
			t.Errorf("%s = %s (%v), want %q", in, describeNodes(nodes), err, want)
		}
	}
}

// seedTarget is a local target that records the JSON bodies it receives
// per user (the X-User header).
type seedTarget struct {
	mu     sync.Mutex
	bodies map[string][]string
}

func (st *seedTarget) count(user string) int {
	st.mu.Lock()
	defer st.mu.Unlock()
	return len(st.bodies[user])
}

const seedScenario = `seed: %d
users:
  - class: A
    tasks:
      - request:
          method: POST
          path: /s
          headers: {X-User: "${user.id}"}
          json:
            id: "${uuid()}"
            n: "${randint(1, 1000000)}"
            c: "${choice(a, b, c, d)}"
            w: "${wchoice(x, 1, y, 2)}"
            who: "${name()}"
            mail: "${email()}"
            text: "${sentence()}"
            price: "${float(1, 100, 2)}"
            day: "${date(2020-01-01, 2030-12-31)}"
            tag: "${alnum(8)}"
`

// seededRun runs 2 users of seedScenario with seed (the YAML's, and
// WithSeed's when override is not nil) against a fresh local target until
// each sent 15 requests, and returns each user's first 15 bodies.
func seededRun(t *testing.T, seed int, override *uint64) map[string][]string {
	t.Helper()
	st := &seedTarget{bodies: map[string][]string{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		st.mu.Lock()
		st.bodies[r.Header.Get("X-User")] = append(st.bodies[r.Header.Get("X-User")], string(b))
		st.mu.Unlock()
	}))
	defer srv.Close()
	sc, err := Parse("s.yaml", []byte(fmt.Sprintf(seedScenario, seed)))
	if err != nil {
		t.Fatal(err)
	}
	if sc.Seed == nil || *sc.Seed != uint64(seed) {
		t.Fatalf("Scenario.Seed = %v, want %d", sc.Seed, seed)
	}
	opts := []RunnerOption{WithHost(srv.URL)}
	if override != nil {
		opts = append(opts, WithSeed(*override))
	}
	r := NewRunner(sc.Classes, nil, opts...)
	r.Apply(counts("A", 2))
	const n = 15
	waitFor(t, "15 requests of each user", func() bool { return st.count("1") >= n && st.count("2") >= n })
	r.Close()
	st.mu.Lock()
	defer st.mu.Unlock()
	if len(st.bodies) != 2 {
		t.Fatalf("users %v, want 1 and 2", st.bodies)
	}
	out := map[string][]string{}
	for u, b := range st.bodies {
		out[u] = b[:n]
	}
	return out
}

// TestSeedReproducible runs the same seeded scenario twice: each user
// sends the same bodies; another seed sends others, and WithSeed (the
// command line's --seed) wins over the scenario's.
func TestSeedReproducible(t *testing.T) {
	t.Parallel()
	a, b := seededRun(t, 42, nil), seededRun(t, 42, nil)
	for _, u := range []string{"1", "2"} {
		if !slices.Equal(a[u], b[u]) {
			t.Errorf("seed 42, user %s: the runs differ:\n%q\n%q", u, a[u], b[u])
		}
	}
	if slices.Equal(a["1"], a["2"]) {
		t.Error("users 1 and 2 sent the same bodies")
	}
	var body map[string]string
	if err := json.Unmarshal([]byte(a["1"][0]), &body); err != nil || len(body) != 10 || body["mail"] == "" {
		t.Errorf("body %s: %v", a["1"][0], err)
	}
	c := seededRun(t, 43, nil)
	for _, u := range []string{"1", "2"} {
		if slices.ContainsFunc(c[u], func(s string) bool { return slices.Contains(a[u], s) }) {
			t.Errorf("seeds 42 and 43, user %s: a body in common:\n%q\n%q", u, a[u], c[u])
		}
	}
	over := uint64(42)
	d := seededRun(t, 43, &over)
	for _, u := range []string{"1", "2"} {
		if !slices.Equal(a[u], d[u]) {
			t.Errorf("WithSeed(42) over seed 43, user %s: not the bodies of seed 42:\n%q\n%q", u, a[u], d[u])
		}
	}
}

// TestUnseededRandom checks that without a seed two users' sources differ
// and that a runner's users are not seeded alike.
func TestUnseededRandom(t *testing.T) {
	t.Parallel()
	r := NewRunner(nil, nil)
	defer r.Close()
	cr := &classRun{name: "A"}
	seen := map[uint64]bool{}
	for range 100 {
		seen[r.userRand(cr).Uint64()] = true
	}
	if len(seen) != 100 {
		t.Errorf("%d distinct first draws of 100 unseeded sources", len(seen))
	}
	// Seeded: a function of the seed, the class and the user's number.
	first := func(seed uint64, class string, n uint64) uint64 {
		r := NewRunner(nil, nil, WithSeed(seed))
		defer r.Close()
		cr := &classRun{name: class, begun: n - 1}
		return r.userRand(cr).Uint64()
	}
	if first(1, "A", 1) != first(1, "A", 1) || first(1, "A", 1) == first(2, "A", 1) ||
		first(1, "A", 1) == first(1, "B", 1) || first(1, "A", 1) == first(1, "A", 2) {
		t.Error("a seeded source is not a function of exactly (seed, class, number)")
	}
}

// TestFakeRequestAllocs checks that a request with generated values,
// a weighted pick and defaults allocates nothing once the user's buffers
// have grown.
func TestFakeRequestAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops buffers under the race detector")
	}
	host := loopbackServer(t)
	sc, err := Parse("s.yaml", []byte(`seed: 1
users:
  - class: A
    tasks:
      - request:
          method: POST
          path: "/u/${alnum(6)}?d=${date(2020-01-01, 2020-12-31)}&t=${date_time(2020-01-01, 2020-12-31)}"
          headers: {X-Who: "${name()}", X-Opt: "${opt:-none}"}
          json: {mail: "${email()}", s: "${sentence()}", w: "${words(3)}", p: "${float(0, 9.99, 2)}", ph: "${phone()}",
                 b: "${bool()}", h: "${hex(20)}", k: "${wchoice(a, 1, b, 5)}", f: "${first_name()} ${last_name()} ${word()}"}
`))
	if err != nil {
		t.Fatal(err)
	}
	r := NewRunner(nil, newBenchStats())
	defer r.Close()
	c := sc.Classes[0]
	u := classUser(t, r, c, host)
	ctx := context.Background()
	run := func() {
		for _, tk := range c.Tasks {
			if err := tk.Fn(ctx, u); err != nil {
				panic(err)
			}
			u.HTTP.endTask()
		}
	}
	for range 50 {
		run() // grow the buffers to the longest values
	}
	if n := testing.AllocsPerRun(200, run); n != 0 {
		t.Errorf("%v allocations per run, want 0", n)
	}
}

// BenchmarkDoTemplateFake is BenchmarkDoTemplate's templated request with
// a JSON body of two fake generators (name() and email()) besides the
// variables, against a loopback fasthttp server.
func BenchmarkDoTemplateFake(b *testing.B) {
	host := loopbackServer(b)
	sc, err := Parse("bench.yaml", []byte(`vars: {id: "42", tok: abcdef0123456789}
users:
  - class: A
    tasks:
      - request: {method: POST, path: "/items/${id}", headers: {Authorization: "Bearer ${tok}"}, json: {who: "${name()}", mail: "${email()}"}}
`))
	if err != nil {
		b.Fatal(err)
	}
	c := sc.Classes[0]
	benchTask(b, c, host, 0)
}

// TestFakeLists checks the word lists: no duplicates, and names that
// make email local parts of lower-case letters.
func TestFakeLists(t *testing.T) {
	t.Parallel()
	for name, list := range map[string][]string{"firstNames": firstNames, "lastNames": lastNames, "fakeWords": fakeWords} {
		if s := slices.Clone(list); len(slices.Compact(slices.Sorted(slices.Values(s)))) != len(list) || len(list) < 50 {
			t.Errorf("%s: %d names, some twice or fewer than 50", name, len(list))
		}
	}
	for _, p := range slices.Concat(emailFirst, emailLast) {
		if !regexp.MustCompile(`^[a-z]+$`).MatchString(p) {
			t.Errorf("email part %q", p)
		}
	}
}

// BenchmarkTemplateEval states the cost of evaluating expressions alone
// (no request): two variables, and generated values.
func BenchmarkTemplateEval(b *testing.B) {
	r := NewRunner(nil, nil)
	defer r.Close()
	for _, tc := range []struct{ name, tmpl string }{
		{"vars", "${id}${tok}"},
		{"uuid", "${uuid()}"},
		{"name+email", "${name()}${email()}"},
		{"sentence", "${sentence()}"},
		{"wchoice", "${wchoice(a, 3, b, 1, c, 6, d, 10)}"},
		{"date_time", "${date_time(2020-01-01, 2030-12-31)}"},
		{"default", "${nobody:-x}"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			c := &Class{Vars: map[string]string{"id": "42", "tok": "abcdef0123456789"}}
			u := classUser(b, r, c, "http://127.0.0.1")
			nodes, err := parseTemplate(tc.tmpl, nil)
			if err != nil {
				b.Fatal(err)
			}
			for _, n := range nodes {
				if n.ex.kind == exVar {
					n.ex.slot = u.vars.scope.index[n.ex.name]
					if n.ex.name == "nobody" {
						n.ex.slot = len(u.vars.vals) // never set
					}
				}
			}
			b.ReportAllocs()
			for range b.N {
				u.vars.gen = u.vars.gen[:0]
				for _, n := range nodes {
					if _, err := u.eval(n.ex); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}
