package stats

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"testing"
)

func TestBucketResponseTimeExamples(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		ms   float64
		want int64
	}{
		{12.5, 12}, {145, 140}, {155.0, 160}, {999.9, 1000}, {1234.5, 1200}, {15500, 16000},
		{0, 0}, {0.5, 0}, {1.5, 2}, {99.4, 99}, {99.5, 100}, {100, 100}, {104.99, 100}, {105, 100},
		{115, 120}, {999.5, 1000}, {1000, 1000}, {1050, 1000}, {1150, 1200}, {9949.99, 9900},
		{9950, 10000}, {9999.5, 10000}, {10000, 10000}, {10500, 10000}, {11500, 12000},
		{-0.5, 0}, {-1.5, -2}, {math.NaN(), 0}, {math.Inf(1), math.MaxInt64},
	} {
		if got, want := BucketResponseTime(tc.ms), tc.want; got != want {
			t.Errorf("BucketResponseTime(%v) = %d, want %d", tc.ms, got, want)
		}
	}
}

type bucketGolden struct {
	MS [][2]float64 `json:"ms"`
	NS [][2]int64   `json:"ns"`
}

// TestBucketResponseTimeGolden compares with Locust's bucket_response_time
// (testdata/gen_buckets.py).
func TestBucketResponseTimeGolden(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("testdata/buckets.json")
	if err != nil {
		t.Fatal(err)
	}
	var g bucketGolden
	if err := json.Unmarshal(raw, &g); err != nil {
		t.Fatal(err)
	}
	if len(g.MS) < 1000 || len(g.NS) < 1000 {
		t.Fatalf("golden too small: %d ms, %d ns", len(g.MS), len(g.NS))
	}
	for _, c := range g.MS {
		if got, want := BucketResponseTime(c[0]), int64(c[1]); got != want {
			t.Errorf("BucketResponseTime(%v) = %d, want %d", c[0], got, want)
		}
	}
	for _, c := range g.NS {
		if got, want := bucketKeyNanos(c[0]), c[1]; got != want {
			t.Errorf("bucketKeyNanos(%d) = %d, want %d", c[0], got, want)
		}
	}
}

// TestBucketKeyNanosMatchesFloat checks the integer hot path against the
// float reference on random and tie-adjacent durations.
func TestBucketKeyNanosMatchesFloat(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	check := func(ns int64) {
		if ns < 0 {
			return
		}
		if got, want := bucketKeyNanos(ns), BucketResponseTime(float64(ns)/1e6); got != want {
			t.Fatalf("bucketKeyNanos(%d) = %d, want %d", ns, got, want)
		}
	}
	for range 200_000 {
		check(r.Int64N(1_000_000_000_000))
		check(int64(math.Exp(r.Float64() * 28)))
	}
	for _, unit := range []int64{1_000_000, 10_000_000, 100_000_000, 1_000_000_000} {
		for k := range int64(2000) {
			mid := k*unit + unit/2
			check(mid - 1)
			check(mid)
			check(mid + 1)
		}
	}
}

func TestBucketIndexRoundTrip(t *testing.T) {
	t.Parallel()
	for i := range numBuckets {
		if got, want := bucketIndex(bucketKey(i)), i; got != want {
			t.Fatalf("bucketIndex(bucketKey(%d)=%d) = %d", i, bucketKey(i), got)
		}
	}
	if got, want := bucketKey(numBuckets-1), int64(MaxBucketedResponseTime); got != want {
		t.Errorf("last key = %d, want %d", got, want)
	}
	for _, k := range []int64{-1, MaxBucketedResponseTime + 1000} {
		if got := bucketIndex(k); got != -1 {
			t.Errorf("bucketIndex(%d) = %d, want -1", k, got)
		}
	}
}
