package master

import (
	"encoding/json"
	"math"
	"strconv"
)

// Appenders of the web UI's compact JSON (dashboard.go): numbers with at
// most two decimals, NaN and infinities as null, strings as encoding/json
// writes them (HTML-safe).

// appendNum appends v rounded to two decimals.
func appendNum(b []byte, v float64) []byte {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return append(b, "null"...)
	}
	r := math.Round(v*100) / 100
	if r == 0 {
		return append(b, '0') // no "-0"
	}
	return strconv.AppendFloat(b, r, 'f', -1, 64)
}

// appendInt appends n.
func appendInt(b []byte, n int64) []byte { return strconv.AppendInt(b, n, 10) }

// appendStr appends s as a JSON string.
func appendStr(b []byte, s string) []byte {
	q, err := json.Marshal(s)
	if err != nil { // invalid UTF-8 is replaced, never an error
		return append(b, `""`...)
	}
	return append(b, q...)
}

// appendKey appends `"key":` after a comma unless b ends an opening brace.
func appendKey(b []byte, key string) []byte {
	if n := len(b); n > 0 && b[n-1] != '{' && b[n-1] != '[' {
		b = append(b, ',')
	}
	b = append(b, '"')
	b = append(b, key...)
	return append(b, '"', ':')
}

// appendArray appends a JSON array of at most limit elements (all when
// limit < 0), each written by elem.
func appendArray[T any](b []byte, vs []T, limit int, elem func([]byte, T) []byte) []byte {
	b = append(b, '[')
	for i, v := range vs {
		if i == limit {
			break
		}
		if i > 0 {
			b = append(b, ',')
		}
		b = elem(b, v)
	}
	return append(b, ']')
}

// appendNums appends a JSON array of numbers.
func appendNums[T float32 | float64](b []byte, vs []T) []byte {
	return appendArray(b, vs, -1, func(b []byte, v T) []byte { return appendNum(b, float64(v)) })
}

// appendInts appends a JSON array of integers.
func appendInts[T int | int64](b []byte, vs []T) []byte {
	return appendArray(b, vs, -1, func(b []byte, v T) []byte { return appendInt(b, int64(v)) })
}
