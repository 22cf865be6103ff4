package report

import (
	"math"
	"strings"
	"testing"
)

// Expected values are Python 3.11's repr() of the same floats.
func TestPyRepr(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in   float64
		want string
	}{
		{0.0, "0.0"}, {math.Copysign(0, -1), "-0.0"}, {1.0, "1.0"}, {10.0, "10.0"}, {0.1, "0.1"},
		{0.3, "0.3"}, {1.0 / 3, "0.3333333333333333"}, {2.0 / 3, "0.6666666666666666"}, {100.0, "100.0"},
		{1e15, "1000000000000000.0"}, {1e16, "1e+16"}, {9999999999999998.0, "9999999999999998.0"},
		{1.5e16, "1.5e+16"}, {123456789012345678.0, "1.2345678901234568e+17"}, {0.0001, "0.0001"},
		{0.00001, "1e-05"}, {1.5e-05, "1.5e-05"}, {1e-300, "1e-300"}, {5e-324, "5e-324"},
		{1.7976931348623157e308, "1.7976931348623157e+308"}, {-2.5, "-2.5"},
		{46.26925882352941, "46.26925882352941"}, {1700000039.55, "1700000039.55"},
		{12345.678, "12345.678"}, {1e22, "1e+22"}, {0.001234, "0.001234"},
		{math.Inf(1), "inf"}, {math.Inf(-1), "-inf"}, {math.NaN(), "nan"},
		{9007199254740992.0, "9007199254740992.0"}, {math.Nextafter(0.3, 1), "0.30000000000000004"},
	} {
		if got := pyRepr(c.in); got != c.want {
			t.Errorf("pyRepr(%v) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestPyTrunc(t *testing.T) {
	t.Parallel()
	for in, want := range map[float64]int64{12.9: 12, -12.9: -12, 0: 0, 1e3: 1000} {
		if got := pyTrunc(in); got != want {
			t.Errorf("pyTrunc(%v) = %d, want %d", in, got, want)
		}
	}
	if pyTrunc(math.NaN()) != 0 || pyTrunc(math.Inf(1)) != 0 {
		t.Error("pyTrunc of NaN/Inf is not 0")
	}
}

// Expected values are Python's csv.writer (excel dialect).
func TestCSVWriter(t *testing.T) {
	t.Parallel()
	var c csvWriter
	c.row("a", "b,c", `say "hi"`, "x\ny", "cr\r", " lead", "", "é")
	c.row("")
	c.row("", "")
	want := "a,\"b,c\",\"say \"\"hi\"\"\",\"x\ny\",\"cr\r\", lead,,é\r\n\"\"\r\n,\r\n"
	if c.String() != want {
		t.Errorf("got %q, want %q", c.String(), want)
	}
}

// Expected values are Python's json.dumps.
func TestPyJSONString(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"plain":          `"plain"`,
		"a\"b\\c":        `"a\"b\\c"`,
		"\n\r\t\b\f\x01": `"\n\r\t\b\f\u0001"`,
		"café/ü":         `"caf\u00e9/\u00fc"`,
		"\x7f<>&/":       `"\u007f<>&/"`,
		"😀":              `"\ud83d\ude00"`,
	} {
		var b strings.Builder
		pyJSONString(&b, in)
		if b.String() != want {
			t.Errorf("pyJSONString(%q) = %s, want %s", in, b.String(), want)
		}
	}
	for in, want := range map[float64]string{math.NaN(): "NaN", math.Inf(1): "Infinity", math.Inf(-1): "-Infinity", 2: "2.0"} {
		if got := pyJSONFloat(in); got != want {
			t.Errorf("pyJSONFloat(%v) = %s, want %s", in, got, want)
		}
	}
}

func TestReadablePercentile(t *testing.T) {
	t.Parallel()
	got := strings.Join(readablePercentiles(), ",")
	if want := "50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	if got := readablePercentile(0.6); got != "60%" {
		t.Errorf("0.6: %s", got)
	}
}

func TestErrorName(t *testing.T) {
	t.Parallel()
	for _, c := range [][4]string{
		{"GET", "/", "CatchResponseError('x')", "GET /: 'x'"},
		{"GET", "/", "CatchResponseError(", "GET /: "},
		{"", "t", "boom", " t: boom"},
	} {
		if got := errorName(c[0], c[1], c[2]); got != c[3] {
			t.Errorf("errorName(%q) = %q, want %q", c[2], got, c[3])
		}
	}
}
