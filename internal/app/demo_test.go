package app

import (
	"context"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/glocust/glocust/internal/demotarget"
	"github.com/glocust/glocust/protocol"
	"github.com/glocust/glocust/scenario"
)

// demoCounts is a scenario.Stats counting requests and failures per name.
type demoCounts struct {
	mu             sync.Mutex
	reqs, failures map[string]int
}

type demoEntry struct {
	c    *demoCounts
	name string
}

func (c *demoCounts) Lookup(_, name string) scenario.EntryRecorder { return demoEntry{c, name} }
func (e demoEntry) Record(time.Time, time.Duration, int64)         { e.add(false) }
func (e demoEntry) RecordFailure(time.Time, time.Duration, int64, string) {
	e.add(true)
}

func (e demoEntry) add(fail bool) {
	e.c.mu.Lock()
	defer e.c.mu.Unlock()
	e.c.reqs[e.name]++
	if fail {
		e.c.failures[e.name]++
	}
}

// TestDemoScenario runs the embedded scenario of "glocust demo" against
// the demo shop (wait times shortened): every request of it is answered
// as the scenario expects, the only failures are the deliberate 404s of
// "missing", and the stats count what the shop received.
func TestDemoScenario(t *testing.T) {
	t.Parallel()
	shop, err := demotarget.Start("127.0.0.1:0", demotarget.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer shop.Close()
	sc, err := scenario.Parse("demo_scenario.yaml", demoScenario)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range sc.Classes {
		c.WaitTime = scenario.Constant(2 * time.Millisecond)
	}
	st := &demoCounts{reqs: map[string]int{}, failures: map[string]int{}}
	var exc []string
	var mu sync.Mutex
	r := scenario.NewRunner(sc.Classes, st, scenario.WithExceptionHandler(func(msg, _ string) { mu.Lock(); exc = append(exc, msg); mu.Unlock() }))
	defer r.Close()
	r.SetHost(shop.URL)
	r.Apply([]protocol.ClassCount{{Class: "Browser", Count: 3}, {Class: "Buyer", Count: 2}})
	endpoints := map[string]string{"home": "GET /", "items": "GET /items", "item": "GET /items/{id}", "search": "GET /search",
		"missing": "other", "login": "POST /login", "add to cart": "POST /cart", "checkout": "POST /checkout", "slow page": "GET /slow"}
	deadline := time.Now().Add(30 * time.Second)
	for {
		s, all := shop.Stats(), true
		for _, ep := range endpoints {
			all = all && s.Count(ep) >= 2
		}
		if all {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not every endpoint had 2 requests in 30 s: %v", s.Endpoints)
		}
		time.Sleep(10 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	r.StopAll(ctx, 10*time.Second)
	s := shop.Stats()
	st.mu.Lock()
	defer st.mu.Unlock()
	mu.Lock()
	defer mu.Unlock()
	if len(exc) != 0 {
		t.Errorf("user exceptions: %q", exc)
	}
	total := 0
	for name, ep := range endpoints {
		total += st.reqs[name]
		if st.reqs[name] != s.Count(ep) {
			t.Errorf("%s: recorded %d, the shop received %d on %s", name, st.reqs[name], s.Count(ep), ep)
		}
		want := 0
		if name == "missing" {
			want = s.Endpoints["other"][404]
		}
		if st.failures[name] != want {
			t.Errorf("%s: %d failures, want %d (the shop's answers %v)", name, st.failures[name], want, s.Endpoints[ep])
		}
	}
	if total != s.Total() || len(s.Unauthorized) != 0 {
		t.Errorf("recorded %d requests, the shop received %d; 401s %v", total, s.Total(), s.Unauthorized)
	}
}

// TestDemoScenarioManyUsers runs the demo's Buyer as users 1001 and 1002
// of a runner (the first 1000 users are of a class that sends nothing and
// waits): they log in as shopper1001 and shopper1002, accounts past the
// first 1000 that the shop takes as well, and buy with their tokens.
func TestDemoScenarioManyUsers(t *testing.T) {
	t.Parallel()
	shop, err := demotarget.Start("127.0.0.1:0", demotarget.Config{Log: true})
	if err != nil {
		t.Fatal(err)
	}
	defer shop.Close()
	sc, err := scenario.Parse("demo_scenario.yaml", demoScenario)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range sc.Classes {
		c.WaitTime = scenario.Constant(2 * time.Millisecond)
	}
	// Pad's users hold their first task until release, then stop.
	release := make(chan struct{})
	pad := &scenario.Class{Name: "Pad", Weight: 1, Tasks: []scenario.Task{{Name: "hold",
		Fn: func(ctx context.Context, _ *scenario.UserContext) error {
			select {
			case <-release:
			case <-ctx.Done():
			}
			return scenario.ErrStopUser
		}}}}
	st := &demoCounts{reqs: map[string]int{}, failures: map[string]int{}}
	var exc []string
	var mu sync.Mutex
	r := scenario.NewRunner(append(sc.Classes, pad), st,
		scenario.WithExceptionHandler(func(msg, _ string) { mu.Lock(); exc = append(exc, msg); mu.Unlock() }))
	defer r.Close()
	defer func() {
		select {
		case <-release:
		default:
			close(release)
		}
	}()
	r.SetHost(shop.URL)
	const pads = 1000
	r.Apply([]protocol.ClassCount{{Class: "Pad", Count: pads}})
	deadline := time.Now().Add(30 * time.Second)
	for r.UserCount() != pads {
		if time.Now().After(deadline) {
			t.Fatalf("%d users started in 30 s, want %d", r.UserCount(), pads)
		}
		time.Sleep(10 * time.Millisecond)
	}
	r.Apply([]protocol.ClassCount{{Class: "Pad", Count: pads}, {Class: "Buyer", Count: 2}})
	accounts := []string{"shopper1001", "shopper1002"}
	for {
		s, done := shop.Stats(), true
		for _, a := range accounts {
			done = done && s.Accounts[a].Endpoints["POST /checkout"] >= 2
		}
		if done || s.Count("POST /login") > 2 || len(s.Unauthorized) != 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the buyers did not check out twice each in 30 s: %v", s.Accounts)
		}
		time.Sleep(10 * time.Millisecond)
	}
	close(release)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	r.StopAll(ctx, 10*time.Second)
	s := shop.Stats()
	st.mu.Lock()
	defer st.mu.Unlock()
	mu.Lock()
	defer mu.Unlock()
	if len(exc) != 0 {
		t.Errorf("user exceptions: %q", exc)
	}
	if got := slices.Sorted(maps.Keys(s.Accounts)); len(got) != 2 || got[0] != accounts[0] || got[1] != accounts[1] {
		t.Errorf("accounts used: %v, want %v", got, accounts)
	}
	for _, a := range accounts {
		if as := s.Accounts[a]; as.Logins != 1 || as.FailedLogins != 0 || as.Endpoints["POST /checkout"] < 2 {
			t.Errorf("account %s: %+v, want 1 login and 2 checkouts at least", a, as)
		}
		for _, ev := range s.Log[a] {
			if s.Tokens[ev.Token].Account != a {
				t.Errorf("account %s: %s carried a token of %q", a, ev.Endpoint, s.Tokens[ev.Token].Account)
				break
			}
		}
	}
	if len(s.Unauthorized) != 0 {
		t.Errorf("the shop refused: %v", s.Unauthorized)
	}
	endpoints := map[string]string{"login": "POST /login", "add to cart": "POST /cart", "checkout": "POST /checkout", "slow page": "GET /slow"}
	total := 0
	for name, ep := range endpoints {
		total += st.reqs[name]
		if st.reqs[name] != s.Count(ep) || st.failures[name] != 0 {
			t.Errorf("%s: recorded %d (%d failures), the shop received %d on %s: %v", name, st.reqs[name], st.failures[name], s.Count(ep), ep, s.Endpoints[ep])
		}
	}
	if total != s.Total() {
		t.Errorf("recorded %d requests, the shop received %d: %v", total, s.Total(), s.Endpoints)
	}
}
