// Package scenariotool is the tooling of YAML scenarios: "glocust check"
// (validate a scenario offline, report every error, summarise what each
// class does) and "glocust locustfile" (write the Python locustfile a
// Python Locust master needs for glocust workers, from the scenario, so
// that the two cannot drift apart).
//
// Both read the classes, their tasks and task groups from
// scenario.ParseAll, which validates them as a worker would, and the steps
// (requests, think, repeat, conditions), which a parsed class keeps only as
// code, from the file's YAML: each parsed task is paired with its YAML item
// and the pair checked (outline), so that a scenario the outline would
// misread is an error, not a wrong summary.
package scenariotool

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/glocust/glocust/scenario"
)

// Outline is what a scenario's classes do.
type Outline struct {
	File    string
	Host    string         // the top-level host
	Vars    []scenario.Var // the top-level vars
	Classes []Class
	// Scenario is the parsed scenario the outline describes.
	Scenario *scenario.Scenario
}

// Class is a user class: the parsed class and what its YAML says.
type Class struct {
	*scenario.Class
	Wait            *Wait          // nil: no wait_time
	OwnVars         []scenario.Var // the class's own vars
	OnStart, OnStop []Step         // set when Class.OnStart, Class.OnStop are
	Refresh         *Refresh       // nil: none
	Tasks           []Task
}

// Wait is a wait_time: its kind (between, constant, constant_pacing,
// constant_throughput) and arguments.
type Wait struct {
	Kind string
	Args []float64
}

// Refresh is a class's refresh.
type Refresh struct {
	OnStatus []int
	Every    time.Duration // 0: none
	OnStart  bool          // steps: on_start
	Steps    []Step        // or these
	Retry    bool
}

// Task is a task of a class or of a task group: the parsed task (its
// name, weight and tags) and what its YAML says: its steps (a task that
// is one request has one request step), or a task group, or an interrupt.
type Task struct {
	scenario.Task
	Steps     []Step
	Requests  []Request // the requests of Steps at any depth, in file order
	Group     *Group    // a task group; nil: not one
	Interrupt bool      // {interrupt: true}: leaves its group
}

// Group is a task group (Locust's TaskSet).
type Group struct {
	*scenario.TaskGroup       // Sequential, Iterations, OnStart/OnStop (set or not)
	Wait                *Wait // nil: the class's
	OnStart, OnStop     []Step
	Tasks               []Task
}

// Step is a step of a task, hook or refresh: a request, a think or a
// repeat, with its condition.
type Step struct {
	If, Unless string   // the condition as written; "": none
	Request    *Request // a request step
	Think      *Think   // a think step
	Repeat     string   // a repeat's count as written ("3", "${n}"); "": not a repeat
	As         string   // the repeat's index variable; "": none
	Steps      []Step   // the repeat's steps
}

// Think is a think step's pause: Lo, or drawn from [Lo, Hi) when Hi > Lo.
type Think struct{ Lo, Hi time.Duration }

// Request is a request as written (its strings may hold templates).
type Request struct {
	Method, Path, Name    string // Method upper case, GET when not given
	Query, Headers, Form  [][2]string
	JSON                  *yaml.Node // the json body; nil: none
	Body                  *string
	BodyFile              string
	Files, Checks, Extras bool     // has files, expect_* checks, extractions
	FailIf                []string // the fail_if conditions as written
}

// Load parses a scenario file as a worker does (with opts) and outlines
// it. The error is scenario.ParseErrors, every error of the file, or the
// error reading it.
func Load(path string, opts ...scenario.ParseOption) (*Outline, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	sc, err := scenario.ParseAll(path, data, opts...)
	if err != nil {
		return nil, err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil || len(doc.Content) == 0 {
		return nil, fmt.Errorf("%s: %v", path, err) // parsed above: cannot happen
	}
	return outline(path, sc, doc.Content[0])
}

// outline pairs the parsed scenario with its YAML: the classes with the
// items of users, the tasks of each class and group with the items of
// their tasks of a weight above 0, in order, as the parser makes them.
// Each pair is checked (count, name, weight, kind): a scenario the
// outline would misread is an error, not a wrong summary.
func outline(file string, sc *scenario.Scenario, root *yaml.Node) (*Outline, error) {
	o := &Outline{File: file, Host: sc.Host, Vars: sc.Vars, Scenario: sc}
	users := seq(get(root, "users"))
	if len(users) != len(sc.Classes) {
		return nil, mismatch(file, "users", "%d items, %d parsed classes", len(users), len(sc.Classes))
	}
	for i, c := range sc.Classes {
		path := fmt.Sprintf("users[%d]", i)
		n := resolve(users[i])
		if name := get(n, "class"); name == nil || name.Value != c.Name {
			return nil, mismatch(file, path, "parsed class %q", c.Name)
		}
		oc := Class{Class: c, Wait: wait(get(n, "wait_time")), OwnVars: vars(get(n, "vars"))}
		if c.OnStart != nil {
			oc.OnStart = steps(get(n, "on_start"))
		}
		if c.OnStop != nil {
			oc.OnStop = steps(get(n, "on_stop"))
		}
		if rf := get(n, "refresh"); rf != nil {
			oc.Refresh = refreshOf(rf)
		}
		tasks, err := outlineTasks(file, path+".tasks", get(n, "tasks"), c.Tasks, 0)
		if err != nil {
			return nil, err
		}
		oc.Tasks = tasks
		o.Classes = append(o.Classes, oc)
	}
	return o, nil
}

func mismatch(file, path, format string, args ...any) error {
	return fmt.Errorf("%s: %s: internal error: the outline does not match the parsed scenario (%s)", file, path, fmt.Sprintf(format, args...))
}

// outlineTasks pairs the parsed tasks of a class or group with the items
// of its YAML tasks list n.
func outlineTasks(file, path string, n *yaml.Node, parsed []scenario.Task, depth int) ([]Task, error) {
	if depth > scenario.MaxGroupDepth {
		return nil, mismatch(file, path, "groups nest deeper than %d", scenario.MaxGroupDepth)
	}
	var items []*yaml.Node
	var index []int
	for i, it := range seq(n) {
		if weight(it) > 0 { // the parser drops tasks of weight 0
			items = append(items, resolve(it))
			index = append(index, i)
		}
	}
	if len(items) != len(parsed) {
		return nil, mismatch(file, path, "%d items of a weight above 0, %d parsed tasks", len(items), len(parsed))
	}
	out := make([]Task, len(parsed))
	for j, t := range parsed {
		n, p := items[j], fmt.Sprintf("%s[%d]", path, index[j])
		if name := get(n, "name"); name != nil && name.Value != t.Name {
			return nil, mismatch(file, p, "name %q, parsed task %q", name.Value, t.Name)
		}
		if w := weight(n); w != t.Weight {
			return nil, mismatch(file, p, "weight %d, parsed task's %d", w, t.Weight)
		}
		ot := Task{Task: t}
		isGroup, isInterrupt := get(n, "tasks") != nil, get(n, "interrupt") != nil
		switch {
		case isGroup != (t.Group != nil):
			return nil, mismatch(file, p, "task group in the YAML %v, parsed %v", isGroup, t.Group != nil)
		case isGroup:
			g := t.Group
			og := &Group{TaskGroup: g, Wait: wait(get(n, "wait_time"))}
			if g.OnStart != nil {
				og.OnStart = steps(get(n, "on_start"))
			}
			if g.OnStop != nil {
				og.OnStop = steps(get(n, "on_stop"))
			}
			sub, err := outlineTasks(file, p+".tasks", get(n, "tasks"), g.Tasks, depth+1)
			if err != nil {
				return nil, err
			}
			og.Tasks = sub
			ot.Group = og
		case isInterrupt:
			ot.Interrupt = true
		case get(n, "request") != nil:
			r := request(get(n, "request"))
			ot.Steps = []Step{{Request: &r}}
		default:
			ot.Steps = steps(get(n, "steps"))
		}
		ot.Requests = flatten(ot.Steps, nil)
		out[j] = ot
	}
	return out, nil
}

// weight is a task item's weight: 1 when not given, -1 when not an
// integer (the parser rejected it).
func weight(n *yaml.Node) int {
	w := get(n, "weight")
	if w == nil {
		return 1
	}
	var x int
	if w.Decode(&x) != nil {
		return -1
	}
	return x
}

// flatten appends the requests of steps at any depth, in file order.
func flatten(steps []Step, out []Request) []Request {
	for _, s := range steps {
		if s.Request != nil {
			out = append(out, *s.Request)
		}
		out = flatten(s.Steps, out)
	}
	return out
}

// steps reads a list of steps (parsed already: well formed).
func steps(n *yaml.Node) []Step {
	return stepList(n, 0)
}

func stepList(n *yaml.Node, depth int) []Step {
	if depth > 64 {
		return nil
	}
	var out []Step
	for _, it := range seq(n) {
		it = resolve(it)
		var s Step
		if c := get(it, "if"); c != nil {
			s.If = c.Value
		}
		if c := get(it, "unless"); c != nil {
			s.Unless = c.Value
		}
		switch {
		case get(it, "request") != nil:
			r := request(get(it, "request"))
			s.Request = &r
		case get(it, "think") != nil:
			s.Think = think(get(it, "think"))
		case get(it, "repeat") != nil:
			s.Repeat = get(it, "repeat").Value
			if as := get(it, "as"); as != nil {
				s.As = as.Value
			}
			s.Steps = stepList(get(it, "steps"), depth+1)
		}
		out = append(out, s)
	}
	return out
}

// duration reads a duration as the parser does: a string such as "1.5s",
// or seconds.
func duration(n *yaml.Node) time.Duration {
	n = resolve(n)
	if n == nil {
		return 0
	}
	if n.Tag == "!!str" {
		d, _ := time.ParseDuration(n.Value)
		return d
	}
	var f float64
	n.Decode(&f)
	return time.Duration(f * float64(time.Second))
}

func think(n *yaml.Node) *Think {
	if b := get(n, "between"); b != nil {
		lh := seq(b)
		if len(lh) == 2 {
			return &Think{Lo: duration(lh[0]), Hi: duration(lh[1])}
		}
	}
	d := duration(n)
	return &Think{Lo: d, Hi: d}
}

func refreshOf(n *yaml.Node) *Refresh {
	rf := &Refresh{}
	if e := get(n, "every"); e != nil {
		rf.Every = duration(e)
	}
	if s := get(n, "on_status"); s != nil {
		if s.Kind == yaml.SequenceNode {
			s.Decode(&rf.OnStatus)
		} else {
			var c int
			s.Decode(&c)
			rf.OnStatus = []int{c}
		}
	}
	if r := get(n, "retry"); r != nil {
		r.Decode(&rf.Retry)
	}
	if s := get(n, "steps"); s != nil && s.Kind == yaml.ScalarNode {
		rf.OnStart = true
	} else {
		rf.Steps = steps(s)
	}
	return rf
}

func resolve(n *yaml.Node) *yaml.Node {
	for depth := 0; n != nil && n.Kind == yaml.AliasNode && depth < 100; depth++ {
		n = n.Alias
	}
	return n
}

// get returns the value of key in mapping n (nil: none).
func get(n *yaml.Node, key string) *yaml.Node {
	n = resolve(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := resolve(n.Content[i]); k != nil && k.Value == key {
			return resolve(n.Content[i+1])
		}
	}
	return nil
}

func seq(n *yaml.Node) []*yaml.Node {
	n = resolve(n)
	if n == nil || n.Kind != yaml.SequenceNode {
		return nil
	}
	return n.Content
}

// pairs reads a mapping of scalars, in order.
func pairs(n *yaml.Node) [][2]string {
	n = resolve(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	var out [][2]string
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := resolve(n.Content[i]), resolve(n.Content[i+1])
		if k != nil && v != nil {
			out = append(out, [2]string{k.Value, v.Value})
		}
	}
	return out
}

func vars(n *yaml.Node) []scenario.Var {
	var out []scenario.Var
	for _, kv := range pairs(n) {
		out = append(out, scenario.Var{Name: kv[0], Default: kv[1]})
	}
	return out
}

func wait(n *yaml.Node) *Wait {
	n = resolve(n)
	if n == nil || n.Kind != yaml.MappingNode || len(n.Content) != 2 {
		return nil
	}
	w := &Wait{Kind: resolve(n.Content[0]).Value}
	v := resolve(n.Content[1])
	if v.Kind == yaml.SequenceNode {
		v.Decode(&w.Args)
	} else {
		var f float64
		v.Decode(&f)
		w.Args = []float64{f}
	}
	return w
}

func request(n *yaml.Node) Request {
	r := Request{Method: "GET"}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := resolve(n.Content[i]), resolve(n.Content[i+1])
		if k == nil || v == nil {
			continue
		}
		switch k.Value {
		case "method":
			r.Method = upper(v.Value)
		case "path":
			r.Path = v.Value
		case "name":
			r.Name = v.Value
		case "query":
			r.Query = pairs(v)
		case "headers":
			r.Headers = pairs(v)
		case "form":
			r.Form = pairs(v)
		case "json":
			r.JSON = v
		case "body":
			s := v.Value
			r.Body = &s
		case "body_file":
			r.BodyFile = v.Value
		case "files":
			r.Files = true
		case "extract":
			r.Extras = true
		case "fail_if":
			for _, fc := range seq(v) {
				r.FailIf = append(r.FailIf, failIf(fc))
			}
			if v.Kind == yaml.MappingNode {
				r.FailIf = append(r.FailIf, failIf(v))
			}
		default:
			if slices.Contains([]string{"expect_status", "expect_body_contains", "expect_json", "expect_header", "expect_max_ms"}, k.Value) {
				r.Checks = true
			}
		}
	}
	return r
}

func upper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

// failIf is a fail_if entry: its condition, and its message if any.
func failIf(n *yaml.Node) string {
	s := ""
	if c := get(n, "condition"); c != nil {
		s = c.Value
	}
	if m := get(n, "message"); m != nil {
		s += " (" + strconv.Quote(m.Value) + ")"
	}
	return s
}
