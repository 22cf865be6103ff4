package stats

import (
	"encoding/json"
	"os"
	"testing"
)

type errorKeyCase struct {
	Method, Name, Error, Parsed, Repr, Key string
}

// TestErrorKeyGolden compares with Locust's StatsError.create_key and
// parse_error (testdata/gen_errorkeys.py).
func TestErrorKeyGolden(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("testdata/errorkeys.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []errorKeyCase
	if err := json.Unmarshal(raw, &cases); err != nil {
		t.Fatal(err)
	}
	if len(cases) == 0 {
		t.Fatal("no cases")
	}
	for _, c := range cases {
		if got, want := ParseError(c.Error), c.Parsed; got != want {
			t.Errorf("ParseError(%q) = %q, want %q", c.Error, got, want)
		}
		if got, want := pyRepr(ParseError(c.Error)), c.Repr; got != want {
			t.Errorf("pyRepr(%q) = %s, want %s", c.Error, got, want)
		}
		if got, want := ErrorKey(c.Method, c.Name, c.Error), c.Key; got != want {
			t.Errorf("ErrorKey(%q, %q, %q) = %s, want %s", c.Method, c.Name, c.Error, got, want)
		}
	}
}

func TestSanitizeError(t *testing.T) {
	t.Parallel()
	if got, want := SanitizeError("ok ✓"), "ok ✓"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if got, want := SanitizeError("a\xff\xfeb"), "a\uFFFD\uFFFDb"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
