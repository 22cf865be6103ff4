package timespan

import (
	"errors"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	t.Parallel()
	good := map[string]time.Duration{
		"0": 0, "20": 20 * time.Second, "90": 90 * time.Second, "20s": 20 * time.Second,
		"3m": 3 * time.Minute, "2h": 2 * time.Hour, "1h30m10s": time.Hour + 30*time.Minute + 10*time.Second,
		"1h20m": 80 * time.Minute, "2h5s": 2*time.Hour + 5*time.Second, "90m": 90 * time.Minute, "0s": 0,
		"007": 7 * time.Second,
	}
	for in, want := range good {
		if got, err := Parse(in); err != nil || got != want {
			t.Errorf("Parse(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for in, want := range map[string]error{
		"": ErrSyntax, "s": ErrSyntax, "1x": ErrSyntax, "1.5s": ErrSyntax, "-1": ErrSyntax, "1s1m": ErrSyntax,
		"1m1m": ErrSyntax, "1h 2m": ErrSyntax, " 1": ErrSyntax, "1d": ErrSyntax, "h1": ErrSyntax,
		"99999999999999999999": ErrRange, "9999999999999h": ErrRange, "2562047h2562047h": ErrSyntax,
		"2562047h59m": ErrRange,
	} {
		if got, err := Parse(in); !errors.Is(err, want) {
			t.Errorf("Parse(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
}
