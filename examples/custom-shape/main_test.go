package main

import (
	"testing"
	"time"

	"github.com/glocust/glocust/protocol"
	"github.com/glocust/glocust/shape"
	"github.com/glocust/glocust/stats"
)

func TestBackoff(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	fast, slow := stats.NewAggregate(now), stats.NewAggregate(now)
	slow.Merge(&protocol.Stats{Total: protocol.StatsEntry{NumRequests: 10, HasTimings: true, TotalResponseTime: 9000,
		MaxResponseTime: 900, MinResponseTime: 900, ResponseTimes: []protocol.Bucket{{Key: 900, Count: 10}}}}, now)
	for _, tc := range []struct {
		at    time.Duration
		users int64
		agg   *stats.Aggregate
		want  int
		ended bool
	}{
		{0, 0, fast, 10, false},
		{45 * time.Second, 20, fast, 30, false},
		{45 * time.Second, 20, slow, 20, false}, // p95 900 ms: hold at the users running
		{4 * time.Minute, 100, fast, 100, false},
		{5 * time.Minute, 100, fast, 0, true},
	} {
		got, ok := backoff(shape.Status{Elapsed: tc.at, Users: tc.users, Stats: tc.agg})
		if ok == tc.ended || ok && got.Users != tc.want {
			t.Errorf("at %v with %d users: %+v %v, want %d users (ended %v)", tc.at, tc.users, got, ok, tc.want, tc.ended)
		}
	}
}
