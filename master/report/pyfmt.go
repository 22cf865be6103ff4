package report

import (
	"math"
	"strconv"
	"strings"
)

// pyRepr formats f as Python's repr(float) does: the shortest string that
// round-trips, in fixed notation with at least one fractional digit when
// the decimal exponent is in (-4, 16], otherwise in exponent notation with
// a signed exponent of at least two digits ("1e-05", "1.5e+16").
func pyRepr(f float64) string {
	switch {
	case math.IsNaN(f):
		return "nan"
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	s := strconv.FormatFloat(f, 'e', -1, 64) // [-]d[.ddd]e±XX
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	mant, exps, _ := strings.Cut(s, "e")
	exp, _ := strconv.Atoi(exps)
	digits := strings.Replace(mant, ".", "", 1)
	decpt := exp + 1 // digits are 0.d1d2... × 10^decpt
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	if decpt > -4 && decpt <= 16 {
		switch {
		case decpt <= 0:
			b.WriteString("0.")
			b.WriteString(strings.Repeat("0", -decpt))
			b.WriteString(digits)
		case decpt >= len(digits):
			b.WriteString(digits)
			b.WriteString(strings.Repeat("0", decpt-len(digits)))
			b.WriteString(".0")
		default:
			b.WriteString(digits[:decpt])
			b.WriteByte('.')
			b.WriteString(digits[decpt:])
		}
		return b.String()
	}
	b.WriteString(digits[:1])
	if len(digits) > 1 {
		b.WriteByte('.')
		b.WriteString(digits[1:])
	}
	b.WriteByte('e')
	if exp < 0 {
		b.WriteByte('-')
		exp = -exp
	} else {
		b.WriteByte('+')
	}
	if exp < 10 {
		b.WriteByte('0')
	}
	b.WriteString(strconv.Itoa(exp))
	return b.String()
}

// pyTrunc is Python's int(f) for the finite values "%d" receives.
func pyTrunc(f float64) int64 {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0
	}
	return int64(f)
}

// csvWriter writes rows as Python's csv.writer with the default "excel"
// dialect: comma separated, "\r\n" line ends, and a field quoted (with
// doubled quotes) only when it holds a comma, a quote, "\r" or "\n". A row
// made of one empty field is written as `""`, as Python does.
type csvWriter struct {
	b strings.Builder
}

func (c *csvWriter) row(fields ...string) {
	if len(fields) == 1 && fields[0] == "" {
		c.b.WriteString("\"\"\r\n")
		return
	}
	for i, f := range fields {
		if i > 0 {
			c.b.WriteByte(',')
		}
		if strings.ContainsAny(f, ",\"\r\n") {
			c.b.WriteByte('"')
			c.b.WriteString(strings.ReplaceAll(f, `"`, `""`))
			c.b.WriteByte('"')
		} else {
			c.b.WriteString(f)
		}
	}
	c.b.WriteString("\r\n")
}

func (c *csvWriter) String() string { return c.b.String() }

// pyJSONString quotes s as Python's json.dumps does with its defaults
// (ensure_ascii): non-ASCII becomes \uXXXX (surrogate pairs above U+FFFF).
func pyJSONString(b *strings.Builder, s string) {
	const hex = "0123456789abcdef"
	u4 := func(r rune) {
		b.WriteString(`\u`)
		for sh := 12; sh >= 0; sh -= 4 {
			b.WriteByte(hex[(r>>sh)&0xf])
		}
	}
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		default:
			switch {
			case r < 0x20 || (r >= 0x7f && r <= 0xffff):
				u4(r)
			case r > 0xffff:
				r -= 0x10000
				u4(0xd800 | (r>>10)&0x3ff)
				u4(0xdc00 | r&0x3ff)
			default:
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
}

// pyJSONFloat is json.dumps of a float: repr, with NaN and Infinity spelled
// as Python's encoder does.
func pyJSONFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	return pyRepr(f)
}
