package scenario

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// checkAllErrors checks ParseAll's error against Parse's (first): it is
// ParseErrors, sorted, every one naming a line (but an empty scenario's)
// and on one line, and it holds first.
func checkAllErrors(t *testing.T, first *ParseError, all error) {
	t.Helper()
	var pes ParseErrors
	if !errors.As(all, &pes) || len(pes) == 0 {
		t.Fatalf("ParseAll error %q (%T) is not a non-empty ParseErrors", all, all)
	}
	found := false
	for i, pe := range pes {
		if pe.Line < 1 && pe.Msg != "empty scenario" {
			t.Fatalf("error %q names no line", pe)
		}
		if strings.Contains(pe.Long(), "\n") {
			t.Fatalf("error %q is not one line", pe.Long())
		}
		if i > 0 && (pes[i-1].Line > pe.Line || pes[i-1].Line == pe.Line && pes[i-1].Col > pe.Col) {
			t.Fatalf("errors not in file order: %q before %q", pes[i-1].Long(), pe.Long())
		}
		found = found || *pe == *first
	}
	if !found {
		t.Fatalf("Parse's error %q is not among ParseAll's:\n%s", first, all)
	}
}

// manyErrors has errors in two classes, in two tasks of one class, in a
// step and in a class key, and a template naming an undefined variable in
// two tasks.
const manyErrors = `host: http://127.0.0.1:1
users:
  - class: First
    wait_time: {between: [2, 1]}
    tasks:
      - request: {method: "G T", path: /a}
      - weight: -1
        request: {path: /b}
      - name: s
        steps:
          - request: {path: /ok}
          - request: {pathh: /c}
  - class: Fine
    tasks:
      - request: {path: /fine}
  - class: Second
    weight: many
    fixed_count: 1
    tasks:
      - request: {path: "/${nope}"}
      - request: {path: "/x/${nope2}"}
`

func TestParseAllReportsEveryError(t *testing.T) {
	t.Parallel()
	_, err := ParseAll("scenario.yaml", []byte(manyErrors))
	var pes ParseErrors
	if !errors.As(err, &pes) {
		t.Fatalf("error %v (%T), want ParseErrors", err, err)
	}
	var got []string
	for _, pe := range pes {
		got = append(got, pe.Long())
	}
	want := []string{
		`scenario.yaml:4:26: users[0].wait_time: between: min 2 is greater than max 1`,
		`scenario.yaml:6:27: users[0].tasks[0].request.method: invalid method "G T"`,
		`scenario.yaml:7:17: users[0].tasks[1].weight: expected an integer in [0, 1048576], got -1`,
		`scenario.yaml:12:23: users[0].tasks[2].steps[1].request: unknown key "pathh"`,
		`scenario.yaml:17:13: users[2].weight: expected an integer`,
	}
	if len(got) != len(want) {
		t.Fatalf("got %d errors, want %d:\n%s", len(got), len(want), strings.Join(got, "\n"))
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("error %d = %q, want it to start with %q", i, got[i], want[i])
		}
	}
	// Parse still returns the first error alone, as before.
	_, first := Parse("scenario.yaml", []byte(manyErrors))
	if first == nil || strings.Contains(first.Error(), "\n") || !strings.HasPrefix(first.Error(), "scenario.yaml:4: users[0].wait_time: ") {
		t.Errorf("Parse error = %v, want the first error alone", first)
	}
}

func TestParseAllUndefinedVariables(t *testing.T) {
	t.Parallel()
	y := "users:\n  - class: A\n    tasks:\n      - request: {path: \"/${nope}\"}\n      - request: {path: /ok}\n      - request: {path: \"/x/${nope2}\"}\n" +
		"  - class: B\n    bad: 1\n    tasks: [{request: {path: /}}]\n"
	_, err := ParseAll("s.yaml", []byte(y))
	var pes ParseErrors
	if !errors.As(err, &pes) {
		t.Fatalf("error %v, want ParseErrors", err)
	}
	var got []string
	for _, pe := range pes {
		got = append(got, pe.Long())
	}
	want := []string{
		`s.yaml:4:25: users[0].tasks[0].request.path: undefined variable "nope"`,
		`s.yaml:6:25: users[0].tasks[2].request.path: undefined variable "nope2"`,
		`s.yaml:8:5: users[1]: unknown key "bad"`,
	}
	if len(got) != len(want) {
		t.Fatalf("got %d errors, want %d:\n%s", len(got), len(want), strings.Join(got, "\n"))
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("error %d = %q, want it to start with %q", i, got[i], want[i])
		}
	}
}

// A top-level error other than in http, vars and data does not hide the
// classes' errors; one in vars does (the classes use them).
func TestParseAllTopLevel(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		yaml string
		want []string
	}{
		{"host: ftp://x\nusers:\n  - class: A\n    tasks: [{request: {paht: /}}]\n",
			[]string{"s.yaml:1:7: host: invalid host", "s.yaml:4:24: users[0].tasks[0].request: unknown key \"paht\""}},
		{"vars: {1a: x}\nusers:\n  - class: A\n    tasks: [{request: {path: \"/${y}\"}}]\n",
			[]string{"s.yaml:1:8: vars.1a: \"1a\" is not a variable name"}},
		{"users:\n  - class: A\n    tasks: [{request: {path: /}}]\n  - class: A\n    tasks: [{request: {path: /}}]\n  - clas: B\n",
			[]string{"s.yaml:4:5: users[1].class: duplicate class name \"A\"", "s.yaml:6:5: users[2]: unknown key \"clas\""}},
		{"users: [\n", []string{"s.yaml:1: did not find expected node content"}},
	} {
		_, err := ParseAll("s.yaml", []byte(tc.yaml))
		var pes ParseErrors
		if !errors.As(err, &pes) {
			t.Fatalf("%q: error %v, want ParseErrors", tc.yaml, err)
		}
		var got []string
		for _, pe := range pes {
			got = append(got, pe.Long())
		}
		ok := len(got) == len(tc.want)
		for i := 0; ok && i < len(got); i++ {
			ok = strings.HasPrefix(got[i], tc.want[i])
		}
		if !ok {
			t.Errorf("%q: errors\n%s\nwant ones starting with\n%s", tc.yaml, strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
		}
	}
}

func TestParseAllGood(t *testing.T) {
	t.Parallel()
	sc, err := ParseAll("scenario.yaml", []byte(goodYAML))
	if err != nil || sc == nil || len(sc.Classes) != 2 {
		t.Fatalf("ParseAll(goodYAML) = %v, %v", sc, err)
	}
	if !slices.Equal([]string{sc.Classes[0].Name, sc.Classes[1].Name}, []string{"WebUser", "ApiUser"}) {
		t.Errorf("classes %q, %q", sc.Classes[0].Name, sc.Classes[1].Name)
	}
}

// ParseAll lists at most maxErrors errors and says how many more there were.
func TestParseAllManyErrors(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString("users:\n")
	n := maxErrors + 5
	for i := range n {
		fmt.Fprintf(&b, "  - {class: C%d, weight: x, tasks: [{request: {path: /}}]}\n", i)
	}
	_, err := ParseAll("s.yaml", []byte(b.String()))
	var pes ParseErrors
	if !errors.As(err, &pes) {
		t.Fatalf("error %v, want ParseErrors", err)
	}
	if len(pes) != maxErrors+1 || pes[maxErrors].Msg != "5 more errors not listed" || pes[maxErrors-1].Line != maxErrors+1 {
		t.Fatalf("%d errors, the last two %q, %q", len(pes), pes[len(pes)-2].Long(), pes[len(pes)-1].Long())
	}
}

// Errors inside steps of every kind are each reported: a repeat's body
// goes on after a bad step, and the next task is parsed.
func TestParseAllNestedSteps(t *testing.T) {
	t.Parallel()
	y := `users:
  - class: A
    tasks:
      - name: one
        steps:
          - repeat: 2
            steps:
              - think: -1
              - request: {path: /ok}
              - request: {path: /x, bogus: 1}
      - name: two
        steps:
          - repeat: "3x"
            steps: [{request: {path: /}}]
`
	_, err := ParseAll("s.yaml", []byte(y))
	var pes ParseErrors
	if !errors.As(err, &pes) {
		t.Fatalf("error %v, want ParseErrors", err)
	}
	var got []string
	for _, pe := range pes {
		got = append(got, pe.Long())
	}
	want := []string{
		"s.yaml:8:24: users[0].tasks[0].steps[0].steps[0].think: ",
		"s.yaml:10:37: users[0].tasks[0].steps[0].steps[2].request: unknown key \"bogus\"",
		"s.yaml:13:21: users[0].tasks[1].steps[0].repeat: ",
	}
	ok := len(got) == len(want)
	for i := 0; ok && i < len(got); i++ {
		ok = strings.HasPrefix(got[i], want[i])
	}
	if !ok {
		t.Errorf("errors\n%s\nwant ones starting with\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
