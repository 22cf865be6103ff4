package scenario

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/glocust/glocust/protocol"
)

// TestStepErrors checks the errors of bad steps, conditions, fail_if and
// refresh: each names the file, the line and the key path.
func TestStepErrors(t *testing.T) {
	t.Parallel()
	checkErrors(t, []errCase{
		{"think negative", "  - class: C\n    tasks: [{name: t, steps: [{think: -1}]}]\n",
			"scenario.yaml:7: users[2].tasks[0].steps[0].think: invalid duration -1"},
		{"think between reversed", "  - class: C\n    tasks: [{name: t, steps: [{think: {between: [2, 1]}}]}]\n",
			"scenario.yaml:7: users[2].tasks[0].steps[0].think.between: min 2s is greater than max 1s"},
		{"think unknown key", "  - class: C\n    tasks: [{name: t, steps: [{think: {betwen: [1, 2]}}]}]\n",
			"scenario.yaml:7: users[2].tasks[0].steps[0].think: unknown key \"betwen\" (want between)"},
		{"think between one", "  - class: C\n    tasks: [{name: t, steps: [{think: {between: [1]}}]}]\n",
			"scenario.yaml:7: users[2].tasks[0].steps[0].think.between: expected [min, max]"},
		{"think empty mapping", "  - class: C\n    tasks: [{name: t, steps: [{think: {}}]}]\n",
			"scenario.yaml:7: users[2].tasks[0].steps[0].think: expected seconds, a duration (\"300ms\") or {between: [min, max]}"},
		{"repeat negative", "  - class: C\n    tasks: [{name: t, steps: [{repeat: -1, steps: [{think: 1}]}]}]\n",
			"scenario.yaml:7: users[2].tasks[0].steps[0].repeat: expected an integer in [0, 1000000], got -1"},
		{"repeat word", "  - class: C\n    tasks: [{name: t, steps: [{repeat: abc, steps: [{think: 1}]}]}]\n",
			"scenario.yaml:7: users[2].tasks[0].steps[0].repeat: expected a whole number in [0, 1000000] or a template such as \"${count}\", got \"abc\""},
		{"repeat too many", "  - class: C\n    tasks: [{name: t, steps: [{repeat: 2000000, steps: [{think: 1}]}]}]\n",
			"scenario.yaml:7: users[2].tasks[0].steps[0].repeat: expected an integer in [0, 1000000], got 2000000"},
		{"repeat without steps", "  - class: C\n    tasks: [{name: t, steps: [{repeat: 2}]}]\n",
			"scenario.yaml:7: users[2].tasks[0].steps[0].steps: required with repeat"},
		{"steps without repeat", "  - class: C\n    tasks: [{name: t, steps: [{think: 1, steps: [{think: 1}]}]}]\n",
			"scenario.yaml:7: users[2].tasks[0].steps[0].steps: only with repeat"},
		{"as without repeat", "  - class: C\n    tasks: [{name: t, steps: [{think: 1, as: i}]}]\n",
			"scenario.yaml:7: users[2].tasks[0].steps[0].as: only with repeat"},
		{"as not a name", "  - class: C\n    tasks: [{name: t, steps: [{repeat: 2, as: 1x, steps: [{think: 1}]}]}]\n",
			"scenario.yaml:7: users[2].tasks[0].steps[0].as: \"1x\" is not a variable name (letters, digits and _, not starting with a digit)"},
		{"as reserved", "  - class: C\n    tasks: [{name: t, steps: [{repeat: 2, as: row, steps: [{think: 1}]}]}]\n",
			"scenario.yaml:7: users[2].tasks[0].steps[0].as: \"row\" is reserved for ${row.…}"},
		{"as nested twice", "  - class: C\n    tasks: [{name: t, steps: [{repeat: 2, as: i, steps: [{repeat: 2, as: i, steps: [{think: 1}]}]}]}]\n",
			"scenario.yaml:7: users[2].tasks[0].steps[0].steps[0].as: \"i\" is already the index of an enclosing repeat"},
		{"repeat empty steps", "  - class: C\n    tasks: [{name: t, steps: [{repeat: 2, steps: []}]}]\n",
			"scenario.yaml:7: users[2].tasks[0].steps[0].steps: at least one step is required"},
		{"two kinds", "  - class: C\n    tasks: [{name: t, steps: [{think: 1, request: {path: /}}]}]\n",
			"scenario.yaml:7: users[2].tasks[0].steps[0]: a step has one of request, think, repeat, not think and request"},
		{"no kind", "  - class: C\n    tasks: [{name: t, steps: [{if: '1 == 1'}]}]\n",
			"scenario.yaml:7: users[2].tasks[0].steps[0]: a step needs one of request, think, repeat"},
		{"if syntax", "  - class: C\n    tasks: [{name: t, steps: [{think: 1, if: '${a} =='}]}]\n",
			"scenario.yaml:7: users[2].tasks[0].steps[0].if: condition \"${a} ==\": at byte 7: unexpected end (want a value: ${...}, \"text\" or a number)"},
		{"if undefined variable", "  - class: C\n    tasks: [{name: t, steps: [{think: 1, if: '${nope}'}]}]\n",
			"scenario.yaml:7: users[2].tasks[0].steps[0].if: undefined variable \"nope\" in ${nope} (not in vars, not extracted by a request of this class)"},
		{"if and unless", "  - class: C\n    tasks: [{name: t, steps: [{think: 1, if: '1 == 1', unless: '1 == 2'}]}]\n",
			"scenario.yaml:7: users[2].tasks[0].steps[0].unless: a step has if or unless, not both"},
		{"if bare word", "  - class: C\n    tasks: [{name: t, steps: [{think: 1, if: 'role == admin'}]}]\n",
			"scenario.yaml:7: users[2].tasks[0].steps[0].if: condition \"role == admin\": at byte 0: unexpected word \"role\" (quote text: \"role\"; a variable is ${role})"},
		{"matches template", "  - class: C\n    vars: {a: x}\n    tasks: [{name: t, steps: [{think: 1, if: '${a} matches \"${a}\"'}]}]\n",
			"scenario.yaml:8: users[2].tasks[0].steps[0].if: condition \"${a} matches \\\"${a}\\\"\": at byte 13: matches takes a quoted regular expression without templates"},
		{"if unclosed paren", "  - class: C\n    tasks: [{name: t, steps: [{think: 1, if: '(1 == 1'}]}]\n",
			"scenario.yaml:7: users[2].tasks[0].steps[0].if: condition \"(1 == 1\": at byte 0: \"(\" without a closing \")\""},
		{"if response unknown", "  - class: C\n    tasks: [{name: t, steps: [{think: 1, if: '${response.code} == 1'}]}]\n",
			"scenario.yaml:7: users[2].tasks[0].steps[0].if: condition \"${response.code} == 1\": at byte 11: unknown name response.code (want response.status)"},
		{"matches bad regexp", "  - class: C\n    tasks: [{name: t, steps: [{think: 1, if: '\"a\" matches \"(\"'}]}]\n",
			"scenario.yaml:7: users[2].tasks[0].steps[0].if: condition \"\\\"a\\\" matches \\\"(\\\"\": at byte 12: error parsing regexp: missing closing ): `(`"},
		{"if empty", "  - class: C\n    tasks: [{name: t, steps: [{think: 1, if: ''}]}]\n",
			"scenario.yaml:7: users[2].tasks[0].steps[0].if: condition \"\": at byte 0: empty condition"},
		{"if not a string", "  - class: C\n    tasks: [{name: t, steps: [{think: 1, if: [1]}]}]\n",
			"scenario.yaml:7: users[2].tasks[0].steps[0].if: expected a condition such as '${response.status} == 200'"},
		{"repeat undefined variable", "  - class: C\n    tasks: [{name: t, steps: [{repeat: '${nope}', steps: [{think: 1}]}]}]\n",
			"scenario.yaml:7: users[2].tasks[0].steps[0].repeat: undefined variable \"nope\" in ${nope} (not in vars, not extracted by a request of this class)"},
		{"fail_if no condition", "  - class: C\n    tasks:\n      - request: {path: /, fail_if: {message: x}}\n",
			"scenario.yaml:8: users[2].tasks[0].request.fail_if.condition: required"},
		{"fail_if unknown key", "  - class: C\n    tasks:\n      - request: {path: /, fail_if: {condition: '1 == 1', mesage: x}}\n",
			"scenario.yaml:8: users[2].tasks[0].request.fail_if: unknown key \"mesage\" (want condition, message)"},
		{"fail_if bad message", "  - class: C\n    tasks:\n      - request: {path: /, fail_if: {condition: '1 == 1', message: 'a ${'}}\n",
			"scenario.yaml:8: users[2].tasks[0].request.fail_if.message: template: at byte 2: \"${\" without a closing \"}\""},
		{"fail_if message undefined", "  - class: C\n    tasks:\n      - request: {path: /, fail_if: {condition: '1 == 1', message: 'a ${nope}'}}\n",
			"scenario.yaml:8: users[2].tasks[0].request.fail_if.message: undefined variable \"nope\" in ${nope} (not in vars, not extracted by a request of this class)"},
		{"fail_if list bad", "  - class: C\n    tasks:\n      - request: {path: /, fail_if: [{condition: '1 == 1'}, {condition: '${x} =='}]}\n",
			"scenario.yaml:8: users[2].tasks[0].request.fail_if[1].condition: condition \"${x} ==\": at byte 7: unexpected end (want a value: ${...}, \"text\" or a number)"},
		{"fail_if empty list", "  - class: C\n    tasks:\n      - request: {path: /, fail_if: []}\n",
			"scenario.yaml:8: users[2].tasks[0].request.fail_if: expected {condition: ..., message: ...} or a list of them"},
		{"refresh no steps", "  - class: C\n    refresh: {on_status: [401]}\n    tasks: [{request: {path: /}}]\n",
			"scenario.yaml:7: users[2].refresh.steps: required: on_start or a list of steps"},
		{"refresh no trigger", "  - class: C\n    refresh: {steps: on_start}\n    tasks: [{request: {path: /}}]\n",
			"scenario.yaml:7: users[2].refresh: needs every, on_status or both"},
		{"refresh retry without on_status", "  - class: C\n    refresh: {every: 10s, retry: true, steps: on_start}\n    tasks: [{request: {path: /}}]\n",
			"scenario.yaml:7: users[2].refresh.retry: only with on_status"},
		{"refresh steps word", "  - class: C\n    refresh: {on_status: [401], steps: login}\n    tasks: [{request: {path: /}}]\n",
			"scenario.yaml:7: users[2].refresh.steps: expected on_start or a list of steps, got \"login\""},
		{"refresh on_start missing", "  - class: C\n    refresh: {on_status: [401], steps: on_start}\n    tasks: [{request: {path: /}}]\n",
			"scenario.yaml:7: users[2].refresh.steps: on_start: the class has no on_start"},
		{"refresh every zero", "  - class: C\n    refresh: {every: 0, steps: on_start}\n    on_start: [{request: {path: /}}]\n    tasks: [{request: {path: /}}]\n",
			"scenario.yaml:7: users[2].refresh.every: must be more than 0"},
		{"refresh bad status", "  - class: C\n    refresh: {on_status: [99], steps: on_start}\n    on_start: [{request: {path: /}}]\n    tasks: [{request: {path: /}}]\n",
			"scenario.yaml:7: users[2].refresh.on_status[0]: expected an integer in [100, 599], got 99"},
		{"refresh unknown key", "  - class: C\n    refresh: {on_status: [401], steps: [{think: 1}], retyr: true}\n    tasks: [{request: {path: /}}]\n",
			"scenario.yaml:7: users[2].refresh: unknown key \"retyr\" (want every, on_status, steps, retry)"},
		{"refresh steps undefined", "  - class: C\n    refresh: {on_status: [401], steps: [{request: {path: '${nope}'}}]}\n    tasks: [{request: {path: /}}]\n",
			"scenario.yaml:7: users[2].refresh.steps[0].request.path: a path starts with \"/\": write /${...} (a value is put inside the host's URL, never replaces it)"},
		{"refresh not a mapping", "  - class: C\n    refresh: [1]\n    tasks: [{request: {path: /}}]\n",
			"scenario.yaml:7: users[2].refresh: expected a mapping"},
		{"var named response", "  - class: C\n    vars: {response: x}\n    tasks: [{request: {path: /}}]\n",
			"scenario.yaml:7: users[2].vars.response: \"response\" is reserved for ${response.…}"},
	})
}

// uris returns the request URIs a captureServer received.
func uris(cs []capture) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.uri
	}
	return out
}

// TestStepsRepeatAndConditions runs repeat (with a templated count and an
// index), if and unless against a target that records what it gets.
func TestStepsRepeatAndConditions(t *testing.T) {
	t.Parallel()
	host, got := captureServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/s404" {
			w.WriteHeader(404)
		}
	})
	recs := runOnce(t, `vars: {count: "3", role: admin, empty: ""}
users:
  - class: A
    tasks:
      - name: flow
        steps:
          - repeat: "${count}"
            as: i
            steps:
              - request: {path: "/r/${i}", name: /r}
              - request: {path: "/odd/${i}", name: /odd}
                if: ${i} == 1 or ${i} >= 2 and not ${i} == 2
          - repeat: 2
            steps: [{request: {path: /two}}]
          - repeat: 0
            steps: [{request: {path: /zero}}]
          - request: {path: /admin}
            if: ${role} == "admin" and ${empty} == ""
          - request: {path: /never}
            if: ${empty}
          - request: {path: /unless}
            unless: ${empty}
          - request: {path: /s404, expect_status: 404}
          - request: {path: /after404}
            if: ${response.status} == 404
          - request: {path: /lt}
            if: ${response.status} < 300 and "10" > 9
          - request: {path: /text}
            if: '"a-${role}-b" contains "admin" and ${role} matches "^adm" and "a10" < "a9"'
          - think: 0.001
            if: (1 == 2 or 2 == 2) and 3 == 3
          - repeat: 1
            unless: 1 == 1
            steps: [{request: {path: /skipped-repeat}}]
`, host)
	want := []string{"/r/0", "/r/1", "/odd/1", "/r/2", "/two", "/two", "/admin", "/unless", "/s404", "/after404", "/lt", "/text"}
	if g := uris(got()); !slices.Equal(g, want) {
		t.Errorf("requests:\n got %q\nwant %q", g, want)
	}
	var names []string
	for _, r := range recs {
		if r.fail {
			t.Errorf("%s recorded as a failure: %s", r.name, r.err)
		}
		names = append(names, r.name)
	}
	wantNames := []string{"/r", "/r", "/odd", "/r", "/two", "/two", "/admin", "/unless", "/s404", "/after404", "/lt", "/text"}
	if !slices.Equal(names, wantNames) {
		t.Errorf("records:\n got %q\nwant %q", names, wantNames)
	}
}

// TestStepConditionWithoutValue checks that a condition that needs a
// variable without a value is false: its if step is skipped, its unless
// step runs.
func TestStepConditionWithoutValue(t *testing.T) {
	t.Parallel()
	host, got := captureServer(t, func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`{}`)) })
	runOnce(t, `users:
  - class: A
    tasks:
      - name: flow
        steps:
          - request: {path: /login, extract: {token: {json: token}}}   # fails: no token
          - request: {path: /if-not}
            if: not ${token}
          - request: {path: /unless}
            unless: ${token}
          - request: {path: /or}
            if: ${token} or 1 == 1
          - request: {path: /or-first}
            if: 1 == 1 or ${token}
`, host)
	want := []string{"/login", "/unless", "/or-first"}
	if g := uris(got()); !slices.Equal(g, want) {
		t.Errorf("requests:\n got %q\nwant %q", g, want)
	}
}

// TestRepeatCountNotANumber checks that a templated count that is not a
// whole number ends the task with a user exception naming the step, and
// sends nothing more.
func TestRepeatCountNotANumber(t *testing.T) {
	t.Parallel()
	host, got := captureServer(t, nil)
	sc, err := Parse("s.yaml", []byte(`vars: {count: "3x"}
users:
  - class: A
    tasks:
      - name: flow
        steps:
          - request: {path: /before}
          - repeat: "${count}"
            steps: [{request: {path: /inside}}]
          - request: {path: /after}
`))
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var exc []string
	r := NewRunner(nil, newFakeStats(), WithExceptionHandler(func(msg, _ string) {
		mu.Lock()
		defer mu.Unlock()
		exc = append(exc, msg)
	}))
	defer r.Close()
	c := sc.Classes[0]
	u := classUser(t, r, c, host)
	err = u.runFn(context.Background(), "flow", c.Tasks[0].Fn)
	u.HTTP.endTask()
	var se *StepError
	if !errors.As(err, &se) {
		t.Fatalf("error = %v, want a *StepError", err)
	}
	wantMsg := `users[0].tasks[0].steps[1].repeat: ${count} is "3x", not a whole number in [0, 1000000]`
	if err.Error() != wantMsg {
		t.Errorf("error = %q, want %q", err, wantMsg)
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(exc, []string{wantMsg}) {
		t.Errorf("exceptions = %q, want the error", exc)
	}
	if g := uris(got()); !slices.Equal(g, []string{"/before"}) {
		t.Errorf("requests = %q, want only /before", g)
	}
}

// TestThink checks that think pauses between two requests as long as it
// says, at least, and that {between: [lo, hi]} pauses at least lo.
func TestThink(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var at []time.Time
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		at = append(at, time.Now())
		mu.Unlock()
	}))
	defer srv.Close()
	runOnce(t, `users:
  - class: A
    tasks:
      - name: flow
        steps:
          - request: {path: /a}
          - think: 0.05
          - request: {path: /b}
          - think: {between: ["30ms", "40ms"]}
          - request: {path: /c}
`, srv.URL)
	mu.Lock()
	defer mu.Unlock()
	if len(at) != 3 {
		t.Fatalf("%d requests, want 3", len(at))
	}
	if d := at[1].Sub(at[0]); d < 50*time.Millisecond {
		t.Errorf("think: 0.05 paused %v", d)
	}
	if d := at[2].Sub(at[1]); d < 30*time.Millisecond {
		t.Errorf("think between 30ms and 40ms paused %v", d)
	}
}

// TestThinkStops checks that a user stopped while it thinks stops at once
// (not after its minute of thinking) and sends nothing more.
func TestThinkStops(t *testing.T) {
	t.Parallel()
	var a, b atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/a" {
			a.Add(1)
		} else {
			b.Add(1)
		}
	}))
	defer srv.Close()
	sc, err := Parse("s.yaml", []byte(`users:
  - class: A
    tasks:
      - name: flow
        steps:
          - request: {path: /a}
          - think: 60
          - request: {path: /b}
`))
	if err != nil {
		t.Fatal(err)
	}
	r := NewRunner(sc.Classes, newFakeStats(), WithHost(srv.URL))
	defer r.Close()
	r.Apply([]protocol.ClassCount{{Class: "A", Count: 1}})
	waitFor(t, "the user's first request", func() bool { return a.Load() == 1 })
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r.StopAll(ctx, 0)
	if ctx.Err() != nil || r.UserCount() != 0 {
		t.Fatalf("the thinking user did not stop (after %v)", time.Since(start))
	}
	if b.Load() != 0 {
		t.Errorf("%d requests after the think, want 0", b.Load())
	}
}

// orderServer answers /order with {"id": 7, "state": S}, S "pending" on
// the first call and "confirmed" after, after a pause of 20ms.
func orderServer(t *testing.T) string {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(20 * time.Millisecond)
		state := "confirmed"
		if n.Add(1) == 1 {
			state = "pending"
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id": 7, "state": %q}`, state)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestFailIf checks that fail_if records the request once as a failure
// with its rendered message and its real response time, after the
// extractions (whose values it reads and which are kept).
func TestFailIf(t *testing.T) {
	t.Parallel()
	host := orderServer(t)
	sc, err := Parse("s.yaml", []byte(`users:
  - class: A
    tasks:
      - request:
          path: /order
          extract: {state: {json: state}, order_id: {json: id}}
          fail_if: {condition: '${state} != "confirmed"', message: "order ${order_id} not confirmed (${state})"}
      - request:
          path: /order
          name: status
          fail_if: {condition: '${response.status} == 200'}
      - request:
          path: /order
          name: list
          expect_status: 201
          fail_if: [{condition: '1 == 2', message: never}, {condition: '${response.status} == 200', message: "status ${response.status}"}]
`))
	if err != nil {
		t.Fatal(err)
	}
	st := newFakeStats()
	r := NewRunner(nil, st)
	defer r.Close()
	c := sc.Classes[0]
	u := classUser(t, r, c, host)
	runTasks(t, u, c)
	runTasks(t, u, c)
	recs := st.all()
	type out struct {
		name string
		fail bool
		err  string
	}
	var g []out
	for _, rc := range recs {
		g = append(g, out{rc.name, rc.fail, rc.err})
		if rc.rt < 20*time.Millisecond {
			t.Errorf("%s recorded with %v, want its real response time (>= 20ms)", rc.name, rc.rt)
		}
	}
	want := []out{
		{"/order", true, "order 7 not confirmed (pending)"},
		{"status", true, "fail_if: ${response.status} == 200"},
		{"list", true, "HTTP 200 OK (expected 201)"}, // fail_if runs only after the checks passed
		{"/order", false, ""},
		{"status", true, "fail_if: ${response.status} == 200"},
		{"list", true, "HTTP 200 OK (expected 201)"},
	}
	if !slices.Equal(g, want) {
		t.Errorf("records:\n got %+v\nwant %+v", g, want)
	}
	if v, _ := u.Var("order_id"); v != "7" {
		t.Errorf("order_id = %q, want 7 (kept when fail_if fails)", v)
	}
	if u.LastStatus() != 200 {
		t.Errorf("LastStatus = %d, want 200", u.LastStatus())
	}
}

// tokenServer is a target whose tokens expire after k uses: POST /login
// gives a new token, GET /api answers 401 to an unknown or used-up token.
// It counts logins, 200s and 401s.
type tokenServer struct {
	k                  int
	mu                 sync.Mutex
	next               int
	uses               map[string]int
	logins, ok, denied int
	url                string
}

func newTokenServer(t *testing.T, k int) *tokenServer {
	ts := &tokenServer{k: k, uses: map[string]int{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ts.mu.Lock()
		defer ts.mu.Unlock()
		switch r.URL.Path {
		case "/login":
			ts.logins++
			ts.next++
			tok := "t" + strconv.Itoa(ts.next)
			ts.uses[tok] = 0
			json.NewEncoder(w).Encode(map[string]string{"token": tok})
		default:
			tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
			n, known := ts.uses[tok]
			if !known || n >= ts.k {
				ts.denied++
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			ts.uses[tok] = n + 1
			ts.ok++
		}
	}))
	t.Cleanup(srv.Close)
	ts.url = srv.URL
	return ts
}

func (ts *tokenServer) counts() (logins, ok, denied int) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.logins, ts.ok, ts.denied
}

// statsCounts sums records per name: successes and failures.
func statsCounts(recs []rec) map[string][2]int {
	m := map[string][2]int{}
	for _, r := range recs {
		c := m[r.name]
		if r.fail {
			c[1]++
		} else {
			c[0]++
		}
		m[r.name] = c
	}
	return m
}

// refreshUser parses src, runs its first class's on_start once and then
// its tasks, in order, n times, as one user of a runner with opts against
// host; between rounds it calls between.
func refreshUser(t *testing.T, src, host string, n int, between func(), opts ...RunnerOption) []rec {
	t.Helper()
	sc, err := Parse("s.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	st := newFakeStats()
	r := NewRunner(nil, st, opts...)
	defer r.Close()
	c := sc.Classes[0]
	u := classUser(t, r, c, host)
	if err := c.OnStart(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	u.HTTP.endTask()
	for range n {
		runTasks(t, u, c)
		if between != nil {
			between()
		}
	}
	return st.all()
}

// TestRefreshOnStatus runs a user against a target whose tokens expire
// after 3 uses: each 401 re-runs on_start (a login) and the request is
// sent again. The stats must match what the target counted, exactly.
func TestRefreshOnStatus(t *testing.T) {
	t.Parallel()
	const k, tasks = 3, 10
	for _, tc := range []struct {
		name, tasks string
		perTask     int // requests to /api per task
	}{
		{"request task", "      - request: {path: /api, headers: {Authorization: \"Bearer ${token}\"}}\n", 1},
		{"steps task", "      - name: two\n        steps:\n          - request: {path: /api, headers: {Authorization: \"Bearer ${token}\"}}\n" +
			"          - think: 0\n          - request: {path: /api, headers: {Authorization: \"Bearer ${token}\"}}\n", 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ts := newTokenServer(t, k)
			// refresh after tasks: a class's keys are read before its tasks are built.
			recs := refreshUser(t, `users:
  - class: A
    on_start:
      - request: {method: POST, path: /login, extract: {token: {json: token}}}
    tasks:
`+tc.tasks+`    refresh: {on_status: [401], steps: on_start, retry: true}
`, ts.url, tasks, nil)
			logins, ok, denied := ts.counts()
			// Every call succeeds, a 401 every k successes: the first token
			// serves k, each login after a 401 k more.
			calls := tasks * tc.perTask
			wantDenied := (calls - 1) / k
			if ok != calls || denied != wantDenied || logins != 1+wantDenied {
				t.Errorf("target: %d logins, %d ok, %d 401s; want %d, %d, %d", logins, ok, denied, 1+wantDenied, calls, wantDenied)
			}
			got := statsCounts(recs)
			want := map[string][2]int{"/login": {logins, 0}, "/api": {ok, denied}}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("stats %v, want %v (as the target counted)", got, want)
			}
			for _, r := range recs {
				if r.fail && r.err != "HTTP 401 Unauthorized" {
					t.Errorf("failure %q, want the 401 as it was", r.err)
				}
			}
		})
	}
}

// TestRefreshOnStatusNoRetry checks on_status without retry and with a
// list of steps: the 401 is recorded, the steps run, the task goes on.
func TestRefreshOnStatusNoRetry(t *testing.T) {
	t.Parallel()
	ts := newTokenServer(t, 2)
	recs := refreshUser(t, `users:
  - class: A
    on_start: [{request: {method: POST, path: /login, extract: {token: {json: token}}}}]
    refresh:
      on_status: [401]
      steps: [{request: {method: POST, path: /login, name: relogin, extract: {token: {json: token}}}}]
    tasks:
      - request: {path: /api, headers: {Authorization: "Bearer ${token}"}, expect_status: [200, 401]}
`, ts.url, 7, nil)
	// Token 1: ok ok 401 (relogin); token 2: ok ok 401 (relogin); token 3: ok.
	logins, ok, denied := ts.counts()
	if logins != 3 || ok != 5 || denied != 2 {
		t.Errorf("target: %d logins, %d ok, %d 401s; want 3, 5, 2", logins, ok, denied)
	}
	got := statsCounts(recs)
	want := map[string][2]int{"/login": {1, 0}, "relogin": {2, 0}, "/api": {7, 0}} // 401 is expected here
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("stats %v, want %v", got, want)
	}
}

// TestRefreshEvery drives refresh.every with the runner's clock: the steps
// run before the first step after 300s have passed since the last run
// (the first task starts the clock).
func TestRefreshEvery(t *testing.T) {
	t.Parallel()
	ts := newTokenServer(t, 1000)
	clk := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	var mu sync.Mutex
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clk.now() }
	// Between rounds: +100s, +250s (350: refresh), +100s, +200s (650: refresh), +10s.
	steps := []time.Duration{100, 250, 100, 200, 10}
	var loginsAt []int
	round := 0
	recs := refreshUser(t, `users:
  - class: A
    on_start: [{request: {method: POST, path: /login, extract: {token: {json: token}}}}]
    refresh: {every: 300s, steps: on_start}
    tasks:
      - request: {path: /api, headers: {Authorization: "Bearer ${token}"}}
`, ts.url, len(steps)+1, func() {
		l, _, _ := ts.counts()
		loginsAt = append(loginsAt, l)
		if round < len(steps) {
			mu.Lock()
			clk.advance(steps[round] * time.Second)
			mu.Unlock()
		}
		round++
	}, WithClock(now))
	// After each round: the login of on_start, then one more in rounds 3 and 5.
	if want := []int{1, 1, 2, 2, 3, 3}; !slices.Equal(loginsAt, want) {
		t.Errorf("logins after each round %v, want %v", loginsAt, want)
	}
	logins, ok, denied := ts.counts()
	if got, want := statsCounts(recs), map[string][2]int{"/login": {logins, 0}, "/api": {ok, denied}}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("stats %v, want %v", got, want)
	}
}

// TestConditionEval checks the grammar's meaning.
func TestConditionEval(t *testing.T) {
	t.Parallel()
	u := &UserContext{}
	u.SetVar("a", "1")
	u.SetVar("s", "hello")
	u.SetVar("empty", "")
	u.SetVar("zero", "0")
	for _, tc := range []struct {
		src  string
		want bool
	}{
		{`401 == "401"`, true},
		{`"01" == 1`, true},
		{`"abc" < "abd"`, true},
		{`10 > 9`, true},
		{`"10" > "9"`, true},
		{`"a10" > "a9"`, false},
		{`-1.5e1 < -14`, true},
		{`1 != 1.0`, false},
		{`${empty}`, false},
		{`${zero}`, true},
		{`not ${empty}`, true},
		{`not ${missing}`, false},
		{`${missing} == ""`, false},
		{`${a} or ${missing}`, true},
		{`${missing} or ${a}`, false},
		{`${s} contains "ell"`, true},
		{`${s} contains "xyz"`, false},
		{`${s} matches "^h.l+o$"`, true},
		{`${s} matches 'L'`, false},
		{`not 1 == 2 and 2 == 2`, true},
		{`1 == 2 or 2 == 2 and 3 == 4`, false},
		{`(1 == 2 or 2 == 2) and 3 == 3`, true},
		{`not (1 == 1)`, false},
		{`"a\"b" == 'a"b'`, true},
		{`"x-${a}-y" == "x-1-y"`, true},
		{`"$${a}" == '$${a}'`, true},
		{`${response.status} == 0`, true},
		{`${s} >= "hello" and ${s} <= "hello"`, true},
	} {
		c, err := parseCond(tc.src, nil)
		if err != nil {
			t.Errorf("%s: %v", tc.src, err)
			continue
		}
		if got := c.holds(u); got != tc.want {
			t.Errorf("%s = %v, want %v", tc.src, got, tc.want)
		}
		if c2, err := parseCond(c.String(), nil); err != nil || c2.String() != c.String() {
			t.Errorf("%s: String %q does not parse back to itself (%v)", tc.src, c.String(), err)
		}
	}
}

// TestStepsAllocs checks that conditions, repeat and its index allocate
// nothing once the user's buffers have grown.
func TestStepsAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops buffers under the race detector")
	}
	host := loopbackServer(t)
	sc, err := Parse("s.yaml", []byte(`vars: {n: "2", role: admin}
users:
  - class: A
    tasks:
      - name: flow
        steps:
          - repeat: "${n}"
            as: i
            steps:
              - request: {path: "/items/${i}", name: /items}
                if: ${i} < 5 and "x${role}" contains "adm" and ${response.status} != 500
          - request: {path: /x, fail_if: {condition: '${response.status} == 500', message: "bad ${role}"}}
            unless: ${role} matches "^user"
          - think: 0.0001
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
		c.Tasks[0].Fn(ctx, u)
		u.HTTP.endTask()
	}
	run()
	if n := testing.AllocsPerRun(100, run); n != 0 {
		t.Errorf("%v allocations per run, want 0", n)
	}
}

// FuzzCondition checks that any text either is refused with an error or
// compiles to a condition whose canonical form parses back to itself, and
// that evaluating it does not panic.
func FuzzCondition(f *testing.F) {
	for _, s := range []string{
		`${token}`, `${response.status} == 401`, `not ${a} and (${b} or "x" contains 'y')`, `1 < 2 <= 3`,
		`${s} matches "^a(b|c)$"`, `"${a}-${user.id}" != ''`, `-1.5e3 >= 2`, `((((1))))`, `not not not 1`,
		`"$${x}$" == "\"\\"`, `${choice("a", "b")} == 'a'`, `'${randint(1, 3)}' > 0`, `${row.col} or ${env.X}`,
		`1 == 2 or`, `(`, `"unterminated`, `${`, `and`, `1e`, `--1`, `01 == 1`, "\t1\n==\r1 ",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := parseCond(s, nil)
		if err != nil {
			var ce *condError
			if !errors.As(err, &ce) || ce.pos < 0 || ce.pos > len(s) {
				t.Fatalf("%q: error %v (%T) has no position in the condition", s, err, err)
			}
			return
		}
		str := c.String()
		c2, err := parseCond(str, nil)
		if err != nil {
			t.Fatalf("%q: its canonical form %q does not parse: %v", s, str, err)
		}
		if c2.String() != str {
			t.Fatalf("%q: canonical form %q parses to %q", s, str, c2.String())
		}
		u := &UserContext{Rand: rand.New(rand.NewPCG(1, 2))}
		u.SetVar("a", "1")
		c.holds(u)
		c2.holds(u)
	})
}

// TestREADMEStepsExample runs the example of README's section on steps
// against a target that answers as the example expects.
func TestREADMEStepsExample(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, sec, ok := strings.Cut(string(b), "### Steps: think, repeat, conditions, failing a step, refreshing a token")
	_, block, ok2 := strings.Cut(sec, "```yaml\n")
	block, _, ok3 := strings.Cut(block, "```")
	if !ok || !ok2 || !ok3 {
		t.Fatal("README has no YAML example in its section on steps")
	}
	host, got := captureServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/login":
			w.Write([]byte(`{"token": "tk"}`))
		case "/cart":
			w.Write([]byte(`{"count": 2}`))
		case "/orders":
			w.WriteHeader(201)
			w.Write([]byte(`{"id": 7, "state": "confirmed"}`))
		}
	})
	sc, err := Parse("README.md", []byte(block))
	if err != nil {
		t.Fatal(err)
	}
	st := newFakeStats()
	r := NewRunner(nil, st)
	defer r.Close()
	c := sc.Classes[0]
	u := classUser(t, r, c, host)
	if err := c.OnStart(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	runTasks(t, u, c)
	want := []string{"/login", "/cart", "/cart/items/0", "/cart/items/1", "/orders", "/orders/7/receipt"}
	if g := uris(got()); !slices.Equal(g, want) {
		t.Errorf("requests:\n got %q\nwant %q", g, want)
	}
	for _, rc := range st.all() {
		if rc.fail {
			t.Errorf("%s failed: %s", rc.name, rc.err)
		}
	}
}

// BenchmarkStepsTask states the cost of steps against a loopback fasthttp
// server: a task of one request, the same request as a step with an if,
// and a repeat of 2 with an index (two requests per op).
func BenchmarkStepsTask(b *testing.B) {
	host := loopbackServer(b)
	sc, err := Parse("bench.yaml", []byte(`vars: {role: admin}
users:
  - class: A
    tasks:
      - request: {path: /items}
      - name: if
        steps: [{request: {path: /items}, if: '${response.status} != 500 and ${role} == "admin"'}]
      - name: repeat
        steps: [{repeat: 2, as: i, steps: [{request: {path: "/items/${i}", name: /items}}]}]
`))
	if err != nil {
		b.Fatal(err)
	}
	c := sc.Classes[0]
	for i, name := range []string{"request", "if", "repeat2"} {
		b.Run(name, func(b *testing.B) {
			benchTask(b, c, host, i)
		})
	}
}

// BenchmarkConditionHolds states the cost of evaluating a condition: two
// comparisons, one numeric on ${response.status}, one of text.
func BenchmarkConditionHolds(b *testing.B) {
	c, err := parseCond(`${response.status} != 500 and ${role} == "admin"`, nil)
	if err != nil {
		b.Fatal(err)
	}
	scope := newVarScope()
	scope.declare("role", "admin")
	c.refs(func(ex *texpr) { ex.slot = scope.index[ex.name] })
	u := &UserContext{HTTP: &HTTPClient{lastStatus: 200}}
	u.vars.init(scope, Row{}, nil)
	if !c.holds(u) {
		b.Fatal("the condition does not hold")
	}
	b.ReportAllocs()
	for b.Loop() {
		c.holds(u)
	}
}
