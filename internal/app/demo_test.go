package app

import (
	"context"
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
