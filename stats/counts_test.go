package stats

import (
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/glocust/glocust/protocol"
)

// refKey draws a key the way the property tests need them: mostly keys a
// Locust rounding produces, but also odd, negative, huge and extreme ones.
func refRTKey(rng *rand.Rand) int64 {
	switch rng.IntN(12) {
	case 0:
		return -rng.Int64N(50)
	case 1:
		return rng.Int64N(12000) // any key, canonical or not
	case 2:
		return BucketResponseTime(10000 + rng.Float64()*700_000)
	case 3:
		return []int64{math.MinInt64, math.MaxInt64, 9999, 10000, 99, 100, 990, 1000, 9900}[rng.IntN(9)]
	}
	return BucketResponseTime(math.Exp(rng.Float64() * 9.5))
}

func refSecKey(rng *rand.Rand, now int64) int64 {
	switch rng.IntN(20) {
	case 0:
		return now - 40 - rng.Int64N(200) // old seconds
	case 1:
		return now + 30 + rng.Int64N(100) // a clock far ahead
	case 2:
		return []int64{math.MinInt64, math.MaxInt64, 0, -1, math.MinInt64 + 70, math.MaxInt64 - 70}[rng.IntN(6)]
	}
	return now - rng.Int64N(4)
}

func sortedRef(m map[int64]int64) []protocol.Bucket {
	out := make([]protocol.Bucket, 0, len(m))
	for k, c := range m {
		out = append(out, protocol.Bucket{Key: k, Count: c})
	}
	slices.SortFunc(out, func(a, b protocol.Bucket) int {
		switch {
		case a.Key < b.Key:
			return -1
		case a.Key > b.Key:
			return 1
		}
		return 0
	})
	return out
}

func checkCounts(t *testing.T, ctx string, m *Counts, ref map[int64]int64, probe []int64) {
	t.Helper()
	if got, want := m.Len(), len(ref); got != want {
		t.Fatalf("%s: Len %d, want %d", ctx, got, want)
	}
	if got, want := m.Sorted(), sortedRef(ref); !slices.Equal(got, want) {
		t.Fatalf("%s: Sorted\n got %v\nwant %v", ctx, got, want)
	}
	each := map[int64]int64{}
	m.Each(func(k, c int64) {
		if _, dup := each[k]; dup {
			t.Fatalf("%s: Each gave key %d twice", ctx, k)
		}
		each[k] = c
	})
	if !maps.Equal(each, ref) {
		t.Fatalf("%s: Each\n got %v\nwant %v", ctx, each, ref)
	}
	for _, k := range probe {
		got, ok := m.Get(k)
		want, wok := ref[k]
		if got != want || ok != wok {
			t.Fatalf("%s: Get(%d) = %d/%v, want %d/%v", ctx, k, got, ok, want, wok)
		}
	}
}

// TestCountsMatchesMap checks Counts against a Go map (Python dict
// semantics: a key with a zero or negative count stays present) under
// random keys of both kinds.
func TestCountsMatchesMap(t *testing.T) {
	t.Parallel()
	for seed := uint64(0); seed < 200; seed++ {
		rng := rand.New(rand.NewPCG(seed, 1))
		rt, sec := Counts{}, newSecondCounts()
		rtAll, secAll := Counts{}, newSecondCounts() // the same buckets through AddAll, in batches
		var batchRT, batchSec []protocol.Bucket
		flush := func() {
			rtAll.AddAll(batchRT)
			secAll.AddAll(batchSec)
			batchRT, batchSec = batchRT[:0], batchSec[:0]
		}
		refRT, refSec := map[int64]int64{}, map[int64]int64{}
		now := 1_700_000_000 + rng.Int64N(1000)
		if seed%7 == 0 {
			now = math.MaxInt64 - 50
		}
		var probes []int64
		for op := 0; op < 400; op++ {
			if rng.IntN(10) == 0 {
				now += rng.Int64N(90)
			}
			k, c := refRTKey(rng), rng.Int64N(5)-1
			rt.Add(k, c)
			refRT[k] += c
			s := refSecKey(rng, now)
			sec.Add(s, c)
			refSec[s] += c
			probes = append(probes, k, s, k+1, s+1)
			batchRT = append(batchRT, protocol.Bucket{Key: k, Count: c})
			batchSec = append(batchSec, protocol.Bucket{Key: s, Count: c})
			if rng.IntN(30) == 0 {
				flush()
			}
		}
		flush()
		checkCounts(t, "rt", &rt, refRT, probes)
		checkCounts(t, "sec", &sec, refSec, probes)
		checkCounts(t, "rt AddAll", &rtAll, refRT, probes)
		checkCounts(t, "sec AddAll", &secAll, refSec, probes)
	}
}

// refSummary is the former map-based Summary (Locust's StatsEntry on the
// master, written directly from locust/stats.py), kept as the reference
// for Summary's derived values.
type refSummary struct {
	numRequests, numNone int64
	last, start          float64
	rt, reqSec, failSec  map[int64]int64
	cache                []refCached
}

type refCached struct {
	sec         int64
	rt          map[int64]int64
	reqs, nones int64
}

func newRefSummary(now time.Time) *refSummary {
	r := &refSummary{start: timeToSeconds(now), rt: map[int64]int64{}, reqSec: map[int64]int64{}, failSec: map[int64]int64{}}
	r.cacheRT(now.Unix())
	return r
}

func (r *refSummary) cacheRT(sec int64) {
	c := refCached{sec: sec, rt: map[int64]int64{}, reqs: r.numRequests, nones: r.numNone}
	for k, v := range r.rt {
		c.rt[k] = v
	}
	for i := range r.cache {
		if r.cache[i].sec == sec {
			r.cache[i] = c
			return
		}
	}
	r.cache = append(r.cache, c)
	if n := len(r.cache) - responseTimesCacheSize; n > 0 {
		r.cache = r.cache[n:]
	}
}

func (r *refSummary) extend(o *protocol.StatsEntry) {
	old := r.last
	if o.LastRequestTimestamp != 0 {
		if r.last != 0 {
			r.last = max(r.last, o.LastRequestTimestamp)
		} else {
			r.last = o.LastRequestTimestamp
		}
	}
	r.start = min(r.start, o.StartTime)
	r.numRequests += o.NumRequests
	r.numNone += o.NumNoneRequests
	for _, b := range o.ResponseTimes {
		r.rt[b.Key] += b.Count
	}
	for _, b := range o.NumReqsPerSec {
		r.reqSec[b.Key] += b.Count
	}
	for _, b := range o.NumFailPerSec {
		r.failSec[b.Key] += b.Count
	}
	if last := int64(r.last); last != 0 && last > int64(old) {
		r.cacheRT(last)
	}
}

func refPercentile(m map[int64]int64, n int64, p float64) int64 {
	keys := make([]int64, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	k := int64(float64(n) * p)
	var seen int64
	for i := len(keys) - 1; i >= 0; i-- {
		seen += m[keys[i]]
		if n-seen <= k {
			return keys[i]
		}
	}
	return 0
}

func (r *refSummary) currentPercentile(p float64, now time.Time) (int64, bool) {
	t := now.Unix() - CurrentResponseTimePercentileWindow
	for _, ts := range acceptableSeconds(t) {
		for _, c := range r.cache {
			if c.sec != ts {
				continue
			}
			diff := map[int64]int64{}
			for k, n := range r.rt {
				if d := n - c.rt[k]; d != 0 {
					diff[k] = d
				}
			}
			return refPercentile(diff, (r.numRequests-r.numNone)-(c.reqs-c.nones), p), true
		}
	}
	return 0, false
}

// TestSummaryMatchesReference merges random reports (odd keys, zero and
// negative counts, lagging and leaping clocks) into an Aggregate and into
// the map-based reference, and compares the buckets and every derived
// value that reads them.
func TestSummaryMatchesReference(t *testing.T) {
	t.Parallel()
	for seed := uint64(0); seed < 12; seed++ {
		rng := rand.New(rand.NewPCG(seed, 2))
		t0 := time.Unix(1_700_000_000+rng.Int64N(100), 0)
		a := NewAggregate(t0)
		var ref *refSummary
		now := t0
		for round := 0; round < 150; round++ {
			now = now.Add(time.Duration(rng.Int64N(int64(2 * time.Second))))
			sec := now.Unix()
			e := protocol.StatsEntry{Name: "/x", Method: "GET", StartTime: timeToSeconds(t0),
				NumRequests: rng.Int64N(50), NumNoneRequests: rng.Int64N(3)}
			if rng.IntN(8) != 0 {
				e.LastRequestTimestamp = timeToSeconds(now) - rng.Float64()*3
			}
			for range rng.IntN(30) {
				e.ResponseTimes = append(e.ResponseTimes, protocol.Bucket{Key: refRTKey(rng), Count: rng.Int64N(20) - 2})
			}
			for range rng.IntN(4) {
				e.NumReqsPerSec = append(e.NumReqsPerSec, protocol.Bucket{Key: refSecKey(rng, sec), Count: rng.Int64N(20)})
				e.NumFailPerSec = append(e.NumFailPerSec, protocol.Bucket{Key: refSecKey(rng, sec), Count: rng.Int64N(3)})
			}
			a.Merge(&protocol.Stats{Stats: []protocol.StatsEntry{e}}, now)
			if ref == nil { // the Aggregate creates the entry on its first report
				ref = newRefSummary(now)
			}
			ref.extend(&e)
			s := a.Entry("GET", "/x")
			if round%4 != 0 {
				continue
			}
			if got, want := s.ResponseTimes.Sorted(), sortedRef(ref.rt); !slices.Equal(got, want) {
				t.Fatalf("seed %d round %d: response_times\n got %v\nwant %v", seed, round, got, want)
			}
			if got, want := s.NumReqsPerSec.Sorted(), sortedRef(ref.reqSec); !slices.Equal(got, want) {
				t.Fatalf("seed %d round %d: num_reqs_per_sec\n got %v\nwant %v", seed, round, got, want)
			}
			if got, want := s.NumFailPerSec.Sorted(), sortedRef(ref.failSec); !slices.Equal(got, want) {
				t.Fatalf("seed %d round %d: num_fail_per_sec differ", seed, round)
			}
			for _, p := range append(PercentilesToReport, 0, 0.01, 0.33) {
				if got, want := s.Percentile(p), refPercentile(ref.rt, ref.numRequests-ref.numNone, p); got != want {
					t.Fatalf("seed %d round %d: percentile(%v) = %d, want %d", seed, round, p, got, want)
				}
				for _, dt := range []time.Duration{0, time.Second, 5 * time.Second, 13 * time.Second} {
					got, ok := s.CurrentPercentile(p, now.Add(dt))
					want, wok := ref.currentPercentile(p, now.Add(dt))
					if got != want || ok != wok {
						t.Fatalf("seed %d round %d: current percentile(%v, +%v) = %d/%v, want %d/%v", seed, round, p, dt, got, ok, want, wok)
					}
				}
			}
		}
	}
}

// TestCountsEachDoesNotAllocate: the /metrics collector folds every
// entry's buckets with Each at scrape time; it must not allocate.
func TestCountsEachDoesNotAllocate(t *testing.T) {
	rt, sec := Counts{}, newSecondCounts()
	for k := int64(0); k < 20000; k += 7 {
		rt.Add(k, 1)
		sec.Add(1_700_000_000+k%200, 1)
	}
	var sum int64
	if n := testing.AllocsPerRun(10, func() {
		rt.Each(func(_, c int64) { sum += c })
		sec.Each(func(_, c int64) { sum += c })
	}); n != 0 {
		t.Errorf("Each allocates %.0f times per call", n)
	}
}
