package stats

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ErrorKey returns Locust's key for an error recorded as a string:
// the sha256 hex digest of method + "." + name + "." + repr(ParseError(err)),
// with Python's str repr quoting (StatsError.create_key in locust/stats.py).
//
// Invalid UTF-8 cannot exist in a Python str; it is first replaced as by
// SanitizeError, which is also what the Registry does to recorded errors.
func ErrorKey(method, name, err string) string {
	var b strings.Builder
	b.Grow(len(method) + len(name) + len(err) + 8)
	b.WriteString(SanitizeError(method))
	b.WriteByte('.')
	b.WriteString(SanitizeError(name))
	b.WriteByte('.')
	writePyRepr(&b, ParseError(SanitizeError(err)))
	sum := sha256.Sum256([]byte(b.String()))
	return hex.EncodeToString(sum[:])
}

// SanitizeError replaces each invalid UTF-8 byte of s with U+FFFD, so the
// text survives msgpack's str type and Python's decoder.
func SanitizeError(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for _, r := range s {
		b.WriteRune(r)
	}
	return b.String()
}

// ParseError is Locust's StatsError.parse_error for a string error: when the
// text holds "object at 0x<addr>>", every occurrence of "0x<addr>" becomes
// "0x....", so errors that differ only by an object address share a key.
func ParseError(s string) string {
	const target = "object at 0x"
	i := strings.Index(s, target)
	if i < 0 {
		return s
	}
	start := i + len(target) - 2
	end := strings.IndexByte(s[start:], '>')
	if end < 0 {
		return s
	}
	return strings.ReplaceAll(s, s[start:start+end], "0x....")
}

// pyRepr returns Python's repr of a str.
func pyRepr(s string) string {
	var b strings.Builder
	writePyRepr(&b, s)
	return b.String()
}

// writePyRepr writes Python's repr of a str (unicode_repr in CPython):
// single quotes unless the text has a single quote and no double quote;
// \\, \t, \n, \r and the quote escaped; other non-printable characters
// as \xhh, \uhhhh or \Uhhhhhhhh; printable non-ASCII kept as is.
func writePyRepr(b *strings.Builder, s string) {
	quote := byte('\'')
	if strings.IndexByte(s, '\'') >= 0 && strings.IndexByte(s, '"') < 0 {
		quote = '"'
	}
	const hexdig = "0123456789abcdef"
	b.WriteByte(quote)
	for _, r := range s {
		switch {
		case r == rune(quote) || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < ' ' || r == 0x7f:
			b.WriteString(`\x`)
			b.WriteByte(hexdig[r>>4])
			b.WriteByte(hexdig[r&0xf])
		case r < 0x7f:
			b.WriteRune(r)
		case pyPrintable(r):
			b.WriteRune(r)
		case r <= 0xff:
			b.WriteString(`\x`)
			b.WriteByte(hexdig[r>>4])
			b.WriteByte(hexdig[r&0xf])
		case r <= 0xffff:
			b.WriteString(`\u`)
			for sh := 12; sh >= 0; sh -= 4 {
				b.WriteByte(hexdig[(r>>sh)&0xf])
			}
		default:
			b.WriteString(`\U`)
			for sh := 28; sh >= 0; sh -= 4 {
				b.WriteByte(hexdig[(r>>sh)&0xf])
			}
		}
	}
	b.WriteByte(quote)
}

// pyPrintable mirrors Python's str.isprintable for one character: every
// category but Other (Cc, Cf, Cs, Co, Cn) and Separator (Zl, Zp, Zs), with
// the ASCII space printable. Go's unicode.IsPrint has the same definition;
// characters assigned after Python's Unicode version may differ.
func pyPrintable(r rune) bool {
	return unicode.IsPrint(r)
}
