package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
)

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// reportIntervals matches LOCUST_WAIT_FOR_WORKERS_REPORT_AFTER_RAMP_UP's
// "k * WORKER_REPORT_INTERVAL" form with Locust's regular expression (Python's
// $ also matches before a final newline).
var reportIntervals = regexp.MustCompile(`^(\d+|\d+\.\d+) *\* *WORKER_REPORT_INTERVAL\n?$`)

// parseReportWait reads LOCUST_WAIT_FOR_WORKERS_REPORT_AFTER_RAMP_UP as
// Locust's _wait_for_workers_report_after_ramp_up does: "k *
// WORKER_REPORT_INTERVAL" (k digits, with an optional fraction) is k times
// 3 s; anything else is a number of seconds as Python's float() reads it,
// which must be >= 0. Infinity (Locust then waits until every report came)
// and spans too long for a time.Duration become the longest Duration.
func parseReportWait(s string) (time.Duration, error) {
	var secs float64
	if m := reportIntervals.FindStringSubmatch(s); m != nil {
		// Only an overflow fails on these digits; k is then +Inf, as
		// Python's float() makes it.
		k, _ := strconv.ParseFloat(m[1], 64)
		secs = k * workerReportInterval.Seconds()
	} else {
		f, err := parseFloat(s)
		if err != nil {
			return 0, fmt.Errorf("%w (want seconds, or k * WORKER_REPORT_INTERVAL)", err)
		}
		if !(f >= 0) {
			return 0, fmt.Errorf("must be >= 0, got '%s'", s)
		}
		secs = f
	}
	if secs*float64(time.Second) >= math.MaxInt64 {
		return math.MaxInt64, nil
	}
	return time.Duration(secs * float64(time.Second)), nil
}

// pyNumber normalises a number the way Python's int() and float() read one:
// surrounding whitespace is ignored and single underscores may sit between digits.
func pyNumber(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if !strings.Contains(s, "_") {
		return s, true
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '_' {
			if i == 0 || i == len(s)-1 || !isDigit(s[i-1]) || !isDigit(s[i+1]) {
				return "", false
			}
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String(), true
}

// parseInt reads an int like Python's int(str): "5", " 5 ", "+5", "-5", "1_000".
func parseInt(s string) (int, error) {
	n, ok := pyNumber(s)
	if ok && n != "" && n[0] == '+' {
		n = n[1:]
		if n == "" || n[0] == '-' {
			ok = false
		}
	}
	if ok {
		if v, err := strconv.ParseInt(n, 10, 0); err == nil {
			return int(v), nil
		}
	}
	return 0, fmt.Errorf("invalid int value: '%s'", s)
}

// parseFloat reads a float like Python's float(str); hexadecimal forms, which
// Python rejects, are rejected here too.
func parseFloat(s string) (float64, error) {
	n, ok := pyNumber(s)
	if ok && !strings.ContainsAny(n, "xX") {
		if v, err := strconv.ParseFloat(n, 64); err == nil || errors.Is(err, strconv.ErrRange) {
			return v, nil
		}
	}
	return 0, fmt.Errorf("invalid float value: '%s'", s)
}

// parseByteSize reads a size in bytes: a plain integer, or one with a binary
// suffix KiB, MiB or GiB (also K, M, G).
func parseByteSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range []struct {
		suffixes []string
		mult     int64
	}{
		{[]string{"GiB", "G"}, 1 << 30},
		{[]string{"MiB", "M"}, 1 << 20},
		{[]string{"KiB", "K"}, 1 << 10},
		{[]string{"B"}, 1},
	} {
		for _, suf := range u.suffixes {
			if strings.HasSuffix(t, suf) {
				t, mult = strings.TrimSpace(strings.TrimSuffix(t, suf)), u.mult
				goto number
			}
		}
	}
number:
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 || n > math.MaxInt64/mult {
		return 0, fmt.Errorf("invalid size: '%s' (want bytes, or a number with KiB, MiB or GiB)", s)
	}
	return n * mult, nil
}

// parseBool reads a flag's value from the environment or a config file, with
// configargparse's words.
func parseBool(s string) (bool, bool) {
	switch strings.ToLower(s) {
	case "true", "yes", "on", "1":
		return true, true
	case "false", "no", "off", "0":
		return false, true
	}
	return false, false
}

// parseList reads a list value from the environment or a config file: "[a, b]"
// or JSON ["a", "b"]. ok is false when s is not in brackets.
func parseList(s string) ([]string, bool) {
	if len(s) < 2 || s[0] != '[' || s[len(s)-1] != ']' {
		return nil, false
	}
	if vals, ok := parseJSONList(s); ok {
		return vals, true
	}
	var out []string
	for _, e := range strings.Split(s[1:len(s)-1], ",") {
		out = append(out, strings.TrimSpace(e))
	}
	return out, true
}

// parseJSONList decodes a JSON array, rendering elements as Python's str() would
// for the common cases (strings as is, numbers as written, true/false/null as
// True/False/None).
func parseJSONList(s string) ([]string, bool) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var raw []any
	if err := dec.Decode(&raw); err != nil || dec.More() {
		return nil, false
	}
	out := make([]string, 0, len(raw))
	for _, e := range raw {
		switch v := e.(type) {
		case string:
			out = append(out, v)
		case json.Number:
			out = append(out, v.String())
		case bool:
			out = append(out, map[bool]string{true: "True", false: "False"}[v])
		case nil:
			out = append(out, "None")
		default:
			b, _ := json.Marshal(v)
			out = append(out, string(b))
		}
	}
	return out, true
}
