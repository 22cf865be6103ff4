package fanin

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/glocust/glocust/protocol"
)

// Report shape: the load of the Locust 2.12.1 reference measurement that
// the results are compared with (bench/README.md, "Master fan-in").
const (
	DefaultEntries  = 50
	BucketsPerEntry = 30
	// ReqPerSecPerWorker is what each simulated worker claims (about 5.5k).
	ReqPerSecPerWorker = 5500
	// Variants of the stats blob built each wall-clock second.
	Variants = 4
	// ClientVersion is what the simulated workers send in client_ready.
	ClientVersion = "2.47.0"
)

// variant is one pre-encoded stats report: prefix is the whole frame
// payload up to (not including) the node id, which each worker appends.
type variant struct {
	prefix   []byte
	requests int64 // stats_total.num_requests
}

// entryShape is the fixed character of one request name: its latency
// distribution and its share of the worker's traffic.
type entryShape struct {
	name, method string
	median       float64 // ms
	sigma        float64
	share        float64
	contentLen   int64
}

type loadGen struct {
	shapes []entryShape
	rng    *rand.Rand
}

func newLoadGen(entries int, seed uint64) *loadGen {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	g := &loadGen{rng: rng}
	var sum float64
	for i := 0; i < entries; i++ {
		method := "GET"
		switch i % 7 {
		case 3:
			method = "POST"
		case 5:
			method = "PUT"
		}
		s := entryShape{
			name:       fmt.Sprintf("/api/v1/resource%d/{id}", i),
			method:     method,
			median:     15 * math.Pow(400.0/15.0, rng.Float64()), // log-uniform 15-400 ms
			sigma:      0.45 + 0.4*rng.Float64(),
			share:      1 / float64(i+3), // Zipf-like traffic shares
			contentLen: 200 + rng.Int64N(4000),
		}
		sum += s.share
		g.shapes = append(g.shapes, s)
	}
	for i := range g.shapes {
		g.shapes[i].share /= sum
	}
	return g
}

// LocustRound rounds a response time (ms) to its bucket the way Locust
// 2.47 does: an int below 100 ms, then to tens, hundreds and thousands,
// Python's round-half-even, int keys.
func LocustRound(x float64) int64 {
	switch {
	case x < 100:
		return int64(math.RoundToEven(x))
	case x < 1000:
		return int64(math.RoundToEven(x/10)) * 10
	case x < 10000:
		return int64(math.RoundToEven(x/100)) * 100
	default:
		return int64(math.RoundToEven(x/1000)) * 1000
	}
}

// entry draws one 3-s delta report entry of shape s with about n requests.
func (g *loadGen) entry(s *entryShape, n int64, now float64) protocol.StatsEntry {
	rng := g.rng
	keys := make([]int64, 0, BucketsPerEntry)
	weights := make([]float64, 0, BucketsPerEntry)
	seen := map[int64]bool{}
	mu := math.Log(s.median)
	for j := 0; j < BucketsPerEntry; j++ {
		p := (float64(j) + 0.2 + 0.6*rng.Float64()) / BucketsPerEntry
		z := math.Sqrt2 * math.Erfinv(2*p-1)
		x := math.Exp(mu + s.sigma*z)
		k := LocustRound(x)
		down := z < 0
		for x0 := x; seen[k]; k = LocustRound(x) { // keep 30 distinct buckets: move outwards
			if down && x > 1.5 {
				x /= 1.03
				continue
			}
			if down { // nothing free below: go up from where we started
				down, x = false, x0
			}
			x = x*1.03 + 0.5
		}
		seen[k] = true
		keys = append(keys, k)
		weights = append(weights, math.Exp(-z*z/2)+0.05)
	}
	var wsum float64
	for _, w := range weights {
		wsum += w
	}
	if n < BucketsPerEntry {
		n = BucketsPerEntry
	}
	rts := make([]protocol.Bucket, len(keys))
	var assigned int64
	var total float64
	minK, maxK := keys[0], keys[0]
	for j, k := range keys {
		c := max(1, int64(float64(n-BucketsPerEntry)*weights[j]/wsum)+1)
		rts[j] = protocol.Bucket{Key: k, Count: c}
		assigned += c
		minK, maxK = min(minK, k), max(maxK, k)
	}
	// Locust's dict keeps first-seen order: shuffle it a little, as real
	// traffic inserts buckets in arrival order.
	rng.Shuffle(len(rts), func(a, b int) { rts[a], rts[b] = rts[b], rts[a] })
	for _, b := range rts {
		total += float64(b.Key) * float64(b.Count) * (0.97 + 0.06*rng.Float64())
	}
	fails := assigned / 100
	sec := int64(now)
	perSec := func(count int64) []protocol.Bucket {
		a := count / 3
		b := count / 3
		return []protocol.Bucket{{Key: sec - 2, Count: a}, {Key: sec - 1, Count: b}, {Key: sec, Count: count - a - b}}
	}
	e := protocol.StatsEntry{
		Name: s.name, Method: s.method,
		LastRequestTimestamp: now - 0.01*rng.Float64(),
		StartTime:            now - 3 - 0.01*rng.Float64(),
		NumRequests:          assigned,
		NumFailures:          fails,
		TotalResponseTime:    total,
		MaxResponseTime:      float64(maxK) * (1 + 0.004*rng.Float64()),
		MinResponseTime:      float64(minK) * (1 - 0.004*rng.Float64()),
		HasTimings:           true,
		TotalContentLength:   assigned * s.contentLen,
		ResponseTimes:        rts,
		NumReqsPerSec:        perSec(assigned),
	}
	if fails >= 3 {
		e.NumFailPerSec = perSec(fails)
	} else if fails > 0 {
		e.NumFailPerSec = []protocol.Bucket{{Key: sec, Count: fails}}
	}
	return e
}

// mergeTotal builds stats_total ("Aggregated", method "") from the entries,
// keeping first-seen key order as Locust's StatsEntry.extend does.
func mergeTotal(es []protocol.StatsEntry) protocol.StatsEntry {
	t := protocol.StatsEntry{Name: "Aggregated", HasTimings: true}
	idx := func(m map[int64]int, bs *[]protocol.Bucket, k, c int64) {
		if i, ok := m[k]; ok {
			(*bs)[i].Count += c
			return
		}
		m[k] = len(*bs)
		*bs = append(*bs, protocol.Bucket{Key: k, Count: c})
	}
	rt, rps, fps := map[int64]int{}, map[int64]int{}, map[int64]int{}
	for i, e := range es {
		if i == 0 {
			t.StartTime, t.LastRequestTimestamp = e.StartTime, e.LastRequestTimestamp
			t.MinResponseTime, t.MaxResponseTime = e.MinResponseTime, e.MaxResponseTime
		}
		t.StartTime = min(t.StartTime, e.StartTime)
		t.LastRequestTimestamp = max(t.LastRequestTimestamp, e.LastRequestTimestamp)
		t.MinResponseTime = min(t.MinResponseTime, e.MinResponseTime)
		t.MaxResponseTime = max(t.MaxResponseTime, e.MaxResponseTime)
		t.NumRequests += e.NumRequests
		t.NumFailures += e.NumFailures
		t.TotalResponseTime += e.TotalResponseTime
		t.TotalContentLength += e.TotalContentLength
		for _, b := range e.ResponseTimes {
			idx(rt, &t.ResponseTimes, b.Key, b.Count)
		}
		for _, b := range e.NumReqsPerSec {
			idx(rps, &t.NumReqsPerSec, b.Key, b.Count)
		}
		for _, b := range e.NumFailPerSec {
			idx(fps, &t.NumFailPerSec, b.Key, b.Count)
		}
	}
	return t
}

// report builds one full stats report for the current time.
func (g *loadGen) report(now time.Time) *protocol.Stats {
	t := float64(now.UnixNano()) / 1e9
	perReport := float64(ReqPerSecPerWorker * 3)
	es := make([]protocol.StatsEntry, 0, len(g.shapes))
	for i := range g.shapes {
		s := &g.shapes[i]
		n := int64(perReport * s.share * (0.9 + 0.2*g.rng.Float64()))
		es = append(es, g.entry(s, n, t))
	}
	return &protocol.Stats{
		Stats:            es,
		Total:            mergeTotal(es),
		UserClassesCount: []protocol.ClassCount{{Class: "U", Count: 10}},
		UserCount:        10,
	}
}

// variants encodes Variants reports with the protocol package. The node id
// is left off (each worker appends its own), so prefix is the frame
// payload Encode("", r) without the trailing empty string (0xa0).
func (g *loadGen) variants(now time.Time) ([]variant, error) {
	out := make([]variant, 0, Variants)
	for i := 0; i < Variants; i++ {
		r := g.report(now)
		b, err := protocol.Encode("", r)
		if err != nil {
			return nil, err
		}
		if b[len(b)-1] != 0xa0 {
			return nil, fmt.Errorf("fanin: unexpected stats frame ending 0x%02x", b[len(b)-1])
		}
		out = append(out, variant{prefix: slices.Clip(b[:len(b)-1]), requests: r.Total.NumRequests})
	}
	return out, nil
}

// TotalBuckets reports the number of distinct buckets in a sample report's
// stats_total (for the results' description of the load).
func TotalBuckets(entries int) (frameBytes, totalBuckets int) {
	g := newLoadGen(entries, 1)
	r := g.report(time.Now())
	b, _ := protocol.Encode("fanin_0123456789abcdef0123456789abcdef", r)
	return len(b), len(r.Total.ResponseTimes)
}
