package master

import "time"

// rateLimiter lets one log line per key through every interval, so that a
// flood of bad frames cannot flood the log. Owned by the loop goroutine.
type rateLimiter struct {
	now   func() time.Time
	every time.Duration
	last  map[string]time.Time
}

const rateLimiterMaxKeys = 10000

func newRateLimiter(now func() time.Time, every time.Duration) *rateLimiter {
	return &rateLimiter{now: now, every: every, last: map[string]time.Time{}}
}

func (r *rateLimiter) allow(key string) bool {
	now := r.now()
	if t, ok := r.last[key]; ok && now.Sub(t) < r.every {
		return false
	}
	if len(r.last) >= rateLimiterMaxKeys {
		for k, t := range r.last {
			if now.Sub(t) >= r.every {
				delete(r.last, k)
			}
		}
		if len(r.last) >= rateLimiterMaxKeys {
			// Many distinct peers: one line per interval for all of them.
			key = "*overflow*"
			if t, ok := r.last[key]; ok && now.Sub(t) < r.every {
				return false
			}
		}
	}
	r.last[key] = now
	return true
}
