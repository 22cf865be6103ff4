// Package timespan parses the time spans Locust accepts for -t/--run-time,
// -s/--stop-timeout and the web API's run_time, as Locust's parse_timespan
// does: a bare integer is seconds ("90"); otherwise hours, minutes and
// seconds in that order, each optional but at least one present ("20s",
// "3m", "1h30m10s", "2h5s").
//
// It is its own package so that the option parser (internal/config) and the
// master's web API share it without the master depending on the parser.
package timespan

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"
)

// Errors returned by Parse, wrapped with the rejected text.
var (
	// ErrSyntax: the text is not a time span.
	ErrSyntax = errors.New("timespan: invalid time span format (valid formats: 20, 20s, 3m, 2h, 1h20m, 3h30m10s)")
	// ErrRange: the time span does not fit a time.Duration.
	ErrRange = errors.New("timespan: time span out of range")
)

// Parse parses a time span. Spaces, signs, fractions and units other than
// h, m and s are rejected, as Locust rejects them.
func Parse(s string) (time.Duration, error) {
	if allDigits(s) {
		return seconds(s, s, 1)
	}
	var total time.Duration
	rest := s
	seen := false
	for _, u := range []struct {
		suffix byte
		mult   int64
	}{{'h', 3600}, {'m', 60}, {'s', 1}} {
		i := 0
		for i < len(rest) && isDigit(rest[i]) {
			i++
		}
		if i == 0 || i == len(rest) || rest[i] != u.suffix {
			continue // this unit is absent; the digits (if any) belong to a later unit
		}
		d, err := seconds(s, rest[:i], u.mult)
		if err != nil {
			return 0, err
		}
		if total > math.MaxInt64-d {
			return 0, fmt.Errorf("%w: %q", ErrRange, s)
		}
		total += d
		rest = rest[i+1:]
		seen = true
	}
	if rest != "" || !seen {
		return 0, fmt.Errorf("%w: %q", ErrSyntax, s)
	}
	return total, nil
}

// seconds converts digits × mult seconds; s is the whole time span, for the
// error.
func seconds(s, digits string, mult int64) (time.Duration, error) {
	n, err := strconv.ParseInt(digits, 10, 64)
	if err != nil || n > math.MaxInt64/int64(time.Second)/mult {
		return 0, fmt.Errorf("%w: %q", ErrRange, s)
	}
	return time.Duration(n*mult) * time.Second, nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}
