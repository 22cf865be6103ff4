package master

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/glocust/glocust/protocol"
)

// BenchmarkReadSample is the dashboard's work on the master's loop per
// update (readSample, inside Do) with 1,000 request names of realistic
// response-time spreads and 500 workers, without a page and with one; the
// report that precedes each sample makes the names' sorted buckets stale,
// as live traffic does.
func BenchmarkReadSample(b *testing.B) {
	for _, full := range []bool{false, true} {
		name := "no-page"
		if full {
			name = "page"
		}
		b.Run(name, func(b *testing.B) { benchReadSample(b, full) })
	}
}

func benchReadSample(b *testing.B, full bool) {
	now := time.Unix(1_800_000_000, 0)
	cfg := Config{Classes: []UserClass{{Name: "A", Weight: 1}}, Now: func() time.Time { return now }}
	c := newCore(cfg.withDefaults(), func(string, protocol.Payload) {})
	for i := range 500 {
		c.reg.put(&worker{id: fmt.Sprintf("w%03d", i), state: protocol.StateRunning, heartbeat: HeartbeatLiveness})
	}
	rng := rand.New(rand.NewPCG(1, 2))
	report := func(sec int64) *protocol.Stats {
		s := &protocol.Stats{}
		for i := range 1000 {
			var bs []protocol.Bucket
			for k := range 60 {
				// Locust's rounding: exact below 100 ms, then to 10s.
				key := int64(k*7 + rng.IntN(5) + 1)
				if key >= 100 {
					key = key / 10 * 10
				}
				if n := len(bs); n > 0 && bs[n-1].Key == key {
					continue
				}
				bs = append(bs, protocol.Bucket{Key: key, Count: int64(rng.IntN(9) + 1)})
			}
			s.Stats = append(s.Stats, protocol.StatsEntry{Name: fmt.Sprintf("/api/%d", i), Method: "GET", NumRequests: 100,
				HasTimings: true, TotalResponseTime: 1000, MaxResponseTime: 500, MinResponseTime: 1, StartTime: float64(now.Unix()),
				LastRequestTimestamp: float64(sec), ResponseTimes: bs, NumReqsPerSec: []protocol.Bucket{{Key: sec, Count: 100}}})
		}
		s.Total = protocol.StatsEntry{Name: "Aggregated", NumRequests: 100_000, HasTimings: true, StartTime: float64(now.Unix()),
			LastRequestTimestamp: float64(sec)}
		return s
	}
	for range 12 {
		now = now.Add(time.Second)
		c.agg.Merge(report(now.Unix()-1), now)
	}
	v := &View{c: c}
	ncols := len(uiRowColumns(false))
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		now = now.Add(time.Second)
		c.agg.Merge(report(now.Unix()-1), now)
		b.StartTimer()
		readSample(v, ncols, [2]int64{}, full)
	}
}
