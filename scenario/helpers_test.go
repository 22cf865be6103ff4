package scenario

import (
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// TestMain checks that no test leaves a goroutine behind. The one ignored
// goroutine is fasthttp's process-wide server date updater, started by the
// benchmarks' fasthttp test server (not by the client under test).
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.updateServerDate.func1"))
}

// fakeStats records every request.
type fakeStats struct {
	mu      sync.Mutex
	lookups map[entryKey]int
	recs    []rec
}

type rec struct {
	method, name string
	rt           time.Duration
	length       int64
	err          string
	fail         bool
}

type fakeEntry struct {
	s            *fakeStats
	method, name string
}

func newFakeStats() *fakeStats { return &fakeStats{lookups: map[entryKey]int{}} }

func (s *fakeStats) Lookup(method, name string) EntryRecorder {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lookups[entryKey{method, name}]++
	return &fakeEntry{s: s, method: method, name: name}
}

func (e *fakeEntry) Record(_ time.Time, rt time.Duration, n int64) {
	e.s.add(rec{method: e.method, name: e.name, rt: rt, length: n})
}

func (e *fakeEntry) RecordFailure(_ time.Time, rt time.Duration, n int64, err string) {
	e.s.add(rec{method: e.method, name: e.name, rt: rt, length: n, err: err, fail: true})
}

func (s *fakeStats) add(r rec) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.recs = append(s.recs, r)
}

func (s *fakeStats) all() []rec {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]rec(nil), s.recs...)
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}
