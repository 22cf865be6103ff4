package scenariotool

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/glocust/glocust/scenario"
)

func writeFile(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// badScenario has errors in three classes, two of them in two tasks of one
// class and one in a step.
const badScenario = `users:
  - class: Web
    tasks:
      - request: {method: GET, path: /a, timeout: -1}
      - request: {path: /b}
      - name: s
        steps: [{request: {path: /c, expect_status: 99}}]
  - class: Api
    weight: -2
    tasks: [{request: {path: /}}]
  - class: Fine
    tasks: [{request: {path: /}}]
  - class: Last
    tasks:
      - tags: [""]
        request: {path: /}
`

func TestCheckReportsEveryError(t *testing.T) {
	t.Parallel()
	f := writeFile(t, t.TempDir(), "bad.yaml", badScenario)
	var out, errw bytes.Buffer
	if code := Check(&out, &errw, []string{f}, nil); code != 1 {
		t.Fatalf("exit code %d, want 1\n%s", code, errw.String())
	}
	if out.Len() != 0 {
		t.Errorf("a failed check printed a summary:\n%s", out.String())
	}
	lines := strings.Split(strings.TrimSuffix(errw.String(), "\n"), "\n")
	want := []string{
		f + `:4:51: users[0].tasks[0].request.timeout: `,
		f + `:7:53: users[0].tasks[2].steps[0].request.expect_status: expected an integer in [100, 599], got 99`,
		f + `:9:13: users[1].weight: expected an integer in [0, 1048576], got -2`,
		f + `:15:16: users[3].tasks[0].tags[0]: must not be empty`,
		`4 errors`,
	}
	if len(lines) != len(want) {
		t.Fatalf("got %d lines, want %d:\n%s", len(lines), len(want), errw.String())
	}
	for i := range want {
		if !strings.HasPrefix(lines[i], want[i]) {
			t.Errorf("line %d = %q, want it to start with %q", i+1, lines[i], want[i])
		}
	}
}

// goodScenario exercises every part of the summary.
const goodScenario = `host: http://127.0.0.1:1
vars: {page_size: "10"}
users:
  - class: Shopper
    weight: 3
    wait_time: {between: [0.5, 2]}
    data: {file: users.csv}
    vars: {region: eu}
    on_start: [{request: {method: POST, path: /login, json: {user: "${row.user}"}, extract: {tok: {json: token}}}}]
    tasks:
      - name: browse
        weight: 3
        tags: [web, read]
        request: {path: /items, query: {size: "${page_size}"}, name: items}
      - name: buy
        steps:
          - request: {path: /cart, expect_status: 200}
          - request: {method: POST, path: /pay, form: {card: "1"}}
      - weight: 0
        request: {path: /off}
  - class: Admin
    fixed_count: 2
    host: http://127.0.0.1:2
    tasks:
      - request: {method: DELETE, path: /cache}
`

func TestCheckSummary(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, dir, "users.csv", "user,password\na,1\nb,2\nc,3\n")
	f := writeFile(t, dir, "shop.yaml", goodScenario)
	var out, errw bytes.Buffer
	if code := Check(&out, &errw, []string{f}, map[string]string{"page_size": "50"}); code != 0 {
		t.Fatalf("exit code %d, want 0\n%s", code, errw.String())
	}
	if errw.Len() != 0 {
		t.Errorf("stderr: %s", errw.String())
	}
	// Each item on its line, in this order; spacing is free.
	want := []string{
		f + ": OK, 2 user classes",
		"host: http://127.0.0.1:1",
		"vars:", `page_size = "10" (--var: "50")`,
		"class Shopper: weight 3",
		"host: http://127.0.0.1:1 (top level)",
		"wait_time: between(0.5, 2)",
		"vars:", `region = "eu"`,
		"data: Shopper, 3 rows, mode unique, columns user, password",
		"on_start: 1 request", "POST /login (json body, extracts)",
		"tasks (total weight 4):",
		`"browse": weight 3, 75.0%, tags web, read`, `GET /items?size=${page_size} as "items"`,
		`"buy": weight 1, 25.0%`, "GET /cart (checks)", "POST /pay (form body)",
		"class Admin: fixed_count 2",
		"host: http://127.0.0.1:2",
		"wait_time: none",
		"tasks (total weight 1):",
		`"/cache": weight 1, 100.0%`, "DELETE /cache",
	}
	var lines []string
	for _, l := range strings.Split(out.String(), "\n") {
		if l = strings.Join(strings.Fields(l), " "); l != "" {
			lines = append(lines, l)
		}
	}
	i := 0
	for _, l := range lines {
		if i < len(want) && strings.HasPrefix(l, want[i]) {
			i++
		}
	}
	if i < len(want) {
		t.Errorf("summary lacks %q (or has it out of order):\n%s", want[i], out.String())
	}
	if strings.Contains(out.String(), "/off") {
		t.Errorf("summary shows the task of weight 0:\n%s", out.String())
	}
}

func TestCheckVarsAndFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, dir, "users.csv", "user,password\na,1\n")
	good := writeFile(t, dir, "shop.yaml", goodScenario)
	again := writeFile(t, dir, "again.yaml", "users:\n  - {class: Admin, tasks: [{request: {path: /}}]}\n")
	env := writeFile(t, dir, "env.yaml", "users:\n  - {class: E, tasks: [{request: {path: \"/${env.GLOCUST_CHECK_X}\"}}]}\n")
	for _, tc := range []struct {
		name  string
		files []string
		vars  map[string]string
		opts  []scenario.ParseOption
		code  int
		want  string // in stderr
	}{
		{"undeclared var", []string{good}, map[string]string{"nope": "1"}, nil, 1, "--var nope: the scenario declares no variable nope (declared: page_size, region)"},
		{"class in two files", []string{good, again}, nil, nil, 1, again + `: user class "Admin" is also defined in ` + good},
		{"missing file", []string{filepath.Join(dir, "none.yaml")}, nil, nil, 1, "none.yaml: no such file"},
		{"env unset", []string{env}, nil, nil, 1, env + ":2:41: users[0].tasks[0].request.path: "},
		{"env set", []string{env}, nil, []scenario.ParseOption{scenario.WithEnv([]string{"GLOCUST_CHECK_X=x"})}, 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errw bytes.Buffer
			code := Check(&out, &errw, tc.files, tc.vars, tc.opts...)
			if code != tc.code || !strings.Contains(errw.String(), tc.want) {
				t.Errorf("exit code %d, stderr %q; want %d and %q", code, errw.String(), tc.code, tc.want)
			}
			if tc.code == 1 && !regexp.MustCompile(`(?m)^1 error$`).MatchString(errw.String()) {
				t.Errorf("stderr lacks the count: %q", errw.String())
			}
		})
	}
}

// The summary and the locustfile find the requests inside steps of any
// kind (a repeat's, a conditional one), in file order, and not a refresh's
// among the task's (the summary shows those under refresh).
func TestOutlineNestedSteps(t *testing.T) {
	t.Parallel()
	f := writeFile(t, t.TempDir(), "s.yaml", `users:
  - class: Buyer
    on_start: [{request: {method: POST, path: /login, extract: {token: {json: token}}}}]
    refresh: {on_status: [401], steps: [{request: {method: POST, path: /relogin}}]}
    tasks:
      - name: order
        steps:
          - request: {path: /cart, extract: {count: {json: count}}}
          - think: 0.1
          - repeat: "${count}"
            as: i
            steps:
              - request: {path: "/cart/items/${i}", name: "/cart/items/[i]"}
          - request: {method: POST, path: /orders}
            if: ${response.status} == 200
`)
	o, err := Load(f)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range o.Classes[0].Tasks[0].Requests {
		got = append(got, requestString(r))
	}
	want := []string{"GET /cart (extracts)", `GET /cart/items/${i} as "/cart/items/[i]"`, "POST /orders"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("requests %q, want %q", got, want)
	}
	var out, errw bytes.Buffer
	if code := Check(&out, &errw, []string{f}, nil); code != 0 || !strings.Contains(out.String(), "  refresh: on_status 401\n    POST /relogin\n") {
		t.Errorf("exit code %d, summary:\n%s%s", code, out.String(), errw.String())
	}
}

// Every example scenario passes the check, and its locustfile is written.
func TestExamplesCheck(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join("..", "..", "examples", "scenarios", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no example scenarios (%v)", err)
	}
	for _, f := range files {
		var out, errw bytes.Buffer
		if code := Check(&out, &errw, []string{f}, nil); code != 0 || !strings.Contains(out.String(), f+": OK") {
			t.Errorf("%s: exit code %d\n%s%s", f, code, out.String(), errw.String())
			continue
		}
		o, err := Load(f, scenario.ForMaster())
		if err != nil {
			t.Fatal(err)
		}
		var py bytes.Buffer
		if err := WriteLocustfile(&py, o); err != nil || !strings.Contains(py.String(), "(HttpUser):") {
			t.Errorf("%s: locustfile: %v\n%s", f, err, py.String())
		}
	}
}
