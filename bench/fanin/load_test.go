package fanin

import (
	"testing"
	"time"

	"github.com/glocust/glocust/protocol"
)

// TestReports builds many reports (every shape, many seeds) and checks them:
// 30 distinct Locust-rounded buckets per entry, a total that merges them,
// and a frame the protocol decoder reads back.
func TestReports(t *testing.T) {
	for seed := uint64(1); seed <= 200; seed++ {
		g := newLoadGen(DefaultEntries, seed)
		vs, err := g.variants(time.Now())
		if err != nil {
			t.Fatal(err)
		}
		b := append(append([]byte(nil), vs[0].prefix...), protocol.AppendString(nil, "fanin_x")...)
		env, err := protocol.Decode(b, protocol.FromWorker)
		if err != nil {
			t.Fatal(err)
		}
		st := env.Payload.(*protocol.Stats)
		var sum int64
		for _, e := range st.Stats {
			if len(e.ResponseTimes) != BucketsPerEntry {
				t.Fatalf("seed %d: %s has %d buckets", seed, e.Name, len(e.ResponseTimes))
			}
			keys := map[int64]bool{}
			for _, k := range e.ResponseTimes {
				if keys[k.Key] || k.Key != LocustRound(float64(k.Key)) || k.Count < 1 {
					t.Fatalf("seed %d: bad bucket %v in %s", seed, k, e.Name)
				}
				keys[k.Key] = true
			}
			sum += e.NumRequests
		}
		if sum != st.Total.NumRequests || sum != vs[0].requests || len(st.Stats) != DefaultEntries {
			t.Fatalf("seed %d: total %d, entries sum %d, variant %d", seed, st.Total.NumRequests, sum, vs[0].requests)
		}
	}
}
