package stats

import "math"

// Response-time bucket layout. Locust rounds a response time to about two
// significant digits (bucket_response_time in locust/stats.py): exact
// milliseconds below 100, tens below 1000, hundreds below 10000 and
// thousands above. The recording side keeps one atomic counter per key up
// to MaxBucketedResponseTime; larger (or negative) times go to a small
// locked map.
const (
	// MaxBucketedResponseTime is the largest bucket key (ms) with a
	// dedicated lock-free counter: 10 minutes.
	MaxBucketedResponseTime = 600_000

	lowBuckets  = 280 // keys 0..99, 100..990 by 10, 1000..9900 by 100
	highBuckets = (MaxBucketedResponseTime-10_000)/1000 + 1
	numBuckets  = lowBuckets + highBuckets
)

// BucketResponseTime returns Locust's response-time bucket key for a
// response time in milliseconds. Rounding is Python's round, half to even
// on the exact binary value: 12.5→12, 145→140, 155→160, 999.9→1000,
// 1234.5→1200, 15500→16000. NaN gives 0 and results saturate at the int64
// range (Python raises for those inputs).
func BucketResponseTime(ms float64) int64 {
	switch {
	case math.IsNaN(ms):
		return 0
	case ms < 100:
		return saturate(math.RoundToEven(ms))
	case ms < 1000:
		return roundMultiple(ms, 10)
	case ms < 10000:
		return roundMultiple(ms, 100)
	default:
		return roundMultiple(ms, 1000)
	}
}

// roundMultiple rounds x ≥ 100 to the nearest multiple of unit, ties to an
// even multiple, without the double rounding of math.RoundToEven(x/unit).
func roundMultiple(x, unit float64) int64 {
	if x >= 1<<53 {
		// Integral already; finish in integers (saturating).
		if x >= math.MaxInt64 {
			return math.MaxInt64
		}
		u := int64(unit)
		q := roundHalfEven(int64(x), u)
		if q > math.MaxInt64/u {
			return math.MaxInt64
		}
		return q * u
	}
	q := math.Floor(x / unit)
	// unit*q is exact and within a factor of two of x, so the difference
	// is exact (Sterbenz); x/unit may have rounded across an integer.
	r := x - unit*q
	if r < 0 {
		q--
		r = x - unit*q
	} else if r >= unit {
		q++
		r = x - unit*q
	}
	half := unit / 2
	if r > half || (r == half && math.Mod(q, 2) != 0) {
		q++
	}
	return saturate(q * unit)
}

func saturate(f float64) int64 {
	switch {
	case f >= math.MaxInt64:
		return math.MaxInt64
	case f <= math.MinInt64:
		return math.MinInt64
	}
	return int64(f)
}

// bucketKeyNanos is BucketResponseTime(float64(ns)/1e6) computed with
// integers; ns must be non-negative. Ties in ns are exactly the ties of the
// float value, so both agree (tested).
func bucketKeyNanos(ns int64) int64 {
	switch {
	case ns < 100_000_000:
		return roundHalfEven(ns, 1_000_000)
	case ns < 1_000_000_000:
		return roundHalfEven(ns, 10_000_000) * 10
	case ns < 10_000_000_000:
		return roundHalfEven(ns, 100_000_000) * 100
	default:
		return roundHalfEven(ns, 1_000_000_000) * 1000
	}
}

// roundHalfEven returns n/unit rounded half to even, for n >= 0 and unit > 0.
// Branch-free: q rounds up iff 2r > unit, or 2r == unit and q is odd, that
// is iff 2r + (q&1) > unit (all integers).
func roundHalfEven(n, unit int64) int64 {
	q, r := n/unit, n%unit
	return q + int64(uint64(unit-2*r-(q&1))>>63)
}

// lowIndexNanos is bucketIndex(bucketKeyNanos(ns)) for 0 <= ns < 9.95 s
// (the keys below 10000 ms), in one step.
func lowIndexNanos(ns int64) int {
	if ns < 1_000_000_000 {
		// Both candidates, then a select (no unpredictable branch when
		// response times straddle 100 ms).
		i := roundHalfEven(ns, 1_000_000)       // key q ms, 0..100: index q
		j := 90 + roundHalfEven(ns, 10_000_000) // key 10q ms, q 10..100: index 100+(10q-100)/10
		if ns >= 100_000_000 {
			i = j
		}
		return int(i)
	}
	return 180 + int(roundHalfEven(ns, 100_000_000)) // key 100q ms, q 10..99: index 190+(100q-1000)/100
}

// bucketIndex maps a bucket key to its counter index, or -1 if the key has
// no dedicated counter (negative or above MaxBucketedResponseTime).
func bucketIndex(key int64) int {
	switch {
	case key < 0:
		return -1
	case key < 100:
		return int(key)
	case key < 1000:
		return 100 + int(key-100)/10
	case key < 10000:
		return 190 + int(key-1000)/100
	case key <= MaxBucketedResponseTime:
		return lowBuckets + int(key-10000)/1000
	}
	return -1
}

// bucketKey is the inverse of bucketIndex.
func bucketKey(i int) int64 {
	switch {
	case i < 100:
		return int64(i)
	case i < 190:
		return 100 + int64(i-100)*10
	case i < lowBuckets:
		return 1000 + int64(i-190)*100
	}
	return 10000 + int64(i-lowBuckets)*1000
}
