package scenario

import (
	"context"
	"slices"
	"testing"
)

func TestFilterTags(t *testing.T) {
	t.Parallel()
	noop := func(context.Context, *UserContext) error { return nil }
	mk := func() []*Class {
		return []*Class{{Name: "A", Tasks: []Task{
			{Name: "plain", Fn: noop},
			{Name: "login", Fn: noop, Tags: []string{"auth"}},
			{Name: "pay", Fn: noop, Tags: []string{"checkout", "slow"}},
		}}, {Name: "B", Tasks: []Task{{Name: "only-slow", Fn: noop, Tags: []string{"slow"}}}}}
	}
	names := func(r *Runner, class string) []string {
		r.mu.Lock()
		defer r.mu.Unlock()
		var out []string
		for _, t := range r.classes[class].base.Tasks {
			out = append(out, t.Name)
		}
		if n := len(r.classes[class].cfg.Load().tasks.tasks); n != len(out) {
			t.Fatalf("class %s: picker has %d tasks, base %d", class, n, len(out))
		}
		return out
	}
	for _, tc := range []struct {
		include, exclude []string
		a, b             []string
	}{
		{nil, nil, []string{"plain", "login", "pay"}, []string{"only-slow"}},
		{[]string{"auth"}, nil, []string{"login"}, nil},
		{[]string{"auth", "checkout"}, nil, []string{"login", "pay"}, nil},
		{nil, []string{"slow"}, []string{"plain", "login"}, nil},
		{[]string{"slow"}, []string{"checkout"}, nil, []string{"only-slow"}},
		{[]string{"nope"}, nil, nil, nil},
	} {
		r := NewRunner(mk(), nil)
		if !r.FilterTags(tc.include, tc.exclude) {
			t.Fatalf("%v/%v: first FilterTags did not filter", tc.include, tc.exclude)
		}
		if a, b := names(r, "A"), names(r, "B"); !slices.Equal(a, tc.a) || !slices.Equal(b, tc.b) {
			t.Errorf("tags %v exclude %v: A=%v B=%v, want A=%v B=%v", tc.include, tc.exclude, a, b, tc.a, tc.b)
		}
		if r.FilterTags([]string{"auth"}, nil) {
			t.Errorf("a second FilterTags filtered again (Locust filters once)")
		}
		r.Close()
	}
}

func TestYAMLTags(t *testing.T) {
	t.Parallel()
	sc, err := Parse("s.yaml", []byte("users:\n  - class: A\n    tasks:\n      - {tags: [a, b], request: {path: /x}}\n      - request: {path: /y}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := sc.Classes[0].Tasks[0].Tags; !slices.Equal(got, []string{"a", "b"}) || sc.Classes[0].Tasks[1].Tags != nil {
		t.Fatalf("tags = %v / %v", got, sc.Classes[0].Tasks[1].Tags)
	}
	for src, want := range map[string]string{
		"users:\n  - class: A\n    tasks:\n      - {tags: a, request: {path: /x}}\n":    "s.yaml:4: users[0].tasks[0].tags: expected a list",
		"users:\n  - class: A\n    tasks:\n      - {tags: [''], request: {path: /x}}\n": "s.yaml:4: users[0].tasks[0].tags[0]: must not be empty",
	} {
		if _, err := Parse("s.yaml", []byte(src)); err == nil || err.Error() != want {
			t.Errorf("%q: error %v, want %q", src, err, want)
		}
	}
}
