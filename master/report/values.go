package report

import (
	"strconv"

	"github.com/glocust/glocust/stats"
)

// Python values of a merged StatsEntry, as Locust's master holds them.
//
// The wire decoder keeps response times as float64 and does not record
// whether a worker sent an int or a float. Workers (Locust's HttpUser and
// glocust) send floats whenever a request was timed, so a timed entry's
// total/min/max are Python floats; an entry never timed holds the ints 0
// and None. A worker firing integer response times would make Locust print
// "12" where glocust prints "12.0".

// intStr is str(int).
func intStr(n int64) string { return strconv.FormatInt(n, 10) }

// minValue is `min_response_time or 0`.
func minValue(s *stats.Summary) string {
	if !s.HasMin || s.MinResponseTime == 0 {
		return "0"
	}
	return pyRepr(s.MinResponseTime)
}

// maxValue is max_response_time: the int 0 until a non-zero float wins
// Python's max(0, x).
func maxValue(s *stats.Summary) string {
	if s.MaxResponseTime == 0 {
		return "0"
	}
	return pyRepr(s.MaxResponseTime)
}

// totalRTValue is total_response_time.
func totalRTValue(s *stats.Summary) string {
	if !s.HasMin && s.TotalResponseTime == 0 {
		return "0"
	}
	return pyRepr(s.TotalResponseTime)
}

// medianValue is median_response_time: an int bucket key, or the float
// max/min it was clamped to.
func medianValue(s *stats.Summary) string {
	if s.ResponseTimes.Len() == 0 {
		return "0"
	}
	p := s.Percentile(0.5)
	if float64(p) > s.MaxResponseTime {
		return maxValue(s)
	}
	if s.HasMin && float64(p) < s.MinResponseTime {
		return pyRepr(s.MinResponseTime)
	}
	return intStr(p)
}

// avgContentLengthValue is avg_content_length (the int 0 without requests).
func avgContentLengthValue(s *stats.Summary) string {
	if s.NumRequests == 0 {
		return "0"
	}
	return pyRepr(s.AvgContentLength())
}
