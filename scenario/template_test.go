package scenario

import (
	"errors"
	"math/rand/v2"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func testEnv(k string) (string, bool) {
	v, ok := map[string]string{"HOME": "/home/u", "EMPTY": ""}[k]
	return v, ok
}

// render evaluates parsed nodes for u, for tests.
func renderNodes(t *testing.T, u *UserContext, nodes []tnode) string {
	t.Helper()
	var b strings.Builder
	for _, n := range nodes {
		if n.ex == nil {
			b.WriteString(n.lit)
			continue
		}
		v, err := u.eval(n.ex)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(v)
	}
	return b.String()
}

func TestParseTemplate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want string // nodes: literals in quotes, expressions as kind:name
	}{
		{"plain", `"plain"`},
		{"", ``},
		{"${a}", `var:a`},
		{"x${a}y", `"x" var:a "y"`},
		{"${ a }", `var:a`},
		{"$${a}", `"${a}"`},
		{"$$${a}", `"$" var:a`},
		{"$$$${a}", `"$${a}"`},
		{"a$b $$c", `"a$b $$c"`},
		{"${row.e-mail}", `row:e-mail`},
		{"${user.id}${user.iteration}${worker.index}${worker.count}", `user.id user.iteration worker.index worker.count`},
		{"${env.HOME}/x", `"/home/u/x"`},
		{"a${env.EMPTY}b", `"ab"`},
		{"${uuid()}${time()}${time_ms()}", `uuid time time_ms`},
		{"${randint(1, 10)}", `randint:1..10`},
		{"${randint(-5,-5)}", `randint:-5..-5`},
		{`${choice(a, "b, c", " d ", "e\"f")}`, `choice:a|b, c| d |e"f`},
		{"${a}${b}", `var:a var:b`},
	}
	for _, tc := range tests {
		nodes, err := parseTemplate(tc.in, testEnv)
		if err != nil {
			t.Errorf("parseTemplate(%q): %v", tc.in, err)
			continue
		}
		if got := describeNodes(nodes); got != tc.want {
			t.Errorf("parseTemplate(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func describeNodes(nodes []tnode) string {
	var parts []string
	for _, n := range nodes {
		if n.ex == nil {
			parts = append(parts, `"`+n.lit+`"`)
			continue
		}
		e := n.ex
		switch e.kind {
		case exVar:
			parts = append(parts, "var:"+e.name)
		case exRow:
			parts = append(parts, "row:"+e.name)
		case exRandInt:
			parts = append(parts, "randint:"+itoa(e.lo)+".."+itoa(e.hi))
		case exChoice:
			parts = append(parts, "choice:"+strings.Join(e.choices, "|"))
		default:
			parts = append(parts, e.src[:strings.IndexAny(e.src+"(", "(")])
		}
	}
	return strings.Join(parts, " ")
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestParseTemplateErrors(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"${", `template: at byte 0: "${" without a closing "}"`},
		{"ab${x", `template: at byte 2: "${" without a closing "}"`},
		{"${}", "template: at byte 2: empty expression"},
		{"${ }", "template: at byte 3: empty expression"},
		{"${a b}", `template: at byte 3: unexpected ' ' in "a b" (names are letters, digits and _, not starting with a digit)`},
		{"${1a}", `template: at byte 2: unexpected '1' in "1a" (names are letters, digits and _, not starting with a digit)`},
		{"${x.y}", `template: at byte 2: unknown namespace "x" (want row, user, worker, env, response)`},
		{"${user.name}", "template: at byte 7: unknown name user.name (want user.id or user.iteration)"},
		{"${worker.id}", "template: at byte 9: unknown name worker.id (want worker.index or worker.count)"},
		{"${row.}", "template: at byte 6: a name is required"},
		{"${row.a b}", `template: at byte 7: unexpected ' ' in "a b" (columns are letters, digits, _ and -)`},
		{"${env.NOPE}", "template: at byte 6: environment variable NOPE is not set"},
		{"${uuid(1)}", "template: at byte 2: uuid takes 0 argument(s), got 1"},
		{"${nope()}", `template: at byte 2: unknown function "nope" (want uuid, randint, choice, time, time_ms, wchoice, first_name, last_name, name, email, word, words, sentence, float, date, date_time, phone, bool, hex, alnum)`},
		{"${randint(1)}", "template: at byte 2: randint takes 2 argument(s), got 1"},
		{"${randint(a, 2)}", `template: at byte 2: randint takes two integers, got "a" and "2"`},
		{"${randint(3, 2)}", "template: at byte 2: randint: 3 is greater than 2"},
		{"${choice()}", "template: at byte 2: choice takes at least one argument"},
		{"${choice(a,)}", "template: at byte 11: empty argument"},
		{`${choice("a)}`, "template: at byte 9: unterminated quoted argument"},
		{`${choice("a" b)}`, `template: at byte 13: unexpected 'b' after a quoted argument`},
		{"${uuid(}", `template: at byte 7: uuid(...: missing ")"`},
		{"${a:b}", `template: at byte 3: unexpected ':' in "a:b" (names are letters, digits and _, not starting with a digit)`},
	}
	for _, tc := range tests {
		_, err := parseTemplate(tc.in, testEnv)
		var te *TemplateError
		if !errors.As(err, &te) {
			t.Errorf("parseTemplate(%q) = %v, want a *TemplateError", tc.in, err)
			continue
		}
		if err.Error() != tc.want {
			t.Errorf("parseTemplate(%q) = %q, want %q", tc.in, err, tc.want)
		}
	}
}

func TestTemplateBuiltins(t *testing.T) {
	t.Parallel()
	now := time.Unix(1700000000, 123e6)
	r := NewRunner(nil, nil, WithClock(func() time.Time { return now }))
	defer r.Close()
	u := testUser(t, r, "http://127.0.0.1")
	u.ID, u.Rand = 3, rand.New(rand.NewPCG(1, 1))
	u.vars.iter = 9
	u.vars.place = Placement{Index: 4, Slot: 1, Count: 5}
	nodes, err := parseTemplate("${user.id} ${user.iteration} ${worker.index} ${worker.count} ${time()} ${time_ms()}", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := renderNodes(t, u, nodes), "3 9 4 5 1700000000 1700000000123"; got != want {
		t.Errorf("built-ins = %q, want %q", got, want)
	}
	uuidRE := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	for _, tc := range []struct {
		tmpl string
		ok   func(string) bool
	}{
		{"${uuid()}", uuidRE.MatchString},
		{"${randint(-2, 2)}", func(s string) bool { return slices.Contains([]string{"-2", "-1", "0", "1", "2"}, s) }},
		{"${randint(-9223372036854775808, 9223372036854775807)}", func(s string) bool { return s != "" }},
		{`${choice(a, "b c")}`, func(s string) bool { return s == "a" || s == "b c" }},
	} {
		nodes, err := parseTemplate(tc.tmpl, nil)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for range 200 {
			v := renderNodes(t, u, nodes)
			if !tc.ok(v) {
				t.Fatalf("%s = %q", tc.tmpl, v)
			}
			seen[v] = true
		}
		if len(seen) < 2 {
			t.Errorf("%s gave only %v in 200 draws", tc.tmpl, seen)
		}
	}
}

func TestTemplateStringRoundTrip(t *testing.T) {
	t.Parallel()
	for _, in := range []string{"a${x}b", "$${x}", "$$${x}", "$", "$$", "a$$", "${x}$", "$${x}${y}", "{$}", "$$$${"} {
		nodes, err := parseTemplate(in, nil)
		if err != nil {
			t.Fatalf("%q: %v", in, err)
		}
		again, err := parseTemplate(templateString(nodes), nil)
		if err != nil || !sameNodes(nodes, again) {
			t.Errorf("%q: templateString gives %q, which parses to %s, not %s", in, templateString(nodes), describeNodes(again), describeNodes(nodes))
		}
	}
}

func sameNodes(a, b []tnode) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].lit != b[i].lit || (a[i].ex == nil) != (b[i].ex == nil) {
			return false
		}
		if a[i].ex != nil && !reflect.DeepEqual(*a[i].ex, *b[i].ex) {
			return false
		}
	}
	return true
}

// FuzzTemplate checks that the template parser never panics, that its
// errors say where, and that templateString gives back a template that
// parses to the same nodes (no expression or literal is lost or changed).
func FuzzTemplate(f *testing.F) {
	for _, s := range []string{"a${x}b", "$${x}", "$$${x}", "${row.a-b}", "${env.HOME}", "${choice(a, \"b,c\")}",
		"${randint(1, 2)}", "${uuid()}", "${user.id}", "${", "${a b}", "$$$$", "${choice(\"a\\\"b\")}",
		"${a:-x}", "${ a :- \" y \" }", "${row.c:-}", "${env.NOPE:-d}", "${a:-${b}}", "${user.id:-1}",
		"${wchoice(a, 3, \"b,c\", 1)}", "${wchoice(a, 0)}", "${name()}${email()}", "${words(3)}", "${float(-1.5, 2, 2)}",
		"${date(2024-01-01, 2024-12-31)}", "${date_time(2024-01-01T00:00:00Z, 2024-01-02)}", "${hex(8)}${alnum(4)}"} {
		f.Add(s)
	}
	r := NewRunner(nil, nil)
	defer r.Close()
	u := testUser(f, r, "http://127.0.0.1")
	u.Rand = rand.New(rand.NewPCG(1, 1))
	f.Fuzz(func(t *testing.T, s string) {
		nodes, err := parseTemplate(s, testEnv)
		if err != nil {
			var te *TemplateError
			if !errors.As(err, &te) || te.Pos < 0 || te.Pos > len(s) {
				t.Fatalf("parseTemplate(%q): %v (%T)", s, err, err)
			}
			return
		}
		// What parses evaluates without panicking (a variable has no
		// value here: a *TemplateValueError).
		for _, n := range nodes {
			if n.ex != nil {
				u.vars.gen = u.vars.gen[:0]
				var ve *TemplateValueError
				if _, err := u.eval(n.ex); err != nil && !errors.As(err, &ve) {
					t.Fatalf("%q: ${%s}: %v", s, n.ex.src, err)
				}
			}
		}
		if !hasTemplate(s) && (len(nodes) > 1 || len(nodes) == 1 && nodes[0].lit != s) {
			t.Fatalf("parseTemplate(%q) changed a string without ${: %s", s, describeNodes(nodes))
		}
		for i, n := range nodes {
			if n.ex == nil && (n.lit == "" || i > 0 && nodes[i-1].ex == nil) {
				t.Fatalf("parseTemplate(%q): empty or unmerged literal: %s", s, describeNodes(nodes))
			}
		}
		back := templateString(nodes)
		again, err := parseTemplate(back, testEnv)
		if err != nil || !sameNodes(nodes, again) {
			t.Fatalf("parseTemplate(%q) = %s; templateString = %q parses to %s (%v)", s, describeNodes(nodes), back, describeNodes(again), err)
		}
	})
}

// templateString renders parsed nodes back to a template that parses to
// the same nodes: in literals every run of "$" before "{" is doubled, as is
// a literal's last run of "$" when an expression follows; expressions are
// written as "${src}".
func templateString(nodes []tnode) string {
	var b strings.Builder
	for i, n := range nodes {
		if n.ex != nil {
			b.WriteString("${" + n.ex.src + "}")
			continue
		}
		s := n.lit
		for len(s) > 0 {
			j := strings.IndexByte(s, '$')
			if j < 0 {
				b.WriteString(s)
				break
			}
			b.WriteString(s[:j])
			k := j
			for k < len(s) && s[k] == '$' {
				k++
			}
			run := s[j:k]
			if k < len(s) && s[k] == '{' || k == len(s) && i+1 < len(nodes) {
				run += run
			}
			b.WriteString(run)
			s = s[k:]
		}
	}
	return b.String()
}
