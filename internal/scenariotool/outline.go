// Package scenariotool is the tooling of YAML scenarios: "glocust check"
// (validate a scenario offline, report every error, summarise what each
// class does) and "glocust locustfile" (write the Python locustfile a
// Python Locust master needs for glocust workers, from the scenario, so
// that the two cannot drift apart).
//
// Both read the classes from scenario.ParseAll, which validates them as a
// worker would, and the requests, which a parsed class keeps only as code,
// from the file's YAML.
package scenariotool

import (
	"fmt"
	"os"
	"slices"

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
	OnStart, OnStop []Request
	Tasks           []Task
}

// Wait is a wait_time: its kind (between, constant, constant_pacing,
// constant_throughput) and arguments.
type Wait struct {
	Kind string
	Args []float64
}

// Task is a task of a class with the requests its YAML holds, in file
// order (those of its steps, of any kind).
type Task struct {
	scenario.Task
	Requests []Request
}

// Request is a request as written (its strings may hold templates).
type Request struct {
	Method, Path, Name    string // Method upper case, GET when not given
	Query, Headers, Form  [][2]string
	JSON                  *yaml.Node // the json body; nil: none
	Body                  *string
	BodyFile              string
	Files, Checks, Extras bool // has files, expect_* checks, extractions
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
	return outline(path, sc, doc.Content[0]), nil
}

func outline(file string, sc *scenario.Scenario, root *yaml.Node) *Outline {
	o := &Outline{File: file, Host: sc.Host, Vars: sc.Vars, Scenario: sc}
	users := seq(get(root, "users"))
	for i, c := range sc.Classes {
		var n *yaml.Node
		if i < len(users) { // a class per item, in order
			n = resolve(users[i])
		}
		oc := Class{Class: c, Wait: wait(get(n, "wait_time")), OwnVars: vars(get(n, "vars")),
			OnStart: requests(get(n, "on_start")), OnStop: requests(get(n, "on_stop"))}
		// The class's tasks are the items of weight > 0, in order.
		var items []*yaml.Node
		for _, it := range seq(get(n, "tasks")) {
			if w := get(it, "weight"); w != nil {
				var x int
				if w.Decode(&x) == nil && x == 0 {
					continue
				}
			}
			items = append(items, it)
		}
		for j, t := range c.Tasks {
			ot := Task{Task: t}
			if len(items) == len(c.Tasks) {
				ot.Requests = requests(items[j])
			}
			oc.Tasks = append(oc.Tasks, ot)
		}
		o.Classes = append(o.Classes, oc)
	}
	return o
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

// requests finds the requests under n: the values of the keys "request",
// in file order, whatever holds them (steps of any kind), not looking
// inside a request.
func requests(n *yaml.Node) []Request {
	var out []Request
	seen := map[*yaml.Node]bool{}
	var walk func(n *yaml.Node, depth int)
	walk = func(n *yaml.Node, depth int) {
		n = resolve(n)
		if n == nil || seen[n] || depth > 64 {
			return
		}
		seen[n] = true
		switch n.Kind {
		case yaml.SequenceNode:
			for _, c := range n.Content {
				walk(c, depth+1)
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := resolve(n.Content[i]), resolve(n.Content[i+1])
				if k != nil && k.Value == "request" && v != nil && v.Kind == yaml.MappingNode {
					out = append(out, request(v))
					continue
				}
				walk(v, depth+1)
			}
		}
	}
	walk(n, 0)
	return out
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
