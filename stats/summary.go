package stats

import (
	"time"

	"github.com/glocust/glocust/protocol"
)

// Percentiles Locust reports in the console, CSV and HTML report
// (PERCENTILES_TO_REPORT), draws in charts (PERCENTILES_TO_CHART) and puts
// in /stats/requests (PERCENTILES_TO_STATISTICS).
var (
	PercentilesToReport     = []float64{0.50, 0.66, 0.75, 0.80, 0.90, 0.95, 0.98, 0.99, 0.999, 0.9999, 1.0}
	PercentilesToChart      = []float64{0.5, 0.95}
	PercentilesToStatistics = []float64{0.95, 0.99}
)

// CurrentResponseTimePercentileWindow is Locust's window (s) for "current"
// percentiles; the cache keeps this many seconds plus 10.
const CurrentResponseTimePercentileWindow = 10

const responseTimesCacheSize = CurrentResponseTimePercentileWindow + 10

// Summary is the master's merged StatsEntry for one (name, method), or the
// total. Its fields are read-only for callers; the owning Aggregate updates
// them in Merge and Reset. Derived values mirror Locust's StatsEntry.
type Summary struct {
	Name                 string
	Method               string
	NumRequests          int64
	NumNoneRequests      int64
	NumFailures          int64
	TotalResponseTime    float64
	MaxResponseTime      float64
	MinResponseTime      float64 // valid when HasMin
	HasMin               bool    // false: min_response_time is None
	TotalContentLength   int64
	StartTime            float64 // epoch seconds
	LastRequestTimestamp float64 // epoch seconds; 0: None
	ResponseTimes        Counts  // bucket key (ms) -> count
	NumReqsPerSec        Counts  // epoch second -> requests
	NumFailPerSec        Counts  // epoch second -> failures

	agg      *Aggregate        // for the total's start and last request time
	sorted   []protocol.Bucket // ResponseTimes in ascending key order, when sortedOK
	sortedOK bool
	diff     []protocol.Bucket // CurrentPercentiles' scratch
	cache    []cachedTimes     // response_times_cache, oldest first
}

// cachedTimes is one second of Locust's response_times_cache.
type cachedTimes struct {
	sec             int64
	responseTimes   []protocol.Bucket // ascending keys
	numRequests     int64
	numNoneRequests int64
}

func newSummary(agg *Aggregate, name, method string, now time.Time) *Summary {
	s := &Summary{Name: name, Method: method, agg: agg}
	s.reset(now)
	return s
}

// reset is Locust's StatsEntry.reset with the response-times cache on.
func (s *Summary) reset(now time.Time) {
	*s = Summary{
		Name: s.Name, Method: s.Method, agg: s.agg,
		StartTime:     timeToSeconds(now),
		NumReqsPerSec: newSecondCounts(),
		NumFailPerSec: newSecondCounts(),
	}
	s.cacheResponseTimes(now.Unix())
}

// extend is Locust's StatsEntry.extend.
func (s *Summary) extend(o *protocol.StatsEntry) {
	old := s.LastRequestTimestamp
	if o.LastRequestTimestamp != 0 {
		if s.LastRequestTimestamp != 0 {
			s.LastRequestTimestamp = max(s.LastRequestTimestamp, o.LastRequestTimestamp)
		} else {
			s.LastRequestTimestamp = o.LastRequestTimestamp
		}
	}
	s.StartTime = min(s.StartTime, o.StartTime)
	s.NumRequests += o.NumRequests
	s.NumNoneRequests += o.NumNoneRequests
	s.NumFailures += o.NumFailures
	s.TotalResponseTime += o.TotalResponseTime
	s.MaxResponseTime = max(s.MaxResponseTime, o.MaxResponseTime)
	if o.HasTimings {
		if s.HasMin {
			s.MinResponseTime = min(s.MinResponseTime, o.MinResponseTime)
		} else {
			s.MinResponseTime, s.HasMin = o.MinResponseTime, true
		}
	}
	s.TotalContentLength += o.TotalContentLength
	s.ResponseTimes.AddAll(o.ResponseTimes)
	for _, b := range o.NumReqsPerSec {
		s.NumReqsPerSec.Add(b.Key, b.Count)
	}
	for _, b := range o.NumFailPerSec {
		s.NumFailPerSec.Add(b.Key, b.Count)
	}
	if len(o.ResponseTimes) > 0 {
		s.sortedOK = false
	}
	if last := int64(s.LastRequestTimestamp); last != 0 && last > int64(old) {
		s.cacheResponseTimes(last)
	}
}

// cacheResponseTimes is Locust's _cache_response_times: an ordered map of
// the last responseTimesCacheSize snapshots (a re-used second keeps its place).
func (s *Summary) cacheResponseTimes(sec int64) {
	for i := range s.cache {
		if c := &s.cache[i]; c.sec == sec {
			c.responseTimes = s.ResponseTimes.appendSorted(c.responseTimes[:0])
			c.numRequests, c.numNoneRequests = s.NumRequests, s.NumNoneRequests
			return
		}
	}
	var reuse []protocol.Bucket
	if len(s.cache) >= responseTimesCacheSize {
		// The oldest snapshot leaves: its slice takes the new one.
		reuse = s.cache[0].responseTimes[:0]
		s.cache = append(s.cache[:0], s.cache[1:]...)
	}
	s.cache = append(s.cache, cachedTimes{sec: sec, responseTimes: s.ResponseTimes.appendSorted(reuse),
		numRequests: s.NumRequests, numNoneRequests: s.NumNoneRequests})
}

// timed is n in the spec: requests with a response time.
func (s *Summary) timed() int64 { return s.NumRequests - s.NumNoneRequests }

// FailRatio is num_failures / num_requests (1 when only failures).
func (s *Summary) FailRatio() float64 {
	if s.NumRequests == 0 {
		if s.NumFailures > 0 {
			return 1
		}
		return 0
	}
	return float64(s.NumFailures) / float64(s.NumRequests)
}

// Avg is the average response time (ms) of timed requests.
func (s *Summary) Avg() float64 {
	if s.timed() == 0 {
		return 0
	}
	return s.TotalResponseTime / float64(s.timed())
}

// Median is Locust's median_response_time: the 0.5 percentile clamped to
// [min, max]. It is a float because the clamp can return the exact max/min.
func (s *Summary) Median() float64 {
	if s.ResponseTimes.Len() == 0 {
		return 0
	}
	median := float64(percentile(s.sortedTimes(), s.timed(), 0.5))
	if median > s.MaxResponseTime {
		median = s.MaxResponseTime
	} else if s.HasMin && median < s.MinResponseTime {
		median = s.MinResponseTime
	}
	return median
}

// Percentile is Locust's get_response_time_percentile (p in [0, 1]).
func (s *Summary) Percentile(p float64) int64 {
	return percentile(s.sortedTimes(), s.timed(), p)
}

// CurrentPercentile is Locust's get_current_response_time_percentile: the
// percentile over roughly the last 10 s, from the cached snapshot closest
// to now−10 s. ok is false (Locust: None) when no snapshot fits.
func (s *Summary) CurrentPercentile(p float64, now time.Time) (ms int64, ok bool) {
	var out [1]int64
	ok = s.CurrentPercentiles([]float64{p}, now, out[:])
	return out[0], ok
}

// CurrentPercentiles is CurrentPercentile at each of ps, into out (as
// long as ps), from one difference of the buckets: the dashboard asks
// several of each name once per update.
func (s *Summary) CurrentPercentiles(ps []float64, now time.Time, out []int64) bool {
	t := now.Unix() - CurrentResponseTimePercentileWindow
	for _, ts := range acceptableSeconds(t) {
		for i := range s.cache {
			c := &s.cache[i]
			if c.sec != ts {
				continue
			}
			// The keys of the snapshot are a subset of the current ones
			// (keys are never removed but by reset, which clears the cache).
			cur, old := s.sortedTimes(), c.responseTimes
			diff := s.diff[:0]
			j := 0
			for _, b := range cur {
				for j < len(old) && old[j].Key < b.Key {
					j++
				}
				var prev int64
				if j < len(old) && old[j].Key == b.Key {
					prev = old[j].Count
				}
				if d := b.Count - prev; d != 0 {
					diff = append(diff, protocol.Bucket{Key: b.Key, Count: d})
				}
			}
			s.diff = diff
			n := s.timed() - (c.numRequests - c.numNoneRequests)
			for k, p := range ps {
				out[k] = percentile(diff, n, p)
			}
			return true
		}
	}
	return false
}

// acceptableSeconds lists t, t−1, t+1, ..., t−8, t+8 (Locust's preference).
func acceptableSeconds(t int64) [17]int64 {
	var out [17]int64
	out[0] = t
	for i := int64(1); i <= 8; i++ {
		out[2*i-1], out[2*i] = t-i, t+i
	}
	return out
}

// CurrentRPS is Locust's current_rps: the mean requests per second over
// [max(L−12, S), L−3], where L and S are the aggregated total's last request
// time and start time. now is not used: like Locust, the window follows the
// last request, not the wall clock.
func (s *Summary) CurrentRPS(now time.Time) float64 { return s.currentPerSec(&s.NumReqsPerSec) }

// CurrentFailPerSec is current_rps for failures.
func (s *Summary) CurrentFailPerSec(now time.Time) float64 { return s.currentPerSec(&s.NumFailPerSec) }

func (s *Summary) currentPerSec(m *Counts) float64 {
	tot := s.agg.total
	if tot.LastRequestTimestamp == 0 {
		return 0
	}
	last := int64(tot.LastRequestTimestamp)
	from := max(last-12, int64(tot.StartTime))
	var sum float64
	var n int64
	for t := from; t < last-2; t++ {
		c, _ := m.Get(t)
		sum += float64(c)
		n++
	}
	return sum / float64(max(n, 1))
}

// TotalRPS is num_requests over the aggregated total's run time.
func (s *Summary) TotalRPS() float64 { return s.perRunSecond(s.NumRequests) }

// TotalFailPerSec is num_failures over the aggregated total's run time.
func (s *Summary) TotalFailPerSec() float64 { return s.perRunSecond(s.NumFailures) }

func (s *Summary) perRunSecond(n int64) float64 {
	tot := s.agg.total
	if tot.LastRequestTimestamp == 0 || tot.StartTime == 0 {
		return 0
	}
	d := tot.LastRequestTimestamp - tot.StartTime
	if d == 0 {
		return 0
	}
	return float64(n) / d
}

// AvgContentLength is total_content_length / num_requests.
func (s *Summary) AvgContentLength() float64 {
	if s.NumRequests == 0 {
		return 0
	}
	return float64(s.TotalContentLength) / float64(s.NumRequests)
}

// sortedTimes returns ResponseTimes in ascending key order (cached until
// the next merge).
func (s *Summary) sortedTimes() []protocol.Bucket {
	if !s.sortedOK {
		s.sorted = s.ResponseTimes.appendSorted(s.sorted[:0])
		s.sortedOK = true
	}
	return s.sorted
}

// percentile is Locust's calculate_response_time_percentile over buckets
// in ascending key order: k = int(n·p); walking keys from the largest, the
// first key where n − seen ≤ k; 0 if none.
func percentile(buckets []protocol.Bucket, n int64, p float64) int64 {
	k := int64(float64(n) * p)
	var seen int64
	for i := len(buckets) - 1; i >= 0; i-- {
		seen += buckets[i].Count
		if n-seen <= k {
			return buckets[i].Key
		}
	}
	return 0
}
