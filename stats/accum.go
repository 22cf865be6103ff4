package stats

import (
	"math"
	"sort"

	"github.com/glocust/glocust/protocol"
)

// accum is a plain (single-goroutine) sum of drained buffers: one entry's
// delta, or the total of all entries.
type accum struct {
	numRequests, numNone, numFailures int64
	sumNs, minNs, maxNs, lastNs       int64
	content                           int64
	rt                                [numBuckets]int64
	rtOver, reqSec, failSec           map[int64]int64
}

func (a *accum) reset() {
	a.numRequests, a.numNone, a.numFailures = 0, 0, 0
	a.sumNs, a.minNs, a.maxNs, a.lastNs = 0, math.MaxInt64, 0, math.MinInt64
	a.content = 0
	clear(a.rt[:])
	if a.rtOver == nil {
		a.rtOver, a.reqSec, a.failSec = map[int64]int64{}, map[int64]int64{}, map[int64]int64{}
	}
	clear(a.rtOver)
	clear(a.reqSec)
	clear(a.failSec)
}

func (a *accum) merge(b *accum) {
	a.numRequests += b.numRequests
	a.numNone += b.numNone
	a.numFailures += b.numFailures
	a.sumNs += b.sumNs
	a.minNs = min(a.minNs, b.minNs)
	a.maxNs = max(a.maxNs, b.maxNs)
	a.lastNs = max(a.lastNs, b.lastNs)
	a.content += b.content
	for i, n := range b.rt {
		a.rt[i] += n
	}
	mergeInto(a.rtOver, b.rtOver)
	mergeInto(a.reqSec, b.reqSec)
	mergeInto(a.failSec, b.failSec)
}

// wire converts the sum to Locust's entry dict.
func (a *accum) wire(name, method string, start float64) protocol.StatsEntry {
	se := protocol.StatsEntry{
		Name:               name,
		Method:             method,
		StartTime:          start,
		NumRequests:        a.numRequests,
		NumNoneRequests:    a.numNone,
		NumFailures:        a.numFailures,
		TotalContentLength: a.content,
		NumReqsPerSec:      sortedBuckets(a.reqSec),
		NumFailPerSec:      sortedBuckets(a.failSec),
	}
	if a.lastNs != math.MinInt64 {
		se.LastRequestTimestamp = nsToSeconds(a.lastNs)
	}
	if a.minNs != math.MaxInt64 { // at least one timed request
		se.HasTimings = true
		se.TotalResponseTime = nsToMillis(a.sumNs)
		se.MinResponseTime = nsToMillis(a.minNs)
		se.MaxResponseTime = nsToMillis(a.maxNs)
		m := make(map[int64]int64, len(a.rtOver))
		mergeInto(m, a.rtOver)
		for i, n := range a.rt {
			if n != 0 {
				m[bucketKey(i)] += n
			}
		}
		se.ResponseTimes = sortedBuckets(m)
	}
	return se
}

func sortedBuckets(m map[int64]int64) []protocol.Bucket {
	if len(m) == 0 {
		return nil
	}
	out := make([]protocol.Bucket, 0, len(m))
	for k, n := range m {
		out = append(out, protocol.Bucket{Key: k, Count: n})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

func nsToMillis(ns int64) float64 { return float64(ns) / 1e6 }
