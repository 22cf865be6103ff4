package scenariotool

import (
	"bytes"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/glocust/glocust/scenario"
)

// flowsScenario has a sequential class with a refresh, a seed, a nested
// sequential group with iterations, hooks and its own wait_time, a group
// inside it with an interrupt, and steps of every kind (think, repeat
// with as, unless, fail_if); and a class with a plain group whose first
// item has weight 0.
const flowsScenario = `host: http://127.0.0.1:9
seed: 42
vars: {page: "3"}
users:
  - class: Flow
    sequential: true
    wait_time: {constant: 0}
    on_start: [{request: {method: POST, path: /login}}]
    refresh: {on_status: [401, 403], every: 5m, steps: on_start, retry: true}
    tasks:
      - name: first
        request: {path: /seq/1}
      - name: second
        weight: 2
        steps:
          - request: {path: "/seq/2/${page}", fail_if: {condition: "${response.status} == 204", message: empty}}
          - think: {between: [0.01, 0.02]}
      - name: checkout flow
        sequential: true
        iterations: 2
        wait_time: {constant: 0}
        on_start: [{request: {path: /g/start}}]
        on_stop: [{request: {path: /g/stop}}]
        tasks:
          - name: view
            steps:
              - repeat: 2
                as: i
                steps:
                  - request: {path: "/g/view/${i}"}
                    unless: "${skip:-}"
              - think: 0.5
                if: ${response.status} == 200
          - name: inner
            tags: [deep]
            tasks:
              - request: {path: /g/inner}
              - interrupt: true
  - class: Plain
    tasks:
      - request: {path: "/p/${q:-dflt}"}
        weight: 3
      - name: grp
        tasks:
          - request: {path: /x}
            weight: 0
          - request: {path: /y}
          - {interrupt: true, name: leave}
`

// summaryLine is a line of the summary: its depth (indentation in steps
// of two spaces) and its text with spacing normalised.
type summaryLine struct {
	depth int
	text  string
}

func summaryLines(t *testing.T, out string) []summaryLine {
	t.Helper()
	var lines []summaryLine
	for _, l := range strings.Split(out, "\n") {
		text := strings.Join(strings.Fields(l), " ")
		if text == "" {
			continue
		}
		ind := len(l) - len(strings.TrimLeft(l, " "))
		if ind%2 != 0 {
			t.Errorf("line %q: indented by %d spaces, not a multiple of 2", l, ind)
		}
		lines = append(lines, summaryLine{ind / 2, text})
	}
	return lines
}

// TestCheckSummaryFlows: the summary shows the structure: sequential
// classes and groups, the seed, refresh, groups as nested task lists with
// their settings and hooks, interrupts, and steps (think, repeat with its
// steps under it, conditions, fail_if), each at its depth.
func TestCheckSummaryFlows(t *testing.T) {
	t.Parallel()
	f := writeFile(t, t.TempDir(), "flows.yaml", flowsScenario)
	var out, errw bytes.Buffer
	if code := Check(&out, &errw, []string{f}, nil); code != 0 {
		t.Fatalf("exit code %d\n%s", code, errw.String())
	}
	want := []summaryLine{
		{0, f + ": OK, 2 user classes"},
		{0, "seed: 42"},
		{0, "class Flow: weight 1, sequential"},
		{1, "wait_time: constant(0)"},
		{1, "on_start: 1 request"},
		{2, "POST /login"},
		{1, "refresh: on_status 401, 403, every 5m0s, steps on_start, retry"},
		{1, "tasks (in order, total weight 4):"},
		{2, `"first": weight 1, 25.0%`},
		{3, "GET /seq/1"},
		{2, `"second": weight 2, 50.0%`},
		{3, `GET /seq/2/${page} (fail_if ${response.status} == 204 ("empty"))`},
		{3, "think between 10ms and 20ms"},
		{2, `"checkout flow" group: weight 1, 25.0%, sequential, iterations 2`},
		{3, "wait_time: constant(0)"},
		{3, "on_start: 1 request"},
		{4, "GET /g/start"},
		{3, "on_stop: 1 request"},
		{4, "GET /g/stop"},
		{3, "tasks (in order, total weight 2):"},
		{4, `"view": weight 1, 50.0%`},
		{5, "repeat 2 times as i:"},
		{6, "unless ${skip:-}: GET /g/view/${i}"},
		{5, "if ${response.status} == 200: think 500ms"},
		{4, `"inner" group: weight 1, 50.0%, tags deep`},
		{5, "tasks (total weight 2):"},
		{6, `"/g/inner": weight 1, 50.0%`},
		{7, "GET /g/inner"},
		{6, `"interrupt" interrupt: weight 1, 50.0%, leaves the group`},
		{0, "class Plain: weight 1"},
		{1, "tasks (total weight 4):"},
		{2, `"/p/${q:-dflt}": weight 3, 75.0%`},
		{3, "GET /p/${q:-dflt}"},
		{2, `"grp" group: weight 1, 25.0%`},
		{3, "tasks (total weight 2):"},
		{4, `"/y": weight 1, 50.0%`},
		{5, "GET /y"},
		{4, `"leave" interrupt: weight 1, 50.0%, leaves the group`},
	}
	got := summaryLines(t, out.String())
	i := 0
	for _, l := range got {
		if i < len(want) && l.text == want[i].text {
			if l.depth != want[i].depth {
				t.Errorf("%q at depth %d, want %d", l.text, l.depth, want[i].depth)
			}
			i++
		}
	}
	if i < len(want) {
		t.Errorf("summary lacks %q (or has it out of order):\n%s", want[i].text, out.String())
	}
	if strings.Contains(out.String(), "/x") {
		t.Errorf("summary shows the task of weight 0:\n%s", out.String())
	}
}

// TestOutlineMismatch: an outline whose YAML does not pair with the parsed
// scenario (here, another file's) is an error naming the key path, not a
// wrong summary.
func TestOutlineMismatch(t *testing.T) {
	t.Parallel()
	sc, err := scenario.ParseAll("flows.yaml", []byte(flowsScenario))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ yaml, want string }{
		{strings.Replace(flowsScenario, "- name: first", "- name: frist", 1), "users[0].tasks[0]: internal error: the outline does not match the parsed scenario (name \"frist\""},
		{strings.Replace(flowsScenario, "          - request: {path: /y}\n", "", 1), "users[1].tasks[1].tasks: internal error"},
		{strings.Replace(flowsScenario, "weight: 2\n", "weight: 5\n", 1), "users[0].tasks[1]: internal error"},
		{strings.Replace(flowsScenario, "      - {interrupt: true, name: leave}", "      - {request: {path: /z}, name: leave}", 1), ""}, // same shape: pairs
		{strings.Replace(flowsScenario, "  - class: Plain", "  - class: Other", 1), "users[1]: internal error"},
	} {
		var doc yaml.Node
		if err := yaml.Unmarshal([]byte(tc.yaml), &doc); err != nil {
			t.Fatal(err)
		}
		_, err := outline("flows.yaml", sc, doc.Content[0])
		if tc.want == "" {
			if err != nil {
				t.Errorf("outline: %v", err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("outline error %v, want %q", err, tc.want)
		}
	}
}

// TestWriteLocustfileFlows: the locustfile mirrors sequential classes,
// groups, iterations, interrupts and steps, and marks what is glocust's
// only.
func TestWriteLocustfileFlows(t *testing.T) {
	t.Parallel()
	f := writeFile(t, t.TempDir(), "flows.yaml", flowsScenario)
	o, err := Load(f, scenario.ForMaster())
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := WriteLocustfile(&b, o); err != nil {
		t.Fatal(err)
	}
	src := b.String()
	for _, want := range []string{
		"# glocust-only: seed 42 ",
		"class Flow(HttpUser):\n",
		"    # glocust-only: refresh (on_status 401, 403, every 5m0s, steps on_start, retry)",
		"        self.tasks = [_in_order()]",
		"    @task(2)\n    def second(self):\n        # glocust-only: fail_if ${response.status} == 204 (\"empty\")\n" +
			"        self.client.request(\"GET\", _render(self, \"/seq/2/${page}\"))\n" +
			"        gevent.sleep(random.uniform(0.01, 0.02))",
		"    @task(1)\n    class checkout_flow(SequentialTaskSet):\n        wait_time = constant(0)\n",
		"            if self._glocust_ran > 2 * len(self.tasks):\n                self.interrupt()\n",
		"        def on_start(self):\n            self.client.request(\"GET\", \"/g/start\")\n",
		"            for _i1 in range(2):  # repeat\n                # glocust-only: unless ${skip:-} (the step runs unconditionally here)\n" +
			"                self.client.request(\"GET\", _render(self, \"/g/view/${i}\", {\"i\": _i1}))\n",
		"            # glocust-only: if ${response.status} == 200 (the step runs unconditionally here)\n            gevent.sleep(0.5)",
		"        @tag(\"deep\")\n        @task(1)\n        class inner(TaskSet):\n",
		"            def task_interrupt(self):\n                self.interrupt()\n\n            task_interrupt.__name__ = \"interrupt\"\n",
		"    checkout_flow.__name__ = \"checkout flow\"\n",
		"    class grp(TaskSet):\n",
		"        def leave(self):\n            self.interrupt()\n",
	} {
		if !strings.Contains(src, want) {
			t.Errorf("the locustfile lacks\n%s\nit is:\n%s", want, src)
		}
	}
	if strings.Contains(src, "class Plain(HttpUser):\n    weight = 1\n    host = \"http://127.0.0.1:9\"\n\n    def __init__") ||
		strings.Count(src, "_in_order()]") != 1 {
		t.Errorf("only the sequential class runs its tasks in order:\n%s", src)
	}
	if strings.Contains(src, "/x\"") {
		t.Errorf("the locustfile has the task of weight 0:\n%s", src)
	}
}

// FuzzOutline: for every file that parses, the outline pairs with the
// parsed scenario (no mismatch error), and the summary and the locustfile
// are written without a panic.
func FuzzOutline(f *testing.F) {
	for _, s := range []string{flowsScenario, badScenario,
		"users:\n  - {class: A, tasks: [{request: {path: /}}, {weight: 0, request: {path: /x}}]}\n",
		"users:\n  - class: A\n    tasks:\n      - &g {name: g, tasks: [{interrupt: true}, {request: {path: /}}]}\n      - *g\n",
		"users:\n  - {class: A, tasks: [{name: s, steps: [{repeat: 2, steps: [{think: 1}, {repeat: '${n:-1}', as: j, steps: [{request: {path: /}}]}]}]}]}\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		sc, err := scenario.ParseAll("f.yaml", []byte(src))
		if err != nil {
			return
		}
		var doc yaml.Node
		if err := yaml.Unmarshal([]byte(src), &doc); err != nil || len(doc.Content) == 0 {
			t.Fatalf("parsed, but yaml.Unmarshal: %v", err)
		}
		o, err := outline("f.yaml", sc, doc.Content[0])
		if err != nil {
			t.Fatalf("outline: %v", err)
		}
		var b bytes.Buffer
		writeSummary(&b, o, nil)
		if err := WriteLocustfile(&b, o); err != nil && !strings.Contains(err.Error(), "the locustfile needs the name") {
			t.Fatalf("WriteLocustfile: %v", err)
		}
	})
}
